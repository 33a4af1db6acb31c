/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * timer.h - hierarchical timer wheel.
 *
 * Time is a plain uint64_t in milliseconds supplied by the caller; the wheel
 * never reads a clock.  QT_WHEEL_LEVELS levels of QT_WHEEL_SLOTS slots each,
 * level 0 ticking every millisecond: 64^6 ms covers about 795 days, and a
 * timer further out is parked beyond the last level (the far list) and
 * re-filed when the wheel's time comes round to its 64^6 ms epoch.  Arm,
 * re-arm and cancel are O(1); qt_wheel_advance() costs O(slots visited +
 * timers expired or cascaded), and skips empty slots, so a jump of days (a
 * pcap with a long gap) is cheap.
 *
 * A timer fires at or after its expiry time, never before: an entry filed
 * in a coarse slot is cascaded into finer levels until its slot in level 0
 * is reached.
 *
 * Timers are 12 bytes, because one is embedded in every connection: lists
 * link them by 32-bit reference instead of pointer, and the expiry keeps
 * only its low QT_TIMER_EXP_BITS bits (about 8.7 years of milliseconds).
 * A reference names a list head of the wheel or an element of one of two
 * registered arrays (connections, expectations; qt_wheel_set_array()), so
 * every timer armed on a wheel must live in one of its arrays.  The full
 * expiry is rebuilt against a nearby time (the wheel's, or the caller's
 * now): it must lie less than QT_TIMER_PAST ms (~795 days) before that time
 * and less than 3 * QT_TIMER_PAST after it (~6.5 years; the longest
 * configurable timeout is 100 days).
 */
#ifndef QTRACK_TIMER_H
#define QTRACK_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QT_WHEEL_BITS 6
#define QT_WHEEL_SLOTS (1u << QT_WHEEL_BITS)
#define QT_WHEEL_LEVELS 6

/* List heads: the slots, then the due, late and far lists. */
#define QT_WHEEL_DUE (QT_WHEEL_LEVELS * QT_WHEEL_SLOTS)
#define QT_WHEEL_LATE (QT_WHEEL_DUE + 1)
#define QT_WHEEL_FAR (QT_WHEEL_DUE + 2)
#define QT_WHEEL_HEADS (QT_WHEEL_DUE + 3)

/* A link is a 28-bit reference; the top three bits of next and of prev
 * carry bits 32-37 of the expiry, and bit 28 of next is QT_TIMER_NEAR. */
#define QT_TIMER_REF_BITS 28
#define QT_TIMER_REF_MASK ((UINT32_C(1) << QT_TIMER_REF_BITS) - 1)
#define QT_TIMER_EXP_SHIFT 29
#define QT_TIMER_EXP_BITS 38
#define QT_TIMER_EXP_MASK ((UINT64_C(1) << QT_TIMER_EXP_BITS) - 1)
#define QT_TIMER_PAST (UINT64_C(1) << 36)
/* Largest array 0 and array 1 (see timer.c for the reference space). */
#define QT_TIMER_ARRAY_MAX ((UINT32_C(1) << 27) - 512)

/*
 * The near bound, in ms.  qt_timer_arm() never files a timer in a slot
 * that starts more than QT_WHEEL_NEAR after the wheel's time (one due
 * later is re-filed when that slot comes up), and marks a timer so filed
 * with QT_TIMER_NEAR in next.  Such a timer may stay where it is when it
 * is re-armed to any time at least QT_WHEEL_NEAR ahead, earlier than its
 * expiry or not: its slot starts before that.  Five minutes is TCP's
 * timeout for unacknowledged data, to which an established connection
 * (five days) drops whenever it sends data after a pure ACK.
 */
#define QT_WHEEL_NEAR UINT64_C(300000)
#define QT_TIMER_NEAR (UINT32_C(1) << QT_TIMER_REF_BITS)

/* Embedded in the object it times (a connection, an expectation). */
struct qt_timer {
	uint32_t next;		/* reference | NEAR | expiry bits 32-34 << 29 */
	uint32_t prev;		/* reference, 0 when not armed | bits 35-37 */
	uint32_t expires;	/* expiry bits 0-31, ms */
};

_Static_assert(sizeof(struct qt_timer) == 12, "qt_timer: 12 bytes");

struct qt_wheel_array {
	char *base;		/* the first element's struct qt_timer */
	size_t stride;		/* bytes from one element to the next */
	uint32_t n;
	int shift;		/* log2(stride), or -1: not a power of two */
};

struct qt_wheel {
	uint64_t now;			/* time of the last advance, ms */
	size_t count;			/* armed timers */
	uint64_t occupied[QT_WHEEL_LEVELS];	/* bit per non-empty slot */
	uint32_t head[QT_WHEEL_HEADS];	/* first reference of each list */
	struct qt_wheel_array arr[2];
	bool firing;			/* inside a callback */
};

typedef void (*qt_timer_fn)(struct qt_timer *t, void *arg);

/* Start an empty wheel at time @now, with no arrays. */
void qt_wheel_init(struct qt_wheel *w, uint64_t now);

/* Register array @which (0 or 1): @n objects @stride bytes apart whose
 * timers start at @first.  @n is at most QT_TIMER_ARRAY_MAX.  Set before
 * any of them is armed; the array must not move while the wheel lives. */
void qt_wheel_set_array(struct qt_wheel *w, unsigned int which,
			struct qt_timer *first, size_t stride, uint32_t n);

static inline void qt_timer_init(struct qt_timer *t)
{
	t->next = 0;
	t->prev = 0;
	t->expires = 0;
}

static inline bool qt_timer_armed(const struct qt_timer *t)
{
	return (t->prev & QT_TIMER_REF_MASK) != 0;
}

/* Store @expires (ms) in @t's expiry bits; the links are kept. */
static inline void qt_timer_set_expires(struct qt_timer *t, uint64_t expires)
{
	uint32_t hi = (uint32_t)(expires >> 32);

	t->expires = (uint32_t)expires;
	t->next = (t->next & (QT_TIMER_REF_MASK | QT_TIMER_NEAR)) |
		  (hi & 7u) << QT_TIMER_EXP_SHIFT;
	t->prev = (t->prev & QT_TIMER_REF_MASK) |
		  (hi >> 3 & 7u) << QT_TIMER_EXP_SHIFT;
}

/* @t's expiry in ms, rebuilt against @near (see above). */
static inline uint64_t qt_timer_expires(const struct qt_timer *t,
					uint64_t near)
{
	uint64_t lo = (uint64_t)t->expires |
		      (uint64_t)(t->next >> QT_TIMER_EXP_SHIFT) << 32 |
		      (uint64_t)(t->prev >> QT_TIMER_EXP_SHIFT) << 35;
	uint64_t ahead = (lo - near) & QT_TIMER_EXP_MASK;

	if (ahead >= QT_TIMER_EXP_MASK + 1 - QT_TIMER_PAST)
		return near - (QT_TIMER_EXP_MASK + 1 - ahead);
	return near + ahead;
}

/* Milliseconds from @now until @t's stored expiry, 0 if that is past
 * (whether @t is armed is the caller's business). */
static inline uint64_t qt_timer_left(const struct qt_timer *t, uint64_t now)
{
	uint64_t e = qt_timer_expires(t, now);

	return e > now ? e - now : 0;
}

/* Arm @t to fire at @expires (ms); re-arms if already armed.  An expiry at
 * or before the wheel's current time fires on the next advance. */
void qt_timer_arm(struct qt_wheel *w, struct qt_timer *t, uint64_t expires);

/*
 * qt_timer_rearm - qt_timer_arm() with its most frequent cases inline: a
 * connection pushes its timer to a time at or after the current expiry on
 * nearly every packet, or to one at least QT_WHEEL_NEAR ahead.  A timer in
 * a wheel slot (expiry after the wheel's time, within the wheel's range)
 * then stays where it is, as qt_timer_arm() decides too; only the stored
 * expiry changes.
 */
static inline void qt_timer_rearm(struct qt_wheel *w, struct qt_timer *t,
				  uint64_t expires)
{
	if (qt_timer_armed(t)) {
		uint64_t old = qt_timer_expires(t, w->now);

		if ((expires >= old ||
		     ((t->next & QT_TIMER_NEAR) &&
		      expires >= w->now + QT_WHEEL_NEAR)) &&
		    old > w->now &&
		    !((old ^ w->now) >> (QT_WHEEL_LEVELS * QT_WHEEL_BITS))) {
			qt_timer_set_expires(t, expires);
			return;
		}
	}
	qt_timer_arm(w, t, expires);
}

/* Disarm @t; harmless if not armed. */
void qt_timer_cancel(struct qt_wheel *w, struct qt_timer *t);

/*
 * qt_wheel_advance - move the wheel to @now and fire what has expired.
 * Each expired timer is disarmed before @fn is called with it, so @fn may
 * re-arm it or free its owner.  At most @budget timers fire per call
 * (0 means no limit); the rest fire on the next call.  A @now earlier than
 * the wheel's time is ignored.  Returns the number of timers fired.
 *
 * A timer that @fn arms at or before the time being processed fires on the
 * next call, not this one, so a callback that re-arms in the past cannot
 * loop forever; one armed later but still at or before @now fires in this
 * call.  When @budget stops a call early, w->now may stay behind @now.
 * @fn must not call qt_wheel_advance() on the same wheel.
 */
size_t qt_wheel_advance(struct qt_wheel *w, uint64_t now, qt_timer_fn fn,
			void *arg, size_t budget);

#endif

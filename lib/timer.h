/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * timer.h - hierarchical timer wheel.
 *
 * Time is a plain uint64_t in milliseconds supplied by the caller; the wheel
 * never reads a clock.  QT_WHEEL_LEVELS levels of QT_WHEEL_SLOTS slots each,
 * level 0 ticking every millisecond: 64^6 ms covers about 795 days, and a
 * timer further out is parked beyond the last level (the far list) and
 * re-filed when the wheel's time comes round to its 64^6 ms epoch.  Arm, re-arm and cancel are O(1); qt_wheel_advance() costs
 * O(slots visited + timers expired or cascaded), and skips empty slots, so a
 * jump of days (a pcap with a long gap) is cheap.
 *
 * A timer fires at or after its expiry time, never before: an entry filed
 * in a coarse slot is cascaded into finer levels until its slot in level 0
 * is reached.
 */
#ifndef QTRACK_TIMER_H
#define QTRACK_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QT_WHEEL_BITS 6
#define QT_WHEEL_SLOTS (1u << QT_WHEEL_BITS)
#define QT_WHEEL_LEVELS 6

/* Embedded in the object it times (a connection, an expectation). */
struct qt_timer {
	struct qt_timer *next;
	struct qt_timer **pprev;	/* NULL when not armed */
	uint64_t expires;		/* ms */
};

struct qt_wheel {
	uint64_t now;			/* time of the last advance, ms */
	size_t count;			/* armed timers */
	uint64_t occupied[QT_WHEEL_LEVELS];	/* bit per non-empty slot */
	struct qt_timer *slot[QT_WHEEL_LEVELS][QT_WHEEL_SLOTS];
	struct qt_timer *due;		/* expired, not yet fired */
	struct qt_timer *late;		/* armed in the past by a callback */
	struct qt_timer *far;		/* beyond the top level's range */
	bool firing;			/* inside a callback */
};

typedef void (*qt_timer_fn)(struct qt_timer *t, void *arg);

/* Start an empty wheel at time @now. */
void qt_wheel_init(struct qt_wheel *w, uint64_t now);

static inline void qt_timer_init(struct qt_timer *t)
{
	t->next = NULL;
	t->pprev = NULL;
	t->expires = 0;
}

static inline bool qt_timer_armed(const struct qt_timer *t)
{
	return t->pprev != NULL;
}

/* Arm @t to fire at @expires (ms); re-arms if already armed.  An expiry at
 * or before the wheel's current time fires on the next advance. */
void qt_timer_arm(struct qt_wheel *w, struct qt_timer *t, uint64_t expires);

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

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * timer.c - hierarchical timer wheel (interface and costs in timer.h).
 *
 * Filing rule.  A timer expiring at e > now is filed in the level of the
 * highest 6-bit digit in which e and now differ, in the slot named by e's
 * digit at that level.  Because e > now, that digit of e is strictly
 * greater than now's digit there, so every occupied slot lies ahead of the
 * wheel's position in its level: a slot never holds timers from two laps,
 * and the next slot to visit in a level is the lowest occupied bit above
 * now's digit.  Timers whose digits above the top level differ from now's
 * go to the far list; timers at or before now go to the due list.
 * qt_timer_arm() files by min(e, now + QT_WHEEL_NEAR) instead of e, and
 * stores e: a slot may hold timers expiring after its end, which its visit
 * re-files like the others (timer.h, QT_WHEEL_NEAR).
 *
 * Advancing.  The next event is the start of the first occupied slot ahead
 * in the lowest level that has one (lower levels always come first: their
 * timers share now's higher digits).  The wheel jumps straight to that
 * start, empties the slot and re-files its timers against the new time:
 * the ones now due move to the due list, the rest drop to finer levels.
 * Jumping only to slot starts keeps the filing rule true for every timer
 * left in place, and empty time costs nothing.
 *
 * References.  0 is the end of a list (and, in prev, "not armed");
 * 1 + h is list head h (w->head[h]); 512 + i is element i of array 0 and
 * 2^27 + i element i of array 1.  The expiry bits above the reference
 * are left alone by every link update.
 */
#include <string.h>

#include "timer.h"

#define WHEEL_MASK (QT_WHEEL_SLOTS - 1)
#define WHEEL_RANGE_BITS (QT_WHEEL_LEVELS * QT_WHEEL_BITS)
#define REF_ARRAY0 512u
#define REF_ARRAY1 (UINT32_C(1) << 27)

static unsigned int wheel_digit(uint64_t t, unsigned int level)
{
	return (t >> (level * QT_WHEEL_BITS)) & WHEEL_MASK;
}

/* The level of the highest digit set in @diff (nonzero); may exceed the
 * top level. */
static unsigned int wheel_level(uint64_t diff)
{
	return (unsigned int)(63 - __builtin_clzll(diff)) / QT_WHEEL_BITS;
}

static inline uint32_t ref_get(uint32_t field)
{
	return field & QT_TIMER_REF_MASK;
}

static inline void ref_put(uint32_t *field, uint32_t ref)
{
	*field = (*field & ~QT_TIMER_REF_MASK) | ref;
}

static inline struct qt_timer *ref_timer(const struct qt_wheel *w,
					 uint32_t ref)
{
	const struct qt_wheel_array *a = &w->arr[ref >= REF_ARRAY1];
	uint32_t i = ref - (ref >= REF_ARRAY1 ? REF_ARRAY1 : REF_ARRAY0);

	return (struct qt_timer *)(a->base + (size_t)i * a->stride);
}

/* The reference of @t, which must be in one of the arrays. */
static uint32_t timer_ref(const struct qt_wheel *w, const struct qt_timer *t)
{
	uintptr_t p = (uintptr_t)t;

	for (unsigned int k = 0; k < 2; k++) {
		const struct qt_wheel_array *a = &w->arr[k];
		uintptr_t lo = (uintptr_t)a->base;

		if (!a->base || p < lo || p >= lo + (size_t)a->n * a->stride)
			continue;
		/* A connection's stride is 128: no division on that path. */
		return (uint32_t)(a->shift >= 0 ? (p - lo) >> a->shift
						: (p - lo) / a->stride) +
		       (k ? REF_ARRAY1 : REF_ARRAY0);
	}
	__builtin_trap();	/* a timer outside the arrays: a caller bug */
}

/* The full expiry of a timer in a wheel slot, the far list or the due
 * list, against the wheel's time. */
static inline uint64_t timer_exp(const struct qt_wheel *w,
				 const struct qt_timer *t)
{
	return qt_timer_expires(t, w->now);
}

static void timer_link(struct qt_wheel *w, unsigned int h, struct qt_timer *t,
		       uint32_t tref)
{
	uint32_t first = w->head[h];

	ref_put(&t->next, first);
	if (first)
		ref_put(&ref_timer(w, first)->prev, tref);
	w->head[h] = tref;
	ref_put(&t->prev, 1 + h);
}

/*
 * Unlink an armed timer.  When it was the last one in a wheel slot the
 * slot's occupied bit is cleared, so advancing never visits empty slots.
 */
static void timer_unlink(struct qt_wheel *w, struct qt_timer *t)
{
	uint32_t prev = ref_get(t->prev), next = ref_get(t->next);

	if (prev < REF_ARRAY0) {
		unsigned int h = prev - 1;

		w->head[h] = next;
		if (!next && h < QT_WHEEL_DUE)
			w->occupied[h / QT_WHEEL_SLOTS] &=
			    ~(UINT64_C(1) << (h % QT_WHEEL_SLOTS));
	} else {
		ref_put(&ref_timer(w, prev)->next, next);
	}
	if (next)
		ref_put(&ref_timer(w, next)->prev, prev);
	ref_put(&t->next, 0);
	ref_put(&t->prev, 0);
}

/* File @t (unlinked) to expire at @expires according to the rule above;
 * with @near, in a slot no later than QT_WHEEL_NEAR ahead (timer.h). */
static void wheel_file(struct qt_wheel *w, struct qt_timer *t, uint32_t tref,
		       uint64_t expires, bool near)
{
	unsigned int level, idx;
	uint64_t at = expires;

	t->next &= ~QT_TIMER_NEAR;
	if (expires <= w->now) {
		/* Only "due" matters now; keep the stored time rebuildable. */
		if (w->now - expires >= QT_TIMER_PAST / 2)
			expires = w->now - QT_TIMER_PAST / 2;
		qt_timer_set_expires(t, expires);
		/* From a callback it waits for the next call (see timer.h). */
		timer_link(w, w->firing ? QT_WHEEL_LATE : QT_WHEEL_DUE, t,
			   tref);
		return;
	}
	qt_timer_set_expires(t, expires);
	/* Filed by an earlier time, the timer is re-filed by @expires when
	 * that slot comes up. */
	if (near && expires - w->now > QT_WHEEL_NEAR)
		at = w->now + QT_WHEEL_NEAR;
	level = wheel_level(at ^ w->now);
	if (level >= QT_WHEEL_LEVELS) {
		timer_link(w, QT_WHEEL_FAR, t, tref);
		return;
	}
	idx = wheel_digit(at, level);
	timer_link(w, level * QT_WHEEL_SLOTS + idx, t, tref);
	w->occupied[level] |= UINT64_C(1) << idx;
	/* The slot's start is at or before @at. */
	if (at - w->now <= QT_WHEEL_NEAR)
		t->next |= QT_TIMER_NEAR;
}

void qt_wheel_init(struct qt_wheel *w, uint64_t now)
{
	memset(w, 0, sizeof(*w));
	w->now = now;
}

void qt_wheel_set_array(struct qt_wheel *w, unsigned int which,
			struct qt_timer *first, size_t stride, uint32_t n)
{
	w->arr[which].base = (char *)first;
	w->arr[which].stride = stride;
	w->arr[which].n = n < QT_TIMER_ARRAY_MAX ? n : QT_TIMER_ARRAY_MAX;
	w->arr[which].shift = stride && !(stride & (stride - 1))
				  ? __builtin_ctzll(stride)
				  : -1;
}

/*
 * Whether armed timer @t, expiring at @old, may stay where it is when it is
 * re-armed to @new.  In a wheel slot (which @old > now and a level within
 * the wheel identify: the due, late and far lists hold the rest) it may
 * whenever @new is at or after the slot's start: visiting the slot re-files
 * every timer by its current expiry, so it still fires at @new, never
 * before.  The slot starts at or before the start of the slot @old would
 * be filed in now (no expiry drops below its slot's start), and, for a
 * timer marked QT_TIMER_NEAR, at or before now + QT_WHEEL_NEAR.
 */
static bool wheel_keeps(const struct qt_wheel *w, const struct qt_timer *t,
			uint64_t old, uint64_t new)
{
	unsigned int level;
	uint64_t start;

	if (old <= w->now)
		return false;
	level = wheel_level(old ^ w->now);
	if (level >= QT_WHEEL_LEVELS)
		return false;
	if ((t->next & QT_TIMER_NEAR) && new >= w->now + QT_WHEEL_NEAR)
		return true;
	/* @old shares now's digits above @level. */
	start = old & ~((UINT64_C(1) << (level * QT_WHEEL_BITS)) - 1);
	return new >= start;
}

void qt_timer_arm(struct qt_wheel *w, struct qt_timer *t, uint64_t expires)
{
	if (qt_timer_armed(t)) {
		/* A connection re-arms its timer on every packet, mostly
		 * to a later time.  Leaving the timer in its slot spares the
		 * cache misses of touching its list neighbours (other
		 * connections); it is moved once, when the slot comes up. */
		if (wheel_keeps(w, t, timer_exp(w, t), expires)) {
			qt_timer_set_expires(t, expires);
			return;
		}
		timer_unlink(w, t);
	} else {
		w->count++;
	}
	wheel_file(w, t, timer_ref(w, t), expires, true);
}

void qt_timer_cancel(struct qt_wheel *w, struct qt_timer *t)
{
	if (!qt_timer_armed(t))
		return;
	timer_unlink(w, t);
	w->count--;
}

/*
 * Move the wheel to its next event if that is at or before @limit: empty
 * the slot (or the far list) and re-file its timers.  Returns false, with
 * the wheel moved to @limit, when no event lies within @limit.
 */
static bool wheel_step(struct qt_wheel *w, uint64_t limit)
{
	unsigned int h = QT_WHEEL_HEADS;
	struct qt_timer *t;
	uint32_t list, ref;
	unsigned int level, shift = 0, idx = 0;
	uint64_t ahead = 0, start = 0, span;
	uint64_t epoch = w->now >> WHEEL_RANGE_BITS;

	for (level = 0; level < QT_WHEEL_LEVELS; level++) {
		idx = wheel_digit(w->now, level);
		if (idx == WHEEL_MASK)
			continue;
		ahead = w->occupied[level] & (~UINT64_C(0) << (idx + 1));
		if (ahead)
			break;
	}
	if (level < QT_WHEEL_LEVELS) {
		shift = level * QT_WHEEL_BITS;
		idx = (unsigned int)__builtin_ctzll(ahead);
		/* now's digits above this level, then the slot's digit. */
		span = UINT64_C(1) << (shift + QT_WHEEL_BITS);
		start = (w->now & ~(span - 1)) | (uint64_t)idx << shift;
		h = level * QT_WHEEL_SLOTS + idx;
	} else if (w->head[QT_WHEEL_FAR] &&
		   epoch != UINT64_MAX >> WHEEL_RANGE_BITS) {
		/* Nothing left in range: the far list comes round next. */
		start = (epoch + 1) << WHEEL_RANGE_BITS;
		h = QT_WHEEL_FAR;
	}
	if (h == QT_WHEEL_HEADS || start > limit) {
		w->now = limit;
		return false;
	}

	/* Every timer of the list expires at or after @start, so their
	 * expiries are rebuilt against the old time, before it moves. */
	list = w->head[h];
	w->head[h] = 0;
	if (level < QT_WHEEL_LEVELS)
		w->occupied[level] &= ~(UINT64_C(1) << idx);
	{
		uint64_t old = w->now;

		w->now = start;
		while (list) {
			ref = list;
			t = ref_timer(w, ref);
			list = ref_get(t->next);
			wheel_file(w, t, ref, qt_timer_expires(t, old), false);
		}
	}
	return true;
}

size_t qt_wheel_advance(struct qt_wheel *w, uint64_t now, qt_timer_fn fn,
			void *arg, size_t budget)
{
	struct qt_timer *t;
	uint32_t ref;
	size_t fired = 0;

	if (now < w->now)
		now = w->now;
	for (;;) {
		/* Take from the head each time: @fn may unlink any timer. */
		while ((ref = w->head[QT_WHEEL_DUE]) != 0) {
			if (budget && fired == budget)
				goto out;
			t = ref_timer(w, ref);
			timer_unlink(w, t);
			w->count--;
			w->firing = true;
			fn(t, arg);
			w->firing = false;
			fired++;
		}
		if (!wheel_step(w, now))
			break;
	}
out:
	/* Timers armed in the past by callbacks fire on the next call. */
	while ((ref = w->head[QT_WHEEL_LATE]) != 0) {
		t = ref_timer(w, ref);
		timer_unlink(w, t);
		timer_link(w, QT_WHEEL_DUE, t, ref);
	}
	return fired;
}

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
 *
 * Advancing.  The next event is the start of the first occupied slot ahead
 * in the lowest level that has one (lower levels always come first: their
 * timers share now's higher digits).  The wheel jumps straight to that
 * start, empties the slot and re-files its timers against the new time:
 * the ones now due move to the due list, the rest drop to finer levels.
 * Jumping only to slot starts keeps the filing rule true for every timer
 * left in place, and empty time costs nothing.
 */
#include <string.h>

#include "timer.h"

#define WHEEL_MASK (QT_WHEEL_SLOTS - 1)
#define WHEEL_RANGE_BITS (QT_WHEEL_LEVELS * QT_WHEEL_BITS)

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

static void timer_link(struct qt_timer **head, struct qt_timer *t)
{
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	*head = t;
	t->pprev = head;
}

/*
 * Unlink an armed timer.  When it was the last one in a wheel slot the
 * slot's occupied bit is cleared, so advancing never visits empty slots;
 * the slot is recognised by its list head lying inside w->slot.
 */
static void timer_unlink(struct qt_wheel *w, struct qt_timer *t)
{
	struct qt_timer **pprev = t->pprev;
	uintptr_t p = (uintptr_t)pprev;
	uintptr_t base = (uintptr_t)&w->slot[0][0];

	*pprev = t->next;
	if (t->next)
		t->next->pprev = pprev;
	t->next = NULL;
	t->pprev = NULL;
	if (*pprev == NULL && p >= base && p < base + sizeof(w->slot)) {
		size_t i = (p - base) / sizeof(w->slot[0][0]);

		w->occupied[i / QT_WHEEL_SLOTS] &=
		    ~(UINT64_C(1) << (i % QT_WHEEL_SLOTS));
	}
}

/* File @t (unlinked, expires set) according to the rule above. */
static void wheel_file(struct qt_wheel *w, struct qt_timer *t)
{
	unsigned int level, idx;
	uint64_t diff;

	if (t->expires <= w->now) {
		/* From a callback it waits for the next call (see timer.h). */
		timer_link(w->firing ? &w->late : &w->due, t);
		return;
	}
	diff = t->expires ^ w->now;
	level = wheel_level(diff);
	if (level >= QT_WHEEL_LEVELS) {
		timer_link(&w->far, t);
		return;
	}
	idx = wheel_digit(t->expires, level);
	timer_link(&w->slot[level][idx], t);
	w->occupied[level] |= UINT64_C(1) << idx;
}

void qt_wheel_init(struct qt_wheel *w, uint64_t now)
{
	memset(w, 0, sizeof(*w));
	w->now = now;
}

/*
 * Whether an armed timer expiring at @old may stay where it is when it is
 * re-armed to @new.  In a wheel slot (which @old > now and a level within
 * the wheel identify: the due, late and far lists hold the rest) it may
 * whenever @new is at or after the slot's start: visiting the slot re-files
 * every timer by its current expiry, so it still fires at @new, never
 * before.
 */
static bool wheel_keeps(const struct qt_wheel *w, uint64_t old, uint64_t new)
{
	unsigned int level;
	uint64_t start;

	if (old <= w->now)
		return false;
	level = wheel_level(old ^ w->now);
	if (level >= QT_WHEEL_LEVELS)
		return false;
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
		if (wheel_keeps(w, t->expires, expires)) {
			t->expires = expires;
			return;
		}
		timer_unlink(w, t);
	} else {
		w->count++;
	}
	t->expires = expires;
	wheel_file(w, t);
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
	struct qt_timer **head = NULL;
	struct qt_timer *list, *t;
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
		head = &w->slot[level][idx];
	} else if (w->far && epoch != UINT64_MAX >> WHEEL_RANGE_BITS) {
		/* Nothing left in range: the far list comes round next. */
		start = (epoch + 1) << WHEEL_RANGE_BITS;
		head = &w->far;
	}
	if (!head || start > limit) {
		w->now = limit;
		return false;
	}

	w->now = start;
	list = *head;
	*head = NULL;
	if (level < QT_WHEEL_LEVELS)
		w->occupied[level] &= ~(UINT64_C(1) << idx);
	while (list) {
		t = list;
		list = t->next;
		wheel_file(w, t);
	}
	return true;
}

size_t qt_wheel_advance(struct qt_wheel *w, uint64_t now, qt_timer_fn fn,
			void *arg, size_t budget)
{
	struct qt_timer *t;
	size_t fired = 0;

	if (now < w->now)
		now = w->now;
	for (;;) {
		/* Take from the head each time: @fn may unlink any timer. */
		while ((t = w->due) != NULL) {
			if (budget && fired == budget)
				goto out;
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
	while ((t = w->late) != NULL) {
		timer_unlink(w, t);
		timer_link(&w->due, t);
	}
	return fired;
}

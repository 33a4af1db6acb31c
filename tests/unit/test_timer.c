/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_timer.c - the timer wheel against a naive reference.
 *
 * The reference is an array of expiry times scanned linearly.  Random
 * arms, re-arms, cancels and advances (small steps and jumps of days, with
 * and without a budget, callbacks that re-arm, cancel and arm others) are
 * applied to both, and every firing is checked against the reference: only
 * armed timers that are due fire, never early, and after an advance nothing
 * due is left unfired.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "timer.h"

#define MS_DAY (24ull * 3600 * 1000)
#define NTIMERS 512

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint64_t rng_below(uint64_t n)
{
	return n ? rng_next() % n : 0;
}

struct ref {
	struct qt_wheel wheel;
	struct qt_timer timer[NTIMERS];
	bool armed[NTIMERS];
	uint64_t expires[NTIMERS];
	bool late[NTIMERS]; /* armed in the past by a callback this call */
	uint64_t target;    /* the @now of the advance in progress */
	size_t fired;
	bool callbacks_act; /* let callbacks re-arm/cancel/arm */
};

static struct ref *ref_new(uint64_t now)
{
	struct ref *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	qt_wheel_init(&r->wheel, now);
	qt_wheel_set_array(&r->wheel, 0, &r->timer[0], sizeof(r->timer[0]),
			   NTIMERS);
	for (size_t i = 0; i < NTIMERS; i++)
		qt_timer_init(&r->timer[i]);
	return r;
}

static size_t ref_count(const struct ref *r)
{
	size_t n = 0;

	for (size_t i = 0; i < NTIMERS; i++)
		n += r->armed[i];
	return n;
}

static void ref_arm(struct ref *r, size_t i, uint64_t expires)
{
	qt_timer_arm(&r->wheel, &r->timer[i], expires);
	r->armed[i] = true;
	r->expires[i] = expires;
	r->late[i] = false;
}

static void ref_cancel(struct ref *r, size_t i)
{
	qt_timer_cancel(&r->wheel, &r->timer[i]);
	r->armed[i] = false;
	r->late[i] = false;
}

/* An expiry from the wheel's time up to 10 days ahead, mostly near. */
static uint64_t random_expiry(uint64_t now)
{
	switch (rng_below(8)) {
	case 0:
		return now + rng_below(10 * MS_DAY + 1);
	case 1:
		return now + rng_below(3600 * 1000);
	case 2:
		return now > 50 ? now - rng_below(50) : now;
	case 3:
		return now;
	default:
		return now + rng_below(5000);
	}
}

/* Arm from inside a callback; remember which arms must wait a call. */
static void ref_arm_from_callback(struct ref *r, size_t i, uint64_t expires)
{
	ref_arm(r, i, expires);
	r->late[i] = expires <= r->wheel.now;
}

static void ref_fire(struct qt_timer *t, void *arg)
{
	struct ref *r = arg;
	size_t i = (size_t)(t - r->timer);

	assert_true(i < NTIMERS);
	assert_false(qt_timer_armed(t));
	assert_true(r->armed[i]);
	assert_false(r->late[i]);
	assert_true(r->expires[i] <= r->target);
	/* Never early: the time being processed has reached the expiry. */
	assert_true(r->expires[i] <= r->wheel.now);
	r->armed[i] = false;
	r->fired++;

	if (!r->callbacks_act)
		return;
	switch (rng_below(8)) {
	case 0: /* re-arm itself beyond this advance */
		ref_arm_from_callback(r, i, r->target + 1 + rng_below(100000));
		break;
	case 1: /* re-arm itself in the past: must wait for the next call */
		ref_arm_from_callback(r, i, r->wheel.now - rng_below(3));
		break;
	case 2: /* re-arm itself still within this advance */
		ref_arm_from_callback(
		    r, i,
		    r->wheel.now + rng_below(r->target - r->wheel.now + 1));
		break;
	case 3: /* cancel another, due or not */
		ref_cancel(r, rng_below(NTIMERS));
		break;
	case 4: { /* arm or re-arm another, possibly due in this advance */
		size_t j = rng_below(NTIMERS);

		if (j != i)
			ref_arm_from_callback(r, j,
					      random_expiry(r->wheel.now));
		break;
	}
	default:
		break;
	}
}

/* After an advance to @target without a budget, nothing due is left. */
static void ref_check_complete(struct ref *r)
{
	for (size_t i = 0; i < NTIMERS; i++) {
		if (r->armed[i] && !r->late[i])
			assert_true(r->expires[i] > r->target);
		assert_int_equal(qt_timer_armed(&r->timer[i]), r->armed[i]);
	}
	assert_int_equal(r->wheel.count, ref_count(r));
}

static void ref_advance(struct ref *r, uint64_t target, size_t budget)
{
	size_t n;

	if (target < r->wheel.now)
		target = r->wheel.now;
	r->target = target;
	for (;;) {
		for (size_t i = 0; i < NTIMERS; i++)
			r->late[i] = false;
		r->fired = 0;
		n = qt_wheel_advance(&r->wheel, target, ref_fire, r, budget);
		assert_int_equal(n, r->fired);
		if (budget)
			assert_true(n <= budget);
		if (!budget || n == 0)
			break;
	}
	ref_check_complete(r);
	assert_int_equal(r->wheel.now, target);
}

static void run_random(uint64_t seed, uint64_t start, size_t ops)
{
	struct ref *r;

	rng_state = seed;
	r = ref_new(start);
	for (size_t op = 0; op < ops; op++) {
		size_t i = rng_below(NTIMERS);
		uint64_t now = r->wheel.now, step;

		r->callbacks_act = rng_below(2);
		switch (rng_below(10)) {
		case 0:
		case 1:
		case 2:
		case 3:
			ref_arm(r, i, random_expiry(now));
			break;
		case 4:
			ref_cancel(r, i);
			break;
		case 5:
			/* Beyond the wheel's range (about 795 days). */
			if (rng_below(8) == 0)
				ref_arm(r, i,
					now + 800 * MS_DAY +
					    rng_below(400 * MS_DAY));
			else
				ref_arm(r, i, random_expiry(now));
			break;
		default:
			switch (rng_below(16)) {
			case 0:
				step = rng_below(10 * MS_DAY);
				break;
			case 1:
				step = rng_below(1200 * MS_DAY);
				break;
			case 2:
				step = 0;
				break;
			default:
				step = rng_below(3000);
				break;
			}
			ref_advance(r, now + step,
				    rng_below(3) == 0 ? 1 + rng_below(5) : 0);
			break;
		}
		assert_int_equal(r->wheel.count, ref_count(r));
	}
	free(r);
}

static void test_random_ops(void **state)
{
	(void)state;
	run_random(0x9e3779b97f4a7c15ull, 0, 60000);
	run_random(12345, 1700000000000ull, 60000);
	/* Start just before a top-level epoch boundary (2^36 ms). */
	run_random(777, (UINT64_C(1) << 36) - 5000, 60000);
}

struct counter {
	size_t n;
	struct qt_timer *last;
};

static void count_fire(struct qt_timer *t, void *arg)
{
	struct counter *c = arg;

	c->n++;
	c->last = t;
}

static void test_exact_expiry(void **state)
{
	struct qt_wheel w;
	struct qt_timer t;
	struct counter c = {0};
	uint64_t base = 123456789;

	(void)state;
	for (uint64_t delta = 1; delta < 40 * MS_DAY; delta = delta * 3 + 1) {
		qt_wheel_init(&w, base);
		qt_wheel_set_array(&w, 0, &t, sizeof(t), 1);
		qt_timer_init(&t);
		c.n = 0;
		qt_timer_arm(&w, &t, base + delta);
		assert_int_equal(
		    qt_wheel_advance(&w, base + delta - 1, count_fire, &c, 0),
		    0);
		assert_true(qt_timer_armed(&t));
		assert_int_equal(
		    qt_wheel_advance(&w, base + delta, count_fire, &c, 0), 1);
		assert_ptr_equal(c.last, &t);
		assert_false(qt_timer_armed(&t));
		assert_int_equal(w.count, 0);
	}
}

static void test_arm_in_past(void **state)
{
	struct qt_wheel w;
	struct qt_timer t;
	struct counter c = {0};

	(void)state;
	qt_wheel_init(&w, 10000);
	qt_wheel_set_array(&w, 0, &t, sizeof(t), 1);
	qt_timer_init(&t);
	qt_timer_arm(&w, &t, 500);
	assert_int_equal(w.count, 1);
	assert_int_equal(qt_wheel_advance(&w, 10000, count_fire, &c, 0), 1);
	assert_int_equal(c.n, 1);
	assert_int_equal(w.count, 0);
	/* Exactly at the wheel's time also fires on the next advance. */
	qt_timer_arm(&w, &t, 10000);
	assert_int_equal(qt_wheel_advance(&w, 9000, count_fire, &c, 0), 1);
}

static void test_cancel_and_count(void **state)
{
	struct qt_wheel w;
	struct qt_timer t[3];
	struct counter c = {0};

	(void)state;
	qt_wheel_init(&w, 0);
	qt_wheel_set_array(&w, 0, t, sizeof(t[0]), 3);
	for (int i = 0; i < 3; i++)
		qt_timer_init(&t[i]);
	qt_timer_cancel(&w, &t[0]);
	assert_int_equal(w.count, 0);
	qt_timer_arm(&w, &t[0], 100);
	qt_timer_arm(&w, &t[1], 5 * MS_DAY);
	qt_timer_arm(&w, &t[2], 1000 * MS_DAY);
	assert_int_equal(w.count, 3);
	qt_timer_arm(&w, &t[0], 200); /* re-arm does not count twice */
	assert_int_equal(w.count, 3);
	qt_timer_cancel(&w, &t[1]);
	qt_timer_cancel(&w, &t[1]);
	assert_int_equal(w.count, 2);
	/* t[0] at 200 ms sits in level 1; t[2] in the slot of
	 * QT_WHEEL_NEAR (300 s: level 3, slot 1), no further ahead. */
	for (int l = 0; l < QT_WHEEL_LEVELS; l++)
		if (l != 1)
			assert_int_equal(w.occupied[l], l == 3 ? 2 : 0);
	assert_int_equal(qt_wheel_advance(&w, 199, count_fire, &c, 0), 0);
	assert_int_equal(qt_wheel_advance(&w, 10 * MS_DAY, count_fire, &c, 0),
			 1);
	assert_ptr_equal(c.last, &t[0]);
	assert_int_equal(
	    qt_wheel_advance(&w, 1000 * MS_DAY - 1, count_fire, &c, 0), 0);
	assert_int_equal(qt_wheel_advance(&w, 1000 * MS_DAY, count_fire, &c, 0),
			 1);
	assert_ptr_equal(c.last, &t[2]);
	assert_int_equal(w.count, 0);
}

static void test_budget(void **state)
{
	struct qt_wheel w;
	struct qt_timer t[100];
	struct counter c = {0};
	size_t total = 0, n;

	(void)state;
	qt_wheel_init(&w, 0);
	qt_wheel_set_array(&w, 0, t, sizeof(t[0]), 100);
	for (int i = 0; i < 100; i++) {
		qt_timer_init(&t[i]);
		qt_timer_arm(&w, &t[i], 1 + (uint64_t)i * 7919);
	}
	while ((n = qt_wheel_advance(&w, 1000000, count_fire, &c, 7)) > 0) {
		assert_true(n <= 7);
		total += n;
	}
	assert_int_equal(total, 100);
	assert_int_equal(c.n, 100);
	assert_int_equal(w.count, 0);
}

struct rearm {
	struct qt_wheel *w;
	size_t n;
};

static void rearm_now(struct qt_timer *t, void *arg)
{
	struct rearm *ra = arg;

	ra->n++;
	qt_timer_arm(ra->w, t, ra->w->now);
}

/* A callback that always re-arms in the past must not loop forever. */
static void test_rearm_past_from_callback(void **state)
{
	struct qt_wheel w;
	struct qt_timer t;
	struct rearm ra = {&w, 0};

	(void)state;
	qt_wheel_init(&w, 0);
	qt_wheel_set_array(&w, 0, &t, sizeof(t), 1);
	qt_timer_init(&t);
	qt_timer_arm(&w, &t, 50);
	assert_int_equal(qt_wheel_advance(&w, 100, rearm_now, &ra, 0), 1);
	assert_true(qt_timer_armed(&t));
	assert_int_equal(qt_wheel_advance(&w, 100, rearm_now, &ra, 0), 1);
	assert_int_equal(ra.n, 2);
	assert_int_equal(w.count, 1);
}

/*
 * Re-arming to a time before, at and after the start of the slot the timer
 * sits in, and to later slots and levels: it fires exactly at the new time.
 */
static void test_rearm_moves(void **state)
{
	static const struct {
		uint64_t first, second;
	} cases[] = {
	    {100, 63},		{100, 64},	    {100, 70},
	    {100, 5000},	{100, 1},	    {5000, 4095},
	    {5000, 4096},	{5000, 4097},	    {5000, 100},
	    {5000, 9 * MS_DAY}, {9 * MS_DAY, 5000}, {262143, 262144},
	    {262144, 262143},	{5 * MS_DAY, QT_WHEEL_NEAR},
	    {5 * MS_DAY, QT_WHEEL_NEAR + 1}, {5 * MS_DAY, QT_WHEEL_NEAR - 1},
	    {3 * MS_DAY, 3 * QT_WHEEL_NEAR},
	};
	struct qt_wheel w;
	struct qt_timer t;
	struct counter c = {0};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		uint64_t e = cases[k].second;

		qt_wheel_init(&w, 0);
		qt_wheel_set_array(&w, 0, &t, sizeof(t), 1);
		qt_timer_init(&t);
		qt_timer_arm(&w, &t, cases[k].first);
		qt_timer_arm(&w, &t, e);
		assert_int_equal(w.count, 1);
		assert_int_equal(qt_wheel_advance(&w, e - 1, count_fire, &c, 0),
				 0);
		assert_int_equal(qt_wheel_advance(&w, e, count_fire, &c, 0), 1);
		assert_int_equal(w.count, 0);
	}
	/* Re-armed later over and over (a busy connection), from inside
	 * the wheel's time as it moves. */
	qt_wheel_init(&w, 0);
	qt_wheel_set_array(&w, 0, &t, sizeof(t), 1);
	qt_timer_init(&t);
	for (uint64_t now = 0; now < 100000; now += 7) {
		assert_int_equal(qt_wheel_advance(&w, now, count_fire, &c, 0),
				 0);
		qt_timer_arm(&w, &t, now + 30000);
	}
	assert_int_equal(qt_wheel_advance(&w, 99995 + 29999, count_fire, &c, 0),
			 0);
	assert_int_equal(qt_wheel_advance(&w, 99995 + 30000, count_fire, &c, 0),
			 1);
}

/*
 * An established connection's timer (five days) dropping to a time at least
 * QT_WHEEL_NEAR ahead (unacknowledged data) stays in its list: neither it
 * nor its neighbours are relinked.  It still fires exactly then, and the
 * others at their own time.
 */
static void test_rearm_near_stays(void **state)
{
	struct qt_wheel w;
	struct qt_timer t[3], before[3];
	struct counter c = {0};
	uint64_t now = 1000000, e = now + QT_WHEEL_NEAR + 1234;

	(void)state;
	qt_wheel_init(&w, now);
	qt_wheel_set_array(&w, 0, t, sizeof(t[0]), 3);
	for (int i = 0; i < 3; i++) {
		qt_timer_init(&t[i]);
		qt_timer_arm(&w, &t[i], now + 5 * MS_DAY);
	}
	memcpy(before, t, sizeof(t));
	qt_timer_rearm(&w, &t[1], e);
	assert_int_equal(t[0].next, before[0].next);
	assert_int_equal(t[0].prev, before[0].prev);
	assert_int_equal(t[2].next, before[2].next);
	assert_int_equal(t[2].prev, before[2].prev);
	assert_int_equal(t[1].prev, before[1].prev);
	assert_int_equal(t[1].next & QT_TIMER_REF_MASK,
			 before[1].next & QT_TIMER_REF_MASK);
	/* The same through qt_timer_arm(), back and forth. */
	qt_timer_arm(&w, &t[1], now + 5 * MS_DAY);
	qt_timer_arm(&w, &t[1], e);
	assert_int_equal(t[1].prev, before[1].prev);
	assert_int_equal(w.count, 3);
	assert_int_equal(qt_wheel_advance(&w, e - 1, count_fire, &c, 0), 0);
	assert_int_equal(qt_wheel_advance(&w, e, count_fire, &c, 0), 1);
	assert_ptr_equal(c.last, &t[1]);
	assert_int_equal(
	    qt_wheel_advance(&w, now + 5 * MS_DAY - 1, count_fire, &c, 0), 0);
	assert_int_equal(
	    qt_wheel_advance(&w, now + 5 * MS_DAY, count_fire, &c, 0), 2);
	assert_int_equal(w.count, 0);
}

/* A jump of years over a few timers visits few slots, not every ms. */
static void test_large_jump(void **state)
{
	struct qt_wheel w;
	struct qt_timer t[4];
	struct counter c = {0};

	(void)state;
	qt_wheel_init(&w, 0);
	qt_wheel_set_array(&w, 0, t, sizeof(t[0]), 4);
	for (int i = 0; i < 4; i++) {
		qt_timer_init(&t[i]);
		qt_timer_arm(&w, &t[i], (uint64_t)(i + 1) * 400 * MS_DAY);
	}
	assert_int_equal(
	    qt_wheel_advance(&w, UINT64_C(1) << 62, count_fire, &c, 0), 4);
	assert_int_equal(w.count, 0);
	assert_int_equal(w.now, UINT64_C(1) << 62);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_expiry),
	    cmocka_unit_test(test_arm_in_past),
	    cmocka_unit_test(test_cancel_and_count),
	    cmocka_unit_test(test_budget),
	    cmocka_unit_test(test_rearm_past_from_callback),
	    cmocka_unit_test(test_rearm_moves),
	    cmocka_unit_test(test_rearm_near_stays),
	    cmocka_unit_test(test_large_jump),
	    cmocka_unit_test(test_random_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * expect.c - the expectation table.
 *
 * A small pool sized by [helper] expect_max.  Lookups scan the live
 * expectations; there are few (one per FTP transfer in flight) and the scan
 * is skipped entirely when there are none, which keeps the packet path of
 * every other connection untouched.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"

#define SLOT_END UINT32_MAX

int qt_expect_init(struct qt_expect_table *x, struct qt_table *conns,
		   uint32_t max)
{
	memset(x, 0, sizeof(*x));
	x->conns = conns;
	x->max = max;
	x->next_id = 1;
	x->free_head = SLOT_END;
	x->help_free = SLOT_END;
	if (max == 0)
		return 0;
	x->master_of = calloc(conns->max, sizeof(*x->master_of));
	x->slot = calloc(max, sizeof(*x->slot));
	if (!x->slot || !x->master_of) {
		qt_expect_destroy(x);
		errno = ENOMEM;
		return -1;
	}
	for (uint32_t i = 0; i < max; i++)
		x->slot[i].next_free = i + 1 < max ? i + 1 : SLOT_END;
	x->free_head = 0;

	/* One helper state per control connection; the kernel bounds
	 * neither, but a control connection without room for an
	 * expectation is of little use, so the same size serves. */
	x->help_max = max < QT_HELP_MAX ? max : QT_HELP_MAX;
	x->help = calloc(x->help_max, sizeof(*x->help));
	if (!x->help) {
		qt_expect_destroy(x);
		errno = ENOMEM;
		return -1;
	}
	for (uint32_t i = 0; i < x->help_max; i++)
		x->help[i].next_free = i + 1 < x->help_max ? i + 1 : SLOT_END;
	x->help_free = 0;
	return 0;
}

void qt_expect_destroy(struct qt_expect_table *x)
{
	free(x->master_of);
	x->master_of = NULL;
	free(x->slot);
	x->slot = NULL;
	free(x->help);
	x->help = NULL;
}

bool qt_expect_is_timer(const struct qt_expect_table *x,
			const struct qt_timer *t)
{
	uintptr_t p = (uintptr_t)t, lo = (uintptr_t)x->slot;

	return x->slot && p >= lo && p < (uintptr_t)(x->slot + x->max);
}

static void expect_free(struct qt_expect_table *x, struct qt_wheel *w,
			struct qt_expect *exp)
{
	struct qt_conn *master = &x->conns->conns[exp->master];

	if (w)
		qt_timer_cancel(w, &exp->timer);
	if (master->nexpect)
		master->nexpect--;
	exp->live = false;
	exp->next_free = x->free_head;
	x->free_head = (uint32_t)(exp - x->slot);
	x->count--;
}

void qt_expect_timer_fired(struct qt_expect_table *x, struct qt_timer *t)
{
	struct qt_expect *exp = (struct qt_expect *)((char *)t -
				offsetof(struct qt_expect, timer));

	/* The timer is already disarmed; expect_free()'s cancel is a no-op. */
	expect_free(x, NULL, exp);
}

static bool expect_match(const struct qt_expect *exp,
			 const struct qt_tuple *t)
{
	struct qt_tuple want = exp->tuple;

	if (exp->flags & QT_EXPECT_ANY_SPORT)
		want.sport = t->sport;
	return qt_tuple_equal(&want, t);
}

int qt_expect_add(struct qt_expect_table *x, struct qt_wheel *w,
		  struct qt_conn *master, const struct qt_tuple *tuple,
		  uint8_t flags, uint8_t helper, uint32_t timeout,
		  uint32_t per_master, uint64_t now)
{
	uint32_t midx = qt_table_index(x->conns, master);
	struct qt_expect *oldest = NULL, *exp = NULL;
	uint32_t mine = 0;

	for (uint32_t i = 0; i < x->max && mine < master->nexpect; i++) {
		struct qt_expect *e = &x->slot[i];

		if (!e->live || e->master != midx)
			continue;
		mine++;
		if (qt_tuple_equal(&e->tuple, tuple) && e->flags == flags) {
			exp = e;
			break;
		}
		if (!oldest || e->id < oldest->id)
			oldest = e;
	}
	/* Another master's expectation for the same connection: the
	 * kernel's expect_clash() refuses the new one. */
	if (!exp && x->count) {
		for (uint32_t i = 0; i < x->max; i++) {
			const struct qt_expect *e = &x->slot[i];

			if (e->live && e->master != midx &&
			    expect_match(e, tuple) &&
			    (flags & QT_EXPECT_ANY_SPORT ||
			     !(e->flags & QT_EXPECT_ANY_SPORT))) {
				x->refused++;
				return -1;
			}
		}
	}
	if (!exp && per_master && master->nexpect >= per_master && oldest) {
		expect_free(x, w, oldest);
	}
	if (!exp) {
		if (x->free_head == SLOT_END) {
			x->refused++;
			return -1;
		}
		exp = &x->slot[x->free_head];
		x->free_head = exp->next_free;
		memset(exp, 0, sizeof(*exp));
		qt_timer_init(&exp->timer);
		exp->live = true;
		exp->master = midx;
		exp->id = x->next_id++;
		x->count++;
		x->created++;
		master->nexpect++;
	}
	exp->tuple = *tuple;
	exp->flags = flags;
	exp->helper = helper;
	exp->timeout = timeout;
	qt_timer_arm(w, &exp->timer, now + (uint64_t)timeout * 1000);
	return 0;
}

void qt_expect_remove_master(struct qt_expect_table *x, struct qt_wheel *w,
			     struct qt_conn *master)
{
	uint32_t midx = qt_table_index(x->conns, master);

	for (uint32_t i = 0; i < x->max && master->nexpect; i++)
		if (x->slot[i].live && x->slot[i].master == midx)
			expect_free(x, w, &x->slot[i]);
	if (master->help && master->help <= x->help_max) {
		uint32_t h = master->help - 1u;

		x->help[h].next_free = x->help_free;
		x->help_free = h;
		x->help_count--;
		master->help = 0;
	}
}

struct qt_help *qt_expect_help_get(struct qt_expect_table *x,
				   struct qt_conn *ct)
{
	struct qt_help *h;

	if (ct->help)
		return &x->help[ct->help - 1u];
	if (x->help_free == SLOT_END) {
		x->help_refused++;
		return NULL;
	}
	h = &x->help[x->help_free];
	ct->help = (uint16_t)(x->help_free + 1u);
	x->help_free = h->next_free;
	x->help_count++;
	memset(h, 0, sizeof(*h));
	return h;
}

/* Make @ct RELATED to the master of the expectation it matches, if any,
 * and use the expectation up. */
static bool expect_take(struct qt_expect_table *x, struct qt_wheel *w,
			struct qt_conn *ct)
{
	struct qt_tuple t;

	qt_conn_tuple_orig(ct, &t);
	for (uint32_t i = 0; i < x->max; i++) {
		struct qt_expect *exp = &x->slot[i];
		struct qt_conn *master;

		if (!exp->live || !expect_match(exp, &t))
			continue;
		master = &x->conns->conns[exp->master];
		ct->status |= QT_CONN_EXPECTED;
		x->master_of[qt_table_index(x->conns, ct)] =
			(struct qt_master_link){ exp->master, master->id };
		/* The related connection carries the master's connmark. */
		ct->mark = master->mark;
		expect_free(x, w, exp);
		return true;
	}
	return false;
}

void qt_expect_apply(struct qt_expect_table *x, struct qt_wheel *w,
		     struct qt_conn *ct, const struct qt_conf *conf)
{
	/* An expected connection gets the expectation's helper (none for
	 * FTP data), never one by port: init_conntrack() assigns a helper by
	 * the template only when no expectation matched. */
	if (x->count && expect_take(x, w, ct))
		return;
	ct->helper = qt_helper_assign(ct, conf);
}

const struct qt_conn *qt_expect_master(const struct qt_expect_table *x,
				       const struct qt_conn *ct)
{
	const struct qt_master_link *m;
	const struct qt_conn *master;

	if (!(ct->status & QT_CONN_EXPECTED) || !x->master_of)
		return NULL;
	m = &x->master_of[qt_table_index(x->conns, ct)];
	master = &x->conns->conns[m->index];
	if (!(master->status & QT_CONN_HASHED) || master->id != m->id)
		return NULL;
	return master;
}

void qt_expect_helper(struct qt_expect_table *x, struct qt_wheel *w,
		      struct qt_conn *ct, const struct qt_pkt *pkt,
		      enum qt_dir dir, const struct qt_conf *conf,
		      uint64_t now)
{
	const struct qt_helper_ops *h = qt_helper_find(ct->helper);

	if (h)
		h->help(x, w, ct, pkt, dir, conf, now);
}

const struct qt_expect *qt_expect_next(const struct qt_expect_table *x,
				       uint32_t *cursor)
{
	while (*cursor < x->max) {
		const struct qt_expect *exp = &x->slot[(*cursor)++];

		if (exp->live)
			return exp;
	}
	return NULL;
}

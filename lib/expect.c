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
	if (max == 0)
		return 0;
	x->slot = calloc(max, sizeof(*x->slot));
	if (!x->slot) {
		errno = ENOMEM;
		return -1;
	}
	for (uint32_t i = 0; i < max; i++)
		x->slot[i].next_free = i + 1 < max ? i + 1 : SLOT_END;
	x->free_head = 0;
	return 0;
}

void qt_expect_destroy(struct qt_expect_table *x)
{
	free(x->slot);
	x->slot = NULL;
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
}

static bool port_listed(const uint16_t *ports, unsigned n, uint16_t port)
{
	for (unsigned i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

void qt_expect_apply(struct qt_expect_table *x, struct qt_wheel *w,
		     struct qt_conn *ct, const struct qt_conf *conf)
{
	const struct qt_tuple *t = &ct->tuple[QT_DIR_ORIG];

	if (t->proto == 6 && port_listed(conf->helper.ftp_ports,
					 conf->helper.n_ftp_ports, t->dport))
		ct->helper = QT_HELPER_FTP;
	if (x->count == 0)
		return;
	for (uint32_t i = 0; i < x->max; i++) {
		struct qt_expect *exp = &x->slot[i];
		struct qt_conn *master;

		if (!exp->live || !expect_match(exp, t))
			continue;
		master = &x->conns->conns[exp->master];
		ct->status |= QT_CONN_EXPECTED;
		ct->master = exp->master;
		/* The related connection carries the master's connmark. */
		ct->mark = master->mark;
		expect_free(x, w, exp);
		return;
	}
}

void qt_expect_helper(struct qt_expect_table *x, struct qt_wheel *w,
		      struct qt_conn *ct, const struct qt_pkt *pkt,
		      enum qt_dir dir, const struct qt_conf *conf,
		      uint64_t now)
{
	switch (ct->helper) {
	case QT_HELPER_FTP:
		qt_helper_ftp(x, w, ct, pkt, dir, conf, now);
		break;
	default:
		break;
	}
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

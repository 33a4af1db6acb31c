// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_confirm.c - confirmation (a new connection is kept only once its
 * first packet comes back from the confirm rule) and the choice of the
 * entry evicted when the table is full.  Packets are built byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pktbuild.h"
#include "qtrack.h"

#define A4 0x0a000001u	/* 10.0.0.1 */
#define B4 0x0a000002u	/* 10.0.0.2 */

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

struct fixture {
	struct qt_conf conf;
	struct qt_engine *e;
	uint64_t now;
	unsigned events[3];
};

static void on_event(void *arg, enum qt_event_type type,
		     const struct qt_conn *ct)
{
	struct fixture *f = arg;

	(void)ct;
	f->events[type]++;
}

/* A table of four entries in one bucket, so every entry is in the
 * neighbourhood early drop looks at. */
static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	qt_conf_init(&f.conf);
	f.conf.table.max = 4;
	f.conf.table.buckets = 1;
	f.now = 1000000;
	f.e = qt_engine_new(&f.conf, f.now);
	assert_non_null(f.e);
	qt_engine_set_events(f.e, on_event, &f);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	qt_engine_free(f->e);
	return 0;
}

/* Classify @p as it arrives at the queue rule. */
static struct qt_result run(struct fixture *f, struct pkt p)
{
	struct qt_input in = { .data = p.b, .caplen = p.len, .origlen = p.len };
	struct qt_result r;

	qt_engine_process_batch(f->e, &in, 1, f->now, &r);
	return r;
}

/* @p back from the confirm rule with the mark it was given. */
static struct qt_result confirm(struct fixture *f, struct pkt p,
				uint32_t mark)
{
	struct qt_input in = { .data = p.b, .caplen = p.len, .origlen = p.len,
			       .mark = mark, .flags = QT_IN_CONFIRM };
	struct qt_result r;

	qt_engine_process_batch(f->e, &in, 1, f->now, &r);
	return r;
}

static unsigned count_listed(const struct qt_engine *e, bool unconfirmed)
{
	const struct qt_conn *ct;
	uint32_t cur = 0;
	unsigned n = 0;

	while ((ct = unconfirmed ? qt_engine_next_unconfirmed(e, &cur)
				 : qt_engine_next(e, &cur)) != NULL)
		n++;
	return n;
}

/* Turn confirmation on for IPv4: a confirm packet of no connection. */
static void enable_confirm(struct fixture *f)
{
	struct qt_result r = confirm(f, udp4(A4, B4, 1, 1), 0x1);

	assert_null(r.conn);
	assert_int_equal(r.mark, 0x1);
}

static void test_mark_wants_confirm(void **state)
{
	struct fixture *f = *state;
	const struct qt_conf_mark *m = &f->conf.mark;

	assert_true(qt_mark_wants_confirm(m, 0x1));	/* NEW */
	assert_true(qt_mark_wants_confirm(m, 0x3));	/* RELATED */
	assert_true(qt_mark_wants_confirm(m, 0x4201));	/* foreign bits */
	assert_false(qt_mark_wants_confirm(m, 0x11));	/* NEW reply */
	assert_false(qt_mark_wants_confirm(m, 0x2));
	assert_false(qt_mark_wants_confirm(m, 0x4));
	assert_false(qt_mark_wants_confirm(m, 0x5));
	assert_false(qt_mark_wants_confirm(m, 0x0));
}

/* Without a confirm rule a connection is kept with its first packet. */
static void test_without_confirm_rule(void **state)
{
	struct fixture *f = *state;
	struct qt_result r = run(f, udp4(A4, B4, 1000, 53));

	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(count_listed(f->e, false), 1);
	assert_int_equal(count_listed(f->e, true), 0);
	assert_int_equal(f->events[QT_EV_NEW], 1);
	assert_int_equal(qt_engine_stats(f->e)->created, 1);
	assert_int_equal(qt_engine_stats(f->e)->unconfirmed, 0);
}

static void test_confirmed_by_its_packet(void **state)
{
	struct fixture *f = *state;
	const struct qt_stats *st = qt_engine_stats(f->e);
	struct pkt p = udp4(A4, B4, 1000, 53);
	struct qt_result r;

	enable_confirm(f);
	r = run(f, p);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(r.mark, 0x1);
	/* Waiting: counted, listed only as unconfirmed, not announced. */
	assert_int_equal(st->count, 1);
	assert_int_equal(st->unconfirmed, 1);
	assert_int_equal(count_listed(f->e, false), 0);
	assert_int_equal(count_listed(f->e, true), 1);
	assert_int_equal(f->events[QT_EV_NEW], 0);

	f->now += 1;
	r = confirm(f, p, 0x1);
	assert_non_null(r.conn);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(r.mark, 0x1);
	assert_int_equal(st->confirmed, 1);
	assert_int_equal(st->created, 1);
	assert_int_equal(st->unconfirmed, 0);
	assert_int_equal(f->events[QT_EV_NEW], 1);
	assert_int_equal(count_listed(f->e, false), 1);
	/* The full UDP timeout now, not the wait for confirmation. */
	assert_int_equal(qt_engine_timeout_left(f->e, r.conn, f->now), 30);

	/* A second confirm packet (a NEW one before the reply) is a no-op. */
	confirm(f, p, 0x1);
	assert_int_equal(st->confirmed, 1);
	assert_int_equal(f->events[QT_EV_NEW], 1);

	r = run(f, udp4(B4, A4, 53, 1000));
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	assert_true(r.reply);
}

/* The rules dropped the first packet: the entry goes after
 * confirm_timeout, never announced, and meanwhile changes nothing. */
static void test_dropped_packet_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	const struct qt_stats *st = qt_engine_stats(f->e);
	struct qt_result r;

	enable_confirm(f);
	run(f, udp4(A4, B4, 1000, 53));
	/* A reply to a connection whose opener was dropped is not
	 * ESTABLISHED: for the kernel there is no such connection. */
	r = run(f, udp4(B4, A4, 53, 1000));
	assert_int_equal(r.state, QT_CT_NEW);
	assert_false(r.reply);
	assert_int_equal(st->unconfirmed_replaced, 1);
	assert_int_equal(st->count, 1);

	f->now += (uint64_t)f->conf.table.confirm_timeout * 1000 + 1;
	qt_engine_expire(f->e, f->now, 0);
	assert_int_equal(st->count, 0);
	assert_int_equal(st->unconfirmed, 0);
	assert_int_equal(st->unconfirmed_expired, 1);
	assert_int_equal(st->created, 0);
	assert_int_equal(f->events[QT_EV_NEW], 0);
	assert_int_equal(f->events[QT_EV_DESTROY], 0);
}

/* An unconfirmed TCP entry is no state for the next packet: after a
 * dropped SYN, an ACK is picked up as the kernel picks up an unknown one
 * (loose), not judged against the dropped SYN. */
static void test_unconfirmed_tcp_not_used(void **state)
{
	struct fixture *f = *state;
	struct qt_result r;

	enable_confirm(f);
	r = run(f, tcp4(A4, B4, 40000, 22, TH_SYN, 100, 0));
	assert_int_equal(r.state, QT_CT_NEW);
	r = run(f, tcp4(A4, B4, 40000, 22, TH_ACK, 5000, 7000));
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(qt_engine_stats(f->e)->unconfirmed_replaced, 1);
	assert_int_equal(qt_engine_stats(f->e)->unconfirmed, 1);
}

/* The firewall's own ICMP error about a packet it refuses (REJECT, TTL
 * exceeded) quotes a packet whose entry is unconfirmed: RELATED, as the
 * kernel attaches such errors to the unconfirmed entry. */
static void test_error_about_unconfirmed(void **state)
{
	struct fixture *f = *state;
	struct pkt q = udp4(A4, B4, 1000, 53);
	uint8_t h[8 + 28] = { 3, 3 };	/* port unreachable */
	struct qt_result r;

	enable_confirm(f);
	run(f, q);
	memcpy(h + 8, q.b, 28);
	r = run(f, ip4(B4, A4, 1, h, sizeof(h)));
	assert_int_equal(r.state, QT_CT_RELATED);
	assert_true(r.reply);
	/* It does not confirm the entry. */
	assert_int_equal(qt_engine_stats(f->e)->unconfirmed, 1);
	assert_int_equal(count_listed(f->e, false), 0);
}

static void test_confirm_other_family_off(void **state)
{
	struct fixture *f = *state;
	static const uint8_t a6[16] = { 0xfd, [15] = 1 };
	static const uint8_t b6[16] = { 0xfd, [15] = 2 };
	uint8_t u[8] = { 0, 9, 0, 53, 0, 8, 0, 0 };
	struct pkt p = { .len = 48 };

	enable_confirm(f);
	p.b[0] = 0x60;
	put16(p.b + 4, 8);
	p.b[6] = 17;
	p.b[7] = 64;
	memcpy(p.b + 8, a6, 16);
	memcpy(p.b + 24, b6, 16);
	memcpy(p.b + 40, u, 8);
	/* No IPv6 confirm rule seen: kept with its first packet. */
	run(f, p);
	assert_int_equal(count_listed(f->e, false), 1);
	assert_int_equal(qt_engine_stats(f->e)->unconfirmed, 0);
}

/* Make a UDP flow assured: a reply, then a packet after the delay. */
static void udp_assure(struct fixture *f, uint16_t sport)
{
	struct qt_result r;

	run(f, udp4(A4, B4, sport, 53));
	r = run(f, udp4(B4, A4, 53, sport));
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	f->now += 3000;
	r = run(f, udp4(A4, B4, sport, 53));
	assert_true(r.conn->status & QT_CONN_ASSURED);
}

static bool udp_listed(struct fixture *f, uint16_t sport)
{
	const struct qt_conn *ct;
	uint32_t cur = 0;

	while ((ct = qt_engine_next(f->e, &cur)) != NULL)
		if (ct->l4proto == 17 && ct->sport == sport)
			return true;
	return false;
}

/* A TCP handshake from port @sport; returns the client's next seq. */
static uint32_t tcp_open(struct fixture *f, uint16_t sport)
{
	struct qt_result r;

	run(f, tcp4(A4, B4, sport, 22, TH_SYN, 100, 0));
	run(f, tcp4(B4, A4, 22, sport, TH_SYN | TH_ACK, 900, 101));
	r = run(f, tcp4(A4, B4, sport, 22, TH_ACK, 101, 901));
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	assert_true(r.conn->status & QT_CONN_ASSURED);
	return 101;
}

/* The original defect: half-open TCP entries were never evicted, so a
 * SYN flood refused every new connection. */
static void test_evict_half_open_tcp(void **state)
{
	struct fixture *f = *state;
	const struct qt_stats *st = qt_engine_stats(f->e);
	struct qt_result r;

	for (uint16_t i = 0; i < 4; i++)
		run(f, tcp4(A4, B4, 1000 + i, 80, TH_SYN, 1, 0));
	assert_int_equal(st->count, 4);
	r = run(f, tcp4(A4, B4, 2000, 22, TH_SYN, 1, 0));
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(st->early_drop, 1);
	assert_int_equal(st->early_drop_proto[6], 1);
	assert_int_equal(st->refused, 0);
}

/* Unconfirmed entries go first, assured ones never unless closing. */
static void test_victim_order(void **state)
{
	struct fixture *f = *state;
	const struct qt_stats *st = qt_engine_stats(f->e);
	struct qt_result r;
	uint32_t seq;

	udp_assure(f, 1);
	seq = tcp_open(f, 2);
	run(f, udp4(A4, B4, 3, 53));		/* unassured */
	f->now += 500;
	enable_confirm(f);
	run(f, udp4(A4, B4, 4, 53));		/* unconfirmed */
	assert_int_equal(st->count, 4);

	r = run(f, udp4(A4, B4, 5, 53));
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(st->early_drop, 1);
	assert_int_equal(count_listed(f->e, true), 1);
	assert_true(udp_listed(f, 3));	/* the unassured one stayed */
	confirm(f, udp4(A4, B4, 5, 53), 0x1);

	/* No unconfirmed entry left: the unassured one goes. */
	r = run(f, udp4(A4, B4, 6, 53));
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(st->early_drop, 2);
	assert_false(udp_listed(f, 3));
	assert_true(udp_listed(f, 1));
	assert_true(udp_listed(f, 5));
	confirm(f, udp4(A4, B4, 6, 53), 0x1);

	/* Entries 5 and 6 are unassured too: the one with less time left
	 * goes (6 is refreshed by a second packet). */
	f->now += 1000;
	run(f, udp4(A4, B4, 6, 53));
	run(f, udp4(A4, B4, 7, 53));
	assert_int_equal(st->early_drop, 3);
	assert_false(udp_listed(f, 5));
	assert_true(udp_listed(f, 6));
	confirm(f, udp4(A4, B4, 7, 53), 0x1);

	/* Make 6 and 7 assured: only assured entries are left, and the
	 * TCP one is established: nothing may go. */
	f->now += 1;
	run(f, udp4(B4, A4, 53, 6));
	run(f, udp4(B4, A4, 53, 7));
	f->now += 3000;
	run(f, udp4(A4, B4, 6, 53));
	run(f, udp4(A4, B4, 7, 53));
	r = run(f, udp4(A4, B4, 8, 53));
	assert_int_equal(r.state, QT_CT_INVALID);
	assert_int_equal(r.reason, QT_R_TABLE_FULL);
	assert_int_equal(st->refused, 1);

	/* A FIN puts the assured TCP connection in a closing state, where
	 * the kernel lets it go when the table is full. */
	run(f, tcp4(A4, B4, 2, 22, TH_FIN | TH_ACK, seq, 901));
	r = run(f, udp4(A4, B4, 8, 53));
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(st->early_drop_proto[6], 1);
	assert_int_equal(st->early_drop_proto[17], 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mark_wants_confirm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_without_confirm_rule,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmed_by_its_packet,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dropped_packet_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unconfirmed_tcp_not_used,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_about_unconfirmed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirm_other_family_off,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_evict_half_open_tcp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_victim_order, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_engine.c - the classification pipeline with the UDP, ICMP, ICMPv6 and
 * generic trackers, the table limit and early drop, expiry, the mark
 * contract and events.  Packets are built byte by byte here, independent of
 * lib/packet.c's view of them.
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
#define C4 0x0a000003u	/* 10.0.0.3 */

/* An IPv4 address as stored in a tuple, back to host order. */
static uint32_t be32_(uint32_t v)
{
	const uint8_t *b = (const uint8_t *)&v;

	return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

static const uint8_t A6[16] = { 0xfd, 0, [15] = 1 };
static const uint8_t B6[16] = { 0xfd, 0, [15] = 2 };

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

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	qt_conf_init(&f.conf);
	f.conf.table.max = 64;
	f.conf.table.buckets = 16;
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

static struct qt_result run(struct fixture *f, struct pkt p, uint32_t mark)
{
	struct qt_result r;

	qt_engine_process(f->e, p.b, p.len, p.len, mark, f->now, &r);
	return r;
}

static void expect_state(struct fixture *f, struct pkt p,
			 enum qt_ct_state st, bool reply)
{
	struct qt_result r = run(f, p, 0);

	assert_string_equal(qt_ct_state_name(r.state), qt_ct_state_name(st));
	assert_int_equal(r.reply, reply);
}

static void test_udp_flow(void **state)
{
	struct fixture *f = *state;
	struct pkt req = udp4(A4, B4, 5000, 53), rep = udp4(B4, A4, 53, 5000);
	struct qt_result r;

	r = run(f, req, 0);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_false(r.reply);
	assert_int_equal(r.conn->timeout, 30);
	assert_false(r.conn->status & QT_CONN_SEEN_REPLY);
	/* A retransmitted request before any reply is still NEW. */
	expect_state(f, req, QT_CT_NEW, false);
	f->now += 100;
	r = run(f, rep, 0);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	assert_true(r.reply);
	assert_true(r.conn->status & QT_CONN_SEEN_REPLY);
	/* Within two seconds of the first packet: still the short timeout
	 * and not assured (today's kernel). */
	r = run(f, req, 0);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	assert_int_equal(r.conn->timeout, 30);
	assert_false(r.conn->status & QT_CONN_ASSURED);
	f->now += 2500;
	r = run(f, rep, 0);
	assert_int_equal(r.conn->timeout, 180);
	assert_true(r.conn->status & QT_CONN_ASSURED);
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
	assert_int_equal(f->events[QT_EV_NEW], 1);
	assert_true(f->events[QT_EV_UPDATE] >= 2);	/* reply, assured */
}

/* UDP-Lite (136) as the kernel's udplite tracker: ports in the tuple,
 * the udp timeouts, ASSURED with the first packet after a reply (no
 * two-second delay). */
static void test_udplite(void **state)
{
	struct fixture *f = *state;
	struct pkt req = udp4(A4, B4, 5000, 53), rep = udp4(B4, A4, 53, 5000);
	struct pkt other = udp4(B4, A4, 54, 5000);
	struct qt_result r;

	req.b[9] = rep.b[9] = other.b[9] = 136;
	r = run(f, req, 0);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(r.conn->timeout, 30);
	r = run(f, rep, 0);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	assert_true(r.reply);
	assert_false(r.conn->status & QT_CONN_ASSURED);
	f->now += 10;
	r = run(f, req, 0);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	assert_true(r.conn->status & QT_CONN_ASSURED);
	assert_int_equal(r.conn->timeout, 180);
	/* Another source port is another connection. */
	r = run(f, other, 0);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(qt_engine_stats(f->e)->count, 2);
}

static void test_udp_expiry(void **state)
{
	struct fixture *f = *state;
	struct pkt req = udp4(A4, B4, 5001, 53);
	struct qt_result r;

	expect_state(f, req, QT_CT_NEW, false);
	f->now += 29999;
	qt_engine_expire(f->e, f->now, 0);
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
	r = run(f, req, 0);
	assert_int_equal(qt_engine_timeout_left(f->e, r.conn, f->now), 30);
	f->now += 30001;
	assert_int_equal(qt_engine_expire(f->e, f->now, 0), 1);
	assert_int_equal(qt_engine_stats(f->e)->count, 0);
	assert_int_equal(f->events[QT_EV_DESTROY], 1);
	expect_state(f, req, QT_CT_NEW, false);
}

static void test_icmp_echo(void **state)
{
	struct fixture *f = *state;
	struct pkt req = icmp4(A4, B4, 8, 77), rep = icmp4(B4, A4, 0, 77);
	struct pkt stray = icmp4(B4, A4, 0, 78);
	struct qt_result r;

	expect_state(f, req, QT_CT_NEW, false);
	r = run(f, rep, 0);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	assert_true(r.reply);
	/* Kept after the reply, as today's kernel does. */
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
	assert_false(r.conn->status & QT_CONN_ASSURED);
	{
		struct qt_tuple rt;

		qt_conn_tuple(r.conn, QT_DIR_REPLY, &rt);
		assert_int_equal(rt.icmp.type, 0);
	}
	r = run(f, stray, 0);
	assert_int_equal(r.state, QT_CT_INVALID);
	assert_int_equal(r.reason, QT_R_ICMP_UNSOLICITED);
	/* An empty packet does not parse. */
	r = run(f, (struct pkt){ .len = 0 }, 0);
	assert_int_equal(r.state, QT_CT_INVALID);
	/* An echo request the other way round is a connection of its own. */
	expect_state(f, icmp4(B4, A4, 8, 77), QT_CT_NEW, false);
	/* Router advertisement: no connection can be made of it. */
	r = run(f, icmp4(B4, A4, 9, 0), 0);
	assert_int_equal(r.state, QT_CT_INVALID);
}

static void test_icmp_error_related(void **state)
{
	struct fixture *f = *state;
	struct pkt req = udp4(A4, B4, 5002, 4000);
	struct pkt unreach = icmp4_err(B4, A4, 3, 3, &req);
	struct pkt unknown = udp4(A4, C4, 5003, 4000);
	struct pkt bogus = icmp4_err(B4, A4, 3, 3, &unknown);
	struct pkt misdirected = icmp4_err(B4, C4, 3, 3, &req);
	struct pkt router = icmp4_err(C4, A4, 11, 0, &req);
	struct qt_result r;

	expect_state(f, req, QT_CT_NEW, false);
	r = run(f, unreach, 0);
	assert_int_equal(r.state, QT_CT_RELATED);
	assert_true(r.reply);
	/* A router on the way may send the error too. */
	expect_state(f, router, QT_CT_RELATED, true);
	r = run(f, bogus, 0);
	assert_int_equal(r.state, QT_CT_INVALID);
	assert_int_equal(r.reason, QT_R_ICMP_NO_CONN);
	r = run(f, misdirected, 0);
	assert_int_equal(r.state, QT_CT_INVALID);
	/* Errors create nothing. */
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
	/* An error travelling in the original direction (A tells B about
	 * B's reply) is RELATED without the reply bit. */
	struct pkt rep = udp4(B4, A4, 4000, 5002);
	expect_state(f, rep, QT_CT_ESTABLISHED, true);
	expect_state(f, icmp4_err(A4, B4, 3, 3, &rep),
		     QT_CT_RELATED, false);
}

static void test_icmpv6(void **state)
{
	struct fixture *f = *state;
	uint8_t echo[8] = { 128, 0, 0, 0, 0, 9 }, reply[8] = { 129, 0, 0, 0,
								0, 9 };
	uint8_t ns[24] = { 135 };
	struct pkt q = ip6(A6, B6, 58, echo, sizeof(echo));
	struct pkt a = ip6(B6, A6, 58, reply, sizeof(reply));
	struct pkt n = ip6(A6, B6, 58, ns, sizeof(ns));
	struct qt_result r;

	expect_state(f, q, QT_CT_NEW, false);
	expect_state(f, a, QT_CT_ESTABLISHED, true);
	r = run(f, n, 0);
	assert_int_equal(r.state, QT_CT_UNTRACKED);
	assert_null(r.conn);
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
	/* Packet too big quoting the echo request: RELATED, reply dir. */
	uint8_t ptb[8 + 48] = { 2, 0 };
	memcpy(ptb + 8, q.b, 48);
	expect_state(f, ip6(B6, A6, 58, ptb, sizeof(ptb)),
		     QT_CT_RELATED, true);
}

/* Every ICMPv6 type below 128 is an error, unassigned ones included (5,
 * 100, 127, even 0): RELATED when the quote matches, INVALID otherwise. */
static void test_icmpv6_unassigned_errors(void **state)
{
	struct fixture *f = *state;
	uint8_t echo[8] = { 128, 0, 0, 0, 0, 9 };
	struct pkt q = ip6(A6, B6, 58, echo, sizeof(echo));
	static const uint8_t types[] = { 0, 5, 100, 127 };
	uint8_t err[8 + 48];

	expect_state(f, q, QT_CT_NEW, false);
	for (size_t i = 0; i < sizeof(types); i++) {
		memset(err, 0, sizeof(err));
		err[0] = types[i];
		memcpy(err + 8, q.b, 48);
		expect_state(f, ip6(B6, A6, 58, err, sizeof(err)),
			     QT_CT_RELATED, true);
		/* The same error about a flow nobody tracks. */
		err[8 + 40 + 5] ^= 0x5a;
		expect_state(f, ip6(B6, A6, 58, err, sizeof(err)),
			     QT_CT_INVALID, false);
	}
	/* 128 and up are informational: 150 is no error and opens
	 * nothing. */
	memset(err, 0, sizeof(err));
	err[0] = 150;
	memcpy(err + 8, q.b, 48);
	expect_state(f, ip6(B6, A6, 58, err, sizeof(err)), QT_CT_INVALID,
		     false);
}

static void test_generic(void **state)
{
	struct fixture *f = *state;
	uint8_t gen[8] = { 0 };
	struct pkt o = ip4(A4, B4, 253, gen, sizeof(gen));
	struct pkt rr = ip4(B4, A4, 253, gen, sizeof(gen));
	struct qt_result r;

	r = run(f, o, 0);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(r.conn->timeout, 600);
	expect_state(f, rr, QT_CT_ESTABLISHED, true);
	expect_state(f, o, QT_CT_ESTABLISHED, false);
}

static void test_marks(void **state)
{
	struct fixture *f = *state;
	struct pkt req = udp4(A4, B4, 5004, 53), rep = udp4(B4, A4, 53, 5004);
	struct qt_result r;

	r = run(f, req, 0xabcd0000 | 0x44);
	assert_int_equal(r.mark, 0xabcd0000 | 0x01);
	r = run(f, rep, 0x300);
	assert_int_equal(r.mark, 0x300 | 0x02 | 0x10);
	/* notrack bits: UNTRACKED, no entry, mark keeps the input bits. */
	r = run(f, udp4(A4, C4, 1, 2), 0x1000);
	assert_int_equal(r.state, QT_CT_UNTRACKED);
	assert_int_equal(r.mark, 0x1000 | 0x05);
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
	/* A packet that does not parse is INVALID and counted. */
	r = run(f, (struct pkt){ .b = { 0x45 }, .len = 10 }, 0);
	assert_int_equal(r.state, QT_CT_INVALID);
	assert_int_equal(r.mark, 0x04);
	assert_int_equal(qt_engine_stats(f->e)->invalid[r.reason], 1);
	assert_int_equal(qt_engine_stats(f->e)->packets[QT_CT_INVALID], 1);
}

static void test_connmark(void **state)
{
	struct fixture *f = *state;
	struct qt_conf c = f->conf;
	char err[256];
	struct qt_result r;

	c.mark.connmark = 0xff00;
	assert_int_equal(qt_engine_reconfigure(f->e, &c, err, sizeof(err)),
			 0);
	r = run(f, udp4(A4, B4, 7, 8), 0x4200);
	assert_int_equal(r.conn->mark, 0x4200);
	/* Restored onto later packets of both directions. */
	r = run(f, udp4(B4, A4, 8, 7), 0);
	assert_int_equal(r.mark, 0x4200 | 0x12);
}

/* conntrack -U: the new mark is (old & ~mask) ^ value, announced as an
 * UPDATE, and its connmark bits reach later packets as saved ones do. */
static void test_set_mark(void **state)
{
	struct fixture *f = *state;
	struct qt_conf c = f->conf;
	const struct qt_conn *ct;
	char err[256];
	struct qt_result r;
	unsigned updates;

	c.mark.connmark = 0xff00;
	assert_int_equal(qt_engine_reconfigure(f->e, &c, err, sizeof(err)),
			 0);
	r = run(f, udp4(A4, B4, 7, 8), 0x4200);
	ct = r.conn;
	assert_int_equal(ct->mark, 0x4200);
	updates = f->events[QT_EV_UPDATE];
	assert_true(qt_engine_conn_set_mark(f->e, ct, 0x0500, 0xff00));
	assert_int_equal(ct->mark, 0x0500);
	assert_int_equal(f->events[QT_EV_UPDATE], updates + 1);
	/* The same change again changes nothing and says nothing. */
	assert_false(qt_engine_conn_set_mark(f->e, ct, 0x0500, 0xff00));
	assert_int_equal(f->events[QT_EV_UPDATE], updates + 1);
	r = run(f, udp4(B4, A4, 8, 7), 0x2200);
	assert_int_equal(r.mark, 0x0500 | 0x12);
	r = run(f, udp4(A4, B4, 7, 8), 0);
	assert_int_equal(r.mark, 0x0500 | 0x02);
	/* Bits outside connmark are the entry's, not the packets'. */
	assert_true(qt_engine_conn_set_mark(f->e, ct, 0x70000, 0));
	assert_int_equal(ct->mark, 0x70500);
	r = run(f, udp4(A4, B4, 7, 8), 0);
	assert_int_equal(r.mark, 0x0500 | 0x02);
	/* No mask: the value replaces every bit. */
	assert_true(qt_engine_conn_set_mark(f->e, ct, 0x1, 0xffffffff));
	assert_int_equal(ct->mark, 0x1);
	r = run(f, udp4(A4, B4, 7, 8), 0x4200);
	assert_int_equal(r.mark, 0x02);
}

/* Engines given their own id spaces never share an id. */
static void test_id_space(void **state)
{
	struct fixture *f = *state;
	struct qt_engine *e2 = qt_engine_new(&f->conf, f->now);
	struct qt_result r;
	uint32_t a, b;
	struct pkt p;

	assert_non_null(e2);
	qt_engine_set_id_space(f->e, 1, 2);
	qt_engine_set_id_space(e2, 2, 2);
	for (uint16_t i = 0; i < 4; i++) {
		r = run(f, udp4(A4, B4, 100 + i, 53), 0);
		a = r.conn->id;
		p = udp4(A4, B4, 100 + i, 53);
		qt_engine_process(e2, p.b, p.len, p.len, 0, f->now, &r);
		b = r.conn->id;
		assert_int_equal(a, 1 + 2 * i);
		assert_int_equal(b, 2 + 2 * i);
	}
	qt_engine_free(e2);
}

static void test_table_full(void **state)
{
	struct fixture *f = *state;
	struct qt_conf c = f->conf;
	struct qt_engine *e;
	struct qt_result r;
	struct pkt p;

	c.table.max = 4;
	c.table.buckets = 1;
	e = qt_engine_new(&c, f->now);
	for (uint16_t i = 0; i < 4; i++) {
		p = udp4(A4, B4, 100 + i, 53);
		qt_engine_process(e, p.b, p.len, p.len, 0, f->now, &r);
		assert_int_equal(r.state, QT_CT_NEW);
	}
	/* Full of unassured entries: one is evicted. */
	p = udp4(A4, B4, 200, 53);
	qt_engine_process(e, p.b, p.len, p.len, 0, f->now, &r);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_int_equal(qt_engine_stats(e)->early_drop, 1);
	assert_int_equal(qt_engine_stats(e)->count, 4);
	/* Make every entry assured: then new connections are refused. */
	uint32_t cur = 0;
	const struct qt_conn *ct;
	f->now += 3000;
	while ((ct = qt_engine_next(e, &cur)) != NULL) {
		struct qt_tuple t;

		qt_conn_tuple(ct, QT_DIR_REPLY, &t);
		p = udp4(be32_(t.src.ip), be32_(t.dst.ip), t.sport, t.dport);
		qt_engine_process(e, p.b, p.len, p.len, 0, f->now, &r);
		assert_int_equal(r.state, QT_CT_ESTABLISHED);
		qt_engine_process(e, p.b, p.len, p.len, 0, f->now + 1, &r);
		assert_true(r.conn->status & QT_CONN_ASSURED);
	}
	p = udp4(A4, B4, 300, 53);
	qt_engine_process(e, p.b, p.len, p.len, 0, f->now + 2, &r);
	assert_int_equal(r.state, QT_CT_INVALID);
	assert_int_equal(r.reason, QT_R_TABLE_FULL);
	assert_int_equal(qt_engine_stats(e)->refused, 1);
	qt_engine_free(e);
}

static void test_checksum(void **state)
{
	struct fixture *f = *state;
	struct pkt good = udp4(A4, B4, 6000, 53), bad;
	struct qt_input in = { .flags = QT_IN_VERIFY_CSUM };
	struct qt_result r;

	ip4_l4_csum(&good, 6);
	bad = good;
	bad.b[27] ^= 0x01;	/* one payload bit */
	in.data = bad.b;
	in.caplen = in.origlen = bad.len;
	qt_engine_process_batch(f->e, &in, 1, f->now, &r);
	assert_int_equal(r.state, QT_CT_INVALID);
	assert_int_equal(r.reason, QT_R_BAD_CHECKSUM);
	assert_int_equal(qt_engine_stats(f->e)->count, 0);
	/* Verified by someone else (no flag): tracked. */
	r = run(f, bad, 0);
	assert_int_equal(r.state, QT_CT_NEW);
	run(f, (struct pkt)udp4(B4, A4, 53, 6000), 0);
	/* The right checksum passes, with the flag. */
	in.data = good.b;
	qt_engine_process_batch(f->e, &in, 1, f->now, &r);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	/* ICMP: no pseudo header; a wrong sum is INVALID. */
	struct pkt echo = icmp4(A4, B4, 8, 5);
	put16(echo.b + 22, 0x1234);
	in.data = echo.b;
	in.caplen = in.origlen = echo.len;
	qt_engine_process_batch(f->e, &in, 1, f->now, &r);
	assert_int_equal(r.reason, QT_R_BAD_CHECKSUM);
	/* [table] checksum = no turns verification off. */
	struct qt_conf c = f->conf;
	char err[128];
	c.table.checksum = false;
	assert_int_equal(qt_engine_reconfigure(f->e, &c, err, sizeof(err)),
			 0);
	qt_engine_process_batch(f->e, &in, 1, f->now, &r);
	assert_int_equal(r.state, QT_CT_NEW);
}

/* Two shards (two queues): an ICMP error that lands in the shard without
 * the connection is resolved against the other one. */
static void test_relate_other_shard(void **state)
{
	struct fixture *f = *state;
	struct qt_engine *other = qt_engine_new(&f->conf, f->now);
	struct pkt req = udp4(A4, B4, 5100, 4000);
	struct pkt err = icmp4_err(B4, A4, 3, 3, &req);
	struct qt_result r;

	expect_state(f, req, QT_CT_NEW, false);
	qt_engine_process(other, err.b, err.len, err.len, 0x100, f->now, &r);
	assert_int_equal(r.state, QT_CT_INVALID);
	assert_int_equal(r.reason, QT_R_ICMP_NO_CONN);
	assert_false(qt_engine_relate(other, err.b, err.len, err.len, 0, &r));
	assert_true(qt_engine_relate(f->e, err.b, err.len, err.len, 0x100,
				     &r));
	assert_int_equal(r.state, QT_CT_RELATED);
	assert_true(r.reply);
	assert_int_equal(r.mark, 0x100 | 0x03 | 0x10);
	/* Not an error: nothing to relate. */
	assert_false(qt_engine_relate(f->e, req.b, req.len, req.len, 0, &r));
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
	qt_engine_free(other);
}

static void test_delete_flush(void **state)
{
	struct fixture *f = *state;
	struct qt_result r = run(f, udp4(A4, B4, 9, 10), 0);
	struct qt_tuple t;

	qt_conn_tuple(r.conn, QT_DIR_REPLY, &t);

	run(f, udp4(A4, B4, 11, 10), 0);
	assert_int_equal(qt_engine_delete(f->e, &t), 0);
	assert_int_equal(qt_engine_delete(f->e, &t), -1);
	assert_int_equal(qt_engine_flush(f->e), 1);
	assert_int_equal(f->events[QT_EV_DESTROY], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udplite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_expiry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_related, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_icmpv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmpv6_unassigned_errors,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_generic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connmark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete_flush, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relate_other_shard, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

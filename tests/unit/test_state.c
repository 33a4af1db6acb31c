// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_state.c - an engine's table exported as records and imported into
 * another engine continues exactly: after the import, the same packets
 * get the same states, reply bits and marks from both engines, timers are
 * aged by the time that passed, TCP windows, UDP's stream delay, the FTP
 * helper's state, expectations and their masters, connmarks and counters
 * come along.  What cannot be imported (expired, table full, a clash, a
 * tuple no packet could match, an expectation without its master) is
 * skipped and counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "expect.h"
#include "qtrack.h"
#include "record.h"

#define CLI4 0x0a000102u
#define SRV4 0x0a000202u

static const uint8_t CLI6[16] = {0xfd, 0, 0, 1, [15] = 2};
static const uint8_t SRV6[16] = {0xfd, 0, 0, 2, [15] = 2};

struct pkt {
	uint8_t b[512];
	uint32_t len;
};

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

struct host {
	int family;
	uint8_t addr[16];
};

static struct host host4(uint32_t a)
{
	struct host h = {.family = AF_INET};

	put32(h.addr, a);
	return h;
}

static struct host host6(const uint8_t *a)
{
	struct host h = {.family = AF_INET6};

	memcpy(h.addr, a, 16);
	return h;
}

/* An IP packet of protocol @proto with @l4len bytes of layer 4. */
static struct pkt ip_pkt(const struct host *src, const struct host *dst,
			 uint8_t proto, const uint8_t *l4, uint32_t l4len)
{
	struct pkt p;
	uint32_t l3 = src->family == AF_INET ? 20 : 40;

	memset(&p, 0, sizeof(p));
	assert_true(l3 + l4len <= sizeof(p.b));
	p.len = l3 + l4len;
	if (src->family == AF_INET) {
		p.b[0] = 0x45;
		put16(p.b + 2, p.len);
		p.b[8] = 64;
		p.b[9] = proto;
		memcpy(p.b + 12, src->addr, 4);
		memcpy(p.b + 16, dst->addr, 4);
	} else {
		p.b[0] = 0x60;
		put16(p.b + 4, l4len);
		p.b[6] = proto;
		p.b[7] = 64;
		memcpy(p.b + 8, src->addr, 16);
		memcpy(p.b + 24, dst->addr, 16);
	}
	memcpy(p.b + l3, l4, l4len);
	return p;
}

#define SYN 0x02
#define ACK 0x10
#define PSH 0x08
#define FIN 0x01

/* One TCP conversation with the sequence numbers each side reached. */
struct conv {
	struct host c, s;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
};

static struct pkt tcp_pkt(struct conv *cv, bool from_client, uint8_t flags,
			  const char *data)
{
	uint8_t t[20 + 256] = {0};
	size_t dlen = data ? strlen(data) : 0;
	uint32_t *seq = from_client ? &cv->cseq : &cv->sseq;
	uint32_t ack = from_client ? cv->sseq : cv->cseq;

	assert_true(dlen <= 256);
	put16(t, from_client ? cv->cport : cv->sport);
	put16(t + 2, from_client ? cv->sport : cv->cport);
	put32(t + 4, *seq);
	put32(t + 8, flags & ACK ? ack : 0);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	if (dlen)
		memcpy(t + 20, data, dlen);
	*seq += (uint32_t)dlen + (flags & (SYN | FIN) ? 1 : 0);
	return from_client ? ip_pkt(&cv->c, &cv->s, IPPROTO_TCP, t, 20 + dlen)
			   : ip_pkt(&cv->s, &cv->c, IPPROTO_TCP, t, 20 + dlen);
}

static struct pkt udp_pkt(const struct host *src, const struct host *dst,
			  uint16_t sp, uint16_t dp)
{
	uint8_t u[12] = {0};

	put16(u, sp);
	put16(u + 2, dp);
	put16(u + 4, sizeof(u));
	return ip_pkt(src, dst, IPPROTO_UDP, u, sizeof(u));
}

/* Engine A runs first; B gets A's table and runs on a clock with another
 * origin, @age ms after the export. */
struct twin {
	struct qt_conf conf;
	struct qt_engine *a, *b;
	uint64_t ta, tb;
};

static struct twin *twin_new(uint32_t max_b)
{
	struct twin *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	qt_conf_init(&w->conf);
	w->conf.table.max = 64;
	w->conf.table.buckets = 16;
	w->conf.table.accounting = true;
	w->conf.mark.connmark = 0xff00;
	w->conf.helper.ftp_ports[0] = 21;
	w->conf.helper.n_ftp_ports = 1;
	w->ta = 5000000;
	w->a = qt_engine_new(&w->conf, w->ta);
	assert_non_null(w->a);
	w->conf.table.max = max_b;
	w->tb = 77000000;
	w->b = qt_engine_new(&w->conf, w->tb);
	assert_non_null(w->b);
	return w;
}

static void twin_free(struct twin *w)
{
	qt_engine_free(w->a);
	qt_engine_free(w->b);
	free(w);
}

static struct qt_result run_a(struct twin *w, struct pkt p, uint32_t mark)
{
	struct qt_result r;

	qt_engine_process(w->a, p.b, p.len, p.len, mark, w->ta, &r);
	return r;
}

/* The same packet through both engines: the same answer. */
static struct qt_result run_both(struct twin *w, struct pkt p, uint32_t mark)
{
	struct qt_result ra, rb;

	qt_engine_process(w->a, p.b, p.len, p.len, mark, w->ta, &ra);
	qt_engine_process(w->b, p.b, p.len, p.len, mark, w->tb, &rb);
	assert_string_equal(qt_ct_state_name(ra.state),
			    qt_ct_state_name(rb.state));
	assert_int_equal(ra.reply, rb.reply);
	assert_int_equal(ra.reason, rb.reason);
	assert_int_equal(ra.mark, rb.mark);
	return ra;
}

static void advance(struct twin *w, uint64_t ms)
{
	w->ta += ms;
	w->tb += ms;
}

/* A record through its encoding: what a file or a peer would carry. */
static void through_bytes(struct qt_rec *rec)
{
	uint8_t buf[QT_REC_MAX];
	size_t n, used;

	n = qt_rec_encode(rec, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(qt_rec_decode(buf, n, rec, &used), QT_REC_OK);
}

/* Export A at ta, import into B as if @age ms had passed: masters
 * first, then expected connections, then expectations, as the daemon's
 * loader does.  Returns how many were skipped. */
static unsigned twin_transfer(struct twin *w, uint64_t age)
{
	struct qt_rec recs[64 + 16];
	unsigned n = 0, skipped = 0;
	const struct qt_conn *ct;
	const struct qt_expect *exp;
	uint32_t cur = 0;

	/* The importer's clock is now: the import ages from there. */
	qt_engine_expire(w->b, w->tb, 0);
	while ((ct = qt_engine_next(w->a, &cur))) {
		recs[n].type = QT_REC_CONN;
		qt_engine_export_conn(w->a, ct, w->ta, &recs[n].conn);
		through_bytes(&recs[n++]);
	}
	cur = 0;
	while ((exp = qt_engine_expect_next(w->a, &cur))) {
		recs[n].type = QT_REC_EXPECT;
		qt_engine_export_expect(w->a, exp, w->ta, &recs[n].expect);
		through_bytes(&recs[n++]);
	}
	for (unsigned pass = 0; pass < 3; pass++)
		for (unsigned i = 0; i < n; i++) {
			const struct qt_rec *r = &recs[i];
			bool expected = r->type == QT_REC_CONN &&
					(r->conn.status & QT_REC_ST_EXPECTED);
			enum qt_import res;

			if (pass == 0 && r->type == QT_REC_CONN && !expected)
				res =
				    qt_engine_import_conn(w->b, &r->conn, age);
			else if (pass == 1 && expected)
				res =
				    qt_engine_import_conn(w->b, &r->conn, age);
			else if (pass == 2 && r->type == QT_REC_EXPECT)
				res = qt_engine_import_expect(w->b, &r->expect,
							      age);
			else
				continue;
			skipped += res != QT_IMPORT_OK;
		}
	w->ta += age;
	return skipped;
}

/* Every connection of A is in B with the same content and the same time
 * left. */
static void assert_tables_equal(struct twin *w)
{
	const struct qt_conn *ca, *cb;
	uint32_t cur = 0, n = 0;
	struct qt_tuple t;
	enum qt_dir dir;

	while ((ca = qt_engine_next(w->a, &cur))) {
		const struct qt_acct *aa, *ab;
		const struct qt_conn *ma, *mb;

		qt_conn_tuple_orig(ca, &t);
		cb = qt_engine_find(w->b, &t, &dir);
		assert_non_null(cb);
		assert_int_equal(dir, QT_DIR_ORIG);
		assert_int_equal(ca->status, cb->status);
		assert_int_equal(ca->helper, cb->helper);
		assert_int_equal(ca->mark, cb->mark);
		assert_int_equal(ca->timeout, cb->timeout);
		assert_int_equal(ca->nexpect, cb->nexpect);
		if (ca->l4proto == IPPROTO_TCP)
			assert_memory_equal(&ca->proto.tcp, &cb->proto.tcp,
					    sizeof(ca->proto.tcp));
		/* UDP's stream delay: the same time left, none once past. */
		if (ca->l4proto == IPPROTO_UDP)
			assert_int_equal(ca->proto.udp.stream_ts > w->ta
					     ? ca->proto.udp.stream_ts - w->ta
					     : 0,
					 cb->proto.udp.stream_ts > w->tb
					     ? cb->proto.udp.stream_ts - w->tb
					     : 0);
		assert_int_equal(qt_engine_timeout_left(w->a, ca, w->ta),
				 qt_engine_timeout_left(w->b, cb, w->tb));
		aa = qt_engine_acct(w->a, ca);
		ab = qt_engine_acct(w->b, cb);
		assert_memory_equal(aa, ab, sizeof(*aa));
		ma = qt_engine_master(w->a, ca);
		mb = qt_engine_master(w->b, cb);
		assert_int_equal(ma == NULL, mb == NULL);
		if (ma) {
			struct qt_tuple x, y;

			qt_conn_tuple_orig(ma, &x);
			qt_conn_tuple_orig(mb, &y);
			assert_memory_equal(&x, &y, sizeof(x));
		}
		n++;
	}
	assert_int_equal(n, qt_engine_stats(w->b)->count);
	assert_int_equal(qt_engine_stats(w->a)->expect_count,
			 qt_engine_stats(w->b)->expect_count);
}

static void ftp_login(struct twin *w, struct conv *cv)
{
	run_a(w, tcp_pkt(cv, true, SYN, NULL), 0x4200);
	run_a(w, tcp_pkt(cv, false, SYN | ACK, NULL), 0);
	run_a(w, tcp_pkt(cv, true, ACK, NULL), 0);
	run_a(w, tcp_pkt(cv, false, ACK | PSH, "220 hello\r\n"), 0);
	run_a(w, tcp_pkt(cv, true, ACK | PSH, "USER ftp\r\n"), 0);
	run_a(w, tcp_pkt(cv, false, ACK | PSH, "331 pass\r\n"), 0);
}

/* TCP (v4 and v6, one half-open), UDP (assured and not yet), ICMP, FTP
 * with a data connection and an expectation waiting: everything goes on
 * in B as in A. */
static void test_continue_exactly(void **state)
{
	struct twin *w = twin_new(64);
	struct conv t4 = {host4(CLI4), host4(SRV4), 40000, 80, 1000, 5000};
	struct conv t6 = {host6(CLI6), host6(SRV6), 40000, 443, 7, 9};
	struct conv half = {host4(CLI4), host4(SRV4), 40002, 80, 3, 4};
	struct conv ftp = {host4(CLI4), host4(SRV4), 40001, 21, 100, 900};
	struct conv data = {host4(CLI4), host4(SRV4), 40003, 50000, 10, 20};
	struct host c4 = host4(CLI4), s4 = host4(SRV4);
	struct host c6 = host6(CLI6), s6 = host6(SRV6);
	uint8_t echo[8] = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
	struct qt_result r;

	(void)state;
	run_a(w, tcp_pkt(&t4, true, SYN, NULL), 0x1100);
	run_a(w, tcp_pkt(&t4, false, SYN | ACK, NULL), 0);
	run_a(w, tcp_pkt(&t4, true, ACK, NULL), 0);
	run_a(w, tcp_pkt(&t4, true, ACK | PSH, "GET / HTTP/1.0\r\n"), 0);
	run_a(w, tcp_pkt(&t6, true, SYN, NULL), 0);
	run_a(w, tcp_pkt(&t6, false, SYN | ACK, NULL), 0);
	run_a(w, tcp_pkt(&t6, true, ACK, NULL), 0);
	run_a(w, tcp_pkt(&half, true, SYN, NULL), 0);
	run_a(w, udp_pkt(&c4, &s4, 5000, 53), 0);
	run_a(w, udp_pkt(&s4, &c4, 53, 5000), 0);
	run_a(w, udp_pkt(&c6, &s6, 6000, 6001), 0);
	run_a(w, ip_pkt(&c4, &s4, IPPROTO_ICMP, echo, sizeof(echo)), 0);
	ftp_login(w, &ftp);
	run_a(w, tcp_pkt(&ftp, true, ACK | PSH, "PASV\r\n"), 0);
	run_a(w,
	      tcp_pkt(&ftp, false, ACK | PSH,
		      "227 Passive (10,0,2,2,195,80)\r\n"),
	      0);
	data.sport = 50000;
	r = run_a(w, tcp_pkt(&data, true, SYN, NULL), 0);
	assert_int_equal(r.state, QT_CT_RELATED);
	run_a(w, tcp_pkt(&data, false, SYN | ACK, NULL), 0);
	/* A second expectation, still waiting. */
	run_a(w, tcp_pkt(&ftp, true, ACK | PSH, "PASV\r\n"), 0);
	run_a(w,
	      tcp_pkt(&ftp, false, ACK | PSH,
		      "227 Passive (10,0,2,2,195,81)\r\n"),
	      0);
	assert_int_equal(qt_engine_stats(w->a)->expect_count, 1);
	advance(w, 1000);

	assert_int_equal(twin_transfer(w, 1500), 0);
	assert_int_equal(qt_engine_stats(w->b)->restored,
			 qt_engine_stats(w->a)->count + 1);
	assert_tables_equal(w);

	/* Data in both directions, out of window, the UDP stream turning
	 * assured, the FTP helper still at a line start, the waiting
	 * expectation taken: the same answers. */
	run_both(w, tcp_pkt(&t4, false, ACK | PSH, "HTTP/1.0 200 OK\r\n"),
		 0x2200);
	run_both(w, tcp_pkt(&t4, true, ACK, NULL), 0);
	/* Data far beyond the window: the windows decide, alike. */
	t4.cseq += 0x40000000;
	run_both(w, tcp_pkt(&t4, true, ACK | PSH, "x"), 0);
	t4.cseq -= 0x40000001;
	run_both(w, tcp_pkt(&t6, false, ACK | PSH, "hi"), 0);
	r = run_both(w, tcp_pkt(&half, false, SYN | ACK, NULL), 0);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	advance(w, 1500);
	run_both(w, udp_pkt(&c4, &s4, 5000, 53), 0);
	r = run_both(w, udp_pkt(&s6, &c6, 6001, 6000), 0);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	run_both(w,
		 ip_pkt(&s4, &c4, IPPROTO_ICMP,
			(uint8_t[8]){0, 0, 0, 0, 0x12, 0x34, 0, 1}, 8),
		 0);
	run_both(w, tcp_pkt(&data, true, ACK, NULL), 0);
	run_both(w, tcp_pkt(&data, false, ACK | PSH, "file contents"), 0);
	data.cport = 40004;
	data.sport = 50001;
	r = run_both(w, tcp_pkt(&data, true, SYN, NULL), 0);
	assert_int_equal(r.state, QT_CT_RELATED);
	assert_int_equal(r.mark & 0xff00, 0x4200);
	run_both(w, tcp_pkt(&ftp, true, ACK | PSH, "PASV\r\n"), 0);
	run_both(w,
		 tcp_pkt(&ftp, false, ACK | PSH,
			 "227 Passive (10,0,2,2,195,82)\r\n"),
		 0);
	assert_int_equal(qt_engine_stats(w->b)->expect_count, 1);
	run_both(w, tcp_pkt(&t4, true, ACK | FIN, NULL), 0);
	run_both(w, tcp_pkt(&t4, false, ACK | FIN, NULL), 0);
	assert_tables_equal(w);

	/* And they expire together. */
	advance(w, 3600 * 1000);
	qt_engine_expire(w->a, w->ta, 0);
	qt_engine_expire(w->b, w->tb, 0);
	assert_int_equal(qt_engine_stats(w->a)->count,
			 qt_engine_stats(w->b)->count);
	twin_free(w);
}

/* A snapshot older than a TCP connection's last packets: its windows
 * are behind, and the next ACK would be out of window.  Restored without
 * window data (td_maxwin zero, as qtrackd restores a snapshot), the
 * connection takes its windows from its next packets and stays
 * ESTABLISHED. */
static void test_stale_windows_relearned(void **state)
{
	struct twin *w = twin_new(64);
	struct conv t4 = {host4(CLI4), host4(SRV4), 40000, 80, 1000, 5000};
	struct qt_rec rec, stale;
	const struct qt_conn *ct;
	struct qt_result r;
	uint32_t cur = 0;
	struct qt_engine *c;

	(void)state;
	run_a(w, tcp_pkt(&t4, true, SYN, NULL), 0);
	run_a(w, tcp_pkt(&t4, false, SYN | ACK, NULL), 0);
	run_a(w, tcp_pkt(&t4, true, ACK, NULL), 0);
	ct = qt_engine_next(w->a, &cur);
	stale.type = QT_REC_CONN;
	qt_engine_export_conn(w->a, ct, w->ta, &stale.conn);
	/* After the snapshot the server sends much more than one window. */
	for (int i = 0; i < 40; i++) {
		char blk[257];

		memset(blk, 'x', 256);
		blk[256] = 0;
		for (int k = 0; k < 8; k++)
			run_a(w, tcp_pkt(&t4, false, ACK | PSH, blk), 0);
		run_a(w, tcp_pkt(&t4, true, ACK, NULL), 0);
	}
	t4.sseq += 200000;

	/* Windows as saved: the client's ACK acknowledges data the saved
	 * server end never reached. */
	c = qt_engine_new(&w->conf, w->tb);
	assert_non_null(c);
	rec = stale;
	assert_int_equal(qt_engine_import_conn(c, &rec.conn, 0), QT_IMPORT_OK);
	{
		struct pkt p = tcp_pkt(&t4, true, ACK, NULL);

		qt_engine_process(c, p.b, p.len, p.len, 0, w->tb, &r);
		assert_int_equal(r.state, QT_CT_INVALID);
	}
	qt_engine_free(c);

	/* Relearned: ESTABLISHED both ways, the windows taken afresh. */
	rec = stale;
	rec.conn.tcp.seen[0].maxwin = rec.conn.tcp.seen[1].maxwin = 0;
	assert_int_equal(qt_engine_import_conn(w->b, &rec.conn, 0),
			 QT_IMPORT_OK);
	{
		struct pkt p = tcp_pkt(&t4, true, ACK, NULL);

		qt_engine_process(w->b, p.b, p.len, p.len, 0, w->tb, &r);
		assert_int_equal(r.state, QT_CT_ESTABLISHED);
		p = tcp_pkt(&t4, false, ACK | PSH, "more");
		qt_engine_process(w->b, p.b, p.len, p.len, 0, w->tb, &r);
		assert_int_equal(r.state, QT_CT_ESTABLISHED);
		assert_true(r.reply);
		p = tcp_pkt(&t4, true, ACK, NULL);
		qt_engine_process(w->b, p.b, p.len, p.len, 0, w->tb, &r);
		assert_int_equal(r.state, QT_CT_ESTABLISHED);
	}

	/* Saved while offloaded (the daemon's bypass): the import itself
	 * treats the windows as stale and picks them up liberally. */
	c = qt_engine_new(&w->conf, w->tb);
	assert_non_null(c);
	rec = stale;
	rec.conn.status |= QT_REC_ST_OFFLOAD;
	assert_int_equal(qt_engine_import_conn(c, &rec.conn, 0), QT_IMPORT_OK);
	{
		struct pkt p = tcp_pkt(&t4, true, ACK, NULL);

		qt_engine_process(c, p.b, p.len, p.len, 0, w->tb, &r);
		assert_int_equal(r.state, QT_CT_ESTABLISHED);
	}
	qt_engine_free(c);
	twin_free(w);
}

/* Entries whose time ran out while away are skipped, the rest aged. */
static void test_aged(void **state)
{
	struct twin *w = twin_new(64);
	struct host c4 = host4(CLI4), s4 = host4(SRV4);
	struct conv t4 = {host4(CLI4), host4(SRV4), 40000, 80, 1000, 5000};
	const struct qt_stats *st;

	(void)state;
	run_a(w, udp_pkt(&c4, &s4, 1, 2), 0);	    /* 30 s */
	run_a(w, tcp_pkt(&t4, true, SYN, NULL), 0); /* 120 s */
	assert_int_equal(twin_transfer(w, 60 * 1000), 1);
	st = qt_engine_stats(w->b);
	assert_int_equal(st->restored, 1);
	assert_int_equal(st->restore_skipped, 1);
	assert_int_equal(st->count, 1);
	qt_engine_expire(w->a, w->ta, 0);
	assert_tables_equal(w);
	twin_free(w);
}

/* A full table refuses, never evicts; a clash is skipped. */
static void test_full_and_clash(void **state)
{
	struct twin *w = twin_new(2);
	struct host c4 = host4(CLI4), s4 = host4(SRV4);
	struct qt_rec rec;
	const struct qt_conn *ct;
	uint32_t cur = 0;

	(void)state;
	for (uint16_t p = 1; p <= 3; p++)
		run_a(w, udp_pkt(&c4, &s4, p, 2), 0);
	assert_int_equal(twin_transfer(w, 0), 1);
	assert_int_equal(qt_engine_stats(w->b)->count, 2);
	assert_int_equal(qt_engine_stats(w->b)->early_drop, 0);

	ct = qt_engine_next(w->b, &cur);
	rec.type = QT_REC_CONN;
	qt_engine_export_conn(w->b, ct, w->tb, &rec.conn);
	assert_int_equal(qt_engine_import_conn(w->b, &rec.conn, 0),
			 QT_IMPORT_CLASH);
	/* Its reply tuple clashes too. */
	{
		struct qt_tuple o = rec.conn.orig;

		rec.conn.orig.src = o.dst;
		rec.conn.orig.dst = o.src;
		rec.conn.orig.sport = o.dport;
		rec.conn.orig.dport = o.sport;
	}
	assert_int_equal(qt_engine_import_conn(w->b, &rec.conn, 0),
			 QT_IMPORT_CLASH);
	assert_int_equal(qt_engine_stats(w->b)->restore_skipped, 3);
	twin_free(w);
}

/* Records a packet could never match are refused, the engine unchanged. */
static void test_bad_tuples(void **state)
{
	struct twin *w = twin_new(8);
	struct qt_rec_conn rc;
	struct qt_rec_expect rx;

	(void)state;
	memset(&rc, 0, sizeof(rc));
	rc.orig.family = AF_INET;
	rc.orig.proto = IPPROTO_ICMPV6; /* ICMPv6 over IPv4 */
	rc.left_ms = 1000;
	assert_int_equal(qt_engine_import_conn(w->b, &rc, 0), QT_IMPORT_BAD);
	rc.orig.proto = IPPROTO_ICMP;
	rc.orig.icmp.type = 3; /* an error has no reply type */
	assert_int_equal(qt_engine_import_conn(w->b, &rc, 0), QT_IMPORT_BAD);
	rc.orig.proto = 253;
	rc.orig.sport = 1; /* generic protocols have no ports */
	assert_int_equal(qt_engine_import_conn(w->b, &rc, 0), QT_IMPORT_BAD);
	memset(&rx, 0, sizeof(rx));
	rx.tuple.family = rx.master.family = AF_INET;
	rx.tuple.proto = rx.master.proto = IPPROTO_TCP;
	rx.left_ms = 1000;
	assert_int_equal(qt_engine_import_expect(w->b, &rx, 0),
			 QT_IMPORT_NO_MASTER);
	assert_int_equal(qt_engine_stats(w->b)->count, 0);
	assert_int_equal(qt_engine_stats(w->b)->restore_skipped, 4);
	assert_string_equal(qt_import_name(QT_IMPORT_FULL), "table full");
	twin_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_continue_exactly),
	    cmocka_unit_test(test_aged),
	    cmocka_unit_test(test_stale_windows_relearned),
	    cmocka_unit_test(test_full_and_clash),
	    cmocka_unit_test(test_bad_tuples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

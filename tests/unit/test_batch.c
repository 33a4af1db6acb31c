// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_batch.c - qt_engine_process_batch() gives exactly what calling
 * qt_engine_process() packet by packet gives.
 *
 * The batch path parses, hashes and prefetches a round of packets before
 * classifying any of them, so it must not let an earlier packet's effects
 * (a new entry, a destroyed one, a changed TCP state) be missed by a later
 * packet of the same round.  Two engines with the same configuration get
 * the same random stream: one in batches of random size, one packet at a
 * time.  Results, marks, connection ids, events and statistics must agree,
 * and after every batch the two tables must hold the same entries, byte
 * for byte (TCP window data, timers, timeouts).
 * The stream mixes TCP (handshakes, data, FIN, RST, stale sequence
 * numbers), UDP, ICMP echo and errors quoting live flows, malformed and
 * untracked packets, and packets whose wrong checksum is to be verified
 * (INVALID in the batch; qt_engine_process() verifies none, so they are
 * left out of its run); a small flow pool puts many packets of one flow
 * in a batch; clock jumps expire connections; two buckets make overflow chains.
 * Only the batch takes the short ways (engine_fast(), and for plain IPv4
 * TCP and UDP packets parsed in brief engine_express()), so this is what
 * checks them against the full one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "qtrack.h"

#define NFLOWS 48
#define NPKTS 20000
#define MAXB 64
#define NOTRACK 0x800

struct pkt {
	uint8_t b[96];
	uint32_t len;
};

struct flow {
	uint32_t addr[2];
	uint16_t port[2];
	uint8_t proto;
	uint32_t seq[2];
};

struct rec {
	unsigned n;
	uint8_t type[NPKTS * 4];
	uint32_t id[NPKTS * 4];
};

static uint64_t rng = 0x12345678abcdefull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static void ip4(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
		uint32_t l4len)
{
	memset(p->b, 0, 20);
	p->len = 20 + l4len;
	p->b[0] = 0x45;
	put16(p->b + 2, (uint16_t)p->len);
	p->b[8] = 64;
	p->b[9] = proto;
	put32(p->b + 12, src);
	put32(p->b + 16, dst);
}

/* One packet of flow @f in direction @d (0 original, 1 reply). */
static void build(struct pkt *p, struct flow *f, int d)
{
	uint8_t *l4 = p->b + 20;
	uint32_t src = f->addr[d], dst = f->addr[!d];
	static const uint8_t tcp_flags[] = {
	    0x02, 0x12, 0x10, 0x18, 0x10, 0x18, 0x11, 0x04, 0x14, 0x03,
	};
	uint8_t fl;
	uint32_t seq, len;

	switch (f->proto) {
	case 6:
		fl = tcp_flags[rnd(sizeof(tcp_flags))];
		if (fl == 0x02 && d)
			fl = 0x12;
		len = (fl & 0x08) ? 10 : 0;
		memset(l4, 0, 20 + len);
		put16(l4, f->port[d]);
		put16(l4 + 2, f->port[!d]);
		seq = rnd(8) ? f->seq[d] : f->seq[d] + rnd(1u << 31);
		put32(l4 + 4, seq);
		if (fl & 0x10)
			put32(l4 + 8, f->seq[!d]);
		l4[12] = 5 << 4;
		l4[13] = fl;
		put16(l4 + 14, 65535);
		f->seq[d] += len + ((fl & 0x03) ? 1 : 0);
		ip4(p, src, dst, 6, 20 + len);
		break;
	case 17:
		memset(l4, 0, 8);
		put16(l4, f->port[d]);
		put16(l4 + 2, f->port[!d]);
		put16(l4 + 4, 8);
		ip4(p, src, dst, 17, 8);
		break;
	default:
		memset(l4, 0, 8);
		l4[0] = d ? 0 : 8; /* echo reply / request */
		put16(l4 + 4, f->port[0]);
		ip4(p, src, dst, 1, 8);
		break;
	}
}

/* An ICMP port unreachable from the far end quoting a packet of @f. */
static void build_error(struct pkt *p, struct flow *f)
{
	struct pkt q;
	uint8_t *l4 = p->b + 20;

	build(&q, f, 0);
	memset(l4, 0, 8);
	l4[0] = 3;
	l4[1] = 3;
	memcpy(l4 + 8, q.b, 28);
	ip4(p, f->addr[1], f->addr[0], 1, 36);
}

static void on_event(void *arg, enum qt_event_type type,
		     const struct qt_conn *ct)
{
	struct rec *r = arg;

	if (r->n < NPKTS * 4) {
		r->type[r->n] = (uint8_t)type;
		r->id[r->n] = ct->id;
		r->n++;
	}
}

static struct qt_engine *engine(uint64_t now, struct rec *r)
{
	struct qt_conf conf;
	struct qt_engine *e;

	qt_conf_init(&conf);
	conf.table.max = 4096;
	conf.table.buckets = 2; /* one index bucket: overflow chains */
	conf.mark.notrack = NOTRACK;
	e = qt_engine_new(&conf, now);
	assert_non_null(e);
	qt_engine_set_events(e, on_event, r);
	return e;
}

/* Every entry of @a equals the one at the same place of @b. */
static void compare_tables(const struct qt_engine *a,
			   const struct qt_engine *b)
{
	uint32_t ca = 0, cb = 0;
	const struct qt_conn *x, *y;

	while ((x = qt_engine_next(a, &ca))) {
		y = qt_engine_next(b, &cb);
		assert_non_null(y);
		assert_int_equal(ca, cb);
		assert_memory_equal(x, y, sizeof(*x));
	}
	assert_null(qt_engine_next(b, &cb));
}

static void test_batch_equals_sequential(void **state)
{
	static struct flow flows[NFLOWS];
	static struct pkt pkts[MAXB];
	static struct rec ra, rb;
	struct qt_input in[MAXB];
	struct qt_result res[MAXB], one;
	struct qt_engine *a, *b;
	uint64_t now = 1000000;
	unsigned seen[QT_CT_MAX] = {0};
	unsigned sent = 0, destroyed, bad_csum = 0;
	struct qt_stats want;

	(void)state;
	a = engine(now, &ra);
	b = engine(now, &rb);
	for (unsigned i = 0; i < NFLOWS; i++) {
		static const uint8_t protos[] = {6, 6, 6, 17, 17, 1};

		flows[i].proto = protos[i % sizeof(protos)];
		flows[i].addr[0] = 0x0a000001u + i % 3;
		flows[i].addr[1] = 0xc0a80001u;
		flows[i].port[0] = (uint16_t)(1024 + i % 7);
		flows[i].port[1] = (uint16_t)(80 + i % 2);
		flows[i].seq[0] = rnd(UINT32_MAX);
		flows[i].seq[1] = rnd(UINT32_MAX);
	}
	while (sent < NPKTS) {
		unsigned n = 1 + rnd(MAXB);

		for (unsigned k = 0; k < n; k++) {
			struct flow *f = &flows[rnd(NFLOWS)];
			unsigned r = rnd(100);

			if (r < 4)
				build_error(&pkts[k], f);
			else
				build(&pkts[k], f, (int)rnd(2));
			in[k] = (struct qt_input){
			    .data = pkts[k].b,
			    .caplen = pkts[k].len,
			    .origlen = pkts[k].len,
			    .mark = r == 5 ? NOTRACK : rnd(4),
			};
			if (r == 6)
				in[k].caplen = 10; /* truncated */
			if (r == 8 || r == 9) {
				/* To be verified, and wrong (TCP's is 0, a
				 * UDP checksum of 0 would mean none). */
				in[k].flags = QT_IN_VERIFY_CSUM;
				if (pkts[k].b[9] == 17)
					put16(pkts[k].b + 26, 0x1234);
			}
			if (r == 7)
				flows[rnd(NFLOWS)].seq[rnd(2)] =
				    rnd(UINT32_MAX);
		}
		qt_engine_process_batch(a, in, n, now, res);
		for (unsigned k = 0; k < n; k++) {
			/* qt_engine_process() verifies no checksum: such a
			 * packet is INVALID, which changes nothing, and is
			 * left out of the sequential run. */
			if (in[k].flags & QT_IN_VERIFY_CSUM) {
				assert_int_equal(res[k].state, QT_CT_INVALID);
				assert_int_equal(res[k].reason,
						 QT_R_BAD_CHECKSUM);
				bad_csum++;
				continue;
			}
			qt_engine_process(b, in[k].data, in[k].caplen,
					  in[k].origlen, in[k].mark, now, &one);
			assert_int_equal(res[k].state, one.state);
			assert_int_equal(res[k].reply, one.reply);
			assert_int_equal(res[k].reason, one.reason);
			assert_int_equal(res[k].mark, one.mark);
			assert_int_equal(res[k].conn == NULL, one.conn == NULL);
			/* A later packet of the batch may free and reuse an
			 * entry: only the last result's conn is certainly
			 * still the one it was (the events compare the
			 * rest). */
			if (one.conn && k == n - 1)
				assert_int_equal(res[k].conn->id, one.conn->id);
			seen[one.state]++;
		}
		compare_tables(a, b);
		sent += n;
		/* Mostly a few ms; sometimes past UDP's two seconds to
		 * the stream timeout (ASSURED), sometimes past the UDP/ICMP
		 * and unreplied-TCP timeouts, so entries expire between and
		 * at the start of batches. */
		now += rnd(50) == 0 ? 200000 : rnd(10) == 0 ? 2500 : rnd(20);
	}
	destroyed = (unsigned)qt_engine_stats(b)->destroyed;
	assert_int_equal(ra.n, rb.n);
	assert_memory_equal(ra.type, rb.type, ra.n);
	assert_memory_equal(ra.id, rb.id, ra.n * sizeof(ra.id[0]));
	/* The same counters, but for the packets only the batch saw. */
	want = *qt_engine_stats(b);
	want.packets[QT_CT_INVALID] += bad_csum;
	want.invalid[QT_R_BAD_CHECKSUM] += bad_csum;
	assert_memory_equal(qt_engine_stats(a), &want, sizeof(want));
	/* The stream really exercised the paths it is meant to. */
	for (int s = QT_CT_NEW; s < QT_CT_MAX; s++)
		assert_true(seen[s] > 20);
	assert_true(destroyed > 100);
	assert_true(bad_csum > 100);
	qt_engine_free(a);
	qt_engine_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batch_equals_sequential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

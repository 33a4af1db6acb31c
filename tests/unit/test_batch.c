// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_batch.c - the short way gives exactly what the full way gives.
 *
 * Every packet goes through qt_engine_process_batch(); a packet of a
 * steady connection takes the short way (engine_short() and the tracker's
 * steady()), plain IPv4 TCP without options or with the timestamps alone
 * and UDP parsed only in brief.
 * QT_IN_FULL makes the engine take the full way for every packet: that is
 * the reference.  Two engines with the same configuration get the same
 * random stream: one in batches of random size the normal way, one a
 * packet at a time (a batch of one) the full way.  Results, marks,
 * connection ids, events and statistics must agree, and after every batch
 * the two tables must hold the same entries, byte for byte (TCP window
 * data, timers, timeouts, packet and byte counters): a short way that sets
 * a wrong timeout, window or count fails here.
 *
 * The stream has IPv4 and IPv6 flows of TCP (handshakes with the options
 * a Linux host sends: MSS, SACK permitted, timestamps, window scale; data
 * and ACKs with timestamps, some with SACK blocks, some without options;
 * FIN, RST, stale sequence numbers), UDP and ICMP/ICMPv6 echo, ICMP errors
 * quoting live flows, malformed and untracked packets.  Checksums are
 * right; some packets ask for them to be verified, and some of those have
 * a wrong one.  A small flow pool puts many packets of one flow in a
 * batch; clock jumps expire connections; two buckets make overflow
 * chains.  The test counts the packets the short way could take (an ACK
 * of an assured ESTABLISHED TCP connection, a packet of an assured UDP
 * flow) per family and protocol, and requires many of each, so that the
 * comparison covers every short way.
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

#define NFLOWS 64
#define NPKTS 40000
#define MAXB 64
#define NOTRACK 0x800

struct pkt {
	uint8_t b[160];
	uint32_t len;
};

struct flow {
	uint32_t addr[2];
	uint16_t port[2];
	uint8_t proto;
	bool v6;
	uint32_t seq[2];
	uint32_t ts[2];		/* TCP timestamp values */
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

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The IPv4 or IPv6 header of a packet of @l4len bytes of @proto. */
static uint32_t iph(struct pkt *p, bool v6, uint32_t src, uint32_t dst,
		    uint8_t proto, uint32_t l4len)
{
	uint8_t *b = p->b;

	if (v6) {
		memset(b, 0, 40);
		b[0] = 0x60;
		put16(b + 4, (uint16_t)l4len);
		b[6] = proto;
		b[7] = 64;
		b[8] = 0x20;
		b[9] = 0x01;
		b[10] = 0x0d;
		b[11] = 0xb8;
		put32(b + 20, src);
		memcpy(b + 24, b + 8, 4);
		put32(b + 36, dst);
		p->len = 40 + l4len;
		return 40;
	}
	memset(b, 0, 20);
	p->len = 20 + l4len;
	b[0] = 0x45;
	put16(b + 2, (uint16_t)p->len);
	b[8] = 64;
	b[9] = proto;
	put32(b + 12, src);
	put32(b + 16, dst);
	return 20;
}

/* Fill in the layer 4 checksum at @off of the layer 4 header. */
static void csum(struct pkt *p, uint32_t l3, uint8_t proto, unsigned off)
{
	uint32_t l4len = p->len - l3, sum = 0;
	uint8_t *l4 = p->b + l3;
	uint16_t c;

	put16(l4 + off, 0);
	if (proto != 1) {
		/* The pseudo header: addresses, length, protocol. */
		if (l3 == 40)
			sum = sum16(0, p->b + 8, 32);
		else
			sum = sum16(0, p->b + 12, 8);
		sum += l4len + proto;
	}
	c = fold(sum16(sum, l4, l4len));
	if (proto == 17 && c == 0)
		c = 0xffff;
	put16(l4 + off, c);
}

/* TCP options as a Linux host sends them: on a SYN MSS, SACK permitted,
 * timestamps, window scale; afterwards timestamps on every segment, SACK
 * blocks on some; a share of segments (another stack, or timestamps
 * turned off) without any.  With SACK blocks the ack (@*ack: all data
 * seen on entry) mostly stays behind a hole and the blocks cover data
 * after it, as after a loss; otherwise they lie beyond anything sent.
 * Returns their length. */
static uint32_t tcp_opts(uint8_t *o, struct flow *f, int d, uint8_t fl,
			 uint32_t *ack)
{
	uint32_t n = 0, nsack, start;
	bool hole;

	if (rnd(5) == 0)
		return 0;
	if (fl & 0x02) {
		o[n++] = 2; /* MSS */
		o[n++] = 4;
		put16(o + n, 1460);
		n += 2;
		o[n++] = 4; /* SACK permitted */
		o[n++] = 2;
	} else {
		o[n++] = 1;
		o[n++] = 1;
	}
	o[n++] = 8; /* timestamps */
	o[n++] = 10;
	put32(o + n, f->ts[d]++);
	put32(o + n + 4, f->ts[!d]);
	n += 8;
	if (fl & 0x02) {
		o[n++] = 1;
		o[n++] = 3; /* window scale */
		o[n++] = 3;
		o[n++] = (uint8_t)rnd(9);
	} else if (rnd(4) == 0) {
		nsack = 1 + rnd(3);
		hole = rnd(4) != 0;
		if (hole)
			*ack -= nsack * 1000 + rnd(1000);
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 5;
		o[n++] = (uint8_t)(2 + 8 * nsack);
		for (uint32_t k = 0; k < nsack; k++) {
			if (hole) {
				start = *ack + 1000 * k + 100 + rnd(400);
				put32(o + n, start);
				put32(o + n + 4, start + 1 + rnd(500));
			} else {
				start = *ack + 1000 * (1 + k) + rnd(500);
				put32(o + n, start);
				put32(o + n + 4, start + 100 + rnd(900));
			}
			n += 8;
		}
	}
	return n;
}

/* One packet of flow @f in direction @d (0 original, 1 reply). */
static void build(struct pkt *p, struct flow *f, int d)
{
	uint32_t src = f->addr[d], dst = f->addr[!d];
	static const uint8_t tcp_flags[] = {
	    0x02, 0x12, 0x10, 0x18, 0x10, 0x18, 0x10, 0x18, 0x11, 0x04,
	    0x14, 0x03, 0x10, 0x18,
	};
	uint8_t opts[40], fl, *l4;
	uint32_t seq, ack, len, olen, l3;

	switch (f->proto) {
	case 6:
		/* Mostly ACKs, as on a real link: connections picked up
		 * mid-stream or opened by a handshake live long enough to
		 * be assured. */
		if (rnd(10) < 7)
			fl = rnd(2) ? 0x10 : 0x18;
		else
			fl = tcp_flags[rnd(sizeof(tcp_flags))];
		if (fl == 0x02 && d)
			fl = 0x12;
		len = (fl & 0x08) ? 10 : 0;
		seq = rnd(8) ? f->seq[d] : f->seq[d] + rnd(1u << 31);
		ack = (fl & 0x10) ? f->seq[!d] : 0;
		olen = tcp_opts(opts, f, d, fl, &ack);
		l3 = iph(p, f->v6, src, dst, 6, 20 + olen + len);
		l4 = p->b + l3;
		memset(l4, 0, 20 + olen + len);
		put16(l4, f->port[d]);
		put16(l4 + 2, f->port[!d]);
		put32(l4 + 4, seq);
		put32(l4 + 8, ack);
		l4[12] = (uint8_t)((20 + olen) / 4 << 4);
		l4[13] = fl;
		put16(l4 + 14, (uint16_t)(rnd(10) ? 65535 : rnd(65536)));
		memcpy(l4 + 20, opts, olen);
		f->seq[d] += len + ((fl & 0x03) ? 1 : 0);
		csum(p, l3, 6, 16);
		break;
	case 17:
		len = rnd(3) * 8;
		l3 = iph(p, f->v6, src, dst, 17, 8 + len);
		l4 = p->b + l3;
		memset(l4, 0, 8 + len);
		put16(l4, f->port[d]);
		put16(l4 + 2, f->port[!d]);
		put16(l4 + 4, (uint16_t)(8 + len));
		csum(p, l3, 17, 6);
		break;
	default:
		l3 = iph(p, f->v6, src, dst, f->v6 ? 58 : 1, 8);
		l4 = p->b + l3;
		memset(l4, 0, 8);
		/* Echo reply / request. */
		if (f->v6)
			l4[0] = d ? 129 : 128;
		else
			l4[0] = d ? 0 : 8;
		put16(l4 + 4, f->port[0]);
		csum(p, l3, f->v6 ? 58 : 1, 2);
		break;
	}
}

/* A port unreachable from the far end quoting a packet of @f (ICMP or
 * ICMPv6, after its family). */
static void build_error(struct pkt *p, struct flow *f)
{
	struct pkt q;
	uint32_t l3, quote;
	uint8_t *l4;

	build(&q, f, 0);
	quote = q.len < 88 ? q.len : 88;
	l3 = iph(p, f->v6, f->addr[1], f->addr[0], f->v6 ? 58 : 1,
		 8 + quote);
	l4 = p->b + l3;
	memset(l4, 0, 8);
	l4[0] = f->v6 ? 1 : 3;
	l4[1] = f->v6 ? 4 : 3;
	memcpy(l4 + 8, q.b, quote);
	csum(p, l3, f->v6 ? 58 : 1, 2);
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
	conf.table.accounting = true;	/* the counters compared too */
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
		assert_memory_equal(qt_engine_acct(a, x), qt_engine_acct(b, y),
				    sizeof(struct qt_acct));
		if (x->v6) {
			/* An IPv6 entry points into its own table's
			 * address store: compare the addresses there. */
			struct qt_conn cx = *x, cy = *y;
			struct qt_tuple tx, ty;

			assert_true(y->v6);
			qt_conn_tuple_orig(x, &tx);
			qt_conn_tuple_orig(y, &ty);
			assert_memory_equal(&tx, &ty, sizeof(tx));
			cx.addr.ip6 = NULL;
			cy.addr.ip6 = NULL;
			assert_memory_equal(&cx, &cy, sizeof(cx));
			continue;
		}
		assert_memory_equal(x, y, sizeof(*x));
	}
	assert_null(qt_engine_next(b, &cb));
}

/* The packets the short way may take, by family and protocol. */
struct steady_count {
	unsigned tcp[2], udp[2];
	unsigned tcp_ts[2];	/* of tcp: the timestamps alone */
	unsigned tcp_sack[2];	/* of tcp: with SACK blocks */
};

/* Whether @in could take the short way in @e: a TCP ACK (no SYN, FIN or
 * RST) of an assured ESTABLISHED conn, or a UDP packet of an assured
 * flow, whichever direction, seen before it is processed. */
static void count_steady(const struct qt_engine *e, const struct qt_pkt *pk,
			 struct steady_count *sc)
{
	const struct qt_conn *ct;
	int v6 = pk->tuple.family == AF_INET6;

	ct = qt_engine_find(e, &pk->tuple, NULL);
	if (!ct || (ct->status & (QT_CONN_ASSURED | QT_CONN_SEEN_REPLY)) !=
		       (QT_CONN_ASSURED | QT_CONN_SEEN_REPLY))
		return;
	if (pk->tuple.proto == 6 && ct->proto.tcp.state == QT_TCP_ESTABLISHED &&
	    (pk->tcp.flags & 0x17) == 0x10) {
		sc->tcp[v6]++;
		if (qt_tcp_opts_ts_only(pk->data + pk->l4_off + 20,
					pk->tcp.doff - 20u))
			sc->tcp_ts[v6]++;
		if (pk->tcp.nsack)
			sc->tcp_sack[v6]++;
	}
	else if (pk->tuple.proto == 17)
		sc->udp[v6]++;
}

static void test_short_equals_full(void **state)
{
	static struct flow flows[NFLOWS];
	static struct pkt pkts[MAXB];
	static struct rec ra, rb;
	struct qt_input in[MAXB], full;
	struct qt_result res[MAXB], one;
	struct qt_engine *a, *b;
	uint64_t now = 1000000;
	unsigned seen[QT_CT_MAX] = {0};
	unsigned sent = 0, destroyed, bad_csum = 0, verified = 0;
	struct steady_count sc = {{0}, {0}, {0}, {0}};

	(void)state;
	a = engine(now, &ra);
	b = engine(now, &rb);
	for (unsigned i = 0; i < NFLOWS; i++) {
		static const uint8_t protos[] = {6, 6, 6, 17, 17, 1};

		flows[i].proto = protos[i % sizeof(protos)];
		flows[i].v6 = i / sizeof(protos) % 2;
		flows[i].addr[0] = 0x0a000001u + i % 3;
		flows[i].addr[1] = 0xc0a80001u;
		flows[i].port[0] = (uint16_t)(1024 + i % 7);
		flows[i].port[1] = (uint16_t)(80 + i % 2);
		flows[i].seq[0] = rnd(UINT32_MAX);
		flows[i].seq[1] = rnd(UINT32_MAX);
		flows[i].ts[0] = rnd(UINT32_MAX);
		flows[i].ts[1] = rnd(UINT32_MAX);
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
			/* A third to be verified (a checksum never
			 * verified is the reference's default), a few of
			 * them wrong. */
			if (r >= 8 && r < 40) {
				in[k].flags = QT_IN_VERIFY_CSUM;
				verified++;
				if (r < 11)
					pkts[k].b[pkts[k].len - 1] ^= 0x5a;
			}
			if (r == 7)
				flows[rnd(NFLOWS)].seq[rnd(2)] =
				    rnd(UINT32_MAX);
		}
		/* The reference: the full way, a packet at a time, the
		 * packets that might take the short way counted first. */
		for (unsigned k = 0; k < n; k++) {
			struct qt_pkt pk;

			if (in[k].mark != NOTRACK &&
			    qt_packet_parse(in[k].data, in[k].caplen,
					    in[k].origlen, &pk) == QT_R_NONE &&
			    !pk.fragment)
				count_steady(b, &pk, &sc);
			full = in[k];
			full.flags |= QT_IN_FULL;
			qt_engine_process_one(b, &full, now, &one);
			res[k] = one;
			seen[one.state]++;
			if (one.reason == QT_R_BAD_CHECKSUM)
				bad_csum++;
		}
		/* The production way, in one batch. */
		{
			struct qt_result got[MAXB];

			qt_engine_process_batch(a, in, n, now, got);
			for (unsigned k = 0; k < n; k++) {
				assert_int_equal(got[k].state, res[k].state);
				assert_int_equal(got[k].reply, res[k].reply);
				assert_int_equal(got[k].reason, res[k].reason);
				assert_int_equal(got[k].mark, res[k].mark);
				assert_int_equal(got[k].conn == NULL,
						 res[k].conn == NULL);
			}
			/* A later packet may free and reuse an entry:
			 * only the last result's conn is certainly still
			 * the one it was (the events compare the rest). */
			if (res[n - 1].conn)
				assert_int_equal(got[n - 1].conn->id,
						 res[n - 1].conn->id);
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
	assert_memory_equal(qt_engine_stats(a), qt_engine_stats(b),
			    sizeof(struct qt_stats));
	/* The stream really exercised the paths it is meant to. */
	for (int s = QT_CT_NEW; s < QT_CT_MAX; s++)
		assert_true(seen[s] > 20);
	assert_true(destroyed > 100);
	assert_true(bad_csum > 100);
	assert_true(verified > 5000);
	for (int v6 = 0; v6 < 2; v6++) {
		printf("steady candidates %s: tcp %u (timestamps alone %u, "
		       "SACK %u) udp %u\n",
		       v6 ? "IPv6" : "IPv4", sc.tcp[v6], sc.tcp_ts[v6],
		       sc.tcp_sack[v6], sc.udp[v6]);
		assert_true(sc.tcp[v6] > 1000);
		assert_true(sc.tcp_ts[v6] > 500);
		assert_true(sc.tcp_sack[v6] > 100);
		assert_true(sc.udp[v6] > 1000);
	}
	qt_engine_free(a);
	qt_engine_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_short_equals_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

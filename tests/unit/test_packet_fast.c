/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_packet_fast.c - qt_packet_parse()'s fast paths for plain IPv4 TCP,
 * UDP and ICMP queries and for IPv6 TCP and UDP without extension
 * headers must give exactly what the general parse gives.
 *
 * Seed packets (TCP without options, with the timestamps alone, with
 * them and a SACK block, with others; UDP, UDP-Lite, ICMP, IPv4
 * with options, fragments) are mutated at random in the bytes the fast
 * path looks at and in the lengths passed, and every result is compared
 * with qt_packet_parse_general(): the reason and every byte of struct
 * qt_pkt.  A run also checks that the fast path was really taken for the
 * plain packets (their parse succeeds with the expected fields).
 * qt_packet_brief() is checked on the same packets: whatever it takes
 * must parse, to the same values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "packet.h"

#define BUF 160

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A plain IPv4 packet of @proto with an L4 header of @l4hdr bytes and
 * @pay payload bytes; returns the header bytes written (the capture). */
static uint32_t build(uint8_t *b, uint8_t proto, uint32_t l4hdr, uint32_t pay)
{
	uint32_t ip_len = 20 + l4hdr + pay;

	memset(b, 0, BUF);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)ip_len);
	put16(b + 6, 0x4000);
	b[8] = 64;
	b[9] = proto;
	b[12] = 10, b[15] = 1;
	b[16] = 10, b[19] = 2;
	put16(b + 20, 1234);
	put16(b + 22, 80);
	if (proto == IPPROTO_TCP) {
		b[24] = 1, b[27] = 7;	/* seq */
		b[28] = 2, b[31] = 9;	/* ack */
		b[32] = (uint8_t)(l4hdr / 4) << 4;
		b[33] = 0x18;		/* PSH ACK */
		put16(b + 34, 512);
		if (l4hdr == 28) {
			/* MSS, NOP, WSCALE */
			b[40] = 2, b[41] = 4, b[42] = 5, b[43] = 0xb4;
			b[44] = 1, b[45] = 3, b[46] = 3, b[47] = 7;
		} else if (l4hdr >= 32) {
			/* NOP, NOP, timestamps: Linux's every segment */
			b[40] = 1, b[41] = 1, b[42] = 8, b[43] = 10;
			b[47] = 5, b[51] = 6;
		}
		if (l4hdr == 44) {
			/* NOP, NOP, one SACK block */
			b[52] = 1, b[53] = 1, b[54] = 5, b[55] = 10;
			b[56] = 2, b[59] = 9, b[60] = 2, b[63] = 99;
		}
	} else if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE) {
		put16(b + 24, (uint16_t)(l4hdr + pay));
	} else if (proto == IPPROTO_ICMP) {
		b[20] = 8;
		put16(b + 24, 77);
	}
	return 20 + l4hdr;
}

/* The same over IPv6 (2001:db8::1 to 2001:db8::2); @proto 0 puts a
 * hop-by-hop options header of 8 bytes before a TCP header. */
static uint32_t build6(uint8_t *b, uint8_t proto, uint32_t l4hdr,
		       uint32_t pay)
{
	uint32_t ext = proto == 0 ? 8 : 0;
	uint8_t *l4 = b + 40 + ext;

	memset(b, 0, BUF);
	b[0] = 0x60;
	put16(b + 4, (uint16_t)(ext + l4hdr + pay));
	b[6] = proto;
	b[7] = 64;
	b[8] = 0x20, b[9] = 0x01, b[10] = 0x0d, b[11] = 0xb8, b[23] = 1;
	b[24] = 0x20, b[25] = 0x01, b[26] = 0x0d, b[27] = 0xb8, b[39] = 2;
	if (ext) {
		b[40] = IPPROTO_TCP;
		b[42] = 1, b[43] = 4;	/* PadN */
		proto = IPPROTO_TCP;
	}
	put16(l4, 1234);
	put16(l4 + 2, 80);
	if (proto == IPPROTO_TCP) {
		l4[4] = 1, l4[7] = 7;
		l4[8] = 2, l4[11] = 9;
		l4[12] = (uint8_t)(l4hdr / 4) << 4;
		l4[13] = 0x10;
		put16(l4 + 14, 512);
		if (l4hdr >= 32) {
			l4[20] = 1, l4[21] = 1, l4[22] = 8, l4[23] = 10;
			l4[27] = 5, l4[31] = 6;
		}
		if (l4hdr == 44) {
			l4[32] = 1, l4[33] = 1, l4[34] = 5, l4[35] = 10;
			l4[36] = 2, l4[39] = 9, l4[40] = 2, l4[43] = 99;
		}
	} else if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE) {
		put16(l4 + 4, (uint16_t)(l4hdr + pay));
	} else if (proto == IPPROTO_ICMPV6) {
		l4[0] = 128;
		put16(l4 + 4, 77);
	}
	return 40 + ext + l4hdr;
}

static unsigned int brief_taken;

/* A packet qt_packet_brief() takes parses, and to the same values. */
static bool compare_brief(const uint8_t *cap, uint32_t caplen,
			  uint32_t origlen, enum qt_reason rg,
			  const struct qt_pkt *gen)
{
	struct qt_pkt_brief b;

	memset(&b, 0xa5, sizeof(b));
	if (!qt_packet_brief(cap, caplen, origlen, &b))
		return false;
	assert_int_equal(rg, QT_R_NONE);
	assert_int_equal(gen->tuple.family, AF_INET);
	assert_int_equal(b.proto, gen->tuple.proto);
	assert_true(b.proto == IPPROTO_TCP || b.proto == IPPROTO_UDP);
	assert_int_equal(b.src, gen->tuple.src.ip);
	assert_int_equal(b.dst, gen->tuple.dst.ip);
	assert_int_equal(b.l4, gen->tuple.l4);
	assert_int_equal(b.v.ip_len, gen->ip_len);
	assert_int_equal(b.v.payload_len, gen->payload_len);
	if (b.proto == IPPROTO_TCP) {
		assert_int_equal(b.v.seq, gen->tcp.seq);
		assert_int_equal(b.v.ack, gen->tcp.ack);
		assert_int_equal(b.v.win, gen->tcp.win);
		assert_int_equal(b.v.flags, gen->tcp.flags);
		/* The SACK edge the window check would use. */
		assert_int_equal(b.v.sack,
				 qt_tcp_sack_highest(&gen->tcp, gen->tcp.ack));
	}
	return true;
}

static void compare(const uint8_t *b, uint32_t caplen, uint32_t origlen)
{
	/* A buffer of exactly caplen bytes: a sanitizer build catches any
	 * read past the capture. */
	uint8_t *cap = malloc(caplen ? caplen : 1);
	struct qt_pkt fast, gen;
	enum qt_reason rf, rg;

	assert_non_null(cap);
	memcpy(cap, b, caplen);
	/* Garbage first: neither may rely on the caller clearing. */
	memset(&fast, 0xa5, sizeof(fast));
	memset(&gen, 0x5a, sizeof(gen));
	rf = qt_packet_parse(cap, caplen, origlen, &fast);
	rg = qt_packet_parse_general(cap, caplen, origlen, &gen);
	assert_int_equal(rf, rg);
	/* On an error the general path leaves the struct partly filled;
	 * the fast path never errs itself, so the two must still agree. */
	assert_memory_equal(&fast, &gen, sizeof(fast));
	if (compare_brief(cap, caplen, origlen, rg, &gen))
		brief_taken++;
	free(cap);
}

static void test_fast_plain(void **state)
{
	uint8_t b[BUF];
	struct qt_pkt p;
	uint32_t cap;

	(void)state;
	cap = build(b, IPPROTO_TCP, 20, 100);
	assert_int_equal(qt_packet_parse(b, cap, cap + 100, &p), QT_R_NONE);
	assert_int_equal(p.tuple.family, AF_INET);
	assert_int_equal(p.tuple.proto, IPPROTO_TCP);
	assert_int_equal(p.tuple.sport, 1234);
	assert_int_equal(p.tuple.dport, 80);
	assert_int_equal(p.tcp.seq, 0x01000007);
	assert_int_equal(p.tcp.ack, 0x02000009);
	assert_int_equal(p.tcp.flags, 0x18);
	assert_int_equal(p.tcp.win, 512);
	assert_true(p.tcp.opts_seen);
	assert_int_equal(p.payload_len, 100);
	assert_int_equal(p.payload_caplen, 0);
	compare(b, cap, cap + 100);
	assert_true(compare_brief(b, cap, cap + 100, QT_R_NONE, &p));

	cap = build(b, IPPROTO_UDP, 8, 30);
	assert_int_equal(qt_packet_parse(b, cap + 30, cap + 30, &p),
			 QT_R_NONE);
	assert_int_equal(p.payload_off, 28);
	assert_int_equal(p.payload_len, 30);
	assert_int_equal(p.payload_caplen, 30);
	compare(b, cap + 30, cap + 30);
	assert_true(compare_brief(b, cap + 30, cap + 30, QT_R_NONE, &p));

	cap = build(b, IPPROTO_ICMP, 8, 56);
	assert_int_equal(qt_packet_parse(b, cap, cap + 56, &p), QT_R_NONE);
	assert_int_equal(p.tuple.icmp.type, 8);
	assert_int_equal(p.tuple.icmp.id, 77);
	assert_int_equal(p.icmp.id, 77);
	assert_false(p.icmp.is_error);
	assert_int_equal(p.payload_len, 56);
	compare(b, cap, cap + 56);
	/* ICMP, and TCP with options, are not brief packets. */
	assert_false(compare_brief(b, cap, cap + 56, QT_R_NONE, &p));
	cap = build(b, IPPROTO_TCP, 28, 0);
	assert_int_equal(qt_packet_parse(b, cap, cap, &p), QT_R_NONE);
	assert_false(compare_brief(b, cap, cap, QT_R_NONE, &p));
	/* TCP with the timestamps alone is, and its payload starts after
	 * them. */
	cap = build(b, IPPROTO_TCP, 32, 100);
	assert_int_equal(qt_packet_parse(b, cap, cap + 100, &p), QT_R_NONE);
	assert_int_equal(p.tcp.doff, 32);
	assert_int_equal(p.payload_off, 52);
	assert_int_equal(p.payload_len, 100);
	compare(b, cap, cap + 100);
	assert_true(compare_brief(b, cap, cap + 100, QT_R_NONE, &p));
	/* IPv6 TCP with the timestamps alone. */
	cap = build6(b, IPPROTO_TCP, 32, 100);
	assert_int_equal(qt_packet_parse(b, cap, cap + 100, &p), QT_R_NONE);
	assert_int_equal(p.tuple.family, AF_INET6);
	assert_int_equal(p.tuple.sport, 1234);
	assert_int_equal(p.tcp.doff, 32);
	assert_int_equal(p.payload_off, 72);
	assert_int_equal(p.payload_len, 100);
	compare(b, cap, cap + 100);
	cap = build(b, IPPROTO_ICMP, 8, 56);
	b[20] = 3;	/* an error: the general path */
	compare(b, cap, cap + 56);
}

/* Mutate the bytes the fast path reads, and the lengths. */
static void test_fast_differential(void **state)
{
	static const struct {
		uint8_t proto;
		uint32_t l4hdr;
		bool v6;
	} seeds[] = {
		{ IPPROTO_TCP, 20, 0 },	 { IPPROTO_TCP, 28, 0 },
		{ IPPROTO_TCP, 32, 0 },	 { IPPROTO_TCP, 44, 0 },
		{ IPPROTO_UDP, 8, 0 },	 { IPPROTO_UDPLITE, 8, 0 },
		{ IPPROTO_ICMP, 8, 0 },	 { IPPROTO_GRE, 4, 0 },
		{ IPPROTO_TCP, 20, 1 },	 { IPPROTO_TCP, 32, 1 },
		{ IPPROTO_TCP, 44, 1 },	 { IPPROTO_UDP, 8, 1 },
		{ IPPROTO_UDPLITE, 8, 1 }, { IPPROTO_ICMPV6, 8, 1 },
		{ 0, 32, 1 },
	};
	static const uint8_t spots[] = {
		0, 2, 3, 6, 7, 9, 20, 21, 24, 25, 32, 33, 40, 41, 42, 43,
		54, 55, 60, 63,
	};
	/* IPv6: version, payload length, next header, and the layer 4
	 * bytes the fast path reads (ports, UDP length, data offset,
	 * options). */
	static const uint8_t spots6[] = {
		0, 4, 5, 6, 40, 41, 44, 45, 52, 53, 60, 61, 62, 63,
	};
	uint8_t b[BUF];

	(void)state;
	brief_taken = 0;
	for (unsigned int it = 0; it < 200000; it++) {
		unsigned int s = rnd() % (sizeof(seeds) / sizeof(seeds[0]));
		uint32_t pay = rnd() % 3 ? rnd() % 40 : rnd() % 70000;
		bool v6 = seeds[s].v6;
		uint32_t cap = v6 ? build6(b, seeds[s].proto, seeds[s].l4hdr,
					   pay < 60 ? pay : 0)
				  : build(b, seeds[s].proto, seeds[s].l4hdr,
					  pay < 60 ? pay : 0);
		uint32_t caplen, origlen;
		unsigned int n = rnd() % 4;

		if (pay >= 60) {
			/* Long packet, header-only capture. */
			if (v6)
				put16(b + 4, (uint16_t)(cap - 40 + pay));
			else
				put16(b + 2, (uint16_t)(cap + pay));
			if (seeds[s].proto == IPPROTO_UDP)
				put16(b + (v6 ? 44 : 24),
				      (uint16_t)(seeds[s].l4hdr + pay));
		} else {
			cap += pay;
		}
		for (unsigned int k = 0; k < n; k++) {
			unsigned int at = v6 ? spots6[rnd() % sizeof(spots6)]
					     : spots[rnd() % sizeof(spots)];

			if (rnd() % 2)
				b[at] = (uint8_t)rnd();
			else
				b[at] ^= (uint8_t)(1u << (rnd() % 8));
		}
		caplen = rnd() % 4 ? cap : rnd() % (cap + 8);
		if (caplen > BUF)
			caplen = BUF;
		origlen = rnd() % 4 ? caplen + (pay >= 60 ? pay : 0)
				    : caplen + rnd() % 80000;
		if (rnd() % 16 == 0)
			origlen = rnd() % (caplen + 1);
		compare(b, caplen, origlen);
	}
	/* About a third of the seeds are brief packets, and most
	 * mutations leave them so. */
	assert_true(brief_taken > 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_plain),
		cmocka_unit_test(test_fast_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

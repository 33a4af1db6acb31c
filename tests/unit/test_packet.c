/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_packet.c - qt_packet_parse() on well-formed and malformed packets.
 *
 * Every case is built byte by byte by the helpers below and described by
 * the fields a correct parse must produce.  Every case that parses is also
 * re-parsed from every shorter capture (each copied into a buffer of
 * exactly that size, so a sanitizer build catches any read past caplen):
 * the result must be the same parse or QT_R_TRUNCATED.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "packet.h"

#define BUF_SIZE 2048

static const uint8_t v4_a[4] = { 192, 0, 2, 1 };
static const uint8_t v4_b[4] = { 198, 51, 100, 2 };
static const uint8_t v6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

/* ---- packet builders ------------------------------------------------ */

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

/* IPv4 header (+ options) from @src to @dst followed by @l4len bytes of
 * layer 4 at @l4; returns the packet length. */
static uint32_t mk_ip4_addr(uint8_t *buf, const uint8_t *src,
			    const uint8_t *dst, uint8_t proto, uint16_t frag,
			    const uint8_t *opts, uint32_t optlen,
			    const uint8_t *l4, uint32_t l4len)
{
	uint32_t ihl = 20 + optlen;

	memset(buf, 0, ihl);
	buf[0] = 0x40 | (ihl / 4);
	put16(buf + 2, ihl + l4len);
	put16(buf + 4, 0x1234);
	put16(buf + 6, frag);
	buf[8] = 64;
	buf[9] = proto;
	memcpy(buf + 12, src, 4);
	memcpy(buf + 16, dst, 4);
	if (optlen)
		memcpy(buf + 20, opts, optlen);
	memmove(buf + ihl, l4, l4len);
	return ihl + l4len;
}

static uint32_t mk_ip4(uint8_t *buf, uint8_t proto, const uint8_t *l4,
		       uint32_t l4len)
{
	return mk_ip4_addr(buf, v4_a, v4_b, proto, 0, NULL, 0, l4, l4len);
}

/* IPv6 header whose next header is @nexthdr, then @extlen bytes of
 * extension headers, then layer 4. */
static uint32_t mk_ip6_addr(uint8_t *buf, const uint8_t *src,
			    const uint8_t *dst, uint8_t nexthdr,
			    const uint8_t *ext, uint32_t extlen,
			    const uint8_t *l4, uint32_t l4len)
{
	memset(buf, 0, 40);
	buf[0] = 0x60;
	put16(buf + 4, extlen + l4len);
	buf[6] = nexthdr;
	buf[7] = 255;
	memcpy(buf + 8, src, 16);
	memcpy(buf + 24, dst, 16);
	if (extlen)
		memcpy(buf + 40, ext, extlen);
	if (l4len)
		memmove(buf + 40 + extlen, l4, l4len);
	return 40 + extlen + l4len;
}

static uint32_t mk_ip6(uint8_t *buf, uint8_t nexthdr, const uint8_t *ext,
		       uint32_t extlen, const uint8_t *l4, uint32_t l4len)
{
	return mk_ip6_addr(buf, v6_a, v6_b, nexthdr, ext, extlen, l4, l4len);
}

/* TCP header with options (padded to 4 bytes) and @plen payload bytes. */
static uint32_t mk_tcp(uint8_t *p, uint16_t sport, uint16_t dport,
		       uint32_t seq, uint32_t ack, uint8_t flags,
		       const uint8_t *opts, uint32_t optlen, uint32_t plen)
{
	uint32_t doff = 20 + (optlen + 3) / 4 * 4;

	memset(p, 0, doff + plen);
	put16(p, sport);
	put16(p + 2, dport);
	put32(p + 4, seq);
	put32(p + 8, ack);
	p[12] = (doff / 4) << 4;
	p[13] = flags;
	put16(p + 14, 29200);
	if (optlen)
		memcpy(p + 20, opts, optlen);
	memset(p + doff, 'x', plen);
	return doff + plen;
}

static uint32_t mk_udp(uint8_t *p, uint16_t sport, uint16_t dport,
		       uint32_t plen)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, 8 + plen);
	put16(p + 6, 0);
	memset(p + 8, 'u', plen);
	return 8 + plen;
}

static uint32_t mk_icmp(uint8_t *p, uint8_t type, uint8_t code, uint16_t id,
			const uint8_t *quote, uint32_t qlen)
{
	p[0] = type;
	p[1] = code;
	put16(p + 2, 0);
	put16(p + 4, id);
	put16(p + 6, 1);
	if (qlen)
		memmove(p + 8, quote, qlen);
	return 8 + qlen;
}

/* ---- well-formed packets -------------------------------------------- */

static const uint8_t syn_opts[] = {
	2, 4, 0x05, 0xb4,		/* MSS 1460 */
	4, 2,				/* SACK permitted */
	8, 10, 0, 0, 0, 1, 0, 0, 0, 0,	/* timestamps */
	1,				/* NOP */
	3, 3, 7,			/* window scale 7 */
};

static uint32_t b_v4_tcp_syn(uint8_t *buf)
{
	uint8_t l4[128];
	uint32_t n = mk_tcp(l4, 40000, 80, 1000, 0, QT_TCP_SYN, syn_opts,
			    sizeof(syn_opts), 0);

	return mk_ip4(buf, IPPROTO_TCP, l4, n);
}

static void c_v4_tcp_syn(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tcp.seq, 1000);
	assert_int_equal(pkt->tcp.ack, 0);
	assert_int_equal(pkt->tcp.flags, QT_TCP_SYN);
	assert_int_equal(pkt->tcp.win, 29200);
	assert_int_equal(pkt->tcp.doff, 40);
	assert_true(pkt->tcp.opts_seen);
	assert_int_equal(pkt->tcp.mss, 1460);
	assert_true(pkt->tcp.has_wscale);
	assert_int_equal(pkt->tcp.wscale, 7);
	assert_true(pkt->tcp.sack_perm);
	assert_int_equal(pkt->tcp.nsack, 0);
	assert_int_equal(pkt->ttl, 64);
}

static const uint8_t sack_opts[] = {
	1, 1, 5, 18,			/* NOP NOP SACK, two blocks */
	0, 0, 0x10, 0, 0, 0, 0x20, 0,	/* 4096-8192 */
	0, 0, 0x30, 0, 0, 0, 0x40, 0,	/* 12288-16384 */
};

static uint32_t b_v4_tcp_sack(uint8_t *buf)
{
	uint8_t l4[128];
	uint32_t n = mk_tcp(l4, 80, 40000, 5000, 1001, QT_TCP_ACK, sack_opts,
			    sizeof(sack_opts), 10);

	return mk_ip4(buf, IPPROTO_TCP, l4, n);
}

static void c_v4_tcp_sack(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tcp.doff, 40);
	assert_true(pkt->tcp.opts_seen);
	assert_int_equal(pkt->tcp.nsack, 2);
	assert_int_equal(pkt->tcp.sack[0][0], 4096);
	assert_int_equal(pkt->tcp.sack[0][1], 8192);
	assert_int_equal(pkt->tcp.sack[1][0], 12288);
	assert_int_equal(pkt->tcp.sack[1][1], 16384);
	assert_false(pkt->tcp.has_wscale);
	assert_int_equal(pkt->tcp.mss, 0);
	assert_int_equal(pkt->payload_off, 20 + 40);
	assert_memory_equal(pkt->data + pkt->payload_off, "xxxxxxxxxx", 10);
}

/* One SACK block after two NOPs: 12 bytes of options, as long as the
 * timestamps-only layout the parsers skip, and it must not be skipped. */
static const uint8_t sack1_opts[] = {
	1, 1, 5, 10,			/* NOP NOP SACK, one block */
	0, 0, 0x10, 0, 0, 0, 0x20, 0,	/* 4096-8192 */
};

static uint32_t b_v4_tcp_sack1(uint8_t *buf)
{
	uint8_t l4[128];
	uint32_t n = mk_tcp(l4, 80, 40000, 5000, 1001, QT_TCP_ACK, sack1_opts,
			    sizeof(sack1_opts), 10);

	return mk_ip4(buf, IPPROTO_TCP, l4, n);
}

static void c_v4_tcp_sack1(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tcp.doff, 32);
	assert_int_equal(pkt->tcp.nsack, 1);
	assert_int_equal(pkt->tcp.sack[0][0], 4096);
	assert_int_equal(pkt->tcp.sack[0][1], 8192);
}

/* Four SACK blocks in two options (3 + 1) fill QT_TCP_MAX_SACK. */
static uint32_t b_v4_tcp_sack_many(uint8_t *buf)
{
	uint8_t opts[40] = { 5, 26 }, l4[128];
	uint32_t i, n;

	for (i = 0; i < 3; i++) {
		put32(opts + 2 + i * 8, 100 * (i + 1));
		put32(opts + 6 + i * 8, 100 * (i + 1) + 50);
	}
	opts[26] = 5;
	opts[27] = 10;
	put32(opts + 28, 1000);
	put32(opts + 32, 1050);
	n = mk_tcp(l4, 80, 40000, 5000, 1001, QT_TCP_ACK, opts, 40, 0);
	return mk_ip4(buf, IPPROTO_TCP, l4, n);
}

static void c_v4_tcp_sack_many(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tcp.doff, 60);
	assert_int_equal(pkt->tcp.nsack, QT_TCP_MAX_SACK);
	assert_int_equal(pkt->tcp.sack[2][0], 300);
	assert_int_equal(pkt->tcp.sack[3][0], 1000);
	assert_int_equal(pkt->tcp.sack[3][1], 1050);
}

/* Window scale above 14 is capped, as the kernel does. */
static uint32_t b_v4_tcp_wscale_big(uint8_t *buf)
{
	static const uint8_t opts[] = { 3, 3, 20, 0 };
	uint8_t l4[64];
	uint32_t n = mk_tcp(l4, 1, 2, 0, 0, QT_TCP_SYN, opts, 4, 0);

	return mk_ip4(buf, IPPROTO_TCP, l4, n);
}

static void c_v4_tcp_wscale_big(const struct qt_pkt *pkt)
{
	assert_true(pkt->tcp.has_wscale);
	assert_int_equal(pkt->tcp.wscale, 14);
}

/* An option with length 1 ends the walk: MSS before it counts, the window
 * scale after it does not, and the packet is still valid. */
static uint32_t b_v4_tcp_opt_badlen(uint8_t *buf)
{
	static const uint8_t opts[] = { 2, 4, 0x02, 0x18, 8, 1, 3, 3, 5, 0,
					0, 0 };
	uint8_t l4[64];
	uint32_t n = mk_tcp(l4, 1, 2, 0, 0, QT_TCP_SYN, opts, 12, 0);

	return mk_ip4(buf, IPPROTO_TCP, l4, n);
}

static void c_v4_tcp_opt_badlen(const struct qt_pkt *pkt)
{
	assert_true(pkt->tcp.opts_seen);
	assert_int_equal(pkt->tcp.mss, 536);
	assert_false(pkt->tcp.has_wscale);
}

/* An option whose length runs past the header ends the walk too. */
static uint32_t b_v4_tcp_opt_overrun(uint8_t *buf)
{
	static const uint8_t opts[] = { 4, 2, 1, 3, 3, 9, 5, 10, 0, 0, 0, 0 };
	uint8_t l4[64];
	uint32_t n = mk_tcp(l4, 1, 2, 0, 0, QT_TCP_ACK, opts, 12, 4);

	return mk_ip4(buf, IPPROTO_TCP, l4, n);
}

static void c_v4_tcp_opt_overrun(const struct qt_pkt *pkt)
{
	assert_true(pkt->tcp.sack_perm);
	assert_true(pkt->tcp.has_wscale);
	assert_int_equal(pkt->tcp.wscale, 9);
	assert_int_equal(pkt->tcp.nsack, 0);
	assert_int_equal(pkt->payload_len, 4);
}

static uint32_t b_v4_ipopts_udp(uint8_t *buf)
{
	static const uint8_t ipopts[] = { 0x94, 4, 0, 0, 1, 1, 1, 0 };
	uint8_t l4[64];
	uint32_t n = mk_udp(l4, 5353, 53, 5);

	return mk_ip4_addr(buf, v4_a, v4_b, IPPROTO_UDP, 0, ipopts,
			   sizeof(ipopts), l4, n);
}

static uint32_t b_v4_udp(uint8_t *buf)
{
	uint8_t l4[64];
	uint32_t n = mk_udp(l4, 12345, 53, 20);

	return mk_ip4(buf, IPPROTO_UDP, l4, n);
}

/* UDP-Lite checksum coverage 0 means the whole datagram. */
static uint32_t b_v4_udplite(uint8_t *buf)
{
	uint8_t l4[64];
	uint32_t n = mk_udp(l4, 7, 9, 12);

	put16(l4 + 4, 0);
	return mk_ip4(buf, IPPROTO_UDPLITE, l4, n);
}

static uint32_t b_v4_icmp_echo(uint8_t *buf)
{
	uint8_t l4[64];
	uint32_t n = mk_icmp(l4, 8, 0, 0x4242, (const uint8_t *)"pingpong", 8);

	return mk_ip4(buf, IPPROTO_ICMP, l4, n);
}

static void c_v4_icmp_echo(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tuple.icmp.type, 8);
	assert_int_equal(pkt->tuple.icmp.code, 0);
	assert_int_equal(pkt->tuple.icmp.id, 0x4242);
	assert_int_equal(pkt->icmp.type, 8);
	assert_int_equal(pkt->icmp.id, 0x4242);
	assert_false(pkt->icmp.is_error);
	assert_false(pkt->inner.present);
}

/* A non-query type (router advertisement, 9): like the kernel, the tuple
 * takes the identifier field anyway; such a packet never opens a conn. */
static uint32_t b_v4_icmp_radv(uint8_t *buf)
{
	uint8_t l4[64];
	uint32_t n = mk_icmp(l4, 9, 0, 0x4242, NULL, 0);

	return mk_ip4(buf, IPPROTO_ICMP, l4, n);
}

static void c_v4_icmp_radv(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tuple.icmp.type, 9);
	assert_int_equal(pkt->tuple.icmp.id, 0x4242);
	assert_false(pkt->icmp.is_error);
}

/* Port unreachable from the destination, quoting the UDP datagram. */
static uint32_t b_v4_icmp_unreach_udp(uint8_t *buf)
{
	uint8_t q[128], l4[256], udp[64];
	uint32_t n = mk_udp(udp, 12345, 53, 20);

	n = mk_ip4(q, IPPROTO_UDP, udp, n);
	n = mk_icmp(l4, 3, 3, 0, q, n);
	return mk_ip4_addr(buf, v4_b, v4_a, IPPROTO_ICMP, 0, NULL, 0, l4, n);
}

static void c_v4_icmp_unreach_udp(const struct qt_pkt *pkt)
{
	struct qt_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET;
	t.proto = IPPROTO_UDP;
	memcpy(t.src.b, v4_a, 4);
	memcpy(t.dst.b, v4_b, 4);
	t.sport = 12345;
	t.dport = 53;
	assert_true(pkt->icmp.is_error);
	assert_int_equal(pkt->tuple.icmp.type, 3);
	assert_int_equal(pkt->tuple.icmp.code, 3);
	assert_int_equal(pkt->tuple.icmp.id, 0);
	assert_true(pkt->inner.present);
	assert_true(qt_tuple_equal(&pkt->inner.tuple, &t));
}

/* Unreachable quoting only 8 bytes of a TCP segment (RFC 792 minimum). */
static uint32_t b_v4_icmp_unreach_tcp(uint8_t *buf)
{
	uint8_t q[128], l4[256], tcp[64];
	uint32_t n = mk_tcp(tcp, 40000, 80, 0xdeadbeef, 0, QT_TCP_SYN, NULL,
			    0, 0);

	n = mk_ip4(q, IPPROTO_TCP, tcp, n);
	n = mk_icmp(l4, 3, 1, 0, q, 28);
	return mk_ip4_addr(buf, v4_b, v4_a, IPPROTO_ICMP, 0, NULL, 0, l4, n);
}

static void c_v4_icmp_unreach_tcp(const struct qt_pkt *pkt)
{
	assert_true(pkt->icmp.is_error);
	assert_true(pkt->inner.present);
	assert_int_equal(pkt->inner.tuple.proto, IPPROTO_TCP);
	assert_int_equal(pkt->inner.tuple.sport, 40000);
	assert_int_equal(pkt->inner.tuple.dport, 80);
	assert_memory_equal(pkt->inner.tuple.src.b, v4_a, 4);
	assert_int_equal(pkt->inner.tcp_seq, 0xdeadbeef);
	assert_int_equal(pkt->inner.tuple.pad, 0);
}

/* Time exceeded quoting an echo request: the inner tuple has its id. */
static uint32_t b_v4_icmp_ttl_echo(uint8_t *buf)
{
	uint8_t q[128], l4[256], ic[64];
	uint32_t n = mk_icmp(ic, 8, 0, 0x77, NULL, 0);

	n = mk_ip4(q, IPPROTO_ICMP, ic, n);
	n = mk_icmp(l4, 11, 0, 0, q, n);
	return mk_ip4(buf, IPPROTO_ICMP, l4, n);
}

static void c_v4_icmp_ttl_echo(const struct qt_pkt *pkt)
{
	assert_true(pkt->icmp.is_error);
	assert_true(pkt->inner.present);
	assert_int_equal(pkt->inner.tuple.proto, IPPROTO_ICMP);
	assert_int_equal(pkt->inner.tuple.icmp.type, 8);
	assert_int_equal(pkt->inner.tuple.icmp.id, 0x77);
}

/* A quote that is not IPv4 (outer family) is left out, not an error. */
static uint32_t b_v4_icmp_inner_v6(uint8_t *buf)
{
	uint8_t q[128], l4[256], udp[64];
	uint32_t n = mk_udp(udp, 1, 2, 0);

	n = mk_ip6(q, IPPROTO_UDP, NULL, 0, udp, n);
	n = mk_icmp(l4, 3, 3, 0, q, n);
	return mk_ip4(buf, IPPROTO_ICMP, l4, n);
}

/* The quote ends inside the quoted UDP header, after the ports: enough
 * for the kernel, which reads only the ports. */
static uint32_t b_v4_icmp_inner_short(uint8_t *buf)
{
	uint8_t q[128], l4[256], udp[64];
	uint32_t n = mk_udp(udp, 1, 2, 0);

	n = mk_ip4(q, IPPROTO_UDP, udp, n);
	n = mk_icmp(l4, 3, 3, 0, q, 24);
	return mk_ip4(buf, IPPROTO_ICMP, l4, n);
}

/* A quote with IHL 3. */
static uint32_t b_v4_icmp_inner_badihl(uint8_t *buf)
{
	uint8_t q[128], l4[256], udp[64];
	uint32_t n = mk_udp(udp, 1, 2, 0);

	n = mk_ip4(q, IPPROTO_UDP, udp, n);
	q[0] = 0x43;
	n = mk_icmp(l4, 3, 3, 0, q, n);
	return mk_ip4(buf, IPPROTO_ICMP, l4, n);
}

static void c_inner_ports_only(const struct qt_pkt *pkt)
{
	assert_true(pkt->icmp.is_error);
	assert_true(pkt->inner.present);
	assert_int_equal(pkt->inner.tuple.sport, 1);
	assert_int_equal(pkt->inner.tuple.dport, 2);
}

static void c_inner_absent(const struct qt_pkt *pkt)
{
	assert_true(pkt->icmp.is_error);
	assert_false(pkt->inner.present);
}

/* HBH, routing, destination options, first fragment and AH before TCP. */
static uint32_t b_v6_exthdrs_tcp(uint8_t *buf)
{
	uint8_t ext[64], l4[64];
	uint32_t n;

	memset(ext, 0, sizeof(ext));
	ext[0] = IPPROTO_ROUTING;	/* HBH, 8 bytes */
	ext[1] = 0;
	ext[2] = 1;			/* PadN */
	ext[3] = 4;
	ext[8] = IPPROTO_DSTOPTS;	/* routing, 8 bytes */
	ext[9] = 0;
	ext[10] = 4;
	ext[16] = IPPROTO_FRAGMENT;	/* destination options, 16 bytes */
	ext[17] = 1;
	ext[18] = 1;
	ext[19] = 12;
	ext[32] = IPPROTO_AH;		/* fragment: offset 0, M */
	put16(ext + 34, 0x0001);
	put32(ext + 36, 0xabcd);
	ext[40] = IPPROTO_TCP;		/* AH: (4 + 2) * 4 = 24 bytes */
	ext[41] = 4;
	n = mk_tcp(l4, 443, 50000, 7, 8, QT_TCP_ACK, NULL, 0, 3);
	return mk_ip6(buf, IPPROTO_HOPOPTS, ext, 64, l4, n);
}

static void c_v6_exthdrs_tcp(const struct qt_pkt *pkt)
{
	assert_true(pkt->fragment);
	assert_int_equal(pkt->tcp.seq, 7);
	assert_int_equal(pkt->tcp.ack, 8);
	assert_int_equal(pkt->ttl, 255);
	assert_memory_equal(pkt->tuple.src.b, v6_a, 16);
	assert_memory_equal(pkt->tuple.dst.b, v6_b, 16);
}

static uint32_t b_v6_icmp_echo(uint8_t *buf)
{
	uint8_t l4[64];
	uint32_t n = mk_icmp(l4, 128, 0, 0x99, (const uint8_t *)"abcd", 4);

	return mk_ip6(buf, IPPROTO_ICMPV6, NULL, 0, l4, n);
}

static void c_v6_icmp_echo(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tuple.icmp.type, 128);
	assert_int_equal(pkt->tuple.icmp.id, 0x99);
	assert_false(pkt->icmp.is_error);
}

/* Neighbour solicitation (135): the identifier field is taken as the
 * kernel takes it, though ND never opens a connection. */
static uint32_t b_v6_icmp_ns(uint8_t *buf)
{
	uint8_t l4[64];
	uint32_t n = mk_icmp(l4, 135, 0, 0x99, v6_b, 16);

	return mk_ip6(buf, IPPROTO_ICMPV6, NULL, 0, l4, n);
}

static void c_v6_icmp_ns(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tuple.icmp.type, 135);
	assert_int_equal(pkt->tuple.icmp.id, 0x99);
	assert_false(pkt->icmp.is_error);
}

/* Packet too big quoting a TCP segment behind a destination options
 * header. */
static uint32_t b_v6_icmp_ptb(uint8_t *buf)
{
	uint8_t q[256], l4[512], tcp[128];
	uint8_t ext[8] = { IPPROTO_TCP, 0, 1, 4 };
	uint32_t n = mk_tcp(tcp, 50000, 443, 0x01020304, 1, QT_TCP_ACK, NULL,
			    0, 100);

	n = mk_ip6(q, IPPROTO_DSTOPTS, ext, 8, tcp, n);
	n = mk_icmp(l4, 2, 0, 0, q, 48 + 20);
	put32(l4 + 4, 1280);	/* MTU */
	return mk_ip6_addr(buf, v6_b, v6_a, IPPROTO_ICMPV6, NULL, 0, l4, n);
}

static void c_v6_icmp_ptb(const struct qt_pkt *pkt)
{
	struct qt_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET6;
	t.proto = IPPROTO_TCP;
	memcpy(t.src.b, v6_a, 16);
	memcpy(t.dst.b, v6_b, 16);
	t.sport = 50000;
	t.dport = 443;
	assert_true(pkt->icmp.is_error);
	assert_int_equal(pkt->tuple.icmp.type, 2);
	assert_int_equal(pkt->tuple.icmp.id, 0);
	assert_true(pkt->inner.present);
	assert_true(qt_tuple_equal(&pkt->inner.tuple, &t));
	assert_int_equal(pkt->inner.tcp_seq, 0x01020304);
}

static uint32_t b_v4_gre(uint8_t *buf)
{
	uint8_t l4[12] = { 0, 0, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8 };

	return mk_ip4(buf, 47, l4, sizeof(l4));
}

/* GRE version 1 (PPTP): the call ID is the destination key. */
static uint32_t b_v4_gre_pptp(uint8_t *buf)
{
	uint8_t l4[12] = { 0x30, 0x81, 0x88, 0x0b, 0, 4, 0x12, 0x34,
			   0, 0, 0, 1 };

	return mk_ip4(buf, 47, l4, sizeof(l4));
}

static void c_gre_pptp(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tuple.sport, 0);
	assert_int_equal(pkt->tuple.dport, 0x1234);
}

/* Version 1 carrying anything but PPP has no tuple in the kernel. */
static uint32_t b_v4_gre_v1_ip(uint8_t *buf)
{
	uint8_t l4[8] = { 0x20, 0x01, 0x08, 0x00, 0, 0, 0x12, 0x34 };

	return mk_ip4(buf, 47, l4, sizeof(l4));
}

/* Version 1 too short for a call ID: both keys 0, as in the kernel. */
static uint32_t b_v4_gre_v1_short(uint8_t *buf)
{
	uint8_t l4[6] = { 0x20, 0x01, 0x88, 0x0b, 0, 0 };

	return mk_ip4(buf, 47, l4, sizeof(l4));
}

/* SCTP: ports from the common header; the chunks are the payload. */
static uint32_t b_v4_sctp_short(uint8_t *buf)
{
	uint8_t l4[8] = { 0x13, 0x88, 0x13, 0x89 };

	return mk_ip4(buf, IPPROTO_SCTP, l4, sizeof(l4));
}

static uint32_t b_v4_sctp(uint8_t *buf)
{
	uint8_t l4[16] = { 0x13, 0x88, 0x13, 0x89 };

	return mk_ip4(buf, IPPROTO_SCTP, l4, sizeof(l4));
}

static uint32_t b_v6_sctp(uint8_t *buf)
{
	uint8_t l4[16] = { 0x13, 0x88, 0x13, 0x89 };

	return mk_ip6(buf, IPPROTO_SCTP, NULL, 0, l4, sizeof(l4));
}

static uint32_t b_v6_nonext(uint8_t *buf)
{
	uint8_t ext[8] = { 59, 0, 1, 4 };

	return mk_ip6(buf, IPPROTO_DSTOPTS, ext, 8, NULL, 0);
}

static uint32_t b_v6_esp(uint8_t *buf)
{
	uint8_t l4[24] = { 0, 0, 1, 0, 0, 0, 0, 1 };

	return mk_ip6(buf, IPPROTO_ESP, NULL, 0, l4, sizeof(l4));
}

/* Exactly the walk limit of extension headers is still fine. */
static uint32_t mk_v6_dstopts_chain(uint8_t *buf, unsigned int count)
{
	uint8_t ext[8 * 20], l4[64];
	unsigned int i;
	uint32_t n = mk_udp(l4, 1000, 2000, 4);

	memset(ext, 0, sizeof(ext));
	for (i = 0; i < count; i++) {
		ext[i * 8] = i + 1 < count ? IPPROTO_DSTOPTS : IPPROTO_UDP;
		ext[i * 8 + 2] = 1;
		ext[i * 8 + 3] = 4;
	}
	return mk_ip6(buf, IPPROTO_DSTOPTS, ext, 8 * count, l4, n);
}

static uint32_t b_v6_16_exthdrs(uint8_t *buf)
{
	return mk_v6_dstopts_chain(buf, 16);
}

static uint32_t b_v6_17_exthdrs(uint8_t *buf)
{
	return mk_v6_dstopts_chain(buf, 17);
}

/* ---- fragments -------------------------------------------------------- */

static uint32_t b_v4_frag_first(uint8_t *buf)
{
	uint8_t l4[64];

	/* The UDP length covers the whole 1008-byte datagram; this first
	 * fragment (MF, offset 0) carries 48 bytes of it. */
	memset(l4, 0, sizeof(l4));
	mk_udp(l4, 4000, 5000, 0);
	put16(l4 + 4, 1008);
	return mk_ip4_addr(buf, v4_a, v4_b, IPPROTO_UDP, 0x2000, NULL, 0, l4,
			   48);
}

static void c_frag_first(const struct qt_pkt *pkt)
{
	assert_true(pkt->fragment);
}

static uint32_t b_v4_frag_later(uint8_t *buf)
{
	uint8_t l4[64];

	memset(l4, 'f', sizeof(l4));
	return mk_ip4_addr(buf, v4_a, v4_b, IPPROTO_UDP, 0x2000 | 6, NULL, 0,
			   l4, 48);
}

static void c_frag_later(const struct qt_pkt *pkt)
{
	assert_int_equal(pkt->tuple.l4, 0);
	assert_false(pkt->fragment);
}

static uint32_t b_v6_frag_later(uint8_t *buf)
{
	uint8_t ext[8] = { IPPROTO_TCP, 0 }, l4[32];

	put16(ext + 2, 185 << 3);
	memset(l4, 'f', sizeof(l4));
	return mk_ip6(buf, IPPROTO_FRAGMENT, ext, 8, l4, sizeof(l4));
}

/* ---- malformed packets ------------------------------------------------ */

static uint32_t b_bad_version(uint8_t *buf)
{
	uint32_t n = b_v4_udp(buf);

	buf[0] = 0x55;
	return n;
}

static uint32_t b_bad_ihl(uint8_t *buf)
{
	uint32_t n = b_v4_udp(buf);

	buf[0] = 0x44;
	return n;
}

static uint32_t b_totlen_over(uint8_t *buf)
{
	uint32_t n = b_v4_udp(buf);

	put16(buf + 2, n + 1);
	return n;
}

static uint32_t b_totlen_under_hdr(uint8_t *buf)
{
	uint32_t n = b_v4_udp(buf);

	put16(buf + 2, 19);
	return n;
}

static uint32_t b_totlen_under_ihl(uint8_t *buf)
{
	uint32_t n = b_v4_ipopts_udp(buf);

	put16(buf + 2, 24);
	return n;
}

static uint32_t b_totlen_zero(uint8_t *buf)
{
	uint32_t n = b_v4_udp(buf);

	put16(buf + 2, 0);
	return n;
}

static uint32_t b_v6_paylen_over(uint8_t *buf)
{
	uint32_t n = b_v6_icmp_echo(buf);

	put16(buf + 4, n - 40 + 1);
	return n;
}

/* The fragment header claims more than the packet holds. */
static uint32_t b_v6_exthdr_past_end(uint8_t *buf)
{
	uint32_t n = b_v6_nonext(buf);

	buf[41] = 1;	/* 16 bytes, only 8 in the packet */
	return n;
}

static uint32_t b_tcp_doff_small(uint8_t *buf)
{
	uint32_t n = b_v4_tcp_syn(buf);

	buf[20 + 12] = 4 << 4;
	return n;
}

static uint32_t b_tcp_doff_past_end(uint8_t *buf)
{
	uint8_t l4[64];
	uint32_t n = mk_tcp(l4, 1, 2, 3, 4, QT_TCP_ACK, NULL, 0, 8);

	l4[12] = 8 << 4;	/* 32 bytes, the segment has 28 */
	return mk_ip4(buf, IPPROTO_TCP, l4, n);
}

/* The IP header leaves 12 bytes for a TCP header; the capture has more
 * (link layer padding) but those bytes are not part of the packet. */
static uint32_t b_tcp_short_segment(uint8_t *buf)
{
	uint32_t n = b_v4_tcp_syn(buf);

	put16(buf + 2, 32);
	return n;
}

static uint32_t b_udp_len_small(uint8_t *buf)
{
	uint32_t n = b_v4_udp(buf);

	put16(buf + 24, 7);
	return n;
}

static uint32_t b_udp_len_big(uint8_t *buf)
{
	uint32_t n = b_v4_udp(buf);

	put16(buf + 24, n - 20 + 1);
	return n;
}

static uint32_t b_udplite_cov_big(uint8_t *buf)
{
	uint32_t n = b_v4_udplite(buf);

	put16(buf + 24, n - 20 + 1);
	return n;
}

static uint32_t b_udp_short_segment(uint8_t *buf)
{
	uint32_t n = b_v4_udp(buf);

	put16(buf + 2, 24);
	return n;
}

static uint32_t b_icmp_short_segment(uint8_t *buf)
{
	uint32_t n = b_v4_icmp_echo(buf);

	put16(buf + 2, 27);
	return n;
}

/* ---- the table -------------------------------------------------------- */

struct pcase {
	const char *name;
	uint32_t (*build)(uint8_t *buf);
	enum qt_reason reason;
	uint8_t family;
	uint8_t proto;
	uint16_t sport, dport;	/* checked for TCP/UDP/UDP-Lite */
	uint32_t l3_len;	/* checked unless 0 */
	uint32_t ip_len;	/* 0: the built length */
	uint32_t payload_len;
	void (*check)(const struct qt_pkt *pkt);
};

#define V4 AF_INET
#define V6 AF_INET6

static const struct pcase cases[] = {
	{ "v4 tcp syn opts", b_v4_tcp_syn, QT_R_NONE, V4, 6, 40000, 80, 20, 0,
	  0, c_v4_tcp_syn },
	{ "v4 tcp sack", b_v4_tcp_sack, QT_R_NONE, V4, 6, 80, 40000, 20, 0,
	  10, c_v4_tcp_sack },
	{ "v4 tcp 1 sack", b_v4_tcp_sack1, QT_R_NONE, V4, 6, 80, 40000, 20, 0,
	  10, c_v4_tcp_sack1 },
	{ "v4 tcp 3+1 sack", b_v4_tcp_sack_many, QT_R_NONE, V4, 6, 80, 40000,
	  20, 0, 0, c_v4_tcp_sack_many },
	{ "v4 tcp wscale 20", b_v4_tcp_wscale_big, QT_R_NONE, V4, 6, 1, 2, 20,
	  0, 0, c_v4_tcp_wscale_big },
	{ "v4 tcp opt len 1", b_v4_tcp_opt_badlen, QT_R_NONE, V4, 6, 1, 2, 20,
	  0, 0, c_v4_tcp_opt_badlen },
	{ "v4 tcp opt overrun", b_v4_tcp_opt_overrun, QT_R_NONE, V4, 6, 1, 2,
	  20, 0, 4, c_v4_tcp_opt_overrun },
	{ "v4 ip options udp", b_v4_ipopts_udp, QT_R_NONE, V4, 17, 5353, 53,
	  28, 0, 5, NULL },
	{ "v4 udp", b_v4_udp, QT_R_NONE, V4, 17, 12345, 53, 20, 0, 20, NULL },
	{ "v4 udplite cov 0", b_v4_udplite, QT_R_NONE, V4, 136, 7, 9, 20, 0,
	  12, NULL },
	{ "v4 icmp echo", b_v4_icmp_echo, QT_R_NONE, V4, 1, 0, 0, 20, 0, 8,
	  c_v4_icmp_echo },
	{ "v4 icmp router adv", b_v4_icmp_radv, QT_R_NONE, V4, 1, 0, 0, 20, 0,
	  0, c_v4_icmp_radv },
	{ "v4 icmp unreach udp", b_v4_icmp_unreach_udp, QT_R_NONE, V4, 1, 0,
	  0, 20, 0, 48, c_v4_icmp_unreach_udp },
	{ "v4 icmp unreach tcp", b_v4_icmp_unreach_tcp, QT_R_NONE, V4, 1, 0,
	  0, 20, 0, 28, c_v4_icmp_unreach_tcp },
	{ "v4 icmp ttl echo", b_v4_icmp_ttl_echo, QT_R_NONE, V4, 1, 0, 0, 20,
	  0, 28, c_v4_icmp_ttl_echo },
	{ "v4 icmp inner v6", b_v4_icmp_inner_v6, QT_R_NONE, V4, 1, 0, 0, 20,
	  0, 48, c_inner_absent },
	{ "v4 icmp inner short", b_v4_icmp_inner_short, QT_R_NONE, V4, 1, 0,
	  0, 20, 0, 24, c_inner_ports_only },
	{ "v4 icmp inner ihl", b_v4_icmp_inner_badihl, QT_R_NONE, V4, 1, 0, 0,
	  20, 0, 28, c_inner_absent },
	{ "v6 hbh rt dst frag ah tcp", b_v6_exthdrs_tcp, QT_R_NONE, V6, 6, 443,
	  50000, 104, 0, 3, c_v6_exthdrs_tcp },
	{ "v6 icmp echo", b_v6_icmp_echo, QT_R_NONE, V6, 58, 0, 0, 40, 0, 4,
	  c_v6_icmp_echo },
	{ "v6 icmp ns", b_v6_icmp_ns, QT_R_NONE, V6, 58, 0, 0, 40, 0, 16,
	  c_v6_icmp_ns },
	{ "v6 icmp ptb", b_v6_icmp_ptb, QT_R_NONE, V6, 58, 0, 0, 40, 0, 68,
	  c_v6_icmp_ptb },
	{ "v4 gre", b_v4_gre, QT_R_NONE, V4, 47, 0, 0, 20, 0, 12, NULL },
	{ "v4 gre pptp", b_v4_gre_pptp, QT_R_NONE, V4, 47, 0, 0, 20, 0, 12,
	  c_gre_pptp },
	{ "v4 gre v1 not ppp", b_v4_gre_v1_ip, QT_R_GRE_PROTO, V4, 47 },
	{ "v4 gre v1 short", b_v4_gre_v1_short, QT_R_NONE, V4, 47, 0, 0, 20, 0,
	  6, NULL },
	{ "v4 sctp", b_v4_sctp, QT_R_NONE, V4, 132, 5000, 5001, 20, 0, 4,
	  NULL },
	{ "v6 sctp", b_v6_sctp, QT_R_NONE, V6, 132, 5000, 5001, 40, 0, 4,
	  NULL },
	{ "v4 sctp < 12", b_v4_sctp_short, QT_R_BAD_L4LEN, V4, 132 },
	{ "v6 no next header", b_v6_nonext, QT_R_NO_L4, V6, 59, 0, 0, 0, 0, 0,
	  NULL },
	{ "v6 esp", b_v6_esp, QT_R_NONE, V6, 50, 0, 0, 40, 0, 24, NULL },
	{ "v6 16 ext headers", b_v6_16_exthdrs, QT_R_NONE, V6, 17, 1000, 2000,
	  40 + 128, 0, 4, NULL },
	{ "v4 first fragment", b_v4_frag_first, QT_R_NONE, V4, 17, 4000, 5000,
	  20, 0, 40, c_frag_first },
	{ "v4 later fragment", b_v4_frag_later, QT_R_FRAGMENT, V4, 17, 0, 0,
	  20, 0, 48, c_frag_later },
	{ "v6 later fragment", b_v6_frag_later, QT_R_FRAGMENT, V6, 6, 0, 0, 48,
	  0, 32, c_frag_later },
	{ "bad version", b_bad_version, QT_R_BAD_VERSION },
	{ "bad ihl", b_bad_ihl, QT_R_BAD_IHL },
	{ "totlen > origlen", b_totlen_over, QT_R_BAD_TOTLEN, V4, 17 },
	{ "totlen < 20", b_totlen_under_hdr, QT_R_BAD_TOTLEN, V4, 17 },
	{ "totlen < ihl", b_totlen_under_ihl, QT_R_BAD_TOTLEN, V4, 17 },
	{ "totlen 0 small", b_totlen_zero, QT_R_BAD_TOTLEN, V4, 17 },
	{ "v6 paylen > origlen", b_v6_paylen_over, QT_R_BAD_TOTLEN, V6, 58 },
	{ "v6 exthdr past end", b_v6_exthdr_past_end, QT_R_BAD_EXTHDR, V6 },
	{ "v6 17 ext headers", b_v6_17_exthdrs, QT_R_BAD_EXTHDR, V6 },
	{ "tcp doff 4", b_tcp_doff_small, QT_R_BAD_DATAOFF, V4, 6 },
	{ "tcp doff past end", b_tcp_doff_past_end, QT_R_BAD_DATAOFF, V4, 6 },
	{ "tcp segment < 20", b_tcp_short_segment, QT_R_BAD_L4LEN, V4, 6 },
	{ "udp len 7", b_udp_len_small, QT_R_BAD_L4LEN, V4, 17 },
	{ "udp len > segment", b_udp_len_big, QT_R_BAD_L4LEN, V4, 17 },
	{ "udplite cov > segment", b_udplite_cov_big, QT_R_BAD_L4LEN, V4,
	  136 },
	{ "udp segment < 8", b_udp_short_segment, QT_R_BAD_L4LEN, V4, 17 },
	{ "icmp segment < 8", b_icmp_short_segment, QT_R_BAD_L4LEN, V4, 1 },
};

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP;
}

static void check_case(const struct pcase *c, const struct qt_pkt *pkt,
		       uint32_t len, enum qt_reason r)
{
	uint32_t ip_len = c->ip_len ? c->ip_len : len;

	print_message("case: %s\n", c->name);
	assert_string_equal(qt_reason_name(r), qt_reason_name(c->reason));
	if (c->family) {
		assert_int_equal(pkt->tuple.family, c->family);
		assert_int_equal(pkt->tuple.pad, 0);
		if (c->family == AF_INET) {
			assert_memory_equal(pkt->tuple.src.b + 4,
					    "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
			assert_memory_equal(pkt->tuple.dst.b + 4,
					    "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
		}
	}
	if (c->proto)
		assert_int_equal(pkt->tuple.proto, c->proto);
	if (r != QT_R_NONE && r != QT_R_FRAGMENT)
		return;

	if (has_ports(c->proto)) {
		assert_int_equal(pkt->tuple.sport, c->sport);
		assert_int_equal(pkt->tuple.dport, c->dport);
	} else if (c->proto != IPPROTO_ICMP && c->proto != IPPROTO_ICMPV6 &&
		   !c->check) {
		assert_int_equal(pkt->tuple.l4, 0);
	}
	assert_int_equal(pkt->l3_len, c->l3_len);
	assert_int_equal(pkt->l4_off, c->l3_len);
	assert_int_equal(pkt->ip_len, ip_len);
	assert_int_equal(pkt->l4_len, ip_len - c->l3_len);
	assert_int_equal(pkt->payload_len, c->payload_len);
	assert_int_equal(pkt->payload_off + pkt->payload_len, ip_len);
	assert_int_equal(pkt->payload_caplen, pkt->payload_len);
	assert_ptr_not_equal(pkt->data, NULL);
	if (c->check)
		c->check(pkt);
}

static void test_packet_table(void **state)
{
	uint8_t buf[BUF_SIZE];
	struct qt_pkt pkt;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		uint32_t len;
		enum qt_reason r;

		memset(buf, 0, sizeof(buf));
		len = c->build(buf);
		r = qt_packet_parse(buf, len, len, &pkt);
		assert_ptr_equal(pkt.data, buf);
		check_case(c, &pkt, len, r);
	}
}

/* A parse of a shorter capture must agree with the full parse. */
static void check_truncated(const struct qt_pkt *full, enum qt_reason rf,
			    const struct qt_pkt *t, enum qt_reason rt,
			    uint32_t caplen)
{
	uint32_t cap;

	if (rt != rf) {
		assert_string_equal(qt_reason_name(rt), "truncated");
		return;
	}
	assert_true(qt_tuple_equal(&t->tuple, &full->tuple));
	assert_int_equal(t->ip_len, full->ip_len);
	assert_int_equal(t->l3_len, full->l3_len);
	assert_int_equal(t->l4_off, full->l4_off);
	assert_int_equal(t->l4_len, full->l4_len);
	assert_int_equal(t->payload_off, full->payload_off);
	assert_int_equal(t->payload_len, full->payload_len);
	assert_int_equal(t->fragment, full->fragment);
	assert_int_equal(t->ttl, full->ttl);
	cap = caplen < full->ip_len ? caplen : full->ip_len;
	assert_int_equal(t->payload_caplen,
			 cap > t->payload_off ? cap - t->payload_off : 0);
	if (rf != QT_R_NONE)
		return;
	if (full->tuple.proto == IPPROTO_TCP) {
		assert_int_equal(t->tcp.seq, full->tcp.seq);
		assert_int_equal(t->tcp.ack, full->tcp.ack);
		assert_int_equal(t->tcp.flags, full->tcp.flags);
		assert_int_equal(t->tcp.win, full->tcp.win);
		assert_int_equal(t->tcp.doff, full->tcp.doff);
		assert_int_equal(t->tcp.opts_seen,
				 caplen >= t->l4_off + t->tcp.doff);
		if (t->tcp.opts_seen) {
			assert_memory_equal(&t->tcp, &full->tcp,
					    sizeof(t->tcp));
		}
	}
	assert_memory_equal(&t->icmp, &full->icmp, sizeof(t->icmp));
	if (t->inner.present) {
		assert_true(full->inner.present);
		assert_true(qt_tuple_equal(&t->inner.tuple,
					   &full->inner.tuple));
		/* A quote of only the ports has no sequence number. */
		assert_true(t->inner.tcp_seq == 0 ||
			    t->inner.tcp_seq == full->inner.tcp_seq);
	}
}

/* Every prefix of every parseable case, in an exactly sized buffer. */
static void test_packet_truncation(void **state)
{
	uint8_t buf[BUF_SIZE];
	struct qt_pkt full, pkt;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		uint32_t len, caplen;
		enum qt_reason rf;

		if (c->reason != QT_R_NONE && c->reason != QT_R_FRAGMENT)
			continue;
		len = c->build(buf);
		rf = qt_packet_parse(buf, len, len, &full);
		assert_int_equal(rf, c->reason);
		print_message("truncating: %s\n", c->name);
		for (caplen = 0; caplen < len; caplen++) {
			uint8_t *copy = malloc(caplen);
			enum qt_reason rt;

			assert_non_null(copy);
			memcpy(copy, buf, caplen);
			rt = qt_packet_parse(copy, caplen, len, &pkt);
			check_truncated(&full, rf, &pkt, rt, caplen);
			free(copy);
		}
	}
}

/* NFQUEUE copy_range: only the headers are captured, the lengths still
 * come from the IP header. */
static void test_packet_header_only(void **state)
{
	uint8_t buf[BUF_SIZE], l4[1100];
	struct qt_pkt pkt;
	uint32_t len, n;

	(void)state;
	n = mk_tcp(l4, 40000, 80, 1, 2, QT_TCP_ACK | QT_TCP_PSH, NULL, 0,
		   1000);
	len = mk_ip4(buf, IPPROTO_TCP, l4, n);
	assert_int_equal(qt_packet_parse(buf, 40, len, &pkt), QT_R_NONE);
	assert_int_equal(pkt.ip_len, 1040);
	assert_int_equal(pkt.payload_len, 1000);
	assert_int_equal(pkt.payload_caplen, 0);
	assert_true(pkt.tcp.opts_seen);

	assert_int_equal(qt_packet_parse(buf, 100, len, &pkt), QT_R_NONE);
	assert_int_equal(pkt.payload_len, 1000);
	assert_int_equal(pkt.payload_caplen, 60);

	n = mk_udp(l4, 1, 2, 1000);
	len = mk_ip6(buf, IPPROTO_UDP, NULL, 0, l4, n);
	assert_int_equal(qt_packet_parse(buf, 48, len, &pkt), QT_R_NONE);
	assert_int_equal(pkt.payload_len, 1000);
	assert_int_equal(pkt.payload_caplen, 0);

	/* A truncated capture whose true length is shorter than the IP
	 * header says is malformed. */
	assert_int_equal(qt_packet_parse(buf, 48, len - 1, &pkt),
			 QT_R_BAD_TOTLEN);
}

/* Bytes after the IP length (Ethernet padding) are not packet. */
static void test_packet_trailing_padding(void **state)
{
	uint8_t buf[BUF_SIZE], l4[64];
	struct qt_pkt pkt;
	uint32_t len;

	(void)state;
	len = mk_ip4(buf, IPPROTO_UDP, l4, mk_udp(l4, 1, 2, 2));
	assert_int_equal(len, 30);
	memset(buf + len, 0xee, 30);
	assert_int_equal(qt_packet_parse(buf, 60, 60, &pkt), QT_R_NONE);
	assert_int_equal(pkt.ip_len, 30);
	assert_int_equal(pkt.payload_len, 2);
	assert_int_equal(pkt.payload_caplen, 2);
}

/* BIG TCP: IP length 0 and a true length above 64k means "use origlen". */
static void test_packet_big_tcp(void **state)
{
	uint8_t buf[BUF_SIZE], l4[64];
	struct qt_pkt pkt;
	uint32_t n;

	(void)state;
	n = mk_tcp(l4, 1, 2, 3, 4, QT_TCP_ACK, NULL, 0, 8);
	mk_ip4(buf, IPPROTO_TCP, l4, n);
	put16(buf + 2, 0);
	assert_int_equal(qt_packet_parse(buf, 48, 100000, &pkt), QT_R_NONE);
	assert_int_equal(pkt.ip_len, 100000);
	assert_int_equal(pkt.payload_len, 100000 - 40);
	assert_int_equal(pkt.payload_caplen, 8);
	assert_int_equal(pkt.tuple.sport, 1);

	/* Not above 64k: tot_len 0 is just wrong. */
	assert_int_equal(qt_packet_parse(buf, 48, 65535, &pkt),
			 QT_R_BAD_TOTLEN);

	mk_ip6(buf, IPPROTO_TCP, NULL, 0, l4, n);
	put16(buf + 4, 0);
	assert_int_equal(qt_packet_parse(buf, 68, 70000, &pkt), QT_R_NONE);
	assert_int_equal(pkt.ip_len, 70000);
	assert_int_equal(pkt.payload_len, 70000 - 60);

	/* payload_len 0 below 64k is a packet of just the fixed header. */
	assert_int_equal(qt_packet_parse(buf, 68, 68, &pkt), QT_R_BAD_L4LEN);
	assert_int_equal(pkt.ip_len, 40);
}

static void test_packet_empty(void **state)
{
	struct qt_pkt pkt;
	uint8_t b = 0x45;

	(void)state;
	assert_int_equal(qt_packet_parse(&b, 0, 0, &pkt), QT_R_TRUNCATED);
	assert_int_equal(qt_packet_parse(&b, 1, 1, &pkt), QT_R_TRUNCATED);
	b = 0x60;
	assert_int_equal(qt_packet_parse(&b, 1, 1, &pkt), QT_R_TRUNCATED);
	b = 0x00;
	assert_int_equal(qt_packet_parse(&b, 1, 1, &pkt), QT_R_BAD_VERSION);
}

static void test_reason_names(void **state)
{
	static const char *const names[QT_R_MAX] = {
		"none",		  "truncated",	  "bad-version",
		"bad-ihl",	  "bad-totlen",	  "bad-exthdr",
		"bad-dataoff",	  "bad-l4len",	  "bad-options",
		"fragment",	  "no-l4",	  "tcp-flags",	  "tcp-new",
		"tcp-state",	  "tcp-window",	  "tcp-rst",
		"tcp-synack",	  "icmp-type",	  "icmp-unsolicited",
		"icmp-no-conn",	  "icmp-inner",	  "table-full",
		"bad-checksum",	  "sctp-chunk",	  "sctp-new",
		"sctp-vtag",	  "sctp-state",	  "gre-proto",
	};
	int i;

	(void)state;
	for (i = 0; i < QT_R_MAX; i++)
		assert_string_equal(qt_reason_name(i), names[i]);
	assert_string_equal(qt_reason_name(QT_R_MAX), "unknown");
	assert_string_equal(qt_reason_name((enum qt_reason)-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet_table),
		cmocka_unit_test(test_packet_truncation),
		cmocka_unit_test(test_packet_header_only),
		cmocka_unit_test(test_packet_trailing_padding),
		cmocka_unit_test(test_packet_big_tcp),
		cmocka_unit_test(test_packet_empty),
		cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_fragment.c - IP fragments that reach the engine because nothing
 * reassembled them first.  A first fragment is classified by its headers
 * and never called a bad checksum (it cannot be verified); a later one is
 * INVALID (fragment) and leaves the connection alone; a TCP segment cut
 * into fragments does not push the connection out of its window; every
 * fragment is counted.  Packets go through qt_engine_process_batch(), as
 * in the daemon, so the fast paths are covered too; they are built byte
 * by byte here.
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

#define IP_MF 0x2000
#define TCP_SYN 0x02
#define TCP_ACK 0x10

#define ISN_C 1000u	/* client's initial sequence number */
#define ISN_S 5000u	/* server's */

static const uint8_t A6[16] = { 0xfd, 0, [15] = 1 };
static const uint8_t B6[16] = { 0xfd, 0, [15] = 2 };

/* A UDP header for a datagram of @ulen bytes (header included) whose
 * checksum field holds @csum, then @have - 8 bytes of payload. */
static void udp_hdr(uint8_t *u, uint16_t sp, uint16_t dp, uint16_t ulen,
		    uint16_t csum, uint32_t have)
{
	memset(u, 0xab, have);
	put16(u, sp);
	put16(u + 2, dp);
	put16(u + 4, ulen);
	put16(u + 6, csum);
}

/* A TCP header followed by @paylen bytes of data. */
static uint32_t tcp_seg_hdr(uint8_t *t, uint16_t sp, uint16_t dp,
			    uint32_t seq, uint32_t ack, uint8_t flags,
			    uint32_t paylen)
{
	tcp_hdr(t, sp, dp, seq, ack, flags);
	memset(t + 20, 0xcd, paylen);
	return 20 + paylen;
}

/* A TCP segment with @paylen bytes of data; a whole one gets its right
 * checksum, a first fragment (@frag) one that fits only the fragment. */
static struct pkt tcp4_seg(uint32_t src, uint32_t dst, uint16_t sp,
			   uint16_t dp, uint32_t seq, uint32_t ack,
			   uint8_t flags, uint32_t paylen, uint16_t frag)
{
	uint8_t l4[1100];
	uint32_t n = tcp_seg_hdr(l4, sp, dp, seq, ack, flags, paylen);
	struct pkt p = ip4_frag(src, dst, 6, frag, l4, n);

	ip4_l4_csum(&p, 16);
	return p;
}

struct fixture {
	struct qt_conf conf;
	struct qt_engine *e;
	uint64_t now;
};

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
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	qt_engine_free(f->e);
	return 0;
}

/* One packet through the batch entry point, its checksum unverified as
 * for a packet from the network. */
static struct qt_result run(struct fixture *f, const struct pkt *p)
{
	struct qt_input in = { .data = p->b, .caplen = p->len,
			       .origlen = p->len,
			       .flags = QT_IN_VERIFY_CSUM };
	struct qt_result r;

	f->now += 1;
	qt_engine_process_batch(f->e, &in, 1, f->now, &r);
	return r;
}

static void expect(struct fixture *f, const struct pkt *p,
		   enum qt_ct_state st, enum qt_reason why)
{
	struct qt_result r = run(f, p);

	assert_string_equal(qt_ct_state_name(r.state), qt_ct_state_name(st));
	assert_string_equal(qt_reason_name(r.reason), qt_reason_name(why));
}

static uint64_t fragments(struct fixture *f)
{
	return qt_engine_stats(f->e)->fragments;
}

/* A 3000-byte UDP reply in three IPv4 fragments, as a DNS server sends
 * it: the first one's checksum covers the whole datagram. */
static void test_udp4_fragments(void **state)
{
	struct fixture *f = *state;
	uint8_t u[1480];
	struct pkt p;

	/* The request: whole and without a checksum. */
	udp_hdr(u, 40000, 53, 40, 0, 40);
	p = ip4_frag(A4, B4, 17, 0, u, 40);
	expect(f, &p, QT_CT_NEW, QT_R_NONE);
	assert_int_equal(fragments(f), 0);

	/* First fragment: 1480 of 3008 bytes, a checksum nobody can check
	 * here.  ESTABLISHED, as the whole reply would be. */
	udp_hdr(u, 53, 40000, 3008, 0x1234, sizeof(u));
	p = ip4_frag(B4, A4, 17, IP_MF, u, sizeof(u));
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	assert_int_equal(fragments(f), 1);

	/* The middle and the last: no ports, INVALID. */
	memset(u, 0xab, sizeof(u));
	p = ip4_frag(B4, A4, 17, IP_MF | 185, u, sizeof(u));
	expect(f, &p, QT_CT_INVALID, QT_R_FRAGMENT);
	p = ip4_frag(B4, A4, 17, 370, u, 48);
	expect(f, &p, QT_CT_INVALID, QT_R_FRAGMENT);
	assert_int_equal(fragments(f), 3);
	assert_int_equal(
	    qt_engine_stats(f->e)->invalid[QT_R_FRAGMENT], 2);

	/* The connection is as it was: one entry, the next request is
	 * ESTABLISHED. */
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
	udp_hdr(u, 40000, 53, 40, 0, 40);
	p = ip4_frag(A4, B4, 17, 0, u, 40);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	assert_int_equal(fragments(f), 3);
}

/* A whole datagram with a wrong checksum is still INVALID: only
 * fragments are spared the check. */
static void test_whole_bad_checksum(void **state)
{
	struct fixture *f = *state;
	uint8_t u[64];
	struct pkt p;

	udp_hdr(u, 40000, 53, sizeof(u), 0x1234, sizeof(u));
	p = ip4_frag(A4, B4, 17, 0, u, sizeof(u));
	expect(f, &p, QT_CT_INVALID, QT_R_BAD_CHECKSUM);
	assert_int_equal(fragments(f), 0);
}

/* A fragmented echo request (ping -s 3000) opens the ICMP connection. */
static void test_icmp4_first_fragment(void **state)
{
	struct fixture *f = *state;
	uint8_t h[1480] = { 8, 0 };
	struct pkt p;

	put16(h + 2, 0xbeef);	/* the whole message's checksum */
	put16(h + 4, 77);
	p = ip4_frag(A4, B4, 1, IP_MF, h, sizeof(h));
	expect(f, &p, QT_CT_NEW, QT_R_NONE);
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
	h[0] = 0;
	p = ip4_frag(B4, A4, 1, IP_MF, h, sizeof(h));
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	assert_int_equal(fragments(f), 2);
}

/* IPv6: fragment header with offset 0 and M, then with an offset. */
static void test_udp6_fragments(void **state)
{
	struct fixture *f = *state;
	uint8_t u[1232];
	struct pkt p;

	udp_hdr(u, 40000, 53, 40, 0x5555, 40);
	p = ip6_frag(A6, B6, 17, -1, u, 40);
	/* Whole, with a wrong checksum: INVALID; then unverified. */
	expect(f, &p, QT_CT_INVALID, QT_R_BAD_CHECKSUM);
	struct qt_result r;
	qt_engine_process(f->e, p.b, p.len, p.len, 0, f->now, &r);
	assert_int_equal(r.state, QT_CT_NEW);

	udp_hdr(u, 53, 40000, 3008, 0x1234, sizeof(u));
	p = ip6_frag(B6, A6, 17, 1, u, sizeof(u));
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	p = ip6_frag(B6, A6, 17, 1232 | 1, u, sizeof(u));
	expect(f, &p, QT_CT_INVALID, QT_R_FRAGMENT);
	assert_int_equal(fragments(f), 2);
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
}

/* A whole TCP segment from the server announcing window @win. */
static struct pkt tcp4_srv(uint32_t ack, uint8_t flags, uint16_t win)
{
	struct pkt p = tcp4_seg(B4, A4, 80, 40000, flags & TCP_SYN ? ISN_S :
			    ISN_S + 1, ack, flags, 0, 0);

	put16(p.b + 34, win);
	ip4_l4_csum(&p, 16);
	return p;
}

/* The three-way handshake of client A4:40000 to server B4:80, whose
 * window is @win. */
static void tcp_open(struct fixture *f, uint16_t win)
{
	struct pkt p;

	p = tcp4_seg(A4, B4, 40000, 80, ISN_C, 0, TCP_SYN, 0, 0);
	expect(f, &p, QT_CT_NEW, QT_R_NONE);
	p = tcp4_srv(ISN_C + 1, TCP_SYN | TCP_ACK, win);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	p = tcp4_seg(A4, B4, 40000, 80, ISN_C + 1, ISN_S + 1, TCP_ACK, 0, 0);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	/* Once more both ways, so that the connection is steady (the
	 * engine's fast paths take it). */
	p = tcp4_seg(A4, B4, 40000, 80, ISN_C + 1, ISN_S + 1, TCP_ACK, 0, 0);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	p = tcp4_srv(ISN_C + 1, TCP_ACK, win);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
}

/*
 * A 3000-byte segment sent in fragments: the first carries the TCP header
 * and 1004 bytes, the rest none.  The server acks all 3000 bytes, which
 * the kernel (seeing the whole segment) would find in window; so must we.
 */
static void test_tcp_segment_in_fragments(void **state)
{
	struct fixture *f = *state;
	uint32_t seq = ISN_C + 1;
	uint8_t junk[1024];
	struct pkt p;

	tcp_open(f, 65535);
	p = tcp4_seg(A4, B4, 40000, 80, seq, ISN_S + 1, TCP_ACK, 1004, IP_MF);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	memset(junk, 0xcd, sizeof(junk));
	p = ip4_frag(A4, B4, 6, IP_MF | 128, junk, sizeof(junk));
	expect(f, &p, QT_CT_INVALID, QT_R_FRAGMENT);
	p = ip4_frag(A4, B4, 6, 256, junk, 3020 - 2048);
	expect(f, &p, QT_CT_INVALID, QT_R_FRAGMENT);
	/* The ack of the whole segment. */
	p = tcp4_seg(B4, A4, 80, 40000, ISN_S + 1, seq + 3000, TCP_ACK, 0, 0);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	/* The flow goes on in window both ways. */
	p = tcp4_seg(A4, B4, 40000, 80, seq + 3000, ISN_S + 1, TCP_ACK, 100, 0);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	p = tcp4_seg(B4, A4, 80, 40000, ISN_S + 1, seq + 3100, TCP_ACK, 0, 0);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	assert_int_equal(fragments(f), 3);
}

/* The same ack after a whole 1004-byte segment acks data nobody sent:
 * INVALID, as with the kernel.  This is what the fragment's assumed end
 * changes. */
static void test_tcp_ack_beyond_whole_segment(void **state)
{
	struct fixture *f = *state;
	uint32_t seq = ISN_C + 1;
	struct pkt p;

	tcp_open(f, 65535);
	p = tcp4_seg(A4, B4, 40000, 80, seq, ISN_S + 1, TCP_ACK, 1004, 0);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	p = tcp4_seg(B4, A4, 80, 40000, ISN_S + 1, seq + 3000, TCP_ACK, 0, 0);
	expect(f, &p, QT_CT_INVALID, QT_R_TCP_WINDOW);
}

/* The assumed end stops where one datagram must end (65535 bytes less
 * the IP and TCP headers) and at the receiver's window edge: an ack
 * beyond either stays INVALID. */
static void test_tcp_fragment_end_datagram(void **state)
{
	struct fixture *f = *state;
	uint32_t seq = ISN_C + 1;
	struct pkt p;

	/* The window edge (65535 from seq) is beyond the datagram's. */
	tcp_open(f, 65535);
	p = tcp4_seg(A4, B4, 40000, 80, seq, ISN_S + 1, TCP_ACK, 1004, IP_MF);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	p = tcp4_srv(seq + 65495 + 1, TCP_ACK, 65535);
	expect(f, &p, QT_CT_INVALID, QT_R_TCP_WINDOW);
	p = tcp4_srv(seq + 65495, TCP_ACK, 65535);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
}

static void test_tcp_fragment_end_window(void **state)
{
	struct fixture *f = *state;
	uint32_t seq = ISN_C + 1;
	struct pkt p;

	tcp_open(f, 2000);
	p = tcp4_seg(A4, B4, 40000, 80, seq, ISN_S + 1, TCP_ACK, 1004, IP_MF);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	p = tcp4_srv(seq + 2001, TCP_ACK, 2000);
	expect(f, &p, QT_CT_INVALID, QT_R_TCP_WINDOW);
	p = tcp4_srv(seq + 2000, TCP_ACK, 2000);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
}

/* A later fragment of a TCP datagram never touches the connection, even
 * with bytes where a TCP header would be (an RST here). */
static void test_tcp_later_fragment_harmless(void **state)
{
	struct fixture *f = *state;
	uint8_t l4[40];
	struct pkt p;

	tcp_open(f, 65535);
	tcp_seg_hdr(l4, 40000, 80, ISN_C + 1, ISN_S + 1, 0x04, 20);
	p = ip4_frag(A4, B4, 6, 64, l4, sizeof(l4));
	expect(f, &p, QT_CT_INVALID, QT_R_FRAGMENT);
	p = tcp4_seg(B4, A4, 80, 40000, ISN_S + 1, ISN_C + 1, TCP_ACK, 10, 0);
	expect(f, &p, QT_CT_ESTABLISHED, QT_R_NONE);
	assert_int_equal(qt_engine_stats(f->e)->count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp4_fragments, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_whole_bad_checksum, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_icmp4_first_fragment,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp6_fragments, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tcp_segment_in_fragments,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_tcp_ack_beyond_whole_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_fragment_end_datagram,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_fragment_end_window,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_tcp_later_fragment_harmless, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

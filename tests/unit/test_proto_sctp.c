/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_proto_sctp.c - the SCTP and GRE trackers against the behaviour of
 * Linux nf_conntrack_proto_sctp.c and nf_conntrack_proto_gre.c.
 *
 * Packets are real bytes, parsed by qt_packet_parse(); the driver plays
 * the engine as in test_proto_tcp.c (new() then packet() for the first
 * packet, QT_CONN_SEEN_REPLY after the first reply).  The expected
 * transitions are transcribed here from the kernel's table, not read from
 * the production one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "checksum.h"
#include "proto.h"

#define ORIG QT_DIR_ORIG
#define REPLY QT_DIR_REPLY

#define TAG_C 0x4000u	/* the client's initiate tag */
#define TAG_S 0x5000u	/* the server's */

enum {
	C_DATA = 0, C_INIT = 1, C_INIT_ACK = 2, C_SACK = 3, C_HB = 4,
	C_HB_ACK = 5, C_ABORT = 6, C_SHUTDOWN = 7, C_SHUTDOWN_ACK = 8,
	C_ERROR = 9, C_COOKIE_ECHO = 10, C_COOKIE_ACK = 11,
	C_SHUTDOWN_COMPLETE = 14,
};

struct chunk {
	uint8_t type;
	uint8_t flags;
	uint32_t itag;		/* INIT, INIT_ACK: initiate tag */
};

struct built {
	uint8_t buf[256];
	uint32_t len;
	struct qt_pkt pkt;
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* An IPv4 SCTP packet from @dir with tag @vtag and @n chunks, with a
 * correct CRC32c; parsed into b->pkt. */
static void sctp_build(struct built *b, enum qt_dir dir, uint32_t vtag,
		       const struct chunk *ch, int n)
{
	uint8_t *ip = b->buf, *sh = b->buf + 20;
	uint32_t off = 12, crc;
	int i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < n; i++) {
		uint8_t *c = sh + off;
		uint16_t clen = 4;

		c[0] = ch[i].type;
		c[1] = ch[i].flags;
		if (ch[i].type == C_INIT || ch[i].type == C_INIT_ACK) {
			put32(c + 4, ch[i].itag);
			put32(c + 8, 65535);
			c[12] = c[14] = 0;
			c[13] = c[15] = 1;
			put32(c + 16, 1);
			clen = 20;
		} else if (ch[i].type == C_DATA) {
			put32(c + 4, 1);
			memcpy(c + 16, "data", 4);
			clen = 20;
		} else if (ch[i].type == C_SACK || ch[i].type == C_SHUTDOWN) {
			put32(c + 4, 1);
			clen = ch[i].type == C_SACK ? 16 : 8;
		}
		c[2] = (uint8_t)(clen >> 8);
		c[3] = (uint8_t)clen;
		off += (clen + 3u) & ~3u;
	}
	sh[0] = dir == ORIG ? 0x9c : 0x0f;	/* 40000 <-> 3868 */
	sh[1] = dir == ORIG ? 0x40 : 0x1c;
	sh[2] = dir == ORIG ? 0x0f : 0x9c;
	sh[3] = dir == ORIG ? 0x1c : 0x40;
	put32(sh + 4, vtag);
	crc = ~qt_crc32c(0xffffffff, sh, off);
	sh[8] = (uint8_t)crc;
	sh[9] = (uint8_t)(crc >> 8);
	sh[10] = (uint8_t)(crc >> 16);
	sh[11] = (uint8_t)(crc >> 24);

	b->len = 20 + off;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(b->len >> 8);
	ip[3] = (uint8_t)b->len;
	ip[8] = 64;
	ip[9] = IPPROTO_SCTP;
	memcpy(ip + 12, dir == ORIG ? "\x0a\0\0\x01" : "\x0a\0\0\x02", 4);
	memcpy(ip + 16, dir == ORIG ? "\x0a\0\0\x02" : "\x0a\0\0\x01", 4);
	assert_int_equal(qt_packet_parse(b->buf, b->len, b->len, &b->pkt),
			 QT_R_NONE);
}

struct drv {
	struct qt_conn ct;
	struct qt_conf conf;
	struct qt_proto_ctx ctx;
	uint32_t timeout;
	enum qt_reason why;
};

static void drv_init(struct drv *d)
{
	struct built b;
	struct chunk c = { C_DATA, 0, 0 };

	memset(d, 0, sizeof(*d));
	qt_conf_init(&d->conf);
	d->ctx.conf = &d->conf;
	d->ctx.now = 1000000;
	sctp_build(&b, ORIG, 0, &c, 1);
	assert_int_equal(qt_conn_set_tuple(&d->ct, &b.pkt.tuple, NULL), 0);
}

/* What happened to a packet: the verdict, or -1 for new() refusing it. */
#define REFUSED (-1)

static int drv_first(struct drv *d, const struct built *b)
{
	d->why = qt_proto_sctp.new(&d->ct, &b->pkt, &d->ctx);
	if (d->why != QT_R_NONE)
		return REFUSED;
	d->timeout = 0;
	return qt_proto_sctp.packet(&d->ct, &b->pkt, ORIG, &d->ctx,
				    &d->timeout, &d->why);
}

static int drv_send(struct drv *d, enum qt_dir dir, const struct built *b)
{
	enum qt_verdict v;

	d->timeout = d->ct.timeout;
	v = qt_proto_sctp.packet(&d->ct, &b->pkt, dir, &d->ctx, &d->timeout,
				 &d->why);
	if (v == QT_V_ACCEPT)
		d->ct.timeout = d->timeout;
	if (dir == REPLY && v != QT_V_INVALID)
		d->ct.status |= QT_CONN_SEEN_REPLY;
	return v;
}

/* One chunk from @dir with tag @vtag (and initiate tag @itag). */
static int send1(struct drv *d, enum qt_dir dir, uint8_t type, uint32_t vtag,
		 uint32_t itag, uint8_t flags)
{
	struct chunk c = { type, flags, itag };
	struct built b;

	sctp_build(&b, dir, vtag, &c, 1);
	return drv_send(d, dir, &b);
}

static uint8_t st(const struct drv *d)
{
	return d->ct.proto.sctp.state;
}

/* INIT, INIT_ACK, COOKIE_ECHO, COOKIE_ACK. */
static void to_established(struct drv *d)
{
	struct chunk c = { C_INIT, 0, TAG_C };
	struct built b;

	drv_init(d);
	sctp_build(&b, ORIG, 0, &c, 1);
	assert_int_equal(drv_first(d, &b), QT_V_ACCEPT);
	assert_int_equal(st(d), QT_SCTP_CLOSED);
	assert_int_equal(d->timeout, 10);
	assert_int_equal(send1(d, REPLY, C_INIT_ACK, TAG_C, TAG_S, 0),
			 QT_V_ACCEPT);
	assert_int_equal(st(d), QT_SCTP_COOKIE_WAIT);
	assert_int_equal(d->timeout, 3);
	assert_int_equal(send1(d, ORIG, C_COOKIE_ECHO, TAG_S, 0, 0),
			 QT_V_ACCEPT);
	assert_int_equal(st(d), QT_SCTP_COOKIE_ECHOED);
	assert_false(d->ct.status & QT_CONN_ASSURED);
	assert_int_equal(send1(d, REPLY, C_COOKIE_ACK, TAG_C, 0, 0),
			 QT_V_ACCEPT);
	assert_int_equal(st(d), QT_SCTP_ESTABLISHED);
	assert_int_equal(d->timeout, 210);
	assert_true(d->ct.status & QT_CONN_ASSURED);
}

/* ---- the transition table, every row ----------------------------------- */

#define sNO QT_SCTP_NONE
#define sCL QT_SCTP_CLOSED
#define sCW QT_SCTP_COOKIE_WAIT
#define sCE QT_SCTP_COOKIE_ECHOED
#define sES QT_SCTP_ESTABLISHED
#define sSS QT_SCTP_SHUTDOWN_SENT
#define sSR QT_SCTP_SHUTDOWN_RECD
#define sSA QT_SCTP_SHUTDOWN_ACK_SENT
#define sHS QT_SCTP_HEARTBEAT_SENT
#define sIV QT_SCTP_STATE_MAX

static const uint8_t row_chunk[11] = {
	C_INIT, C_INIT_ACK, C_ABORT, C_SHUTDOWN, C_SHUTDOWN_ACK, C_ERROR,
	C_COOKIE_ECHO, C_COOKIE_ACK, C_SHUTDOWN_COMPLETE, C_HB, C_HB_ACK,
};

/* nf_conntrack_proto_sctp.c, sctp_conntracks[][][] (kernel 6.18). */
static const uint8_t want[2][11][9] = {
	{
		{ sCL, sCL, sCW, sCE, sES, sCL, sCL, sSA, sCW },
		{ sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL },
		{ sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		{ sCL, sCL, sCW, sCE, sSS, sSS, sSR, sSA, sCL },
		{ sSA, sCL, sCW, sCE, sES, sSA, sSA, sSA, sSA },
		{ sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL },
		{ sCL, sCL, sCE, sCE, sES, sSS, sSR, sSA, sCL },
		{ sCL, sCL, sCW, sES, sES, sSS, sSR, sSA, sCL },
		{ sCL, sCL, sCW, sCE, sES, sSS, sSR, sCL, sCL },
		{ sHS, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS },
		{ sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS },
	},
	{
		{ sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sIV },
		{ sIV, sCW, sCW, sCE, sES, sSS, sSR, sSA, sIV },
		{ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sIV },
		{ sIV, sCL, sCW, sCE, sSR, sSS, sSR, sSA, sIV },
		{ sIV, sCL, sCW, sCE, sES, sSA, sSA, sSA, sIV },
		{ sIV, sCL, sCW, sCL, sES, sSS, sSR, sSA, sIV },
		{ sIV, sCL, sCE, sCE, sES, sSS, sSR, sSA, sIV },
		{ sIV, sCL, sCW, sES, sES, sSS, sSR, sSA, sIV },
		{ sIV, sCL, sCW, sCE, sES, sSS, sSR, sCL, sIV },
		{ sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS },
		{ sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sES },
	},
};

/* Every row and column but NONE (only the first packet sees it; see
 * test_sctp_new): the chunk with the tags its rules want, from a conn put
 * in the state by hand. */
static void test_sctp_table(void **state)
{
	int dir, row, s;

	(void)state;
	for (dir = 0; dir < 2; dir++)
		for (row = 0; row < 11; row++)
			for (s = sCL; s < QT_SCTP_STATE_MAX; s++) {
				uint8_t type = row_chunk[row];
				uint8_t w = want[dir][row][s];
				uint32_t vt, it;
				struct drv d;
				int v;

				drv_init(&d);
				d.ct.proto.sctp.state = (uint8_t)s;
				d.ct.proto.sctp.vtag[ORIG] = TAG_S;
				d.ct.proto.sctp.vtag[REPLY] = TAG_C;
				d.ct.timeout = 77;
				vt = d.ct.proto.sctp.vtag[dir];
				it = d.ct.proto.sctp.vtag[!dir];
				if (type == C_INIT)
					vt = 0;
				print_message("dir %d row %d state %d\n", dir,
					      row, s);
				v = send1(&d, (enum qt_dir)dir, type, vt, it,
					  0);
				if (w == sIV) {
					assert_int_equal(v, QT_V_INVALID);
					assert_int_equal(d.why,
							 QT_R_SCTP_STATE);
					assert_int_equal(st(&d), s);
					continue;
				}
				assert_int_equal(st(&d), w);
				/* An INIT of a CLOSED entry does not refresh
				 * it. */
				if (type == C_INIT && s == sCL) {
					assert_int_equal(v, QT_V_IGNORE);
					continue;
				}
				assert_int_equal(v, QT_V_ACCEPT);
				assert_int_equal(d.timeout,
						 d.conf.sctp.timeouts[w]);
				assert_int_equal(
				    !!(d.ct.status & QT_CONN_ASSURED),
				    w == sES && s != sES);
			}
}

/* Chunks that do not move the state keep it and its timeout. */
static void test_sctp_data_sack(void **state)
{
	struct drv d;

	(void)state;
	to_established(&d);
	assert_int_equal(send1(&d, ORIG, C_DATA, TAG_S, 0, 0), QT_V_ACCEPT);
	assert_int_equal(send1(&d, REPLY, C_SACK, TAG_C, 0, 0), QT_V_ACCEPT);
	assert_int_equal(st(&d), QT_SCTP_ESTABLISHED);
	assert_int_equal(d.timeout, 210);
}

/* ---- the first packet ------------------------------------------------- */

static void test_sctp_new(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t vtag;
		int verdict;
		enum qt_reason why;
		uint8_t state;
	} cases[] = {
		{ C_INIT, 0, QT_V_ACCEPT, QT_R_NONE, sCL },
		{ C_INIT, 5, REFUSED, QT_R_SCTP_VTAG, 0 },
		{ C_DATA, TAG_S, REFUSED, QT_R_SCTP_NEW, 0 },
		{ C_SACK, TAG_S, REFUSED, QT_R_SCTP_NEW, 0 },
		{ C_ABORT, TAG_S, REFUSED, QT_R_SCTP_NEW, 0 },
		{ C_COOKIE_ACK, TAG_S, REFUSED, QT_R_SCTP_NEW, 0 },
		{ C_SHUTDOWN_COMPLETE, TAG_S, REFUSED, QT_R_SCTP_NEW, 0 },
		/* Out of the blue: its tag becomes the reply's. */
		{ C_SHUTDOWN_ACK, TAG_S, QT_V_ACCEPT, QT_R_NONE, sSA },
		{ C_HB, TAG_S, QT_V_ACCEPT, QT_R_NONE, sHS },
		/* The tag is the reply's, and this packet carries another
		 * one: INVALID, as in the kernel. */
		{ C_SHUTDOWN, TAG_S, QT_V_INVALID, QT_R_SCTP_VTAG, 0 },
		{ C_SHUTDOWN, 0, QT_V_ACCEPT, QT_R_NONE, sCL },
		{ C_COOKIE_ECHO, 0, QT_V_ACCEPT, QT_R_NONE, sCL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chunk c = { cases[i].type, 0, TAG_C };
		struct built b;
		struct drv d;
		int v;

		print_message("case %zu\n", i);
		drv_init(&d);
		sctp_build(&b, ORIG, cases[i].vtag, &c, 1);
		v = drv_first(&d, &b);
		assert_int_equal(v, cases[i].verdict);
		if (v != QT_V_ACCEPT)
			assert_int_equal(d.why, cases[i].why);
		else
			assert_int_equal(st(&d), cases[i].state);
	}
}

/* do_basic_checks(): INIT, INIT_ACK, SHUTDOWN_COMPLETE alone, COOKIE_ECHO
 * and COOKIE_ACK first, no zero-length chunk, at least one chunk. */
static void test_sctp_bundling(void **state)
{
	struct chunk init_data[2] = { { C_INIT, 0, TAG_C }, { C_DATA, 0, 0 } };
	struct chunk data_cookie[2] = { { C_DATA, 0, 0 },
					{ C_COOKIE_ECHO, 0, 0 } };
	struct chunk cookie_data[2] = { { C_COOKIE_ECHO, 0, 0 },
					{ C_DATA, 0, 0 } };
	struct built b;
	struct drv d;

	(void)state;
	drv_init(&d);
	sctp_build(&b, ORIG, 0, init_data, 2);
	assert_int_equal(drv_first(&d, &b), REFUSED);
	assert_int_equal(d.why, QT_R_SCTP_CHUNK);
	sctp_build(&b, ORIG, 0, init_data, 0);
	assert_int_equal(drv_first(&d, &b), REFUSED);
	assert_int_equal(d.why, QT_R_SCTP_CHUNK);

	to_established(&d);
	sctp_build(&b, ORIG, TAG_S, data_cookie, 2);
	assert_int_equal(drv_send(&d, ORIG, &b), QT_V_INVALID);
	assert_int_equal(d.why, QT_R_SCTP_CHUNK);
	sctp_build(&b, ORIG, TAG_S, cookie_data, 2);
	assert_int_equal(drv_send(&d, ORIG, &b), QT_V_ACCEPT);
	/* A chunk of length zero. */
	sctp_build(&b, ORIG, TAG_S, cookie_data, 1);
	b.buf[20 + 12 + 2] = b.buf[20 + 12 + 3] = 0;
	assert_int_equal(drv_send(&d, ORIG, &b), QT_V_INVALID);
}

/* ---- verification tags -------------------------------------------------- */

static void test_sctp_vtags(void **state)
{
	struct drv d;

	(void)state;
	to_established(&d);
	/* DATA with the sender's own tag, or the other direction's. */
	assert_int_equal(send1(&d, ORIG, C_DATA, TAG_C, 0, 0), QT_V_INVALID);
	assert_int_equal(d.why, QT_R_SCTP_VTAG);
	assert_int_equal(send1(&d, REPLY, C_DATA, TAG_S, 0, 0), QT_V_INVALID);
	/* An INIT with a tag. */
	assert_int_equal(send1(&d, ORIG, C_INIT, 1, TAG_C, 0), QT_V_INVALID);
	/* ABORT: its receiver's tag, or with T its own. */
	assert_int_equal(send1(&d, ORIG, C_ABORT, TAG_C, 0, 0), QT_V_INVALID);
	assert_int_equal(send1(&d, ORIG, C_ABORT, TAG_S, 0, 1), QT_V_INVALID);
	assert_int_equal(st(&d), QT_SCTP_ESTABLISHED);
	assert_int_equal(send1(&d, ORIG, C_ABORT, TAG_C, 0, 1), QT_V_ACCEPT);
	assert_int_equal(st(&d), QT_SCTP_CLOSED);
	assert_int_equal(d.timeout, 10);

	/* SHUTDOWN_COMPLETE: the same rule. */
	to_established(&d);
	assert_int_equal(send1(&d, ORIG, C_SHUTDOWN, TAG_S, 0, 0),
			 QT_V_ACCEPT);
	assert_int_equal(st(&d), QT_SCTP_SHUTDOWN_SENT);
	assert_int_equal(send1(&d, REPLY, C_SHUTDOWN_ACK, TAG_C, 0, 0),
			 QT_V_ACCEPT);
	assert_int_equal(st(&d), QT_SCTP_SHUTDOWN_ACK_SENT);
	assert_int_equal(send1(&d, ORIG, C_SHUTDOWN_COMPLETE, TAG_C, 0, 0),
			 QT_V_INVALID);
	assert_int_equal(send1(&d, ORIG, C_SHUTDOWN_COMPLETE, TAG_S, 0, 0),
			 QT_V_ACCEPT);
	assert_int_equal(st(&d), QT_SCTP_CLOSED);

	/* COOKIE_ECHO with a tag the INIT_ACK did not choose. */
	drv_init(&d);
	to_established(&d);
	assert_int_equal(send1(&d, ORIG, C_COOKIE_ECHO, 7, 0, 0),
			 QT_V_INVALID);
}

/* The INIT_ACK must carry the tag the INIT announced for its side. */
static void test_sctp_init_ack_tag(void **state)
{
	struct chunk c = { C_INIT, 0, TAG_C };
	struct built b;
	struct drv d;

	(void)state;
	drv_init(&d);
	sctp_build(&b, ORIG, 0, &c, 1);
	assert_int_equal(drv_first(&d, &b), QT_V_ACCEPT);
	/* Sent with a tag other than the INIT's initiate tag. */
	assert_int_equal(send1(&d, REPLY, C_INIT_ACK, 0x1111, TAG_S, 0),
			 QT_V_INVALID);
	assert_int_equal(send1(&d, REPLY, C_INIT_ACK, TAG_C, TAG_S, 0),
			 QT_V_ACCEPT);
	assert_int_equal(d.ct.proto.sctp.vtag[ORIG], TAG_S);
	assert_int_equal(d.ct.proto.sctp.vtag[REPLY], TAG_C);
}

/* INITs from both ends: the INIT_ACKs must agree with the INITs' tags. */
static void test_sctp_collision(void **state)
{
	struct chunk c = { C_INIT, 0, TAG_C };
	struct built b;
	struct drv d;

	(void)state;
	drv_init(&d);
	sctp_build(&b, ORIG, 0, &c, 1);
	assert_int_equal(drv_first(&d, &b), QT_V_ACCEPT);
	/* An INIT of a CLOSED entry: let through, no refresh. */
	assert_int_equal(send1(&d, REPLY, C_INIT, 0, TAG_S, 0), QT_V_IGNORE);
	assert_int_equal(st(&d), QT_SCTP_CLOSED);
	/* An INIT_ACK with a third tag. */
	assert_int_equal(send1(&d, REPLY, C_INIT_ACK, TAG_C, 0x7777, 0),
			 QT_V_INVALID);
	assert_int_equal(d.why, QT_R_SCTP_VTAG);
	assert_int_equal(send1(&d, REPLY, C_INIT_ACK, TAG_C, TAG_S, 0),
			 QT_V_ACCEPT);
	assert_int_equal(st(&d), QT_SCTP_COOKIE_WAIT);
	assert_int_equal(send1(&d, ORIG, C_INIT_ACK, TAG_S, TAG_C, 0),
			 QT_V_ACCEPT);
	assert_int_equal(send1(&d, ORIG, C_COOKIE_ECHO, TAG_S, 0, 0),
			 QT_V_ACCEPT);
	assert_int_equal(send1(&d, REPLY, C_COOKIE_ACK, TAG_C, 0, 0),
			 QT_V_ACCEPT);
	assert_int_equal(st(&d), QT_SCTP_ESTABLISHED);
	assert_int_equal(d.ct.proto.sctp.flags &
			 (QT_SCTPF_INIT_ORIG | QT_SCTPF_INIT_REPLY), 0);
}

/* ---- heartbeats ---------------------------------------------------------- */

/* A path picked up from its HEARTBEAT becomes ESTABLISHED with the ACK. */
static void test_sctp_heartbeat_pickup(void **state)
{
	struct chunk c = { C_HB, 0, 0 };
	struct built b;
	struct drv d;

	(void)state;
	drv_init(&d);
	sctp_build(&b, ORIG, TAG_S, &c, 1);
	assert_int_equal(drv_first(&d, &b), QT_V_ACCEPT);
	assert_int_equal(st(&d), QT_SCTP_HEARTBEAT_SENT);
	assert_int_equal(d.timeout, 30);
	/* DATA needs the reply's tag, still unknown (0). */
	assert_int_equal(send1(&d, REPLY, C_DATA, TAG_C, 0, 0), QT_V_INVALID);
	assert_int_equal(send1(&d, REPLY, C_HB_ACK, TAG_C, 0, 0), QT_V_ACCEPT);
	assert_int_equal(st(&d), QT_SCTP_ESTABLISHED);
	assert_true(d.ct.status & QT_CONN_ASSURED);
	assert_int_equal(d.ct.proto.sctp.vtag[REPLY], TAG_C);
	assert_int_equal(send1(&d, REPLY, C_DATA, TAG_C, 0, 0), QT_V_ACCEPT);
}

/* A HEARTBEAT with a new tag passes without a refresh; the ACK with a
 * new tag from the other side makes the new tags the expected ones. */
static void test_sctp_heartbeat_restart(void **state)
{
	struct drv d;

	(void)state;
	to_established(&d);
	d.ct.timeout = 99;
	assert_int_equal(send1(&d, ORIG, C_HB, 0x6000, 0, 0), QT_V_IGNORE);
	assert_true(d.ct.proto.sctp.flags & QT_SCTPF_HB_VTAG_FAILED);
	/* An ACK from the same side does not confirm it. */
	assert_int_equal(send1(&d, ORIG, C_HB_ACK, 0x6000, 0, 0),
			 QT_V_INVALID);
	assert_int_equal(send1(&d, REPLY, C_HB_ACK, 0x6001, 0, 0),
			 QT_V_ACCEPT);
	assert_int_equal(d.ct.proto.sctp.vtag[REPLY], 0x6001);
	assert_int_equal(d.ct.proto.sctp.vtag[ORIG], 0);
	/* The original side's tag is learnt from its next heartbeat. */
	assert_int_equal(send1(&d, ORIG, C_HB, 0x6000, 0, 0), QT_V_ACCEPT);
	assert_int_equal(send1(&d, ORIG, C_DATA, 0x6000, 0, 0), QT_V_ACCEPT);
	/* Without a failed HEARTBEAT an ACK with another tag is INVALID. */
	assert_int_equal(send1(&d, REPLY, C_HB_ACK, 0x1234, 0, 0),
			 QT_V_INVALID);
}

/* ---- checksum, names, early drop --------------------------------------- */

static void test_sctp_crc32c(void **state)
{
	/* RFC 3720 B.4: 32 bytes of zeros. */
	static const uint8_t zeros[32];
	struct chunk c = { C_INIT, 0, TAG_C };
	struct built b;

	(void)state;
	assert_int_equal(~qt_crc32c(0xffffffff, zeros, 32), 0x8a9136aa);
	sctp_build(&b, ORIG, 0, &c, 1);
	assert_true(qt_checksum_ok(&b.pkt));
	b.buf[20 + 9] ^= 1;
	assert_false(qt_checksum_ok(&b.pkt));
	b.buf[20 + 9] ^= 1;
	b.buf[b.len - 1] ^= 0x80;
	assert_false(qt_checksum_ok(&b.pkt));
}

static void test_sctp_names_drop(void **state)
{
	static const char *const names[] = {
		"NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED",
		"ESTABLISHED", "SHUTDOWN_SENT", "SHUTDOWN_RECD",
		"SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT",
	};
	struct qt_conn ct;
	int s;

	(void)state;
	memset(&ct, 0, sizeof(ct));
	for (s = 0; s < QT_SCTP_STATE_MAX; s++) {
		ct.proto.sctp.state = (uint8_t)s;
		assert_string_equal(qt_proto_sctp.state_name(&ct), names[s]);
		assert_int_equal(qt_proto_sctp.can_early_drop(&ct),
				 s == sSS || s == sSR || s == sSA);
	}
	assert_ptr_equal(qt_proto_find(132), &qt_proto_sctp);
	assert_ptr_equal(qt_proto_find(47), &qt_proto_gre);
}

/* ---- GRE ------------------------------------------------------------------ */

/* 30 s until a reply, then from the packet after the first reply 180 s and
 * ASSURED. */
static void test_gre_timeouts(void **state)
{
	struct qt_conf conf;
	struct qt_proto_ctx ctx = { .conf = &conf, .now = 1 };
	struct qt_conn ct;
	struct qt_pkt pkt;
	enum qt_reason why;
	uint32_t t = 0;

	(void)state;
	qt_conf_init(&conf);
	memset(&ct, 0, sizeof(ct));
	memset(&pkt, 0, sizeof(pkt));
	assert_int_equal(qt_proto_gre.new(&ct, &pkt, &ctx), QT_R_NONE);
	assert_int_equal(qt_proto_gre.packet(&ct, &pkt, ORIG, &ctx, &t, &why),
			 QT_V_ACCEPT);
	assert_int_equal(t, 30);
	assert_int_equal(qt_proto_gre.packet(&ct, &pkt, REPLY, &ctx, &t, &why),
			 QT_V_ACCEPT);
	assert_int_equal(t, 30);
	assert_false(ct.status & QT_CONN_ASSURED);
	ct.status |= QT_CONN_SEEN_REPLY;
	assert_int_equal(qt_proto_gre.packet(&ct, &pkt, ORIG, &ctx, &t, &why),
			 QT_V_ACCEPT);
	assert_int_equal(t, 180);
	assert_true(ct.status & QT_CONN_ASSURED);
	assert_null(qt_proto_gre.state_name);
}

/* The keys invert with the addresses: a PPTP call's reply tuple has the
 * call ID as its source key. */
static void test_gre_invert(void **state)
{
	struct qt_tuple o, r;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.family = AF_INET;
	o.proto = 47;
	o.src.ip = 1;
	o.dst.ip = 2;
	o.dport = 0x1234;
	assert_true(qt_proto_gre.invert(&r, &o));
	assert_int_equal(r.src.ip, 2);
	assert_int_equal(r.sport, 0x1234);
	assert_int_equal(r.dport, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sctp_table),
		cmocka_unit_test(test_sctp_data_sack),
		cmocka_unit_test(test_sctp_new),
		cmocka_unit_test(test_sctp_bundling),
		cmocka_unit_test(test_sctp_vtags),
		cmocka_unit_test(test_sctp_init_ack_tag),
		cmocka_unit_test(test_sctp_collision),
		cmocka_unit_test(test_sctp_heartbeat_pickup),
		cmocka_unit_test(test_sctp_heartbeat_restart),
		cmocka_unit_test(test_sctp_crc32c),
		cmocka_unit_test(test_sctp_names_drop),
		cmocka_unit_test(test_gre_timeouts),
		cmocka_unit_test(test_gre_invert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

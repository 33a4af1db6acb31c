/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_proto_tcp.c - the TCP tracker against the behaviour of Linux
 * nf_conntrack_proto_tcp.c, calling the ops directly.
 *
 * The driver below plays the engine: new() then packet() for a first
 * packet, packet() for later ones, QT_CONN_SEEN_REPLY set after packet()
 * lets the first reply through (as nf_conntrack_in does), and the timer
 * "re-armed" on QT_V_ACCEPT.  The expected outcomes are written here from
 * the kernel's rules, not read from the production table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

#define F QT_TCP_FIN
#define S QT_TCP_SYN
#define R QT_TCP_RST
#define P QT_TCP_PSH
#define A QT_TCP_ACK
#define U QT_TCP_URG

#define ISN_C 1000u /* client's initial sequence number */
#define ISN_S 5000u /* server's */
#define WIN 65535u

#define ORIG QT_DIR_ORIG
#define REPLY QT_DIR_REPLY

/* What packet() (or new() for the first packet) answered. */
enum outcome {
	O_ACCEPT = QT_V_ACCEPT,
	O_IGNORE = QT_V_IGNORE,
	O_INVALID = QT_V_INVALID,
	O_RESTART = QT_V_RESTART,
	O_DESTROY = QT_V_DESTROY,
	O_NEW_REFUSED, /* new() refused the first packet */
};

struct drv {
	struct qt_conn ct;
	struct qt_conf conf;
	struct qt_proto_ctx ctx;
	uint32_t timeout; /* what packet() set, or left */
	enum qt_reason why;
};

static void drv_init(struct drv *d)
{
	memset(d, 0, sizeof(*d));
	qt_conf_init(&d->conf);
	/* The kernel's defaults, spelled out so that the expectations below
	 * do not depend on conf.c. */
	d->conf.tcp.timeouts[QT_TCP_SYN_SENT] = 120;
	d->conf.tcp.timeouts[QT_TCP_SYN_RECV] = 60;
	d->conf.tcp.timeouts[QT_TCP_ESTABLISHED] = 432000;
	d->conf.tcp.timeouts[QT_TCP_FIN_WAIT] = 120;
	d->conf.tcp.timeouts[QT_TCP_CLOSE_WAIT] = 60;
	d->conf.tcp.timeouts[QT_TCP_LAST_ACK] = 30;
	d->conf.tcp.timeouts[QT_TCP_TIME_WAIT] = 120;
	d->conf.tcp.timeouts[QT_TCP_CLOSE] = 10;
	d->conf.tcp.timeouts[QT_TCP_SYN_SENT2] = 120;
	d->conf.tcp.timeouts[QT_TCP_TIMEOUT_RETRANS] = 300;
	d->conf.tcp.timeouts[QT_TCP_TIMEOUT_UNACK] = 300;
	d->conf.tcp.loose = true;
	d->conf.tcp.be_liberal = false;
	d->conf.tcp.ignore_invalid_rst = false;
	d->conf.tcp.max_retrans = 3;
	d->ctx.conf = &d->conf;
	d->ctx.now = 1000000;

	{
		struct qt_tuple o = {0};

		o.family = 2;
		o.proto = 6;
		o.src.ip = 0x0100000a;
		o.dst.ip = 0x0200000a;
		o.sport = 40000;
		o.dport = 80;
		/* Only the original tuple is stored; the reply one is
		 * derived. */
		assert_int_equal(qt_conn_set_tuple(&d->ct, &o, NULL), 0);
	}
}

/* A segment with @flags, @len payload bytes (per the IP header), no
 * options. */
static struct qt_pkt seg(uint8_t flags, uint32_t seq, uint32_t ack,
			 uint16_t win, uint32_t len)
{
	struct qt_pkt p;

	memset(&p, 0, sizeof(p));
	p.tuple.proto = 6;
	p.tcp.flags = flags;
	p.tcp.seq = seq;
	p.tcp.ack = ack;
	p.tcp.win = win;
	p.tcp.doff = 20;
	p.tcp.opts_seen = true;
	p.l4_len = 20 + len;
	p.payload_len = len;
	p.payload_caplen = len;
	return p;
}

/* Give @p options: window scale @ws (negative: none) and SACK_PERM. */
static struct qt_pkt opts(struct qt_pkt p, int ws, bool sack_perm)
{
	p.tcp.doff = 40;
	p.l4_len = 40 + p.payload_len;
	if (ws >= 0) {
		p.tcp.has_wscale = true;
		p.tcp.wscale = (uint8_t)ws;
	}
	p.tcp.sack_perm = sack_perm;
	return p;
}

static void drv_arm(struct drv *d, enum outcome o)
{
	if (o == O_ACCEPT) {
		d->ct.timeout = d->timeout;
		qt_timer_set_expires(&d->ct.timer,
				     d->ctx.now + (uint64_t)d->timeout * 1000);
	}
}

/* The first packet of a conn, in the original direction. */
static enum outcome drv_first(struct drv *d, const struct qt_pkt *p)
{
	enum qt_verdict v;

	d->why = qt_proto_tcp.new(&d->ct, p, &d->ctx);
	if (d->why != QT_R_NONE)
		return O_NEW_REFUSED;
	d->timeout = 0;
	v = qt_proto_tcp.packet(&d->ct, p, ORIG, &d->ctx, &d->timeout, &d->why);
	drv_arm(d, (enum outcome)v);
	return (enum outcome)v;
}

static enum outcome drv_send(struct drv *d, int dir, const struct qt_pkt *p)
{
	enum qt_verdict v;

	d->timeout = d->ct.timeout;
	d->why = QT_R_NONE;
	v = qt_proto_tcp.packet(&d->ct, p, (enum qt_dir)dir, &d->ctx,
				&d->timeout, &d->why);
	if (dir == REPLY &&
	    (v == QT_V_ACCEPT || v == QT_V_IGNORE || v == QT_V_DESTROY))
		d->ct.status |= QT_CONN_SEEN_REPLY;
	drv_arm(d, (enum outcome)v);
	return (enum outcome)v;
}

static uint8_t st(const struct drv *d)
{
	return d->ct.proto.tcp.state;
}

static bool assured(const struct drv *d)
{
	return d->ct.status & QT_CONN_ASSURED;
}

/* ---- driving a conn into each state --------------------------------- */

/* Sequence numbers used below: the client's SYN is ISN_C, its data starts
 * at ISN_C + 1; the server's likewise with ISN_S. */

static void to_syn_sent(struct drv *d)
{
	struct qt_pkt p = seg(S, ISN_C, 0, WIN, 0);

	assert_int_equal(drv_first(d, &p), O_ACCEPT);
	assert_int_equal(st(d), QT_TCP_SYN_SENT);
}

static void to_syn_sent2(struct drv *d)
{
	struct qt_pkt p = seg(S, ISN_S, 0, WIN, 0);

	to_syn_sent(d);
	/* Moves on, but as a SYN answering an unanswered SYN it does not
	 * refresh the timer (the kernel's "no renewal on SYN" rule runs
	 * before the reply is marked seen). */
	assert_int_equal(drv_send(d, REPLY, &p), O_IGNORE);
	assert_int_equal(st(d), QT_TCP_SYN_SENT2);
}

static void to_syn_recv(struct drv *d)
{
	struct qt_pkt p = seg(S | A, ISN_S, ISN_C + 1, WIN, 0);

	to_syn_sent(d);
	assert_int_equal(drv_send(d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(d), QT_TCP_SYN_RECV);
}

static void to_established(struct drv *d)
{
	struct qt_pkt p = seg(A, ISN_C + 1, ISN_S + 1, WIN, 0);

	to_syn_recv(d);
	assert_int_equal(drv_send(d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(d), QT_TCP_ESTABLISHED);
	assert_true(assured(d));
}

static void to_fin_wait(struct drv *d)
{
	struct qt_pkt p = seg(F | A, ISN_C + 1, ISN_S + 1, WIN, 0);

	to_established(d);
	assert_int_equal(drv_send(d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(d), QT_TCP_FIN_WAIT);
}

static void to_close_wait(struct drv *d)
{
	struct qt_pkt p = seg(A, ISN_S + 1, ISN_C + 2, WIN, 0);

	to_fin_wait(d);
	assert_int_equal(drv_send(d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(d), QT_TCP_CLOSE_WAIT);
}

static void to_last_ack(struct drv *d)
{
	struct qt_pkt p = seg(F | A, ISN_S + 1, ISN_C + 2, WIN, 0);

	to_close_wait(d);
	assert_int_equal(drv_send(d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(d), QT_TCP_LAST_ACK);
}

static void to_time_wait(struct drv *d)
{
	struct qt_pkt p = seg(A, ISN_C + 2, ISN_S + 2, WIN, 0);

	to_last_ack(d);
	assert_int_equal(drv_send(d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(d), QT_TCP_TIME_WAIT);
}

static void to_close(struct drv *d)
{
	struct qt_pkt p = seg(R, ISN_C + 1, 0, 0, 0);

	to_established(d);
	assert_int_equal(drv_send(d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(d), QT_TCP_CLOSE);
}

/* NONE: a conn new() accepted but that saw no packet() yet. */
static void to_none(struct drv *d)
{
	struct qt_pkt p = seg(S, ISN_C, 0, WIN, 0);

	assert_int_equal(qt_proto_tcp.new(&d->ct, &p, &d->ctx), QT_R_NONE);
	assert_int_equal(st(d), QT_TCP_NONE);
}

static void (*const drive_to[QT_TCP_STATE_MAX])(struct drv *) = {
    [QT_TCP_NONE] = to_none,	     [QT_TCP_SYN_SENT] = to_syn_sent,
    [QT_TCP_SYN_RECV] = to_syn_recv, [QT_TCP_ESTABLISHED] = to_established,
    [QT_TCP_FIN_WAIT] = to_fin_wait, [QT_TCP_CLOSE_WAIT] = to_close_wait,
    [QT_TCP_LAST_ACK] = to_last_ack, [QT_TCP_TIME_WAIT] = to_time_wait,
    [QT_TCP_CLOSE] = to_close,	     [QT_TCP_SYN_SENT2] = to_syn_sent2,
};

/* ---- the transition table, every row -------------------------------- */

enum cls { C_SYN, C_SYNACK, C_FIN, C_ACK, C_RST, C_NONE, C_MAX };

static const uint8_t cls_flags[C_MAX] = {
    [C_SYN] = S, [C_SYNACK] = S | A, [C_FIN] = F | A,
    [C_ACK] = A, [C_RST] = R,	     [C_NONE] = 0,
};

static const char *const cls_names[C_MAX] = {
    "SYN", "SYN/ACK", "FIN", "ACK", "RST", "none",
};

struct expect {
	uint8_t outcome; /* enum outcome */
	uint8_t state;	 /* state after the packet */
};

/* Shorthands for the expectations: accepted into a state, ignored,
 * invalid, refused by new(), restarted, destroyed. */
#define Y(s)                                                                   \
	{                                                                      \
		O_ACCEPT, QT_TCP_##s                                           \
	}
#define IG(s)                                                                  \
	{                                                                      \
		O_IGNORE, QT_TCP_##s                                           \
	}
#define IV(s)                                                                  \
	{                                                                      \
		O_INVALID, QT_TCP_##s                                          \
	}
#define NR                                                                     \
	{                                                                      \
		O_NEW_REFUSED, QT_TCP_NONE                                     \
	}
#define RS(s)                                                                  \
	{                                                                      \
		O_RESTART, QT_TCP_##s                                          \
	}
#define DS(s)                                                                  \
	{                                                                      \
		O_DESTROY, QT_TCP_##s                                          \
	}

/*
 * The kernel's outcome for each direction, packet class and state, for
 * packets whose numbers fit the windows exactly (see table_packet()).
 * Columns: NONE SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT CLOSE_WAIT LAST_ACK
 * TIME_WAIT CLOSE SYN_SENT2.
 */
/* clang-format off */
static const struct expect expected[2][C_MAX][QT_TCP_STATE_MAX] = {
[ORIG] = {
	/* a repeated SYN while unanswered is not allowed to refresh the
	 * timer; after a FIN or our own RST a SYN reuses the port */
	[C_SYN] = { Y(SYN_SENT), IG(SYN_SENT), IG(SYN_RECV), IG(ESTABLISHED),
		    IG(FIN_WAIT), IG(CLOSE_WAIT), IG(LAST_ACK),
		    RS(TIME_WAIT), RS(CLOSE), Y(SYN_SENT2) },
	[C_SYNACK] = { NR, IV(SYN_SENT), Y(SYN_RECV), IV(ESTABLISHED),
		       IV(FIN_WAIT), IV(CLOSE_WAIT), IV(LAST_ACK),
		       IV(TIME_WAIT), IV(CLOSE), Y(SYN_RECV) },
	[C_FIN] = { NR, IV(SYN_SENT), Y(FIN_WAIT), Y(FIN_WAIT), Y(LAST_ACK),
		    Y(LAST_ACK), Y(LAST_ACK), Y(TIME_WAIT), Y(CLOSE),
		    IV(SYN_SENT2) },
	[C_ACK] = { Y(ESTABLISHED), IV(SYN_SENT), Y(ESTABLISHED),
		    Y(ESTABLISHED), Y(CLOSE_WAIT), Y(CLOSE_WAIT),
		    Y(TIME_WAIT), Y(TIME_WAIT), Y(CLOSE), IV(SYN_SENT2) },
	/* a RST as the only answer... here the client resets its own
	 * unanswered SYN: the conn goes */
	[C_RST] = { NR, DS(CLOSE), Y(CLOSE), Y(CLOSE), Y(CLOSE), Y(CLOSE),
		    Y(CLOSE), Y(CLOSE), Y(CLOSE), Y(CLOSE) },
	[C_NONE] = { NR, IV(SYN_SENT), IV(SYN_RECV), IV(ESTABLISHED),
		     IV(FIN_WAIT), IV(CLOSE_WAIT), IV(LAST_ACK),
		     IV(TIME_WAIT), IV(CLOSE), IV(SYN_SENT2) },
},
[REPLY] = {
	[C_SYN] = { IV(NONE), IG(SYN_SENT2), IV(SYN_RECV), IV(ESTABLISHED),
		    IV(FIN_WAIT), IV(CLOSE_WAIT), IV(LAST_ACK),
		    RS(TIME_WAIT), IV(CLOSE), Y(SYN_SENT2) },
	[C_SYNACK] = { IV(NONE), Y(SYN_RECV), IG(SYN_RECV), IG(ESTABLISHED),
		       IG(FIN_WAIT), IG(CLOSE_WAIT), IG(LAST_ACK),
		       IG(TIME_WAIT), IG(CLOSE), Y(SYN_RECV) },
	[C_FIN] = { IV(NONE), IV(SYN_SENT), Y(FIN_WAIT), Y(FIN_WAIT),
		    Y(LAST_ACK), Y(LAST_ACK), Y(LAST_ACK), Y(TIME_WAIT),
		    Y(CLOSE), IV(SYN_SENT2) },
	[C_ACK] = { IV(NONE), IG(SYN_SENT), Y(SYN_RECV), Y(ESTABLISHED),
		    Y(CLOSE_WAIT), Y(CLOSE_WAIT), Y(TIME_WAIT), Y(TIME_WAIT),
		    Y(CLOSE), IG(SYN_SENT2) },
	[C_RST] = { IV(NONE), DS(CLOSE), Y(CLOSE), Y(CLOSE), Y(CLOSE),
		    Y(CLOSE), Y(CLOSE), Y(CLOSE), Y(CLOSE), Y(CLOSE) },
	[C_NONE] = { IV(NONE), IV(SYN_SENT), IV(SYN_RECV), IV(ESTABLISHED),
		     IV(FIN_WAIT), IV(CLOSE_WAIT), IV(LAST_ACK),
		     IV(TIME_WAIT), IV(CLOSE), IV(SYN_SENT2) },
},
};
/* clang-format on */

/*
 * The probe packet for class @c from @dir: SYNs carry the sender's ISN (a
 * retransmission), other packets the sender's next sequence number and an
 * ack of everything the receiver sent.
 */
static struct qt_pkt table_packet(const struct drv *d, int dir, enum cls c)
{
	const struct qt_tcp_dir *snd = &d->ct.proto.tcp.seen[dir];
	const struct qt_tcp_dir *rcv = &d->ct.proto.tcp.seen[!dir];
	uint32_t isn = dir == ORIG ? ISN_C : ISN_S;
	uint32_t seq = snd->maxwin ? snd->end : isn;
	uint32_t ack = cls_flags[c] & A ? rcv->end : 0;

	if (c == C_SYN || c == C_SYNACK)
		seq = isn;
	return seg(cls_flags[c], seq, ack, WIN, 0);
}

static void table_case(int dir, enum cls c, int state)
{
	const struct expect *e = &expected[dir][c][state];
	struct drv d;
	struct qt_pkt p;
	enum outcome got;

	drv_init(&d);
	if (state == QT_TCP_NONE && dir == ORIG) {
		p = seg(cls_flags[c], ISN_C, c == C_ACK ? ISN_S : 0, WIN, 0);
		got = drv_first(&d, &p);
		if (got == O_NEW_REFUSED)
			assert_int_equal(d.why, QT_R_TCP_NEW);
	} else {
		drive_to[state](&d);
		p = table_packet(&d, dir, c);
		got = drv_send(&d, dir, &p);
	}
	if (got != e->outcome || (got != O_NEW_REFUSED && st(&d) != e->state))
		fail_msg("%s %s in %s: outcome %d state %s, expected %d %s",
			 dir == ORIG ? "orig" : "reply", cls_names[c],
			 qt_tcp_state_name((enum qt_tcp_state)state), got,
			 qt_tcp_state_name((enum qt_tcp_state)st(&d)),
			 e->outcome,
			 qt_tcp_state_name((enum qt_tcp_state)e->state));
	if (got == O_INVALID && !(state == QT_TCP_NONE && dir == ORIG))
		assert_int_equal(d.why, QT_R_TCP_STATE);
}

static void test_table_every_row(void **unused)
{
	int dir, c, s;

	(void)unused;
	for (dir = 0; dir < 2; dir++)
		for (c = 0; c < C_MAX; c++)
			for (s = 0; s < QT_TCP_STATE_MAX; s++)
				table_case(dir, (enum cls)c, s);
}

/* ---- pre(): flag combinations --------------------------------------- */

static void test_flags(void **unused)
{
	/* The valid combinations of FIN, SYN, RST, ACK, URG. */
	static const uint8_t valid[] = {
	    S, S | U, S | A, R, R | A, F | A, F | A | U, A, A | U,
	};
	const uint8_t extra[] = {0, P, QT_TCP_ECE, QT_TCP_CWR,
				 P | QT_TCP_ECE | QT_TCP_CWR};
	struct drv d;
	unsigned int f, i, x;

	(void)unused;
	drv_init(&d);
	for (f = 0; f < 64; f++) {
		bool ok = false;

		if (f & P)
			continue;
		for (i = 0; i < sizeof(valid); i++)
			ok |= valid[i] == f;
		for (x = 0; x < sizeof(extra); x++) {
			struct qt_pkt p =
			    seg((uint8_t)(f | extra[x]), 1, 1, WIN, 0);
			enum qt_reason why = QT_R_NONE;
			enum qt_ct_state r = qt_proto_tcp.pre(&p, &d.ctx, &why);

			if (ok) {
				assert_int_equal(r, QT_CT_MAX);
			} else {
				assert_int_equal(r, QT_CT_INVALID);
				assert_int_equal(why, QT_R_TCP_FLAGS);
			}
		}
	}
}

/* ---- whole conversations -------------------------------------------- */

static void test_handshake_data_close(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	p = seg(S, ISN_C, 0, WIN, 0);
	assert_int_equal(drv_first(&d, &p), O_ACCEPT);
	assert_int_equal(d.timeout, 120);
	assert_false(d.ct.status & QT_CONN_SEEN_REPLY);

	p = seg(S | A, ISN_S, ISN_C + 1, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_SYN_RECV);
	assert_int_equal(d.timeout, 60);
	assert_false(assured(&d));

	p = seg(A, ISN_C + 1, ISN_S + 1, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	assert_int_equal(d.timeout, 432000);
	assert_true(assured(&d));

	/* Data not yet acked caps the timeout at the unacked one. */
	p = seg(A | P, ISN_C + 1, ISN_S + 1, WIN, 100);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(d.timeout, 300);
	p = seg(A, ISN_S + 1, ISN_C + 101, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(d.timeout, 432000);

	p = seg(F | A, ISN_C + 101, ISN_S + 1, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_FIN_WAIT);
	assert_int_equal(d.timeout, 120);
	assert_true(d.ct.proto.tcp.flags[ORIG] & QT_TCPF_CLOSE_INIT);
	assert_false(d.ct.proto.tcp.flags[REPLY] & QT_TCPF_CLOSE_INIT);

	p = seg(A, ISN_S + 1, ISN_C + 102, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_CLOSE_WAIT);
	assert_int_equal(d.timeout, 60);

	p = seg(F | A, ISN_S + 1, ISN_C + 102, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_LAST_ACK);
	assert_int_equal(d.timeout, 30);

	p = seg(A, ISN_C + 102, ISN_S + 2, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_TIME_WAIT);
	assert_int_equal(d.timeout, 120);
	assert_true(qt_proto_tcp.can_early_drop(&d.ct));
	assert_string_equal(qt_proto_tcp.state_name(&d.ct), "TIME_WAIT");

	/* The client reuses the port: a new conn. */
	p = seg(S, ISN_C + 70000, 0, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_RESTART);
}

static void test_rst_close(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_established(&d);
	p = seg(R | A, ISN_S + 1, ISN_C + 1, 0, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_CLOSE);
	assert_int_equal(d.timeout, 10);
	/* The client's SYN after the server's RST: no close was started by
	 * a FIN and the RST came from the other side, so the kernel lets it
	 * pass without reopening (the server will answer). */
	p = seg(S, ISN_C + 70000, 0, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_IGNORE);
	assert_int_equal(st(&d), QT_TCP_CLOSE);
}

static void test_rst_only_reply_destroys(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_syn_sent(&d);
	/* Connection refused: RST/ACK with seq 0 acking the SYN. */
	p = seg(R | A, 0, ISN_C + 1, 0, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_DESTROY);
}

static void test_half_close(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_close_wait(&d);
	/* The server goes on sending after the client's FIN. */
	p = seg(A | P, ISN_S + 1, ISN_C + 2, WIN, 500);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_CLOSE_WAIT);
	assert_int_equal(d.timeout, 60);
	p = seg(A, ISN_C + 2, ISN_S + 501, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_CLOSE_WAIT);
	p = seg(F | A, ISN_S + 501, ISN_C + 2, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_LAST_ACK);
	p = seg(A, ISN_C + 2, ISN_S + 502, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_TIME_WAIT);
}

static void test_simultaneous_open(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_syn_sent2(&d);
	assert_int_equal(d.timeout, 120);
	assert_false(assured(&d));
	/* Each side answers the other's SYN with a SYN/ACK. */
	p = seg(S | A, ISN_C, ISN_S + 1, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_SYN_RECV);
	p = seg(S | A, ISN_S, ISN_C + 1, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_IGNORE);
	assert_int_equal(st(&d), QT_TCP_SYN_RECV);
	/* In a simultaneous open the reply side's ACK establishes. */
	p = seg(A, ISN_S + 1, ISN_C + 1, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	assert_true(assured(&d));
}

static void test_reply_ack_in_syn_recv_not_established(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_syn_recv(&d);
	p = seg(A, ISN_S + 1, ISN_C + 1, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_SYN_RECV);
	assert_false(assured(&d));
}

static void test_syn_retransmit_keeps_timer(void **unused)
{
	struct drv d;
	struct qt_pkt p = seg(S, ISN_C, 0, WIN, 0);

	(void)unused;
	drv_init(&d);
	to_syn_sent(&d);
	assert_int_equal(drv_send(&d, ORIG, &p), O_IGNORE);
	assert_int_equal(st(&d), QT_TCP_SYN_SENT);
	/* A SYN with a new ISN starts the client's window over. */
	p = seg(S, ISN_C + 100000, 0, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_IGNORE);
	assert_int_equal(d.ct.proto.tcp.seen[ORIG].end, ISN_C + 100001);
	p = seg(S | A, ISN_S, ISN_C + 100001, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_SYN_RECV);
}

static void test_loose_pickup(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	p = seg(A | P, 70000, 90000, 1000, 100);
	assert_int_equal(drv_first(&d, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	/* Not answered yet: no long established timeout. */
	assert_int_equal(d.timeout, 300);
	assert_true(d.ct.proto.tcp.flags[ORIG] & QT_TCPF_BE_LIBERAL);
	assert_true(d.ct.proto.tcp.flags[REPLY] & QT_TCPF_BE_LIBERAL);
	assert_int_equal(d.ct.proto.tcp.seen[ORIG].end, 70100);
	assert_int_equal(d.ct.proto.tcp.seen[ORIG].maxend, 71100);

	/* The first answer is still "unreplied" while it is tracked. */
	p = seg(A, 90000, 70100, 2000, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(d.timeout, 300);
	assert_false(assured(&d));

	p = seg(A, 70100, 90000, 1000, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_true(assured(&d));
	assert_int_equal(d.timeout, 432000);

	/* Without loose, only a SYN may open a conn. */
	drv_init(&d);
	d.conf.tcp.loose = false;
	p = seg(A, 70000, 90000, 1000, 0);
	assert_int_equal(drv_first(&d, &p), O_NEW_REFUSED);
	assert_int_equal(d.why, QT_R_TCP_NEW);
	p = seg(S, ISN_C, 0, WIN, 0);
	assert_int_equal(drv_first(&d, &p), O_ACCEPT);
}

static void test_out_of_window(void **unused)
{
	struct drv d;
	struct qt_pkt p;
	uint32_t maxend;

	(void)unused;
	drv_init(&d);
	to_established(&d);
	/* I: data far beyond what the server's window allows. */
	p = seg(A | P, ISN_C + 1 + 200000, ISN_S + 1, WIN, 100);
	assert_int_equal(drv_send(&d, ORIG, &p), O_INVALID);
	assert_int_equal(d.why, QT_R_TCP_WINDOW);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	/* III: acking data the server never sent. */
	p = seg(A, ISN_C + 1, ISN_S + 5000, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_INVALID);
	assert_int_equal(d.why, QT_R_TCP_WINDOW);
	/* II: an old retransmission far below the window passes, but
	 * changes nothing. */
	p = seg(A | P, ISN_C + 1, ISN_S + 1, WIN, 100);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	p = seg(A, ISN_S + 1, ISN_C + 101, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	p = seg(A | P, ISN_C + 101, ISN_S + 1, WIN, 60000);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	p = seg(A, ISN_S + 1, ISN_C + 60101, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	p = seg(A | P, ISN_C + 60101, ISN_S + 1, WIN, 60000);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	p = seg(A | P, ISN_C + 1, ISN_S + 1, WIN, 100);
	assert_int_equal(drv_send(&d, ORIG, &p), O_IGNORE);
	/* Starting just past the window: let through, and remembered so
	 * that its ack is not refused. */
	p = seg(A, ISN_S + 1, ISN_C + 120101, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	maxend = d.ct.proto.tcp.seen[ORIG].maxend;
	assert_int_equal(maxend, ISN_C + 120101 + WIN);
	p = seg(A | P, maxend + 1, ISN_S + 1, WIN, 20);
	assert_int_equal(drv_send(&d, ORIG, &p), O_IGNORE);
	assert_int_equal(d.ct.proto.tcp.seen[ORIG].end, maxend + 21);
	p = seg(A, ISN_S + 1, maxend + 21, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	/* Further past the window than the window is wide, it is INVALID
	 * and forgotten, so its ack is INVALID too. */
	maxend = d.ct.proto.tcp.seen[ORIG].maxend;
	p = seg(A | P, maxend + 70000, ISN_S + 1, WIN, 20);
	assert_int_equal(drv_send(&d, ORIG, &p), O_INVALID);
	assert_int_equal(d.why, QT_R_TCP_WINDOW);
	p = seg(A, ISN_S + 1, maxend + 70020, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_INVALID);

	/* be_liberal lets everything but bad RSTs through. */
	d.conf.tcp.be_liberal = true;
	p = seg(A | P, ISN_C + 1 + 900000, ISN_S + 1, WIN, 100);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
}

static void test_window_scaling(void **unused)
{
	struct drv d;
	struct qt_pkt p;
	int both;

	(void)unused;
	for (both = 0; both < 2; both++) {
		drv_init(&d);
		p = opts(seg(S, ISN_C, 0, WIN, 0), 7, false);
		assert_int_equal(drv_first(&d, &p), O_ACCEPT);
		p = opts(seg(S | A, ISN_S, ISN_C + 1, WIN, 0), both ? 7 : -1,
			 false);
		assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
		assert_int_equal(d.ct.proto.tcp.scale[ORIG], both ? 7 : 0);
		assert_int_equal(d.ct.proto.tcp.scale[REPLY],
				 both ? 7 : 0);
		p = seg(A, ISN_C + 1, ISN_S + 1, 2000, 0);
		assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
		/* The server announces 2000 << 7 = 256000 bytes. */
		p = seg(A, ISN_S + 1, ISN_C + 1, 2000, 0);
		assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
		/* Data 200000 bytes ahead fits only when scaling is on. */
		p = seg(A | P, ISN_C + 1 + 200000, ISN_S + 1, 2000, 1000);
		assert_int_equal(drv_send(&d, ORIG, &p),
				 both ? O_ACCEPT : O_INVALID);
	}
}

static void test_retransmissions(void **unused)
{
	struct drv d;
	struct qt_pkt p;
	int i;

	(void)unused;
	drv_init(&d);
	/* Tell the caps apart. */
	d.conf.tcp.timeouts[QT_TCP_TIMEOUT_RETRANS] = 200;
	d.conf.tcp.timeouts[QT_TCP_TIMEOUT_UNACK] = 250;
	to_established(&d);
	p = seg(A | P, ISN_C + 1, ISN_S + 1, WIN, 100);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(d.timeout, 250);
	for (i = 1; i <= 3; i++) {
		assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
		assert_int_equal(d.ct.proto.tcp.retrans, i);
		assert_int_equal(d.timeout, i < 3 ? 250 : 200);
	}
	/* The ack resets the count. */
	p = seg(A, ISN_S + 1, ISN_C + 101, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(d.ct.proto.tcp.retrans, 0);
	assert_int_equal(d.timeout, 432000);
	/* A zero window caps at the retransmission timeout. */
	p = seg(A, ISN_S + 1, ISN_C + 101, 0, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(d.timeout, 200);
}

static void test_sack(void **unused)
{
	struct drv d;
	struct qt_pkt p;
	int perm;

	(void)unused;
	for (perm = 0; perm < 2; perm++) {
		drv_init(&d);
		p = opts(seg(S, ISN_C, 0, WIN, 0), -1, perm);
		assert_int_equal(drv_first(&d, &p), O_ACCEPT);
		p = opts(seg(S | A, ISN_S, ISN_C + 1, WIN, 0), -1, perm);
		assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
		p = seg(A, ISN_C + 1, ISN_S + 1, WIN, 0);
		assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
		p = seg(A | P, ISN_C + 1, ISN_S + 1, WIN, 100);
		assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
		p = seg(A | P, ISN_C + 101, ISN_S + 1, WIN, 100);
		assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);

		/* The first segment was lost: SACK the second. */
		p = seg(A, ISN_S + 1, ISN_C + 1, WIN, 0);
		p.tcp.nsack = 1;
		p.tcp.sack[0][0] = ISN_C + 101;
		p.tcp.sack[0][1] = ISN_C + 201;
		assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
		assert_int_equal(d.ct.proto.tcp.seen[REPLY].maxwin,
				 perm ? WIN + 200 : WIN);

		/* A SACK block beyond all data sent counts only when SACK
		 * was negotiated. */
		p.tcp.sack[0][1] = ISN_C + 301;
		assert_int_equal(drv_send(&d, REPLY, &p),
				 perm ? O_INVALID : O_ACCEPT);
	}
}

static void test_rst_checks(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	/* Outside the window. */
	drv_init(&d);
	to_established(&d);
	p = seg(R, ISN_C + 1 + 500000, 0, 0, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_INVALID);
	assert_int_equal(d.why, QT_R_TCP_WINDOW);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	/* Below what the peer already acked. */
	p = seg(R, ISN_C, 0, 0, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_INVALID);
	assert_int_equal(d.why, QT_R_TCP_RST);
	/* ... unless told to ignore that. */
	d.conf.tcp.ignore_invalid_rst = true;
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	d.conf.tcp.ignore_invalid_rst = false;

	/* In window but not exact: kept open for the challenge ACK, with
	 * the close timeout until it comes. */
	drv_init(&d);
	to_established(&d);
	p = seg(A | P, ISN_S + 1, ISN_C + 1, WIN, 1000);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	p = seg(A, ISN_C + 1, ISN_S + 1001, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	p = seg(R, ISN_S + 6001, 0, 0, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	assert_int_equal(d.timeout, 10);
	/* The client's challenge ACK, then the exact RST.  As in the
	 * kernel, the accepted RST moved the server's end to its sequence
	 * number, which the challenge ACK does not ack: the unacked cap. */
	p = seg(A, ISN_C + 1, ISN_S + 1001, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	assert_int_equal(d.timeout, 300);
	p = seg(R, ISN_S + 1001, 0, 0, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_CLOSE);
	assert_int_equal(d.timeout, 10);

	/* A RST right behind the sender's own data is exact too. */
	drv_init(&d);
	to_established(&d);
	p = seg(A | P, ISN_S + 1, ISN_C + 1, WIN, 19);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	p = seg(R, ISN_S + 20, 0, 0, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_CLOSE);
}

static void test_challenge_ack_in_syn_sent(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_syn_sent(&d);
	/* The server holds an old conn and answers with a challenge ACK. */
	p = seg(A, 777777, 123, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_IGNORE);
	assert_int_equal(st(&d), QT_TCP_SYN_SENT);
	/* The client resets that old conn with seq = the ACK's ack. */
	p = seg(R, 123, 0, 0, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_CLOSE);
}

static void test_challenge_ack_in_last_ack(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_last_ack(&d);
	/* A new SYN from the client, answered by a challenge ACK, which
	 * must not be taken for the ack of the last FIN. */
	p = seg(S, ISN_C + 90000, 0, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_IGNORE);
	p = seg(A, ISN_S + 2, ISN_C + 2, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_IGNORE);
	assert_int_equal(st(&d), QT_TCP_LAST_ACK);
	/* Only once: the real last ACK moves on. */
	p = seg(A, ISN_C + 2, ISN_S + 2, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_TIME_WAIT);
}

static void test_stale_synack_and_resync(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_established(&d);
	/* A late SYN/ACK is let through and changes nothing. */
	p = seg(S | A, ISN_S, ISN_C + 1, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_IGNORE);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	/* The client restarted: its new SYN is ignored... */
	p = opts(seg(S, 3000000, 0, 512, 0), 5, true);
	assert_int_equal(drv_send(&d, ORIG, &p), O_IGNORE);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	/* ... a SYN/ACK acking something else still is... */
	p = seg(S | A, 8000000, 2999999, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_IGNORE);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
	/* ... (which replaced the noted SYN) so the SYN comes again and the
	 * server's SYN/ACK for it proves we are out of sync: resync. */
	p = opts(seg(S, 3000000, 0, 512, 0), 5, true);
	assert_int_equal(drv_send(&d, ORIG, &p), O_IGNORE);
	p = opts(seg(S | A, 8000000, 3000001, WIN, 0), 6, true);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_SYN_RECV);
	assert_int_equal(d.ct.proto.tcp.seen[ORIG].end, 3000001);
	assert_int_equal(d.ct.proto.tcp.scale[ORIG], 5);
	assert_int_equal(d.ct.proto.tcp.scale[REPLY], 6);
	p = seg(A, 3000001, 8000001, 100, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(st(&d), QT_TCP_ESTABLISHED);
}

static void test_synack_wrong_ack(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_syn_sent(&d);
	/* Acks beyond the SYN. */
	p = seg(S | A, ISN_S, ISN_C + 5, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_INVALID);
	assert_int_equal(d.why, QT_R_TCP_SYNACK);
	assert_int_equal(st(&d), QT_TCP_SYN_SENT);
}

static void test_header_only_copy(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_established(&d);
	/* 1400 bytes per the IP header, none of them captured. */
	p = seg(A | P, ISN_C + 1, ISN_S + 1, WIN, 1400);
	p.payload_caplen = 0;
	assert_int_equal(drv_send(&d, ORIG, &p), O_ACCEPT);
	assert_int_equal(d.ct.proto.tcp.seen[ORIG].end, ISN_C + 1401);
	p = seg(A, ISN_S + 1, ISN_C + 1401, WIN, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_ACCEPT);
	assert_int_equal(d.timeout, 432000);
}

static void test_invalid_fin_rst_shrink_timeout(void **unused)
{
	struct drv d;
	struct qt_pkt p;

	(void)unused;
	drv_init(&d);
	to_established(&d);
	/* Out-of-window FIN, answered by an out-of-window RST: the conn
	 * is probably dead, so the kernel lowers its timeout. */
	p = seg(F | A, ISN_C + 1 + 900000, ISN_S + 1, WIN, 0);
	assert_int_equal(drv_send(&d, ORIG, &p), O_INVALID);
	assert_int_equal(d.timeout, 432000);
	p = seg(R | A, ISN_S + 1 + 900000, ISN_C + 1, 0, 0);
	assert_int_equal(drv_send(&d, REPLY, &p), O_INVALID);
	assert_int_equal(d.timeout, 300);
}

static void test_names_and_early_drop(void **unused)
{
	static const char *const names[] = {
	    "NONE",	  "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
	    "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",	  "SYN_SENT2",
	};
	static const bool drop[] = {
	    false, false, false, false, true, true, true, true, true, false,
	};
	struct drv d;
	int s;

	(void)unused;
	drv_init(&d);
	for (s = 0; s < QT_TCP_STATE_MAX; s++) {
		d.ct.proto.tcp.state = (uint8_t)s;
		assert_string_equal(qt_tcp_state_name((enum qt_tcp_state)s),
				    names[s]);
		assert_string_equal(qt_proto_tcp.state_name(&d.ct), names[s]);
		assert_int_equal(qt_proto_tcp.can_early_drop(&d.ct), drop[s]);
	}
	assert_int_equal(qt_proto_tcp.proto, 6);
	assert_string_equal(qt_proto_tcp.name, "tcp");
	{
		struct qt_tuple o, r;

		qt_conn_tuple(&d.ct, ORIG, &o);
		assert_true(qt_proto_tcp.invert(&r, &o));
		assert_int_equal(r.sport, 80);
		assert_int_equal(r.dport, 40000);
		assert_int_equal(r.src.ip, 0x0200000a);
		qt_conn_tuple(&d.ct, REPLY, &r);
		assert_int_equal(r.sport, 80);
		assert_int_equal(r.dport, 40000);
		assert_int_equal(r.src.ip, 0x0200000a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_every_row),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_handshake_data_close),
	    cmocka_unit_test(test_rst_close),
	    cmocka_unit_test(test_rst_only_reply_destroys),
	    cmocka_unit_test(test_half_close),
	    cmocka_unit_test(test_simultaneous_open),
	    cmocka_unit_test(test_reply_ack_in_syn_recv_not_established),
	    cmocka_unit_test(test_syn_retransmit_keeps_timer),
	    cmocka_unit_test(test_loose_pickup),
	    cmocka_unit_test(test_out_of_window),
	    cmocka_unit_test(test_window_scaling),
	    cmocka_unit_test(test_retransmissions),
	    cmocka_unit_test(test_sack),
	    cmocka_unit_test(test_rst_checks),
	    cmocka_unit_test(test_challenge_ack_in_syn_sent),
	    cmocka_unit_test(test_challenge_ack_in_last_ack),
	    cmocka_unit_test(test_stale_synack_and_resync),
	    cmocka_unit_test(test_synack_wrong_ack),
	    cmocka_unit_test(test_header_only_copy),
	    cmocka_unit_test(test_invalid_fin_rst_shrink_timeout),
	    cmocka_unit_test(test_names_and_early_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

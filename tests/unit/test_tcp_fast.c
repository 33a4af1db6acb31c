/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tcp_fast.c - the TCP tracker's steady() for established ACKs must
 * decide and update exactly as pre() and packet().
 *
 * lib/proto_tcp.c is compiled a second time into this test with
 * QT_TCP_REFERENCE: that copy (qt_proto_tcp_reference) has no steady().
 * Random connections (random ISNs, window scaling, SACK permission) are
 * opened with a handshake and then driven by random segments whose
 * sequence and ack numbers sit on, near or far from the window edges, with
 * and without data, SACK blocks, zero windows, FIN and RST among them.
 * Before each segment the conn is copied; the library's tracker and the
 * reference each get a copy, and verdict, timeout, reason and every byte
 * of the conn must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define QT_TCP_REFERENCE
#include "proto_tcp.c"
/* From here on the names mean the library's tracker again. */
#undef qt_proto_tcp
#undef qt_tcp_state_name
extern const struct qt_proto_ops qt_proto_tcp;

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static struct qt_pkt seg(uint8_t flags, uint32_t seq, uint32_t ack,
			 uint16_t win, uint32_t len)
{
	struct qt_pkt p;

	memset(&p, 0, sizeof(p));
	p.tuple.family = 2;
	p.tuple.proto = 6;
	p.tcp.flags = flags;
	p.tcp.seq = seq;
	p.tcp.ack = ack;
	p.tcp.win = win;
	p.tcp.doff = 20;
	p.tcp.opts_seen = true;
	p.payload_len = len;
	return p;
}

static uint32_t delta(uint32_t maxwin)
{
	switch (rnd() % 10) {
	case 0:
		return rnd() % 200 - 100;
	case 1:
		return maxwin + rnd() % 3 - 1;
	case 2:
		return -(maxwin + rnd() % 3 - 1);
	case 3:
		return rnd() << 16 ^ rnd();
	case 4:
		return 66000 + rnd() % 3 - 1;
	default:
		return 0;
	}
}

struct run {
	struct qt_conn ct;
	struct qt_conf conf;
	struct qt_proto_ctx ctx;
	unsigned int fast_ok;	/* packets steady() took */
};

/* Feed @p to both trackers on copies of the conn; they must agree.
 * Returns the verdict. */
static enum qt_verdict both(struct run *r, const struct qt_pkt *p,
			    enum qt_dir dir)
{
	struct qt_conn a = r->ct, b = r->ct;
	uint32_t ta = a.timeout, tb = b.timeout;
	enum qt_reason wa = QT_R_NONE, wb = QT_R_NONE;
	enum qt_verdict va, vb;

	struct qt_pkt_view v;
	bool steady;

	/* As the engine does for a steady conn: steady() first, and
	 * packet() only if it refuses, having changed nothing. */
	qt_packet_view(p, &v);
	steady = qt_proto_tcp.steady(&a, &v, dir, &r->ctx, &ta);
	if (steady) {
		va = QT_V_ACCEPT;
	} else {
		assert_memory_equal(&a, &r->ct, sizeof(a));
		va = qt_proto_tcp.packet(&a, p, dir, &r->ctx, &ta, &wa);
	}
	vb = qt_proto_tcp_reference.packet(&b, p, dir, &r->ctx, &tb, &wb);
	assert_int_equal(va, vb);
	assert_int_equal(ta, tb);
	assert_int_equal(wa, wb);
	assert_memory_equal(&a, &b, sizeof(a));
	if (steady)
		r->fast_ok++;
	r->ct = a;
	if (va == QT_V_ACCEPT)
		r->ct.timeout = ta;
	if (dir == QT_DIR_REPLY && (va == QT_V_ACCEPT || va == QT_V_IGNORE))
		r->ct.status |= QT_CONN_SEEN_REPLY;
	return va;
}

static void conn_open(struct run *r)
{
	uint32_t isn_c = rnd() << 16 ^ rnd(), isn_s = rnd() << 16 ^ rnd();
	struct qt_pkt p;

	memset(&r->ct, 0, sizeof(r->ct));
	p = seg(QT_TCP_SYN, isn_c, 0, (uint16_t)rnd(), 0);
	if (rnd() % 2) {
		p.tcp.doff = 32;
		p.tcp.has_wscale = true;
		p.tcp.wscale = (uint8_t)(rnd() % 15);
		p.tcp.sack_perm = rnd() % 2;
	}
	assert_int_equal(qt_proto_tcp.new(&r->ct, &p, &r->ctx), QT_R_NONE);
	both(r, &p, QT_DIR_ORIG);
	p = seg(QT_TCP_SYN | QT_TCP_ACK, isn_s, isn_c + 1, (uint16_t)rnd(), 0);
	if (rnd() % 2) {
		p.tcp.doff = 32;
		p.tcp.has_wscale = true;
		p.tcp.wscale = (uint8_t)(rnd() % 15);
		p.tcp.sack_perm = rnd() % 2;
	}
	both(r, &p, QT_DIR_REPLY);
	p = seg(QT_TCP_ACK, isn_c + 1, isn_s + 1, (uint16_t)rnd(), 0);
	both(r, &p, QT_DIR_ORIG);
}

static void test_tcp_fast_differential(void **state)
{
	static const uint8_t flag_set[] = {
		QT_TCP_ACK, QT_TCP_ACK | QT_TCP_PSH, QT_TCP_ACK,
		QT_TCP_ACK | QT_TCP_PSH, QT_TCP_ACK | QT_TCP_FIN,
		QT_TCP_ACK | QT_TCP_RST, QT_TCP_RST, QT_TCP_SYN,
		QT_TCP_ACK | QT_TCP_URG,
	};
	struct run r;

	(void)state;
	memset(&r, 0, sizeof(r));
	qt_conf_init(&r.conf);
	r.ctx.conf = &r.conf;
	r.ctx.now = 1000000;
	for (unsigned int c = 0; c < 3000; c++) {
		conn_open(&r);
		r.conf.tcp.be_liberal = c % 7 == 0;
		for (unsigned int k = 0; k < 200; k++) {
			struct qt_tcp_conn *tc = &r.ct.proto.tcp;
			enum qt_dir dir = rnd() % 2 ? QT_DIR_REPLY
						    : QT_DIR_ORIG;
			uint32_t mw = tc->seen[dir].maxwin;
			uint8_t fl = rnd() % 8 ? flag_set[rnd() % 4]
					       : flag_set[rnd() % 9];
			struct qt_pkt p =
			    seg(fl, tc->seen[dir].end + delta(mw),
				tc->seen[!dir].end + delta(mw),
				rnd() % 10 ? (uint16_t)rnd() : 0,
				rnd() % 3 ? rnd() % 3000 : 0);
			enum qt_verdict v;

			/* SACK blocks, their edges above or below the ack,
			 * or far beyond anything sent. */
			if (rnd() % 10 == 0) {
				p.tcp.nsack = (uint8_t)(1 + rnd() % 4);
				for (unsigned int i = 0; i < p.tcp.nsack; i++) {
					uint32_t e = p.tcp.ack + rnd() % 5000;

					if (rnd() % 4 == 0)
						e = p.tcp.ack - rnd() % 5000;
					else if (rnd() % 8 == 0)
						e += rnd() << 12;
					p.tcp.sack[i][0] = e - 100;
					p.tcp.sack[i][1] = e;
				}
			}
			if (rnd() % 50 == 0)
				r.ct.status ^= QT_CONN_ASSURED;
			r.ctx.now += rnd() % 1000;
			v = both(&r, &p, dir);
			if (v == QT_V_RESTART || v == QT_V_DESTROY)
				break;
		}
	}
	/* The walk must have reached steady()'s territory often. */
	assert_true(r.fast_ok > 30000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_fast_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

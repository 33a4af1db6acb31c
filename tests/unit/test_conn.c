/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_conn.c - the compact form of a connection entry (conn.h): the
 * original tuple kept as IPv4 addresses inline or a pointer into the
 * table's IPv6 address store, the l4 word, protocol and a family bit.
 * Every tuple must come back whole from qt_conn_tuple() in both
 * directions and be found from both; IPv6 addresses that differ in their
 * last byte must stay apart; an entry reused for the other family must
 * look up as the new connection only; the 24-bit timeout must hold the
 * longest configurable one; and an IPv4-only table must never touch the
 * IPv6 store.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto.h"
#include "qtrack.h"
#include "table.h"

/* A tuple of @family (AF_INET or AF_INET6) from text addresses. */
static struct qt_tuple tuple_af(int family, uint8_t proto, const char *src,
				const char *dst, uint16_t sport, uint16_t dport)
{
	struct qt_tuple tp;

	memset(&tp, 0, sizeof(tp));
	tp.family = (uint8_t)family;
	tp.proto = proto;
	assert_int_equal(inet_pton(family, src, tp.src.b), 1);
	assert_int_equal(inet_pton(family, dst, tp.dst.b), 1);
	tp.sport = sport;
	tp.dport = dport;
	return tp;
}

static struct qt_tuple tuple4(uint8_t proto, const char *src, const char *dst,
			      uint16_t sport, uint16_t dport)
{
	return tuple_af(AF_INET, proto, src, dst, sport, dport);
}

static struct qt_tuple tuple6(uint8_t proto, const char *src, const char *dst,
			      uint16_t sport, uint16_t dport)
{
	return tuple_af(AF_INET6, proto, src, dst, sport, dport);
}

static struct qt_tuple icmp_echo(int family, const char *src, const char *dst,
				 uint16_t id)
{
	struct qt_tuple tp = family == AF_INET6
				 ? tuple6(IPPROTO_ICMPV6, src, dst, 0, 0)
				 : tuple4(IPPROTO_ICMP, src, dst, 0, 0);

	tp.icmp.id = id;
	tp.icmp.type = family == AF_INET6 ? 128 : 8;
	return tp;
}

/* The reply tuple as the tracker computes it from the full tuple. */
static struct qt_tuple inverse(const struct qt_tuple *tp)
{
	struct qt_tuple r;

	assert_true(qt_proto_find(tp->proto)->invert(&r, tp));
	return r;
}

/* Take an entry of @t for @tp, link it, and check it whole. */
static struct qt_conn *add(struct qt_table *t, const struct qt_tuple *tp)
{
	struct qt_conn *ct = qt_table_alloc(t);
	struct qt_tuple o, r, want_r = inverse(tp);

	assert_non_null(ct);
	qt_table_set_tuple(t, ct, tp);
	qt_table_insert(t, ct);
	assert_int_equal(qt_conn_family(ct), tp->family);
	assert_int_equal(qt_conn_l4proto(ct), tp->proto);
	assert_int_equal(ct->v6, tp->family == AF_INET6);
	qt_conn_tuple(ct, QT_DIR_ORIG, &o);
	assert_memory_equal(&o, tp, sizeof(o));
	qt_conn_tuple(ct, QT_DIR_REPLY, &r);
	assert_memory_equal(&r, &want_r, sizeof(r));
	return ct;
}

/* @ct is what both tuples of @tp find, with the right direction. */
static void found(const struct qt_table *t, const struct qt_tuple *tp,
		  const struct qt_conn *ct)
{
	struct qt_tuple r = inverse(tp);
	enum qt_dir d = QT_DIR_REPLY;

	assert_ptr_equal(qt_table_lookup(t, tp, &d), ct);
	assert_int_equal(d, QT_DIR_ORIG);
	assert_ptr_equal(qt_table_lookup(t, &r, &d), ct);
	assert_int_equal(d, QT_DIR_REPLY);
}

/* @tp changed in one field (@k = 0...); false when @k is past the last. */
static bool near_miss(const struct qt_tuple *tp, unsigned k,
		      struct qt_tuple *out)
{
	*out = *tp;
	switch (k) {
	case 0:
		out->src.b[tp->family == AF_INET6 ? 15 : 3] ^= 1;
		break;
	case 1:
		out->dst.b[tp->family == AF_INET6 ? 15 : 3] ^= 1;
		break;
	case 2:
		out->src.b[0] ^= 0x80;
		break;
	case 3:
		out->dst.b[tp->family == AF_INET6 ? 8 : 1] ^= 1;
		break;
	case 4:
		out->sport ^= 1; /* ICMP: the id */
		break;
	case 5:
		out->dport ^= 1; /* ICMP: the type */
		break;
	case 6:
		out->dport ^= 0x100; /* ICMP: the code */
		break;
	case 7:
		out->proto =
		    tp->proto == IPPROTO_UDP ? IPPROTO_TCP : IPPROTO_UDP;
		break;
	case 8:
		/* The other family with the same first address word. */
		if (tp->family == AF_INET6) {
			out->family = AF_INET;
			memset(&out->src.w[1], 0, 12);
			memset(&out->dst.w[1], 0, 12);
		} else {
			out->family = AF_INET6;
		}
		break;
	default:
		return false;
	}
	return true;
}

/*
 * No tuple one field away from either of @ct's is taken for it, even when
 * looked up with @ct's own hash: the tag then matches, and only the
 * compare of the compact form with the tuple can say no.
 */
static void no_near_match(const struct qt_table *t, const struct qt_conn *ct)
{
	struct qt_tuple tp[2], m;
	uint64_t h;

	qt_conn_tuple(ct, QT_DIR_ORIG, &tp[0]);
	qt_conn_tuple(ct, QT_DIR_REPLY, &tp[1]);
	h = qt_table_hash(t, &tp[0]);
	assert_ptr_equal(qt_table_lookup_hashed(t, &tp[1], h, NULL), ct);
	for (int d = 0; d < 2; d++)
		for (unsigned k = 0; near_miss(&tp[d], k, &m); k++)
			assert_null(qt_table_lookup_hashed(t, &m, h, NULL));
}

static void not_found(const struct qt_table *t, const struct qt_tuple *tp)
{
	struct qt_tuple r = inverse(tp);

	assert_null(qt_table_lookup(t, tp, NULL));
	assert_null(qt_table_lookup(t, &r, NULL));
}

static void test_round_trip(void **state)
{
	struct qt_tuple tps[] = {
	    tuple4(IPPROTO_TCP, "10.0.0.1", "192.0.2.7", 40000, 80),
	    tuple4(IPPROTO_UDP, "192.0.2.7", "10.0.0.1", 53, 5353),
	    icmp_echo(AF_INET, "10.0.0.1", "10.0.0.2", 0x1234),
	    tuple4(47, "10.9.8.7", "10.0.0.1", 0, 0),
	    tuple4(IPPROTO_UDP, "127.0.0.1", "127.0.0.1", 4000, 5000),
	    tuple6(IPPROTO_TCP, "fd00::1", "2001:db8::ffff:1", 40000, 443),
	    tuple6(IPPROTO_UDP, "2001:db8::53", "fd00::1", 53, 5353),
	    icmp_echo(AF_INET6, "fd00::1", "fd00::2", 0x4321),
	    tuple6(47, "fd00::9", "fd00::1", 0, 0),
	    /* IPv6 addresses whose first four bytes are those of the
	     * IPv4 tuple after them: only the family tells them apart. */
	    tuple6(IPPROTO_UDP, "a00:1::", "a00:2::", 1, 2),
	    tuple4(IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 1, 2),
	};
	struct qt_conn *ct[sizeof(tps) / sizeof(tps[0])];
	size_t n = sizeof(tps) / sizeof(tps[0]);
	struct qt_table t;

	(void)state;
	assert_int_equal(qt_table_init(&t, 64, 16, 1), 0);
	for (size_t i = 0; i < n; i++)
		ct[i] = add(&t, &tps[i]);
	for (size_t i = 0; i < n; i++)
		found(&t, &tps[i], ct[i]);
	/* Entries from an address to itself have near misses that are
	 * their own tuples: left out. */
	for (size_t i = 0; i < n; i++)
		if (memcmp(&tps[i].src, &tps[i].dst, sizeof(tps[i].src)))
			no_near_match(&t, ct[i]);
	/* The IPv4 twin of an IPv6 entry (its addresses' first four
	 * bytes) is another connection. */
	{
		struct qt_tuple v4 =
		    tuple4(IPPROTO_UDP, "32.1.13.184", "253.0.0.0", 53, 5353);

		not_found(&t, &v4);
	}
	qt_table_destroy(&t);
}

static void test_v6_last_byte(void **state)
{
	struct qt_tuple a =
	    tuple6(IPPROTO_UDP, "2001:db8::10", "2001:db8::20", 1000, 2000);
	struct qt_tuple b =
	    tuple6(IPPROTO_UDP, "2001:db8::11", "2001:db8::20", 1000, 2000);
	struct qt_tuple c =
	    tuple6(IPPROTO_UDP, "2001:db8::10", "2001:db8::21", 1000, 2000);
	struct qt_tuple d =
	    tuple6(IPPROTO_UDP, "2001:db8::12", "2001:db8::20", 1000, 2000);
	struct qt_conn *ca, *cb, *cc;
	struct qt_table t;

	(void)state;
	/* One index bucket: the three land together and only the address
	 * compare tells them apart. */
	assert_int_equal(qt_table_init(&t, 16, 1, 9), 0);
	ca = add(&t, &a);
	cb = add(&t, &b);
	cc = add(&t, &c);
	found(&t, &a, ca);
	found(&t, &b, cb);
	found(&t, &c, cc);
	not_found(&t, &d);
	/* With a's hash, so that a's tag matches: d is still not a. */
	assert_null(
	    qt_table_lookup_hashed(&t, &d, qt_table_hash(&t, &a), NULL));
	assert_null(
	    qt_table_lookup_hashed(&t, &b, qt_table_hash(&t, &a), NULL));
	qt_table_release(&t, cb);
	not_found(&t, &b);
	found(&t, &a, ca);
	found(&t, &c, cc);
	qt_table_destroy(&t);
}

/* A released entry is the next one taken: reuse it for the other family,
 * and back. */
static void test_reuse_other_family(void **state)
{
	struct qt_tuple v6 = tuple6(IPPROTO_TCP, "fd00::1", "fd00::2", 1, 2);
	struct qt_tuple v6b = tuple6(IPPROTO_TCP, "fd00::3", "fd00::4", 1, 2);
	struct qt_tuple v4 = tuple4(IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 1, 2);
	struct qt_conn *ct, *again;
	struct qt_table t;

	(void)state;
	assert_int_equal(qt_table_init(&t, 4, 1, 3), 0);
	ct = add(&t, &v6);
	found(&t, &v6, ct);
	qt_table_release(&t, ct);
	not_found(&t, &v6);

	again = add(&t, &v4);
	no_near_match(&t, again);
	/* The new tuple's hash, the old tuple: a tag match with a stale
	 * address pair left in the store must not find it. */
	assert_null(
	    qt_table_lookup_hashed(&t, &v6, qt_table_hash(&t, &v4), NULL));
	assert_ptr_equal(again, ct);
	assert_false(again->v6);
	found(&t, &v4, again);
	not_found(&t, &v6);
	qt_table_release(&t, again);
	not_found(&t, &v4);

	again = add(&t, &v6b);
	assert_ptr_equal(again, ct);
	no_near_match(&t, again);
	assert_null(
	    qt_table_lookup_hashed(&t, &v4, qt_table_hash(&t, &v6b), NULL));
	found(&t, &v6b, again);
	not_found(&t, &v4);
	not_found(&t, &v6);
	qt_table_destroy(&t);
}

/* qt_conn_set_tuple() for conns outside a table. */
static void test_set_tuple_by_hand(void **state)
{
	struct qt_tuple v6 = tuple6(IPPROTO_UDP, "fd00::1", "fd00::2", 7, 8);
	struct qt_tuple v4 = tuple4(IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 7, 8);
	struct qt_tuple bad = v4, out;
	struct qt_addr6pair store;
	struct qt_conn ct;

	(void)state;
	memset(&ct, 0, sizeof(ct));
	assert_int_equal(qt_conn_set_tuple(&ct, &v4, NULL), 0);
	qt_conn_tuple(&ct, QT_DIR_ORIG, &out);
	assert_memory_equal(&out, &v4, sizeof(out));

	errno = 0;
	assert_int_equal(qt_conn_set_tuple(&ct, &v6, NULL), -1);
	assert_int_equal(errno, EINVAL);
	bad.family = 0;
	assert_int_equal(qt_conn_set_tuple(&ct, &bad, &store), -1);

	assert_int_equal(qt_conn_set_tuple(&ct, &v6, &store), 0);
	assert_ptr_equal(ct.addr.ip6, &store);
	qt_conn_tuple(&ct, QT_DIR_REPLY, &out);
	assert_memory_equal(out.src.b, v6.dst.b, 16);
	assert_memory_equal(out.dst.b, v6.src.b, 16);
	assert_int_equal(out.sport, 8);
	assert_int_equal(out.dport, 7);
}

/* The timeout shares a word with nexpect: neither may spill into the
 * other, and 100 days (the configuration's limit) must fit. */
static void test_timeout_bits(void **state)
{
	struct qt_conn ct;

	(void)state;
	memset(&ct, 0, sizeof(ct));
	ct.nexpect = 255;
	ct.timeout = 100u * 86400u;
	assert_int_equal(ct.timeout, 8640000);
	assert_int_equal(ct.nexpect, 255);
	ct.timeout = QT_CONN_TIMEOUT_MAX;
	ct.nexpect = 0;
	assert_int_equal(ct.timeout, QT_CONN_TIMEOUT_MAX);
	ct.nexpect--;
	assert_int_equal(ct.nexpect, 255);
	assert_int_equal(ct.timeout, QT_CONN_TIMEOUT_MAX);
	assert_true(QT_CONN_TIMEOUT_MAX >= 100u * 86400u);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* An IPv4 UDP packet into @b; returns its length. */
static uint32_t udp4(uint8_t *b, const char *src, const char *dst,
		     uint16_t sport, uint16_t dport)
{
	memset(b, 0, 28);
	b[0] = 0x45;
	put16(b + 2, 28);
	b[8] = 64;
	b[9] = IPPROTO_UDP;
	inet_pton(AF_INET, src, b + 12);
	inet_pton(AF_INET, dst, b + 16);
	put16(b + 20, sport);
	put16(b + 22, dport);
	put16(b + 24, 8);
	return 28;
}

/* An IPv6 UDP packet into @b; returns its length. */
static uint32_t udp6(uint8_t *b, const char *src, const char *dst,
		     uint16_t sport, uint16_t dport)
{
	memset(b, 0, 48);
	b[0] = 0x60;
	put16(b + 4, 8);
	b[6] = IPPROTO_UDP;
	b[7] = 64;
	inet_pton(AF_INET6, src, b + 8);
	inet_pton(AF_INET6, dst, b + 24);
	put16(b + 40, sport);
	put16(b + 42, dport);
	put16(b + 44, 8);
	return 48;
}

/* Through the engine: [udp] timeout = 100d lands in ct->timeout whole,
 * and both families are tracked both ways. */
static void test_engine_100_days(void **state)
{
	const uint32_t days100 = 100u * 86400u;
	struct qt_conf conf;
	struct qt_engine *e;
	struct qt_result r;
	uint64_t now = 5000;
	uint8_t b[64];
	char err[256];
	uint32_t len;

	(void)state;
	qt_conf_init(&conf);
	assert_int_equal(qt_conf_parse(&conf,
				       "[table]\nmax = 64\nbuckets = 16\n"
				       "[udp]\ntimeout = 100d\n"
				       "timeout_stream = 100d\n",
				       "test", err, sizeof(err)),
			 0);
	assert_int_equal(conf.udp.timeout, days100);
	/* One more second is refused: it could not be guaranteed to fit. */
	{
		struct qt_conf c2;

		qt_conf_init(&c2);
		assert_int_not_equal(qt_conf_parse(&c2,
						   "[udp]\ntimeout = 8640001\n",
						   "test", err, sizeof(err)),
				     0);
	}
	e = qt_engine_new(&conf, now);
	assert_non_null(e);

	len = udp4(b, "10.0.0.1", "10.0.0.2", 1111, 2222);
	qt_engine_process(e, b, len, len, 0, now, &r);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_non_null(r.conn);
	assert_int_equal(r.conn->timeout, days100);
	assert_int_equal(qt_engine_timeout_left(e, r.conn, now), days100);
	len = udp4(b, "10.0.0.2", "10.0.0.1", 2222, 1111);
	qt_engine_process(e, b, len, len, 0, now, &r);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	assert_true(r.reply);
	assert_int_equal(r.conn->timeout, days100);

	len = udp6(b, "fd00::1", "fd00::2", 1111, 2222);
	qt_engine_process(e, b, len, len, 0, now, &r);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_true(r.conn->v6);
	assert_int_equal(r.conn->timeout, days100);
	len = udp6(b, "fd00::2", "fd00::1", 2222, 1111);
	qt_engine_process(e, b, len, len, 0, now, &r);
	assert_int_equal(r.state, QT_CT_ESTABLISHED);
	assert_true(r.reply);
	/* The last byte of the address makes another connection. */
	len = udp6(b, "fd00::3", "fd00::1", 2222, 1111);
	qt_engine_process(e, b, len, len, 0, now, &r);
	assert_int_equal(r.state, QT_CT_NEW);
	assert_false(r.reply);
	assert_int_equal(qt_engine_stats(e)->count, 3);

	/* Nothing expires a second early, everything at 100 days. */
	assert_int_equal(qt_engine_expire(e, now + days100 * 1000ull - 1000, 0),
			 0);
	qt_engine_expire(e, now + days100 * 1000ull, 0);
	assert_int_equal(qt_engine_stats(e)->count, 0);
	qt_engine_free(e);
}

/* A table that tracks only IPv4 never touches its IPv6 store, so the
 * store costs no resident memory. */
static void test_v4_leaves_store_untouched(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	struct qt_table t;
	unsigned char *vec;
	size_t pages, resident = 0;

	(void)state;
	assert_int_equal(qt_table_init(&t, 20000, 4096, 5), 0);
	for (uint32_t i = 0; i < 20000; i++) {
		struct qt_conn *ct = qt_table_alloc(&t);
		struct qt_tuple tp = tuple4(IPPROTO_UDP, "10.0.0.1", "10.1.0.1",
					    (uint16_t)i, 53);

		assert_non_null(ct);
		tp.dst.b[3] = (uint8_t)(i >> 16);
		qt_table_set_tuple(&t, ct, &tp);
		qt_table_insert(&t, ct);
	}
	pages = (t.addr6_size + (size_t)page - 1) / (size_t)page;
	vec = calloc(pages, 1);
	assert_non_null(vec);
	assert_int_equal(mincore(t.addr6, t.addr6_size, vec), 0);
	for (size_t i = 0; i < pages; i++)
		resident += vec[i] & 1;
	assert_int_equal(resident, 0);
	/* One IPv6 connection makes its element resident. */
	{
		struct qt_tuple tp =
		    tuple6(IPPROTO_UDP, "fd00::1", "fd00::2", 1, 2);
		struct qt_conn *ct;

		qt_table_release(&t, &t.conns[100]);
		ct = add(&t, &tp);
		assert_int_equal(qt_table_index(&t, ct), 100);
		assert_int_equal(mincore(t.addr6, t.addr6_size, vec), 0);
		resident = 0;
		for (size_t i = 0; i < pages; i++)
			resident += vec[i] & 1;
		assert_true(resident >= 1);
	}
	free(vec);
	qt_table_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_v6_last_byte),
	    cmocka_unit_test(test_reuse_other_family),
	    cmocka_unit_test(test_set_tuple_by_hand),
	    cmocka_unit_test(test_timeout_bits),
	    cmocka_unit_test(test_engine_100_days),
	    cmocka_unit_test(test_v4_leaves_store_untouched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

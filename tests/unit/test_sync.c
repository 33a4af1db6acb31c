// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_sync.c - the replication stream's pieces: SHA-256 and HMAC-SHA256
 * against the published test vectors, sync datagrams that round-trip,
 * and a checker that refuses a wrong key, any flipped bit, truncations and
 * unknown items; and the engine's update of a replicated connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "hmac.h"
#include "qtrack.h"
#include "record.h"
#include "syncmsg.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_sha256(void **state)
{
	uint8_t out[32];
	char h[65];
	struct qt_sha256 s;
	(void)state;

	qt_sha256_init(&s);
	qt_sha256_update(&s, "abc", 3);
	qt_sha256_final(&s, out);
	hex(out, 32, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a"
			       "9cb410ff61f20015ad");
	qt_sha256_init(&s);
	qt_sha256_update(
	    &s, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56);
	qt_sha256_final(&s, out);
	hex(out, 32, h);
	assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff21"
			       "67f6ecedd419db06c1");
	/* A million 'a's, fed in odd pieces. */
	qt_sha256_init(&s);
	for (int i = 0; i < 1000000; i += 999)
		qt_sha256_update(&s, memset((char[999]){0}, 'a', 999),
				 1000000 - i < 999 ? 1000000 - i : 999);
	qt_sha256_final(&s, out);
	hex(out, 32, h);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a49720"
			       "0e046d39ccc7112cd0");
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than a block). */
static void test_hmac(void **state)
{
	uint8_t key[131], out[32];
	char h[65];
	(void)state;

	memset(key, 0x0b, 20);
	qt_hmac_sha256(key, 20, "Hi There", 8, out);
	hex(out, 32, h);
	assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833d"
			       "a726e9376c2e32cff7");
	qt_hmac_sha256((const uint8_t *)"Jefe", 4,
		       "what do ya want for nothing?", 28, out);
	hex(out, 32, h);
	assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739"
			       "839dec58b964ec3843");
	memset(key, 0xaa, 131);
	qt_hmac_sha256(key, 131,
		       "Test Using Larger Than Block-Size Key - Hash Key First",
		       54, out);
	hex(out, 32, h);
	assert_string_equal(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5"
			       "140546040f0ee37f54");
}

static const uint8_t key[] = "0123456789abcdef-test-key";

static struct qt_rec conn_rec(uint16_t sport)
{
	struct qt_rec r;

	memset(&r, 0, sizeof(r));
	r.type = QT_REC_CONN;
	r.conn.orig.family = AF_INET;
	r.conn.orig.proto = IPPROTO_UDP;
	r.conn.orig.src.ip = htonl(0x0a000001);
	r.conn.orig.dst.ip = htonl(0x0a000002);
	r.conn.orig.sport = htons(sport);
	r.conn.orig.dport = htons(53);
	r.conn.status = QT_REC_ST_SEEN_REPLY;
	r.conn.timeout = 30;
	r.conn.left_ms = 25000;
	r.conn.mark = 0x100;
	return r;
}

/* A datagram of @n connections and a DUMP_END; returns its length. */
static size_t build(uint8_t *buf, unsigned n)
{
	struct qt_sync_hdr h = {QT_SYNC_DATA, 0x1122334455667788ull, 7,
				1700000000000ull};
	size_t len = qt_sync_begin(buf, &h);

	for (unsigned i = 0; i < n; i++) {
		struct qt_rec r = conn_rec((uint16_t)(1000 + i));

		len = qt_sync_add(buf, len, QT_SYNC_OP_CONN, 3, &r);
		assert_true(len > 0);
	}
	len = qt_sync_add(buf, len, QT_SYNC_OP_DUMP_END, 0, NULL);
	return qt_sync_seal(buf, len, key, sizeof(key) - 1);
}

static void test_roundtrip(void **state)
{
	uint8_t buf[QT_SYNC_DGRAM_MAX];
	struct qt_sync_item it;
	struct qt_sync_hdr h;
	size_t len = build(buf, 5), off = 0;
	unsigned n = 0;
	(void)state;

	assert_int_equal(qt_sync_check(buf, len, key, sizeof(key) - 1, &h),
			 QT_SYNC_OK);
	assert_int_equal(h.type, QT_SYNC_DATA);
	assert_true(h.epoch == 0x1122334455667788ull);
	assert_true(h.seq == 7);
	assert_true(h.wall_ms == 1700000000000ull);
	while (qt_sync_next(buf, len, &off, &it)) {
		if (n < 5) {
			struct qt_rec r = conn_rec((uint16_t)(1000 + n));

			assert_int_equal(it.op, QT_SYNC_OP_CONN);
			assert_int_equal(it.queue, 3);
			assert_memory_equal(&it.rec.conn.orig, &r.conn.orig,
					    sizeof(r.conn.orig));
			assert_true(it.rec.conn.left_ms == 25000);
			assert_int_equal(it.rec.conn.mark, 0x100);
		} else {
			assert_int_equal(it.op, QT_SYNC_OP_DUMP_END);
		}
		n++;
	}
	assert_int_equal(n, 6);
}

static void test_full(void **state)
{
	uint8_t buf[QT_SYNC_DGRAM_MAX];
	struct qt_sync_hdr h = {QT_SYNC_DATA, 1, 1, 1};
	struct qt_rec r = conn_rec(1);
	size_t len = qt_sync_begin(buf, &h), next;
	unsigned n = 0;
	(void)state;

	while ((next = qt_sync_add(buf, len, QT_SYNC_OP_CONN, 0, &r))) {
		len = next;
		n++;
	}
	assert_true(n > 10);
	assert_true(len + QT_SYNC_MAC <= QT_SYNC_DGRAM_MAX);
	len = qt_sync_seal(buf, len, key, sizeof(key) - 1);
	assert_int_equal(qt_sync_check(buf, len, key, sizeof(key) - 1, &h),
			 QT_SYNC_OK);
}

static void test_refused(void **state)
{
	uint8_t buf[QT_SYNC_DGRAM_MAX], bad[QT_SYNC_DGRAM_MAX];
	struct qt_sync_hdr h;
	size_t len = build(buf, 3);
	(void)state;

	/* Another key. */
	assert_int_equal(qt_sync_check(buf, len,
				       (const uint8_t *)"another-key"
							"-of-16+",
				       18, &h),
			 QT_SYNC_E_MAC);
	/* Every flipped bit. */
	for (size_t i = 0; i < len * 8; i++) {
		memcpy(bad, buf, len);
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(
		    qt_sync_check(bad, len, key, sizeof(key) - 1, &h),
		    QT_SYNC_OK);
	}
	/* Every truncation. */
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(
		    qt_sync_check(buf, n, key, sizeof(key) - 1, &h),
		    QT_SYNC_OK);
	/* An unknown op, correctly signed: refused by the parser. */
	{
		struct qt_sync_hdr hh = {QT_SYNC_DATA, 1, 1, 1};
		size_t l = qt_sync_begin(bad, &hh);

		l = qt_sync_add(bad, l, QT_SYNC_OP_DUMP_END, 0, NULL);
		bad[l - 4] = 99;
		l = qt_sync_seal(bad, l, key, sizeof(key) - 1);
		assert_int_equal(
		    qt_sync_check(bad, l, key, sizeof(key) - 1, &h),
		    QT_SYNC_E_ITEM);
	}
}

/* The engine's update: an existing entry takes the record's state and
 * timer; a missing one is created; a clash on the reply tuple refused. */
static void test_engine_update(void **state)
{
	struct qt_conf c;
	struct qt_engine *e;
	struct qt_rec r = conn_rec(5000);
	const struct qt_conn *ct;
	struct qt_rec_conn out;
	struct qt_tuple rt;
	(void)state;

	qt_conf_init(&c);
	c.table.max = 64;
	c.table.buckets = 64;
	e = qt_engine_new(&c, 1000);
	assert_non_null(e);
	assert_int_equal(qt_engine_update_conn(e, &r.conn, 0), QT_IMPORT_OK);
	ct = qt_engine_find(e, &r.conn.orig, NULL);
	assert_non_null(ct);
	r.conn.status |= QT_REC_ST_ASSURED;
	r.conn.mark = 0x200;
	r.conn.timeout = 180;
	r.conn.left_ms = 170000;
	assert_int_equal(qt_engine_update_conn(e, &r.conn, 1000), QT_IMPORT_OK);
	assert_int_equal(qt_engine_stats(e)->count, 1);
	ct = qt_engine_find(e, &r.conn.orig, NULL);
	qt_engine_export_conn(e, ct, 1000, &out);
	assert_int_equal(out.status, QT_REC_ST_SEEN_REPLY | QT_REC_ST_ASSURED);
	assert_int_equal(out.mark, 0x200);
	assert_true(out.left_ms == 169000);
	/* The reply tuple as an original one: another connection. */
	rt = r.conn.orig;
	rt.src = r.conn.orig.dst;
	rt.dst = r.conn.orig.src;
	rt.sport = r.conn.orig.dport;
	rt.dport = r.conn.orig.sport;
	r.conn.orig = rt;
	assert_int_equal(qt_engine_update_conn(e, &r.conn, 0), QT_IMPORT_CLASH);
	/* An update whose time ran out removes it. */
	r = conn_rec(5000);
	assert_int_equal(qt_engine_update_conn(e, &r.conn, 30000),
			 QT_IMPORT_EXPIRED);
	assert_null(qt_engine_find(e, &r.conn.orig, NULL));
	qt_engine_free(e);
}

/* A UDP datagram 10.0.0.@src:@sport -> 10.0.0.2:53 (UDP checksum 0:
 * none). */
static size_t udp4(uint8_t *b, uint8_t src, uint16_t sport)
{
	uint32_t sum = 0;

	memset(b, 0, 28);
	b[0] = 0x45;
	b[3] = 28;
	b[8] = 64;
	b[9] = IPPROTO_UDP;
	b[12] = 10, b[15] = src;
	b[16] = 10, b[19] = 2;
	b[20] = (uint8_t)(sport >> 8), b[21] = (uint8_t)sport;
	b[23] = 53;
	b[25] = 8;
	for (unsigned i = 0; i < 20; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	b[10] = (uint8_t)(~sum >> 8), b[11] = (uint8_t)~sum;
	return 28;
}

static bool has(const struct qt_engine *e, uint16_t sport)
{
	struct qt_rec r = conn_rec(sport);

	return qt_engine_find(e, &r.conn.orig, NULL) != NULL;
}

/* An entry a packet of udp4() created: tuples hold ports in host order
 * (conn_rec()'s are another port, byte-swapped). */
static bool has_own(const struct qt_engine *e, uint16_t sport)
{
	struct qt_rec r = conn_rec(sport);

	r.conn.orig.sport = sport;
	r.conn.orig.dport = 53;
	return qt_engine_find(e, &r.conn.orig, NULL) != NULL;
}

static size_t sweep(struct qt_engine *e)
{
	uint32_t cur = 0;
	size_t removed = 0;

	/* A small budget: the sweep resumes where it stopped. */
	while (!qt_engine_sync_sweep(e, &cur, 3, &removed))
		;
	return removed;
}

/* A full dump removes the replicated entries it did not bring, and what
 * the node held before it became standby (a state file, its own traffic
 * while active), but keeps what its own packets created since. */
static void test_engine_dump_sweep(void **state)
{
	struct qt_conf c;
	struct qt_engine *e;
	struct qt_result res;
	struct qt_rec r;
	uint8_t pkt[28];
	(void)state;

	qt_conf_init(&c);
	c.table.max = 64;
	c.table.buckets = 64;
	e = qt_engine_new(&c, 1000);
	assert_non_null(e);
	/* Restored from a state file, and one of the node's own from when
	 * it was active: both before it became standby. */
	r = conn_rec(7000);
	assert_int_equal(qt_engine_import_conn(e, &r.conn, 0), QT_IMPORT_OK);
	qt_engine_process(e, pkt, udp4(pkt, 1, 7001), 28, 0, 1000, &res);
	assert_true(has_own(e, 7001));
	qt_engine_sync_standby(e);
	/* Its own since. */
	qt_engine_process(e, pkt, udp4(pkt, 1, 7002), 28, 0, 1000, &res);
	/* The peer's first dump: 5000-5003, then 7001 after all. */
	qt_engine_sync_dump_begin(e);
	for (uint16_t p = 5000; p < 5004; p++) {
		r = conn_rec(p);
		assert_int_equal(qt_engine_update_conn(e, &r.conn, 0),
				 QT_IMPORT_OK);
	}
	r = conn_rec(7001);
	r.conn.orig.sport = 7001;
	r.conn.orig.dport = 53;
	assert_int_equal(qt_engine_update_conn(e, &r.conn, 0), QT_IMPORT_OK);
	assert_int_equal(sweep(e), 1);
	assert_false(has(e, 7000));
	for (uint16_t p = 5000; p < 5004; p++)
		assert_true(has(e, p));
	assert_true(has_own(e, 7001) && has_own(e, 7002));
	/* The second dump lacks 5001 and 7001 (their DESTROYs were lost). */
	qt_engine_sync_dump_begin(e);
	for (uint16_t p = 5000; p < 5004; p++) {
		if (p == 5001)
			continue;
		r = conn_rec(p);
		assert_int_equal(qt_engine_update_conn(e, &r.conn, 0),
				 QT_IMPORT_OK);
	}
	/* A slot freed by the sweep and reused by a packet of the node's
	 * own is not taken for the peer's entry that held it. */
	assert_int_equal(sweep(e), 2);
	assert_false(has(e, 5001));
	assert_false(has_own(e, 7001));
	qt_engine_process(e, pkt, udp4(pkt, 1, 7003), 28, 0, 1000, &res);
	assert_true(has_own(e, 7003));
	assert_int_equal(sweep(e), 0);
	assert_true(has(e, 5000) && has(e, 5002) && has(e, 5003));
	assert_true(has_own(e, 7002) && has_own(e, 7003));
	assert_int_equal(qt_engine_stats(e)->count, 5);
	qt_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256),
	    cmocka_unit_test(test_hmac),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_engine_update),
	    cmocka_unit_test(test_engine_dump_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

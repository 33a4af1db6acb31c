// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_record.c - the record format on its own: every field of a
 * connection and an expectation survives encode and decode, the encoding
 * is the documented big-endian one, and a decoder refuses every truncation,
 * every flipped bit, an unknown type or version and out-of-range values.
 * The state file's header and whole-file check likewise.
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

#include "record.h"
#include "statefile.h"

static struct qt_tuple tuple4(uint32_t src, uint32_t dst, uint8_t proto,
			      uint16_t sp, uint16_t dp)
{
	struct qt_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET;
	t.proto = proto;
	t.src.ip = htonl(src);
	t.dst.ip = htonl(dst);
	t.sport = sp;
	t.dport = dp;
	return t;
}

static struct qt_tuple tuple6(uint8_t last, uint8_t proto)
{
	struct qt_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET6;
	t.proto = proto;
	for (unsigned i = 0; i < 16; i++) {
		t.src.b[i] = (uint8_t)(0xa0 + i);
		t.dst.b[i] = (uint8_t)(0x10 + i);
	}
	t.dst.b[15] = last;
	if (proto == IPPROTO_ICMPV6) {
		t.icmp.id = 0xbeef;
		t.icmp.type = 128;
		t.icmp.code = 0;
	} else {
		t.sport = 40000;
		t.dport = 443;
	}
	return t;
}

/* A TCP connection with every field set to a distinct value, every
 * optional part present. */
static struct qt_rec full_tcp(void)
{
	struct qt_rec r;
	struct qt_rec_conn *c = &r.conn;

	memset(&r, 0, sizeof(r));
	r.type = QT_REC_CONN;
	c->orig = tuple4(0x0a000001, 0x0a000002, IPPROTO_TCP, 40001, 21);
	c->status =
	    QT_REC_ST_SEEN_REPLY | QT_REC_ST_ASSURED | QT_REC_ST_EXPECTED;
	c->helper = QT_HELPER_FTP;
	c->parts = QT_REC_P_ACCT | QT_REC_P_HELP | QT_REC_P_MASTER;
	c->timeout = 432000;
	c->left_ms = 431999123;
	c->mark = 0xdead0000;
	for (unsigned d = 0; d < 2; d++) {
		c->tcp.seen[d].end = 0x11111111u * (d + 1);
		c->tcp.seen[d].maxend = 0x01020304u + d;
		c->tcp.seen[d].maxwin = 65535u << d;
		c->tcp.seen[d].maxack = 0xfffffff0u - d;
		c->tcp.scale[d] = (uint8_t)(7 + d);
		c->tcp.flags[d] = (uint8_t)(0xa5 ^ d);
	}
	c->tcp.state = QT_TCP_ESTABLISHED;
	c->tcp.last_dir = 1;
	c->tcp.retrans = 3;
	c->tcp.last_index = 4;
	c->tcp.last_seq = 0x12345678;
	c->tcp.last_ack = 0x9abcdef0;
	c->tcp.last_end = 0x0fedcba9;
	c->tcp.last_win = 0xabcd;
	c->tcp.last_wscale = 14;
	c->tcp.last_flags = 0x5a;
	c->acct.packets[0] = 1ull << 40;
	c->acct.packets[1] = 7;
	c->acct.bytes[0] = (1ull << 62) + 5;
	c->acct.bytes[1] = 1500;
	c->seq_aft_nl[0][0] = 100;
	c->seq_aft_nl[0][1] = 200;
	c->seq_aft_nl[1][0] = 300;
	c->seq_aft_nl[1][1] = 400;
	c->n_seq[0] = 2;
	c->n_seq[1] = 1;
	c->master = tuple4(0x0a000001, 0x0a000002, IPPROTO_TCP, 40000, 21);
	return r;
}

static struct qt_rec full_expect(void)
{
	struct qt_rec r;

	memset(&r, 0, sizeof(r));
	r.type = QT_REC_EXPECT;
	r.expect.tuple = tuple6(9, IPPROTO_TCP);
	r.expect.master = tuple6(1, IPPROTO_TCP);
	r.expect.flags = QT_EXPECT_ANY_SPORT;
	r.expect.helper = QT_HELPER_FTP;
	r.expect.timeout = 300;
	r.expect.left_ms = 299500;
	return r;
}

static void roundtrip(const struct qt_rec *in, size_t want_len)
{
	uint8_t buf[QT_REC_MAX];
	struct qt_rec out;
	size_t n, used = 0;

	n = qt_rec_encode(in, buf, sizeof(buf));
	assert_true(n > 0);
	if (want_len)
		assert_int_equal(n, want_len);
	assert_int_equal(qt_rec_decode(buf, n, &out, &used), QT_REC_OK);
	assert_int_equal(used, n);
	assert_memory_equal(&out, in, sizeof(out));
	/* Too little room to encode is refused, never a partial record. */
	assert_int_equal(qt_rec_encode(in, buf, n - 1), 0);
}

static void test_crc32_vector(void **state)
{
	(void)state;
	assert_int_equal(qt_crc32(0, "123456789", 9), 0xcbf43926u);
	/* Continuing a CRC gives the CRC of the whole. */
	assert_int_equal(qt_crc32(qt_crc32(0, "1234", 4), "56789", 5),
			 0xcbf43926u);
}

static void test_conn_roundtrip(void **state)
{
	struct qt_rec r = full_tcp();

	(void)state;
	/* 8 of envelope and CRC, 60 fixed, 56 TCP, 32 + 20 + 40 parts. */
	roundtrip(&r, 8 + 60 + 56 + 32 + 20 + 40);
	r.conn.parts = 0;
	memset(r.conn.acct.packets, 0, sizeof(r.conn.acct));
	memset(r.conn.seq_aft_nl, 0, sizeof(r.conn.seq_aft_nl));
	memset(r.conn.n_seq, 0, sizeof(r.conn.n_seq));
	memset(&r.conn.master, 0, sizeof(r.conn.master));
	roundtrip(&r, 8 + 60 + 56);
}

static void test_conn_protocols(void **state)
{
	uint8_t buf[QT_REC_MAX];
	struct qt_rec r, out;
	size_t n, used;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.type = QT_REC_CONN;
	r.conn.orig = tuple6(2, IPPROTO_UDP);
	r.conn.udp_wait_ms = 1999;
	r.conn.timeout = 30;
	r.conn.left_ms = 29000;
	roundtrip(&r, 8 + 60 + 8);
	r.conn.orig = tuple6(3, IPPROTO_ICMPV6);
	r.conn.udp_wait_ms = 0;
	roundtrip(&r, 8 + 60);
	r.conn.orig = tuple4(1, 2, 47, 0, 0x1234); /* GRE: keys, no part */
	roundtrip(&r, 8 + 60);
	r.conn.orig = tuple4(1, 2, IPPROTO_SCTP, 3868, 3868);
	r.conn.parts = QT_REC_P_SCTP;
	r.conn.sctp.state = QT_SCTP_ESTABLISHED;
	r.conn.sctp.flags = QT_SCTPF_INIT_ORIG;
	r.conn.sctp.vtag[0] = 0xdeadbeef;
	r.conn.sctp.vtag[1] = 0x01020304;
	roundtrip(&r, 8 + 60 + 12);
	/* A state beyond the table, the part on another protocol. */
	r.conn.sctp.state = QT_SCTP_STATE_MAX;
	assert_int_equal(qt_rec_encode(&r, buf, sizeof(buf)), 8 + 60 + 12);
	assert_int_equal(qt_rec_decode(buf, 8 + 60 + 12, &out, &used),
			 QT_REC_E_FIELD);
	r.conn.sctp.state = QT_SCTP_CLOSED;
	r.conn.orig.proto = IPPROTO_TCP;
	r.conn.parts = 0;
	n = qt_rec_encode(&r, buf, sizeof(buf));
	assert_true(n > 0);
	r.conn.parts = QT_REC_P_SCTP;
	assert_true(qt_rec_encode(&r, buf, sizeof(buf)) > n);
	assert_int_equal(qt_rec_decode(buf, n + 12, &out, &used),
			 QT_REC_E_FIELD);
	memset(&r.conn.sctp, 0, sizeof(r.conn.sctp));
	r.conn.parts = 0;
	r.conn.orig = tuple4(1, 2, IPPROTO_UDPLITE, 5, 6);
	r.conn.orig = tuple4(1, 2, IPPROTO_UDPLITE, 5, 6);
	r.conn.udp_wait_ms = 5;
	roundtrip(&r, 8 + 60 + 8);
}

static void test_expect_and_framing(void **state)
{
	struct qt_rec r = full_expect();

	(void)state;
	roundtrip(&r, 8 + 96);
	memset(&r, 0, sizeof(r));
	r.type = QT_REC_SHARD;
	r.shard.queue = 65535;
	roundtrip(&r, 8 + 4);
	memset(&r, 0, sizeof(r));
	r.type = QT_REC_END;
	r.end.conns4 = 1;
	r.end.conns6 = 2;
	r.end.expects = 3;
	r.end.records = 6;
	roundtrip(&r, 8 + 16);
}

/* The byte layout is the documented one, not the machine's. */
static void test_byte_layout(void **state)
{
	struct qt_rec r = full_tcp();
	uint8_t buf[QT_REC_MAX];
	size_t n;
	static const uint8_t head[] = {QT_REC_CONN, QT_REC_VERSION,
				       0,	    208, /* envelope */
				       4,	    IPPROTO_TCP,
				       0,	    0, /* family, proto */
				       10,	    0,
				       0,	    1}; /* source address */

	(void)state;
	n = qt_rec_encode(&r, buf, sizeof(buf));
	assert_int_equal(n, 216);
	assert_memory_equal(buf, head, sizeof(head));
	/* ports 40001 (0x9c41) and 21 at payload offset 36 */
	assert_int_equal(buf[4 + 36], 0x9c);
	assert_int_equal(buf[4 + 37], 0x41);
	assert_int_equal(buf[4 + 39], 21);
	/* timeout 432000 = 0x00069780 at payload offset 44 */
	assert_int_equal(buf[4 + 45], 0x06);
	assert_int_equal(buf[4 + 46], 0x97);
	assert_int_equal(buf[4 + 47], 0x80);
}

static void test_refuse_truncated_and_flipped(void **state)
{
	struct qt_rec recs[2] = {full_tcp(), full_expect()};
	uint8_t buf[QT_REC_MAX];
	struct qt_rec out;
	size_t n, used;

	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		n = qt_rec_encode(&recs[k], buf, sizeof(buf));
		assert_true(n > 0);
		for (size_t len = 0; len < n; len++)
			assert_int_not_equal(
			    qt_rec_decode(buf, len, &out, &used), QT_REC_OK);
		/* Every single flipped bit is caught. */
		for (size_t i = 0; i < n * 8; i++) {
			buf[i / 8] ^= (uint8_t)(1u << (i % 8));
			assert_int_not_equal(qt_rec_decode(buf, n, &out, &used),
					     QT_REC_OK);
			buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		}
		assert_int_equal(qt_rec_decode(buf, n, &out, &used), QT_REC_OK);
	}
}

/* Rewrite byte @i of an encoded record to @v and fix its CRC, so the
 * decoder's field checks, not the CRC, must refuse it. */
static enum qt_rec_err patch(const struct qt_rec *r, size_t i, uint8_t v)
{
	uint8_t buf[QT_REC_MAX];
	struct qt_rec out;
	size_t n, used;
	uint32_t crc;

	n = qt_rec_encode(r, buf, sizeof(buf));
	assert_true(n > i + 4);
	buf[i] = v;
	crc = qt_crc32(0, buf, n - 4);
	buf[n - 4] = (uint8_t)(crc >> 24);
	buf[n - 3] = (uint8_t)(crc >> 16);
	buf[n - 2] = (uint8_t)(crc >> 8);
	buf[n - 1] = (uint8_t)crc;
	return qt_rec_decode(buf, n, &out, &used);
}

static void test_refuse_fields(void **state)
{
	struct qt_rec r = full_tcp();
	const size_t p = QT_REC_ENVELOPE; /* payload start */

	(void)state;
	assert_int_equal(patch(&r, 0, 9), QT_REC_E_TYPE);
	assert_int_equal(patch(&r, 0, 0), QT_REC_E_TYPE);
	assert_int_equal(patch(&r, 1, 3), QT_REC_E_VERSION);
	/* Version 2 is version 1 and the OFFLOAD status bit. */
	assert_int_equal(patch(&r, 1, 2), QT_REC_OK);
	assert_int_not_equal(patch(&r, 3, 207), QT_REC_OK);
	assert_int_equal(patch(&r, p + 0, 5), QT_REC_E_FIELD);	/* family */
	assert_int_equal(patch(&r, p + 2, 1), QT_REC_E_FIELD);	/* reserved */
	assert_int_equal(patch(&r, p + 8, 1), QT_REC_E_FIELD);	/* v4 pad */
	assert_int_equal(patch(&r, p + 40, 8), QT_REC_E_FIELD); /* status */
	assert_int_equal(patch(&r, p + 41, 2), QT_REC_E_FIELD); /* helper */
	assert_int_equal(patch(&r, p + 42, 0x17), QT_REC_E_FIELD); /* parts */
	assert_int_equal(patch(&r, p + 44, 0xff), QT_REC_E_FIELD); /* timeout */
	/* TCP block at payload offset 60: scale, state, direction, class */
	assert_int_equal(patch(&r, p + 60 + 16, 15), QT_REC_E_FIELD);
	assert_int_equal(patch(&r, p + 60 + 36, QT_TCP_STATE_MAX),
			 QT_REC_E_FIELD);
	assert_int_equal(patch(&r, p + 60 + 37, 2), QT_REC_E_FIELD);
	assert_int_equal(patch(&r, p + 60 + 39, 6), QT_REC_E_FIELD);
	/* helper part at 60 + 56 + 32: n_seq */
	assert_int_equal(patch(&r, p + 148 + 16, 3), QT_REC_E_FIELD);
	/* A shorter parts byte leaves bytes over: the length is wrong. */
	assert_int_equal(patch(&r, p + 42, 0x03), QT_REC_E_LENGTH);
}

/* The OFFLOAD bit makes a CONN record version 2; without it the record
 * stays version 1, readable by a reader of version 1.  No other type has
 * a version 2. */
static void test_offload_version(void **state)
{
	struct qt_rec r = full_tcp(), out, x = full_expect();
	uint8_t buf[QT_REC_MAX];
	size_t n, used;

	(void)state;
	n = qt_rec_encode(&r, buf, sizeof(buf));
	assert_int_equal(buf[1], 1);
	r.conn.status |= QT_REC_ST_OFFLOAD;
	n = qt_rec_encode(&r, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(buf[1], 2);
	assert_int_equal(qt_rec_decode(buf, n, &out, &used), QT_REC_OK);
	assert_int_equal(out.conn.status, r.conn.status);
	assert_int_equal(qt_rec_status_to_conn(out.conn.status),
			 qt_rec_status_to_conn(r.conn.status &
					       ~QT_REC_ST_OFFLOAD));
	/* Version 1 with the bit: a reserved bit. */
	assert_int_equal(patch(&r, 1, 1), QT_REC_E_FIELD);
	assert_int_equal(patch(&x, 1, 2), QT_REC_E_VERSION);
}

static void test_status_map(void **state)
{
	(void)state;
	assert_int_equal(qt_rec_status_from_conn(QT_CONN_SEEN_REPLY |
						 QT_CONN_ASSURED |
						 QT_CONN_CONFIRMED),
			 QT_REC_ST_SEEN_REPLY | QT_REC_ST_ASSURED);
	assert_int_equal(qt_rec_status_to_conn(QT_REC_ST_ALL),
			 QT_CONN_SEEN_REPLY | QT_CONN_ASSURED |
			     QT_CONN_EXPECTED);
}

/* A small file: header, SHARD, two connections, an expectation, END. */
static size_t make_file(uint8_t *buf, size_t len)
{
	struct qt_rec recs[4] = {full_tcp(), full_tcp(), full_expect()};
	struct qt_state_tally t = {0};
	struct qt_state_hdr h;
	struct qt_rec end, shard;
	size_t off = QT_STATE_HDR_LEN;

	memset(&shard, 0, sizeof(shard));
	shard.type = QT_REC_SHARD;
	shard.shard.queue = 3;
	recs[1].conn.orig = tuple6(4, IPPROTO_TCP);
	off += qt_rec_encode(&shard, buf + off, len - off);
	qt_state_tally_add(&t, &shard);
	for (unsigned i = 0; i < 3; i++) {
		off += qt_rec_encode(&recs[i], buf + off, len - off);
		qt_state_tally_add(&t, &recs[i]);
	}
	qt_state_tally_end(&t, &end);
	off += qt_rec_encode(&end, buf + off, len - off);
	qt_state_tally_hdr(&t, 1700000000123ull, QT_STATE_F_FINAL, &h);
	qt_state_hdr_encode(&h, buf);
	return off;
}

static int count_fn(void *arg, const struct qt_rec *rec)
{
	unsigned *n = arg;

	n[rec->type]++;
	return 0;
}

static void test_file(void **state)
{
	uint8_t buf[4096], big[4097];
	struct qt_state_hdr h;
	unsigned n[8] = {0};
	size_t len, at;

	(void)state;
	len = make_file(buf, sizeof(buf));
	assert_int_equal(qt_state_parse(buf, len, &h, NULL, NULL, &at),
			 QT_REC_OK);
	assert_int_equal(h.format, QT_STATE_FORMAT);
	assert_int_equal(h.saved_ms, 1700000000123ull);
	assert_int_equal(h.conns4, 1);
	assert_int_equal(h.conns6, 1);
	assert_int_equal(h.expects, 1);
	assert_int_equal(h.flags, QT_STATE_F_FINAL);
	assert_int_equal(qt_state_parse(buf, len, &h, count_fn, n, NULL),
			 QT_REC_OK);
	assert_int_equal(n[QT_REC_CONN], 2);
	assert_int_equal(n[QT_REC_EXPECT], 1);
	assert_int_equal(n[QT_REC_SHARD], 1);
	assert_int_equal(n[QT_REC_END], 0);
	assert_memory_equal(buf, "QTRKSTAT\0\1\0\x30\1\2\3\4", 16);

	/* Every truncation is refused. */
	for (size_t l = 0; l < len; l++)
		assert_int_not_equal(
		    qt_state_parse(buf, l, &h, NULL, NULL, &at), QT_REC_OK);
	memcpy(big, buf, len);
	big[len] = 0;
	assert_int_equal(qt_state_parse(big, len + 1, &h, NULL, NULL, &at),
			 QT_REC_E_TRAILING);
}

static void test_file_refused(void **state)
{
	uint8_t buf[4096], copy[4096];
	struct qt_state_hdr h;
	size_t len, at;

	(void)state;
	len = make_file(buf, sizeof(buf));

	memcpy(copy, buf, len);
	copy[0] = 'X';
	assert_int_equal(qt_state_parse(copy, len, &h, NULL, NULL, &at),
			 QT_REC_E_MAGIC);
	/* A newer format. */
	memcpy(copy, buf, len);
	copy[9] = 2;
	assert_int_equal(qt_state_parse(copy, len, &h, NULL, NULL, &at),
			 QT_REC_E_FORMAT);
	/* The same file as a little-endian writer would have made it. */
	memcpy(copy, buf, len);
	copy[12] = 4;
	copy[13] = 3;
	copy[14] = 2;
	copy[15] = 1;
	assert_int_equal(qt_state_parse(copy, len, &h, NULL, NULL, &at),
			 QT_REC_E_BYTEORDER);
	/* The header's checksum. */
	memcpy(copy, buf, len);
	copy[20] ^= 1;
	assert_int_equal(qt_state_parse(copy, len, &h, NULL, NULL, &at),
			 QT_REC_E_CHECKSUM);
	/* An unknown flag (CRC fixed up: the check is the flags'). */
	memcpy(copy, buf, len);
	assert_int_equal(qt_state_hdr_decode(copy, len, &h), QT_REC_OK);
	h.flags |= 0x80;
	qt_state_hdr_encode(&h, copy);
	assert_int_equal(qt_state_parse(copy, len, &h, NULL, NULL, &at),
			 QT_REC_E_FIELD);
	/* A record's checksum: the offset names the record. */
	memcpy(copy, buf, len);
	copy[QT_STATE_HDR_LEN + 12 + 10] ^= 1;
	assert_int_equal(qt_state_parse(copy, len, &h, NULL, NULL, &at),
			 QT_REC_E_CHECKSUM);
	assert_int_equal(at, QT_STATE_HDR_LEN + 12);
}

/* A header whose counts disagree with END is refused. */
static void test_file_counts(void **state)
{
	uint8_t buf[4096];
	struct qt_state_hdr h;
	size_t len, at;

	(void)state;
	len = make_file(buf, sizeof(buf));
	assert_int_equal(qt_state_hdr_decode(buf, len, &h), QT_REC_OK);
	h.conns6 = 2;
	qt_state_hdr_encode(&h, buf);
	assert_int_equal(qt_state_parse(buf, len, &h, NULL, NULL, &at),
			 QT_REC_E_COUNT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32_vector),
	    cmocka_unit_test(test_conn_roundtrip),
	    cmocka_unit_test(test_conn_protocols),
	    cmocka_unit_test(test_expect_and_framing),
	    cmocka_unit_test(test_byte_layout),
	    cmocka_unit_test(test_refuse_truncated_and_flipped),
	    cmocka_unit_test(test_refuse_fields),
	    cmocka_unit_test(test_offload_version),
	    cmocka_unit_test(test_status_map),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_file_refused),
	    cmocka_unit_test(test_file_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

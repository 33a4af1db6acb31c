// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * record.c - encode and decode the records of docs/state-format.md.
 *
 * Every field is written by hand, big-endian, in the order the document
 * gives; nothing is copied from a struct's memory, so the format does not
 * depend on the compiler, the machine or the engine's layout.  The
 * decoder checks the envelope first (enough bytes, type, version, CRC),
 * then reads the payload through a bounded cursor and insists that the
 * fields use exactly the payload's length.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "record.h"
#include "tcp_window.h"

/* Bounds a decoder enforces beyond the fields' own types. */
#define REC_WSCALE_MAX 14 /* RFC 7323: larger scales are cut to 14 */
#define REC_UDP_WAIT_MAX (3600ull * 1000)
#define REC_LEFT_MAX ((uint64_t)QT_CONN_TIMEOUT_MAX * 1000)

static const char *const rec_errors[QT_REC_E_MAX] = {
    [QT_REC_OK] = "no error",
    [QT_REC_E_TRUNCATED] = "truncated",
    [QT_REC_E_CHECKSUM] = "bad checksum",
    [QT_REC_E_TYPE] = "unknown record type",
    [QT_REC_E_VERSION] = "unknown record version",
    [QT_REC_E_LENGTH] = "record length does not match its fields",
    [QT_REC_E_FIELD] = "a field out of range",
    [QT_REC_E_MAGIC] = "not a qtrack state file",
    [QT_REC_E_FORMAT] = "unsupported format version",
    [QT_REC_E_BYTEORDER] = "foreign byte order",
    [QT_REC_E_COUNT] = "counts in the end record do not match",
    [QT_REC_E_ORDER] = "records out of order",
    [QT_REC_E_TRAILING] = "data after the end record",
};

const char *qt_rec_strerror(enum qt_rec_err err)
{
	return (unsigned)err < QT_REC_E_MAX ? rec_errors[err] : "unknown error";
}

/* The reflected polynomial 0xedb88320 a nibble at a time: a 16-entry
 * table is small enough to write out and fast enough for files of a
 * million records. */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
    0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t qt_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = crc_nibble[crc & 0xf] ^ (crc >> 4);
		crc = crc_nibble[crc & 0xf] ^ (crc >> 4);
	}
	return ~crc;
}

/* ---- writing ---------------------------------------------------------- */

struct wcur {
	uint8_t *p;
	size_t len;
	size_t off;
	bool fail;
};

static void put_bytes(struct wcur *w, const void *s, size_t n)
{
	if (w->fail || w->len - w->off < n) {
		w->fail = true;
		return;
	}
	memcpy(w->p + w->off, s, n);
	w->off += n;
}

static void put8(struct wcur *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void put16(struct wcur *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put_bytes(w, b, sizeof(b));
}

static void put32(struct wcur *w, uint32_t v)
{
	put16(w, (uint16_t)(v >> 16));
	put16(w, (uint16_t)v);
}

static void put64(struct wcur *w, uint64_t v)
{
	put32(w, (uint32_t)(v >> 32));
	put32(w, (uint32_t)v);
}

static bool proto_is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

static bool proto_is_udp(uint8_t proto)
{
	return proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE;
}

/* 40 bytes: family (4 or 6), protocol, two zero bytes, source and
 * destination (16 each; an IPv4 address in the first four), then the
 * layer 4 word: ports, or ICMP id, type and code. */
static void put_tuple(struct wcur *w, const struct qt_tuple *t)
{
	if (t->family != AF_INET && t->family != AF_INET6) {
		w->fail = true;
		return;
	}
	put8(w, t->family == AF_INET ? 4 : 6);
	put8(w, t->proto);
	put16(w, 0);
	put_bytes(w, t->src.b, 16);
	put_bytes(w, t->dst.b, 16);
	if (proto_is_icmp(t->proto)) {
		put16(w, t->icmp.id);
		put8(w, t->icmp.type);
		put8(w, t->icmp.code);
	} else {
		put16(w, t->sport);
		put16(w, t->dport);
	}
}

static void put_tcp(struct wcur *w, const struct qt_tcp_conn *tc)
{
	for (unsigned d = 0; d < 2; d++) {
		put32(w, tc->seen[d].end);
		put32(w, tc->seen[d].maxend);
		put32(w, tc->seen[d].maxwin);
		put32(w, tc->seen[d].maxack);
		put8(w, tc->scale[d]);
		put8(w, tc->flags[d]);
	}
	put8(w, tc->state);
	put8(w, tc->last_dir);
	put8(w, tc->retrans);
	put8(w, tc->last_index);
	put32(w, tc->last_seq);
	put32(w, tc->last_ack);
	put32(w, tc->last_end);
	put16(w, tc->last_win);
	put8(w, tc->last_wscale);
	put8(w, tc->last_flags);
}

static void put_conn(struct wcur *w, const struct qt_rec_conn *c)
{
	put_tuple(w, &c->orig);
	put8(w, c->status);
	put8(w, c->helper);
	put8(w, c->parts);
	put8(w, 0);
	put32(w, c->timeout);
	put64(w, c->left_ms);
	put32(w, c->mark);
	if (c->orig.proto == IPPROTO_TCP)
		put_tcp(w, &c->tcp);
	else if (proto_is_udp(c->orig.proto))
		put64(w, c->udp_wait_ms);
	if (c->parts & QT_REC_P_ACCT) {
		put64(w, c->acct.packets[0]);
		put64(w, c->acct.packets[1]);
		put64(w, c->acct.bytes[0]);
		put64(w, c->acct.bytes[1]);
	}
	if (c->parts & QT_REC_P_HELP) {
		for (unsigned d = 0; d < 2; d++)
			for (unsigned i = 0; i < QT_FTP_SEQ_REMEMBER; i++)
				put32(w, c->seq_aft_nl[d][i]);
		put8(w, c->n_seq[0]);
		put8(w, c->n_seq[1]);
		put16(w, 0);
	}
	if (c->parts & QT_REC_P_MASTER)
		put_tuple(w, &c->master);
	if (c->parts & QT_REC_P_SCTP) {
		put8(w, c->sctp.state);
		put8(w, c->sctp.flags);
		put16(w, 0);
		put32(w, c->sctp.vtag[0]);
		put32(w, c->sctp.vtag[1]);
	}
}

static void put_expect(struct wcur *w, const struct qt_rec_expect *x)
{
	put_tuple(w, &x->tuple);
	put_tuple(w, &x->master);
	put8(w, x->flags);
	put8(w, x->helper);
	put16(w, 0);
	put32(w, x->timeout);
	put64(w, x->left_ms);
}

size_t qt_rec_encode(const struct qt_rec *rec, uint8_t *buf, size_t len)
{
	struct wcur w = {.p = buf, .len = len, .off = QT_REC_ENVELOPE};
	size_t payload;
	uint32_t crc;

	if (len < QT_REC_ENVELOPE)
		return 0;
	switch (rec->type) {
	case QT_REC_CONN:
		put_conn(&w, &rec->conn);
		break;
	case QT_REC_EXPECT:
		put_expect(&w, &rec->expect);
		break;
	case QT_REC_SHARD:
		put16(&w, rec->shard.queue);
		put16(&w, 0);
		break;
	case QT_REC_END:
		put32(&w, rec->end.conns4);
		put32(&w, rec->end.conns6);
		put32(&w, rec->end.expects);
		put32(&w, rec->end.records);
		break;
	default:
		return 0;
	}
	payload = w.off - QT_REC_ENVELOPE;
	if (w.fail || payload > UINT16_MAX)
		return 0;
	buf[0] = (uint8_t)rec->type;
	buf[1] = rec->type == QT_REC_CONN &&
			 (rec->conn.status & QT_REC_ST_OFFLOAD) ?
		     QT_REC_VERSION_CONN_MAX : QT_REC_VERSION;
	buf[2] = (uint8_t)(payload >> 8);
	buf[3] = (uint8_t)payload;
	crc = qt_crc32(0, buf, w.off);
	put32(&w, crc);
	return w.fail ? 0 : w.off;
}

/* ---- reading ---------------------------------------------------------- */

struct rcur {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool over; /* a read went past the payload */
	bool bad;  /* a value out of range */
};

static const uint8_t *get_bytes(struct rcur *r, size_t n)
{
	static const uint8_t zero[16];
	const uint8_t *s;

	if (r->over || r->len - r->off < n) {
		r->over = true;
		return zero;
	}
	s = r->p + r->off;
	r->off += n;
	return s;
}

static uint8_t get8(struct rcur *r)
{
	return *get_bytes(r, 1);
}

static uint16_t get16(struct rcur *r)
{
	const uint8_t *b = get_bytes(r, 2);

	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get32(struct rcur *r)
{
	uint32_t hi = get16(r);

	return hi << 16 | get16(r);
}

static uint64_t get64(struct rcur *r)
{
	uint64_t hi = get32(r);

	return hi << 32 | get32(r);
}

/* A value that must be within [0, max]. */
static void check_max(struct rcur *r, uint64_t v, uint64_t max)
{
	if (v > max)
		r->bad = true;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void get_tuple(struct rcur *r, struct qt_tuple *t)
{
	uint8_t fam = get8(r);

	memset(t, 0, sizeof(*t));
	if (fam != 4 && fam != 6)
		r->bad = true;
	t->family = fam == 6 ? AF_INET6 : AF_INET;
	t->proto = get8(r);
	check_max(r, get16(r), 0);
	memcpy(t->src.b, get_bytes(r, 16), 16);
	memcpy(t->dst.b, get_bytes(r, 16), 16);
	/* An IPv4 tuple's other address bytes are zero (tuple.h): a lookup
	 * compares them. */
	if (fam == 4 &&
	    (!all_zero(t->src.b + 4, 12) || !all_zero(t->dst.b + 4, 12)))
		r->bad = true;
	if (proto_is_icmp(t->proto)) {
		t->icmp.id = get16(r);
		t->icmp.type = get8(r);
		t->icmp.code = get8(r);
	} else {
		t->sport = get16(r);
		t->dport = get16(r);
	}
}

static void get_tcp(struct rcur *r, struct qt_tcp_conn *tc)
{
	memset(tc, 0, sizeof(*tc));
	for (unsigned d = 0; d < 2; d++) {
		tc->seen[d].end = get32(r);
		tc->seen[d].maxend = get32(r);
		tc->seen[d].maxwin = get32(r);
		tc->seen[d].maxack = get32(r);
		tc->scale[d] = get8(r);
		tc->flags[d] = get8(r);
		check_max(r, tc->scale[d], REC_WSCALE_MAX);
	}
	tc->state = get8(r);
	tc->last_dir = get8(r);
	tc->retrans = get8(r);
	tc->last_index = get8(r);
	tc->last_seq = get32(r);
	tc->last_ack = get32(r);
	tc->last_end = get32(r);
	tc->last_win = get16(r);
	tc->last_wscale = get8(r);
	tc->last_flags = get8(r);
	/* The state and the packet class index the tracker's tables. */
	check_max(r, tc->state, QT_TCP_STATE_MAX - 1);
	check_max(r, tc->last_dir, 1);
	check_max(r, tc->last_index, TC_MAX - 1);
	check_max(r, tc->last_wscale, REC_WSCALE_MAX);
}

static void get_conn(struct rcur *r, struct qt_rec_conn *c, uint8_t version)
{
	const uint8_t status_all =
		version >= 2 ? QT_REC_ST_ALL_V2 : QT_REC_ST_ALL;

	memset(c, 0, sizeof(*c));
	get_tuple(r, &c->orig);
	c->status = get8(r);
	c->helper = get8(r);
	c->parts = get8(r);
	check_max(r, get8(r), 0);
	c->timeout = get32(r);
	c->left_ms = get64(r);
	c->mark = get32(r);
	if (c->status & ~status_all || c->parts & ~QT_REC_P_ALL)
		r->bad = true;
	check_max(r, c->helper, QT_HELPER_MAX - 1);
	check_max(r, c->timeout, QT_CONN_TIMEOUT_MAX);
	check_max(r, c->left_ms, REC_LEFT_MAX);
	if (c->orig.proto == IPPROTO_TCP) {
		get_tcp(r, &c->tcp);
	} else if (proto_is_udp(c->orig.proto)) {
		c->udp_wait_ms = get64(r);
		check_max(r, c->udp_wait_ms, REC_UDP_WAIT_MAX);
	}
	if (c->parts & QT_REC_P_ACCT) {
		c->acct.packets[0] = get64(r);
		c->acct.packets[1] = get64(r);
		c->acct.bytes[0] = get64(r);
		c->acct.bytes[1] = get64(r);
	}
	if (c->parts & QT_REC_P_HELP) {
		for (unsigned d = 0; d < 2; d++)
			for (unsigned i = 0; i < QT_FTP_SEQ_REMEMBER; i++)
				c->seq_aft_nl[d][i] = get32(r);
		c->n_seq[0] = get8(r);
		c->n_seq[1] = get8(r);
		check_max(r, get16(r), 0);
		check_max(r, c->n_seq[0], QT_FTP_SEQ_REMEMBER);
		check_max(r, c->n_seq[1], QT_FTP_SEQ_REMEMBER);
	}
	if (c->parts & QT_REC_P_MASTER)
		get_tuple(r, &c->master);
	if (c->parts & QT_REC_P_SCTP) {
		c->sctp.state = get8(r);
		c->sctp.flags = get8(r);
		check_max(r, get16(r), 0);
		c->sctp.vtag[0] = get32(r);
		c->sctp.vtag[1] = get32(r);
		/* The state indexes the tracker's table; a packet being
		 * tracked (QT_SCTPF_FRESH) is never saved. */
		check_max(r, c->sctp.state, QT_SCTP_STATE_MAX - 1);
		if (c->sctp.flags & ~(QT_SCTPF_HB_VTAG_FAILED |
				      QT_SCTPF_INIT_ORIG |
				      QT_SCTPF_INIT_REPLY |
				      QT_SCTPF_LAST_REPLY) ||
		    c->orig.proto != IPPROTO_SCTP)
			r->bad = true;
	}
}

static void get_expect(struct rcur *r, struct qt_rec_expect *x)
{
	memset(x, 0, sizeof(*x));
	get_tuple(r, &x->tuple);
	get_tuple(r, &x->master);
	x->flags = get8(r);
	x->helper = get8(r);
	check_max(r, get16(r), 0);
	x->timeout = get32(r);
	x->left_ms = get64(r);
	if (x->flags & ~QT_EXPECT_ANY_SPORT)
		r->bad = true;
	check_max(r, x->helper, QT_HELPER_MAX - 1);
	check_max(r, x->timeout, QT_CONN_TIMEOUT_MAX);
	check_max(r, x->left_ms, REC_LEFT_MAX);
}

enum qt_rec_err qt_rec_decode(const uint8_t *buf, size_t len,
			      struct qt_rec *rec, size_t *used)
{
	struct rcur r;
	size_t payload, total;
	uint32_t crc;

	if (len < QT_REC_ENVELOPE)
		return QT_REC_E_TRUNCATED;
	payload = (size_t)buf[2] << 8 | buf[3];
	total = QT_REC_ENVELOPE + payload + QT_REC_CRC;
	if (len < total)
		return QT_REC_E_TRUNCATED;
	crc = (uint32_t)buf[total - 4] << 24 | (uint32_t)buf[total - 3] << 16 |
	      (uint32_t)buf[total - 2] << 8 | buf[total - 1];
	if (qt_crc32(0, buf, total - QT_REC_CRC) != crc)
		return QT_REC_E_CHECKSUM;
	if (buf[0] < QT_REC_CONN || buf[0] > QT_REC_END)
		return QT_REC_E_TYPE;
	if (buf[1] < QT_REC_VERSION ||
	    buf[1] > (buf[0] == QT_REC_CONN ? QT_REC_VERSION_CONN_MAX
					      : QT_REC_VERSION))
		return QT_REC_E_VERSION;

	r = (struct rcur){.p = buf + QT_REC_ENVELOPE, .len = payload};
	memset(rec, 0, sizeof(*rec));
	rec->type = (enum qt_rec_type)buf[0];
	switch (rec->type) {
	case QT_REC_CONN:
		get_conn(&r, &rec->conn, buf[1]);
		break;
	case QT_REC_EXPECT:
		get_expect(&r, &rec->expect);
		break;
	case QT_REC_SHARD:
		rec->shard.queue = get16(&r);
		check_max(&r, get16(&r), 0);
		break;
	case QT_REC_END:
		rec->end.conns4 = get32(&r);
		rec->end.conns6 = get32(&r);
		rec->end.expects = get32(&r);
		rec->end.records = get32(&r);
		break;
	}
	if (r.over || r.off != r.len)
		return QT_REC_E_LENGTH;
	if (r.bad)
		return QT_REC_E_FIELD;
	*used = total;
	return QT_REC_OK;
}

/* The status bits a record carries, engine bit and record bit. */
static const struct {
	uint8_t conn;
	uint8_t rec;
} rec_status_map[] = {
    {QT_CONN_SEEN_REPLY, QT_REC_ST_SEEN_REPLY},
    {QT_CONN_ASSURED, QT_REC_ST_ASSURED},
    {QT_CONN_EXPECTED, QT_REC_ST_EXPECTED},
};

uint8_t qt_rec_status_from_conn(uint8_t conn_status)
{
	uint8_t s = 0;

	for (size_t i = 0; i < sizeof(rec_status_map) / sizeof(*rec_status_map);
	     i++)
		if (conn_status & rec_status_map[i].conn)
			s |= rec_status_map[i].rec;
	return s;
}

uint8_t qt_rec_status_to_conn(uint8_t rec_status)
{
	uint8_t s = 0;

	for (size_t i = 0; i < sizeof(rec_status_map) / sizeof(*rec_status_map);
	     i++)
		if (rec_status & rec_status_map[i].rec)
			s |= rec_status_map[i].conn;
	return s;
}

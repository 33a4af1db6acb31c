/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_state.c - arbitrary bytes as a state file, loaded as qtrackd loads
 * one: checked whole, then imported into an engine in three passes
 * (masters, expected connections, expectations), TCP windows zeroed for
 * a file that is not FINAL.  Whatever the input, nothing may crash, and
 * an accepted file must leave a consistent engine: every entry found by
 * both its tuples, the walk agreeing with the counts, every entry
 * exportable to a record that decodes again, and packets of every
 * restored flow (both directions) classified without harm.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "qtrack.h"
#include "record.h"
#include "statefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct load {
	struct qt_engine *e;
	unsigned pass;
	bool relearn;
	uint64_t age;
};

static int load_one(void *arg, const struct qt_rec *rec)
{
	struct load *l = arg;
	struct qt_rec_conn rc;
	bool expected;

	if (rec->type == QT_REC_CONN) {
		expected = rec->conn.status & QT_REC_ST_EXPECTED;
		if (l->pass != (expected ? 1u : 0u))
			return 0;
		rc = rec->conn;
		if (l->relearn && rc.orig.proto == IPPROTO_TCP)
			rc.tcp.seen[0].maxwin = rc.tcp.seen[1].maxwin = 0;
		qt_engine_import_conn(l->e, &rc, l->age);
	} else if (rec->type == QT_REC_EXPECT && l->pass == 2) {
		qt_engine_import_expect(l->e, &rec->expect, l->age);
	}
	return 0;
}

/* A packet with tuple @t: TCP with ACK and a little data, or UDP, or the
 * bare layer 4 header of anything else. */
static uint32_t build(const struct qt_tuple *t, uint8_t *p, uint32_t seq)
{
	uint32_t l3 = t->family == AF_INET ? 20 : 40, l4 = 24;
	uint8_t *h = p + l3;

	memset(p, 0, l3 + l4);
	if (t->family == AF_INET) {
		p[0] = 0x45;
		p[2] = (uint8_t)((l3 + l4) >> 8);
		p[3] = (uint8_t)(l3 + l4);
		p[8] = 64;
		p[9] = t->proto;
		memcpy(p + 12, &t->src.ip, 4);
		memcpy(p + 16, &t->dst.ip, 4);
	} else {
		p[0] = 0x60;
		p[5] = (uint8_t)l4;
		p[6] = t->proto;
		p[7] = 64;
		memcpy(p + 8, t->src.b, 16);
		memcpy(p + 24, t->dst.b, 16);
	}
	if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6) {
		h[0] = t->icmp.type;
		h[1] = t->icmp.code;
		h[4] = (uint8_t)(t->icmp.id >> 8);
		h[5] = (uint8_t)t->icmp.id;
		return l3 + l4;
	}
	h[0] = (uint8_t)(t->sport >> 8);
	h[1] = (uint8_t)t->sport;
	h[2] = (uint8_t)(t->dport >> 8);
	h[3] = (uint8_t)t->dport;
	if (t->proto == IPPROTO_TCP) {
		h[4] = (uint8_t)(seq >> 24);
		h[5] = (uint8_t)(seq >> 16);
		h[6] = (uint8_t)(seq >> 8);
		h[7] = (uint8_t)seq;
		h[12] = 5 << 4;
		h[13] = 0x18; /* ACK PSH */
		h[14] = 0xff;
		h[15] = 0xff;
	} else if (t->proto == IPPROTO_UDP) {
		h[5] = (uint8_t)l4;
	}
	return l3 + l4;
}

/* @now: the engine's time, which exported times are relative to. */
static void check_engine(struct qt_engine *e, uint64_t now)
{
	const struct qt_conn *ct;
	const struct qt_expect *exp;
	uint32_t cur = 0, n = 0;
	uint8_t buf[QT_REC_MAX];
	struct qt_rec rec, back;
	size_t len, used;

	while ((ct = qt_engine_next(e, &cur))) {
		struct qt_tuple t;
		enum qt_dir dir;

		for (int d = 0; d < 2; d++) {
			qt_conn_tuple(ct, (enum qt_dir)d, &t);
			if (qt_engine_find(e, &t, &dir) != ct)
				abort();
		}
		rec.type = QT_REC_CONN;
		qt_engine_export_conn(e, ct, now, &rec.conn);
		len = qt_rec_encode(&rec, buf, sizeof(buf));
		if (!len || qt_rec_decode(buf, len, &back, &used) != QT_REC_OK)
			abort();
		n++;
	}
	if (n != qt_engine_stats(e)->count)
		abort();
	cur = n = 0;
	while ((exp = qt_engine_expect_next(e, &cur))) {
		if (!qt_engine_expect_master(e, exp))
			abort();
		rec.type = QT_REC_EXPECT;
		qt_engine_export_expect(e, exp, now, &rec.expect);
		len = qt_rec_encode(&rec, buf, sizeof(buf));
		if (!len || qt_rec_decode(buf, len, &back, &used) != QT_REC_OK)
			abort();
		n++;
	}
	if (n != qt_engine_stats(e)->expect_count)
		abort();
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Fix every record's CRC, END's and the header's counts, and the
 * header's CRC, wherever the lengths allow. */
static void repair(uint8_t *b, size_t size)
{
	uint32_t c4 = 0, c6 = 0, nx = 0, nrec = 0;
	size_t off = QT_STATE_HDR_LEN;

	if (size < QT_STATE_HDR_LEN)
		return;
	while (size - off >= QT_REC_ENVELOPE + QT_REC_CRC) {
		size_t plen = (size_t)b[off + 2] << 8 | b[off + 3];
		size_t total = QT_REC_ENVELOPE + plen + QT_REC_CRC;
		uint8_t *pl = b + off + QT_REC_ENVELOPE;

		if (size - off < total)
			break;
		if (b[off] == QT_REC_END && plen == 16) {
			put_be32(pl, c4);
			put_be32(pl + 4, c6);
			put_be32(pl + 8, nx);
			put_be32(pl + 12, nrec);
		} else if (b[off] == QT_REC_CONN && plen) {
			if (pl[0] == 6)
				c6++;
			else
				c4++;
		} else if (b[off] == QT_REC_EXPECT) {
			nx++;
		}
		put_be32(b + off + total - QT_REC_CRC,
			 qt_crc32(0, b + off, total - QT_REC_CRC));
		if (b[off] == QT_REC_END)
			break;
		nrec++;
		off += total;
	}
	put_be32(b + 24, c4);
	put_be32(b + 28, c6);
	put_be32(b + 32, nx);
	put_be32(b + 44, qt_crc32(0, b, 44));
}

static void load(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	load(data, size);
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	repair(copy, size);
	load(copy, size);
	free(copy);
	return 0;
}

static void load(const uint8_t *data, size_t size)
{
	struct qt_state_hdr h;
	struct qt_conf conf;
	struct load l;
	struct qt_tuple tuples[64][2];
	const struct qt_conn *ct;
	unsigned nt = 0;
	uint32_t cur = 0;
	uint64_t now = 1000000;
	uint8_t pkt[128];

	if (qt_state_parse(data, size, &h, NULL, NULL, NULL) != QT_REC_OK)
		return;
	qt_conf_init(&conf);
	conf.table.max = 64;
	conf.table.buckets = 16;
	conf.table.accounting = h.saved_ms & 1;
	conf.helper.ftp_ports[0] = 21;
	conf.helper.n_ftp_ports = 1;
	conf.helper.expect_max = 8;
	l.e = qt_engine_new(&conf, now);
	if (!l.e)
		return;
	l.relearn = !(h.flags & QT_STATE_F_FINAL);
	/* The age from the file itself, so the fuzzer explores expiry. */
	l.age = (h.saved_ms >> 1) % (200ull * 1000);
	for (l.pass = 0; l.pass < 3; l.pass++)
		if (qt_state_parse(data, size, &h, load_one, &l, NULL) !=
		    QT_REC_OK)
			abort();
	check_engine(l.e, now);

	/* Packets of every restored flow, both ways, then expiry. */
	while ((ct = qt_engine_next(l.e, &cur)) && nt < 64) {
		qt_conn_tuple(ct, QT_DIR_ORIG, &tuples[nt][0]);
		qt_conn_tuple(ct, QT_DIR_REPLY, &tuples[nt][1]);
		nt++;
	}
	for (unsigned i = 0; i < nt; i++)
		for (int d = 0; d < 2; d++) {
			struct qt_result r;
			uint32_t len = build(&tuples[i][d], pkt,
					     (uint32_t)(h.saved_ms >> 8) + i);

			qt_engine_process(l.e, pkt, len, len, 0, now, &r);
		}
	check_engine(l.e, now);
	now += 10ull * 86400 * 1000;
	qt_engine_expire(l.e, now, 0);
	check_engine(l.e, now);
	qt_engine_free(l.e);
}

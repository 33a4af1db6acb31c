// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * statefile.c - the state file's header and the check of a whole file.
 *
 * A reader must be able to refuse a file before it changes anything, so
 * qt_state_parse() is meant to run twice: once to check (no callback),
 * then to load.  Checking a file of a million records costs one pass of
 * CRC-32 over it, a fraction of what loading them costs.
 */
#include <string.h>
#include <sys/socket.h>

#include "statefile.h"

static void be_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t be_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Layout (offsets in bytes):
 *    0  8  magic "QTRKSTAT"
 *    8  2  format version
 *   10  2  header length (48)
 *   12  4  byte order mark 0x01020304
 *   16  8  saved_ms
 *   24  4  IPv4 connections
 *   28  4  IPv6 connections
 *   32  4  expectations
 *   36  4  flags (QT_STATE_F_*)
 *   40  4  reserved, zero
 *   44  4  CRC-32 of bytes 0-43
 */
void qt_state_hdr_encode(const struct qt_state_hdr *h, uint8_t *buf)
{
	memset(buf, 0, QT_STATE_HDR_LEN);
	memcpy(buf, QT_STATE_MAGIC, 8);
	be_put(buf + 8, h->format, 2);
	be_put(buf + 10, QT_STATE_HDR_LEN, 2);
	be_put(buf + 12, QT_STATE_BOM, 4);
	be_put(buf + 16, h->saved_ms, 8);
	be_put(buf + 24, h->conns4, 4);
	be_put(buf + 28, h->conns6, 4);
	be_put(buf + 32, h->expects, 4);
	be_put(buf + 36, h->flags, 4);
	be_put(buf + 44, qt_crc32(0, buf, 44), 4);
}

enum qt_rec_err qt_state_hdr_decode(const uint8_t *buf, size_t len,
				    struct qt_state_hdr *h)
{
	uint32_t bom;

	/* A file too short to hold the magic is truncated only if what it
	 * holds is the magic's start. */
	if (memcmp(buf, QT_STATE_MAGIC, len < 8 ? len : 8) != 0)
		return QT_REC_E_MAGIC;
	if (len < 16)
		return QT_REC_E_TRUNCATED;
	if (memcmp(buf, QT_STATE_MAGIC, 8) != 0)
		return QT_REC_E_MAGIC;
	/* The byte order first: a file written little-endian would also
	 * show a strange version and length. */
	bom = (uint32_t)be_get(buf + 12, 4);
	if (bom == 0x04030201u)
		return QT_REC_E_BYTEORDER;
	if (bom != QT_STATE_BOM)
		return QT_REC_E_MAGIC;
	h->format = (uint16_t)be_get(buf + 8, 2);
	if (h->format != QT_STATE_FORMAT)
		return QT_REC_E_FORMAT;
	if (be_get(buf + 10, 2) != QT_STATE_HDR_LEN)
		return QT_REC_E_LENGTH;
	if (len < QT_STATE_HDR_LEN)
		return QT_REC_E_TRUNCATED;
	if (qt_crc32(0, buf, 44) != be_get(buf + 44, 4))
		return QT_REC_E_CHECKSUM;
	h->flags = (uint32_t)be_get(buf + 36, 4);
	if (h->flags & ~QT_STATE_F_ALL || be_get(buf + 40, 4) != 0)
		return QT_REC_E_FIELD;
	h->saved_ms = be_get(buf + 16, 8);
	h->conns4 = (uint32_t)be_get(buf + 24, 4);
	h->conns6 = (uint32_t)be_get(buf + 28, 4);
	h->expects = (uint32_t)be_get(buf + 32, 4);
	return QT_REC_OK;
}

void qt_state_tally_add(struct qt_state_tally *t, const struct qt_rec *rec)
{
	if (rec->type == QT_REC_CONN) {
		if (rec->conn.orig.family == AF_INET)
			t->conns4++;
		else
			t->conns6++;
	} else if (rec->type == QT_REC_EXPECT) {
		t->expects++;
	}
	t->records++;
}

void qt_state_tally_end(const struct qt_state_tally *t, struct qt_rec *end)
{
	memset(end, 0, sizeof(*end));
	end->type = QT_REC_END;
	end->end.conns4 = t->conns4;
	end->end.conns6 = t->conns6;
	end->end.expects = t->expects;
	end->end.records = t->records;
}

void qt_state_tally_hdr(const struct qt_state_tally *t, uint64_t saved_ms,
			uint32_t flags, struct qt_state_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->format = QT_STATE_FORMAT;
	h->flags = flags;
	h->saved_ms = saved_ms;
	h->conns4 = t->conns4;
	h->conns6 = t->conns6;
	h->expects = t->expects;
}

enum qt_rec_err qt_state_parse(const uint8_t *buf, size_t len,
			       struct qt_state_hdr *h, qt_state_fn fn,
			       void *arg, size_t *at)
{
	struct qt_state_tally t = {0};
	enum qt_rec_err err;
	struct qt_rec rec;
	size_t off = 0, used;

	err = qt_state_hdr_decode(buf, len, h);
	if (err != QT_REC_OK)
		goto out;
	off = QT_STATE_HDR_LEN;
	for (;;) {
		err = qt_rec_decode(buf + off, len - off, &rec, &used);
		if (err != QT_REC_OK)
			goto out;
		if (rec.type == QT_REC_END)
			break;
		qt_state_tally_add(&t, &rec);
		if (fn && fn(arg, &rec))
			return QT_REC_OK;
		off += used;
	}
	if (rec.end.conns4 != t.conns4 || rec.end.conns6 != t.conns6 ||
	    rec.end.expects != t.expects || rec.end.records != t.records ||
	    h->conns4 != t.conns4 || h->conns6 != t.conns6 ||
	    h->expects != t.expects) {
		err = QT_REC_E_COUNT;
		goto out;
	}
	off += used;
	if (off != len)
		err = QT_REC_E_TRAILING;
out:
	if (at)
		*at = off;
	return err;
}

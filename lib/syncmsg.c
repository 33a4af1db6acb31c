// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * syncmsg.c - encode, sign, authenticate and parse sync datagrams.
 */
#include <string.h>

#include "syncmsg.h"

static void put64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

const char *qt_sync_strerror(enum qt_sync_err err)
{
	static const char *const names[QT_SYNC_E_MAX] = {
	    [QT_SYNC_OK] = "ok",
	    [QT_SYNC_E_SHORT] = "too short",
	    [QT_SYNC_E_MAGIC] = "not a sync message",
	    [QT_SYNC_E_VERSION] = "unknown version",
	    [QT_SYNC_E_MAC] = "bad MAC (wrong key or damaged)",
	    [QT_SYNC_E_TYPE] = "unknown message type",
	    [QT_SYNC_E_ITEM] = "an item that does not parse",
	};

	return (unsigned)err < QT_SYNC_E_MAX ? names[err] : "unknown";
}

/* Header: magic (4), version (1), type (1), wall clock's microseconds
 * within its millisecond (2), epoch (8), seq (8), wall clock ms (8). */
size_t qt_sync_begin(uint8_t *buf, const struct qt_sync_hdr *h)
{
	memcpy(buf, QT_SYNC_MAGIC, 4);
	buf[4] = QT_SYNC_VERSION;
	buf[5] = h->type;
	buf[6] = (uint8_t)(h->wall_us >> 8);
	buf[7] = (uint8_t)h->wall_us;
	put64(buf + 8, h->epoch);
	put64(buf + 16, h->seq);
	put64(buf + 24, h->wall_ms);
	return QT_SYNC_HDR;
}

size_t qt_sync_add(uint8_t *buf, size_t off, enum qt_sync_op op, uint16_t queue,
		   const struct qt_rec *rec)
{
	size_t room = QT_SYNC_DGRAM_MAX - QT_SYNC_MAC, n = 0;

	if (off + QT_SYNC_ITEM_HDR > room)
		return 0;
	if (rec) {
		n = qt_rec_encode(rec, buf + off + QT_SYNC_ITEM_HDR,
				  room - off - QT_SYNC_ITEM_HDR);
		if (!n)
			return 0;
	}
	buf[off] = (uint8_t)op;
	buf[off + 1] = 0;
	buf[off + 2] = (uint8_t)(queue >> 8);
	buf[off + 3] = (uint8_t)queue;
	return off + QT_SYNC_ITEM_HDR + n;
}

size_t qt_sync_seal(uint8_t *buf, size_t len, const uint8_t *key, size_t keylen)
{
	qt_hmac_sha256(key, keylen, buf, len, buf + len);
	return len + QT_SYNC_MAC;
}

/* The record type each operation carries (0: none). */
static const uint8_t sync_op_rec[QT_SYNC_OP_MAX] = {
    [QT_SYNC_OP_CONN] = QT_REC_CONN,
    [QT_SYNC_OP_DESTROY] = QT_REC_CONN,
    [QT_SYNC_OP_EXPECT] = QT_REC_EXPECT,
};

/* Parse one item at *@off within @end; false if it does not parse. */
static bool sync_item(const uint8_t *buf, size_t end, size_t *off,
		      struct qt_sync_item *it)
{
	size_t used = 0;
	uint8_t op;

	if (end - *off < QT_SYNC_ITEM_HDR)
		return false;
	op = buf[*off];
	if (op == 0 || op >= QT_SYNC_OP_MAX || buf[*off + 1])
		return false;
	it->op = op;
	it->queue = (uint16_t)(buf[*off + 2] << 8 | buf[*off + 3]);
	*off += QT_SYNC_ITEM_HDR;
	if (!sync_op_rec[op])
		return true;
	if (qt_rec_decode(buf + *off, end - *off, &it->rec, &used) !=
		QT_REC_OK ||
	    it->rec.type != sync_op_rec[op])
		return false;
	*off += used;
	return true;
}

enum qt_sync_err qt_sync_check(const uint8_t *buf, size_t len,
			       const uint8_t *key, size_t keylen,
			       struct qt_sync_hdr *h)
{
	uint8_t mac[QT_SYNC_MAC];
	struct qt_sync_item it;
	size_t off, end;

	if (len < QT_SYNC_HDR + QT_SYNC_MAC || len > QT_SYNC_DGRAM_MAX)
		return QT_SYNC_E_SHORT;
	end = len - QT_SYNC_MAC;
	qt_hmac_sha256(key, keylen, buf, end, mac);
	if (!qt_hmac_equal(mac, buf + end, QT_SYNC_MAC))
		return QT_SYNC_E_MAC;
	if (memcmp(buf, QT_SYNC_MAGIC, 4))
		return QT_SYNC_E_MAGIC;
	if (buf[4] != QT_SYNC_VERSION || (buf[6] << 8 | buf[7]) >= 1000)
		return QT_SYNC_E_VERSION;
	if (buf[5] != QT_SYNC_DATA && buf[5] != QT_SYNC_RESYNC)
		return QT_SYNC_E_TYPE;
	h->type = buf[5];
	h->epoch = get64(buf + 8);
	h->seq = get64(buf + 16);
	h->wall_ms = get64(buf + 24);
	h->wall_us = (uint16_t)(buf[6] << 8 | buf[7]);
	/* Every item must parse before any is applied. */
	off = QT_SYNC_HDR;
	while (off < end)
		if (!sync_item(buf, end, &off, &it))
			return QT_SYNC_E_ITEM;
	if (h->type == QT_SYNC_RESYNC && end != QT_SYNC_HDR)
		return QT_SYNC_E_ITEM;
	return QT_SYNC_OK;
}

bool qt_sync_next(const uint8_t *buf, size_t len, size_t *off,
		  struct qt_sync_item *it)
{
	size_t end = len - QT_SYNC_MAC;

	if (*off < QT_SYNC_HDR)
		*off = QT_SYNC_HDR;
	if (*off >= end)
		return false;
	return sync_item(buf, end, off, it);
}

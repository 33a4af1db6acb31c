/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * syncmsg.h - the datagrams two qtrackd exchange to replicate the table
 * (docs/state-format.md, "The sync stream").
 *
 * A datagram is a header (magic, version, type, the sender's epoch and
 * sequence number, its wall clock), items, and an HMAC-SHA256 over all of
 * it under the pre-shared key.  An item is an operation, the queue whose
 * table it belongs to, and, for most operations, one record of the state
 * file's format (record.h).  Pure: no I/O; the checker refuses anything it
 * does not understand and never reads beyond the length it is given.
 */
#ifndef QTRACK_SYNCMSG_H
#define QTRACK_SYNCMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmac.h"
#include "record.h"

#define QT_SYNC_MAGIC "QTSY"
#define QT_SYNC_VERSION 1
#define QT_SYNC_HDR 32
#define QT_SYNC_MAC QT_SHA256_LEN
/* Datagrams stay below a 1500-byte MTU: no IP fragments on the link. */
#define QT_SYNC_DGRAM_MAX 1400
/* Item header: op (1), zero (1), queue (2). */
#define QT_SYNC_ITEM_HDR 4

/* Keys shorter than this are refused (they would be guessable). */
#define QT_SYNC_KEY_MIN 16
#define QT_SYNC_KEY_MAX 64

enum qt_sync_type {
	QT_SYNC_DATA = 1,   /* items; also the heartbeat (no items) */
	QT_SYNC_RESYNC = 2, /* "send me your whole table" (no items) */
};

enum qt_sync_op {
	QT_SYNC_OP_CONN = 1,	   /* CONN record: create or update */
	QT_SYNC_OP_DESTROY = 2,	   /* CONN record: only its tuple counts */
	QT_SYNC_OP_EXPECT = 3,	   /* EXPECT record */
	QT_SYNC_OP_DUMP_BEGIN = 4, /* no record: a full table follows */
	QT_SYNC_OP_DUMP_END = 5,   /* no record: the full table is sent */
	QT_SYNC_OP_MAX
};

struct qt_sync_hdr {
	uint8_t type;	  /* enum qt_sync_type */
	uint64_t epoch;	  /* random, chosen by the sender at start */
	uint64_t seq;	  /* per sender and epoch, from 1, +1 each */
	uint64_t wall_ms; /* sender's CLOCK_REALTIME: the records'
			   * reference time */
	uint16_t wall_us; /* its microseconds within wall_ms, 0..999 */
};

enum qt_sync_err {
	QT_SYNC_OK = 0,
	QT_SYNC_E_SHORT, /* shorter than header and MAC */
	QT_SYNC_E_MAGIC,
	QT_SYNC_E_VERSION,
	QT_SYNC_E_MAC, /* not signed with our key */
	QT_SYNC_E_TYPE,
	QT_SYNC_E_ITEM, /* an item that does not parse */
	QT_SYNC_E_MAX
};

const char *qt_sync_strerror(enum qt_sync_err err);

/* Start a datagram in @buf (QT_SYNC_DGRAM_MAX bytes): its header.
 * Returns the bytes used. */
size_t qt_sync_begin(uint8_t *buf, const struct qt_sync_hdr *h);

/* Append an item (op, queue and @rec, which may be NULL for the ops
 * without a record) at @off; returns the new length, or 0 when it does
 * not fit before the MAC. */
size_t qt_sync_add(uint8_t *buf, size_t off, enum qt_sync_op op, uint16_t queue,
		   const struct qt_rec *rec);

/* Sign the datagram of @len bytes; returns its final length. */
size_t qt_sync_seal(uint8_t *buf, size_t len, const uint8_t *key,
		    size_t keylen);

/* One item of a checked datagram. */
struct qt_sync_item {
	enum qt_sync_op op;
	uint16_t queue;
	struct qt_rec rec; /* CONN, DESTROY (a CONN record), EXPECT */
};

/*
 * qt_sync_check - authenticate and parse the datagram @buf of @len bytes:
 * the MAC first (nothing else is looked at before it matches), then the
 * header and every item.  On QT_SYNC_OK fills @h; the items are then read
 * with qt_sync_next().
 */
enum qt_sync_err qt_sync_check(const uint8_t *buf, size_t len,
			       const uint8_t *key, size_t keylen,
			       struct qt_sync_hdr *h);

/* The item at *@off of a datagram qt_sync_check() accepted; advances *@off.
 * Returns false at the end. */
bool qt_sync_next(const uint8_t *buf, size_t len, size_t *off,
		  struct qt_sync_item *it);

#endif

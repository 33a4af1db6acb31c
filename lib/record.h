/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * record.h - one connection or one expectation as a self-contained,
 * versioned, checksummed record of defined byte order (docs/state-format.md).
 *
 * The same records make the state file (statefile.h), `qtrackctl save`'s
 * output and, later, the replication stream between two qtrackd.  A record
 * is an envelope (type, version, payload length), a payload whose integers
 * are all big-endian, and a CRC-32 over both.  Times in a record are
 * relative: milliseconds left at a reference moment the container (the
 * file header, a sync message) states, so a record means the same on a
 * machine whose monotonic clock started elsewhere.
 *
 * Pure: no I/O, no allocation.  The decoder reads no byte beyond the length
 * it is given and refuses anything it does not understand: an unknown type
 * or version, a bad checksum, a length that is not the one the fields need,
 * a reserved bit set or a value out of its range.
 */
#ifndef QTRACK_RECORD_H
#define QTRACK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "expect.h"
#include "tuple.h"

/* Record types.  CONN and EXPECT carry table entries; the state file adds
 * SHARD (which queue's table the following records belong to) and END
 * (the last record, with the counts the reader checks). */
enum qt_rec_type {
	QT_REC_CONN = 1,
	QT_REC_EXPECT = 2,
	QT_REC_SHARD = 3,
	QT_REC_END = 4,
};

/* The version of every record type in this format, and the newest a
 * decoder reads.  CONN has a version 2: version 1 and the status bit
 * QT_REC_ST_OFFLOAD.  The encoder writes version 2 only for a record with
 * that bit, so that a reader of version 1 still reads every other one
 * (and refuses those, which it could not restore faithfully). */
#define QT_REC_VERSION 1
#define QT_REC_VERSION_CONN_MAX 2

/* Envelope: type (1), version (1), payload length (2); then the payload;
 * then the CRC-32 (4). */
#define QT_REC_ENVELOPE 4
#define QT_REC_CRC 4
/* No record is longer (a TCP connection with every optional part). */
#define QT_REC_MAX 256

/* Status bits as the record spells them; the engine's QT_CONN_* bits are
 * mapped to these and back, so a change inside the engine does not
 * silently change the format. */
#define QT_REC_ST_SEEN_REPLY 0x01
#define QT_REC_ST_ASSURED 0x02
#define QT_REC_ST_EXPECTED 0x04
#define QT_REC_ST_ALL 0x07
/* Version 2: the connection's packets took the daemon's nftables fast
 * path when the record was written, so its TCP window data is stale; an
 * import makes its window tracking liberal, as on leaving the fast path.
 * Not an engine status bit (qt_rec_status_to_conn() ignores it). */
#define QT_REC_ST_OFFLOAD 0x08
#define QT_REC_ST_ALL_V2 0x0f

/* Optional parts of a connection record (the "parts" byte). */
#define QT_REC_P_ACCT 0x01	/* packet and byte counters */
#define QT_REC_P_HELP 0x02	/* helper state (FTP sequence numbers) */
#define QT_REC_P_MASTER 0x04	/* the master's original tuple */
#define QT_REC_P_SCTP 0x08	/* SCTP state and verification tags */
#define QT_REC_P_ALL 0x0f

/* What a connection needs to continue exactly where it was. */
struct qt_rec_conn {
	struct qt_tuple orig;	/* the reply tuple is derived from it */
	uint8_t status;		/* QT_REC_ST_* */
	uint8_t helper;		/* enum qt_helper */
	uint8_t parts;		/* QT_REC_P_*: which parts below are valid */
	uint32_t timeout;	/* seconds of the current timeout */
	uint64_t left_ms;	/* until it expires, at the reference time */
	uint32_t mark;		/* connmark bits */
	/* UDP and UDP-Lite: ms until the flow may go stream (0: already) */
	uint64_t udp_wait_ms;
	struct qt_tcp_conn tcp;	/* TCP only */
	struct qt_acct acct;	/* QT_REC_P_ACCT */
	uint32_t seq_aft_nl[2][QT_FTP_SEQ_REMEMBER]; /* QT_REC_P_HELP */
	uint8_t n_seq[2];
	struct qt_tuple master;	/* QT_REC_P_MASTER */
	struct qt_sctp_conn sctp; /* QT_REC_P_SCTP: state, flags, vtag */
};

/* An expectation, with the original tuple of its master. */
struct qt_rec_expect {
	struct qt_tuple tuple;	/* expected original tuple */
	struct qt_tuple master;
	uint8_t flags;		/* QT_EXPECT_* */
	uint8_t helper;		/* enum qt_helper */
	uint32_t timeout;	/* seconds it was armed with */
	uint64_t left_ms;	/* until it expires, at the reference time */
};

/* The state file's framing records. */
struct qt_rec_shard {
	uint16_t queue;		/* NFQUEUE number whose table follows */
};

struct qt_rec_end {
	uint32_t conns4;	/* IPv4 connections in the file */
	uint32_t conns6;	/* IPv6 connections */
	uint32_t expects;	/* expectations */
	uint32_t records;	/* records before this one, all types */
};

/* One decoded record. */
struct qt_rec {
	enum qt_rec_type type;
	union {
		struct qt_rec_conn conn;
		struct qt_rec_expect expect;
		struct qt_rec_shard shard;
		struct qt_rec_end end;
	};
};

/* Why a record (or a state file) was refused. */
enum qt_rec_err {
	QT_REC_OK = 0,
	QT_REC_E_TRUNCATED,	/* fewer bytes than the record needs */
	QT_REC_E_CHECKSUM,	/* CRC mismatch */
	QT_REC_E_TYPE,		/* unknown record type */
	QT_REC_E_VERSION,	/* unknown record version */
	QT_REC_E_LENGTH,	/* payload length not the fields' */
	QT_REC_E_FIELD,		/* a value out of range, a reserved bit */
	QT_REC_E_MAGIC,		/* file: not a qtrack state file */
	QT_REC_E_FORMAT,	/* file: a format version we do not read */
	QT_REC_E_BYTEORDER,	/* file: written in another byte order */
	QT_REC_E_COUNT,		/* file: END's counts disagree */
	QT_REC_E_ORDER,		/* file: a record where it cannot be */
	QT_REC_E_TRAILING,	/* file: bytes after END */
	QT_REC_E_MAX
};

/* A short English description of @err ("bad checksum"). */
const char *qt_rec_strerror(enum qt_rec_err err);

/* CRC-32 (IEEE 802.3, as zlib's crc32()) of @len bytes, continuing @crc
 * (0 to start). */
uint32_t qt_crc32(uint32_t crc, const void *data, size_t len);

/*
 * qt_rec_encode - write @rec into @buf (@len bytes of room).
 * Returns the record's length, or 0 when it does not fit or @rec holds a
 * value the format cannot carry (it is then a bug in the caller).
 */
size_t qt_rec_encode(const struct qt_rec *rec, uint8_t *buf, size_t len);

/*
 * qt_rec_decode - read the record at @buf (@len bytes available; more may
 * follow it).  On QT_REC_OK fills @rec and *@used with the record's
 * length; on any other result @rec is unspecified.  Never reads beyond
 * @len and never trusts a length before checking it against @len.
 */
enum qt_rec_err qt_rec_decode(const uint8_t *buf, size_t len,
			      struct qt_rec *rec, size_t *used);

/* Engine status bits <-> record status bits (only the ones a record
 * carries; QT_CONN_CONFIRMED is implied by being in a record). */
uint8_t qt_rec_status_from_conn(uint8_t conn_status);
uint8_t qt_rec_status_to_conn(uint8_t rec_status);

#endif

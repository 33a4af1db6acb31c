/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * statefile.h - the state file's framing (docs/state-format.md): a fixed
 * header, then records (record.h), the last of them END.
 *
 * Pure, like the rest of the library: the daemon and qtrackctl do the
 * reading and writing of files, this only encodes the header and checks
 * and walks a whole file held in memory.
 */
#ifndef QTRACK_STATEFILE_H
#define QTRACK_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define QT_STATE_MAGIC "QTRKSTAT"
#define QT_STATE_FORMAT 1
#define QT_STATE_HDR_LEN 48
/* The byte order mark: written big-endian it reads 01 02 03 04. */
#define QT_STATE_BOM 0x01020304u

/* Header flags. */
#define QT_STATE_F_FINAL 0x01	/* written after the last packet (a clean
				 * stop): the TCP window data is exact */
#define QT_STATE_F_ALL 0x01

struct qt_state_hdr {
	uint16_t format;	/* QT_STATE_FORMAT */
	uint32_t flags;		/* QT_STATE_F_* */
	uint64_t saved_ms;	/* wall clock (ms since the Unix epoch) at
				 * which the records' left_ms were true */
	uint32_t conns4;	/* the table's family mix */
	uint32_t conns6;
	uint32_t expects;
};

/* Write @h as the QT_STATE_HDR_LEN bytes at @buf. */
void qt_state_hdr_encode(const struct qt_state_hdr *h, uint8_t *buf);

/* Read the header at @buf (@len bytes available). */
enum qt_rec_err qt_state_hdr_decode(const uint8_t *buf, size_t len,
				    struct qt_state_hdr *h);

/* Counts of what a writer has written so far; the END record and the
 * header are made from them. */
struct qt_state_tally {
	uint32_t conns4;
	uint32_t conns6;
	uint32_t expects;
	uint32_t records;
};

/* Count @rec (any type but END). */
void qt_state_tally_add(struct qt_state_tally *t, const struct qt_rec *rec);

/* The END record for @t. */
void qt_state_tally_end(const struct qt_state_tally *t, struct qt_rec *end);

/* The header that goes with @t, @saved_ms and @flags. */
void qt_state_tally_hdr(const struct qt_state_tally *t, uint64_t saved_ms,
			uint32_t flags, struct qt_state_hdr *h);

/* Called for each record of a file, END excepted, in order; a non-zero
 * return stops the walk (qt_state_parse() then returns QT_REC_OK). */
typedef int (*qt_state_fn)(void *arg, const struct qt_rec *rec);

/*
 * qt_state_parse - check the whole file at @buf (@len bytes): header,
 * every record, END last with counts that match the records and the
 * header, nothing after it.  Fills @h.  With @fn NULL nothing else
 * happens; otherwise @fn sees every record, which is only worth doing
 * once a first call without @fn has accepted the file.  On error *@at
 * (if not NULL) receives the offset of the offending header or record.
 */
enum qt_rec_err qt_state_parse(const uint8_t *buf, size_t len,
			       struct qt_state_hdr *h, qt_state_fn fn,
			       void *arg, size_t *at);

#endif

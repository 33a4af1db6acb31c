/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conn.h - one tracked connection, as the kernel's struct nf_conn.
 */
#ifndef QTRACK_CONN_H
#define QTRACK_CONN_H

#include <stdint.h>

#include "conf.h"
#include "timer.h"
#include "tuple.h"

/* ct->status bits (a subset of the kernel's IPS_*). */
#define QT_CONN_SEEN_REPLY	0x01	/* a reply-direction packet was seen */
#define QT_CONN_ASSURED		0x02	/* never early-dropped */
#define QT_CONN_EXPECTED	0x04	/* created from an expectation */
#define QT_CONN_CONFIRMED	0x08	/* in the hash (survived its 1st packet) */

/* Per-direction TCP window data, the kernel's struct ip_ct_tcp_state. */
#define QT_TCPF_WINDOW_SCALE	0x01	/* the sender offered window scaling */
#define QT_TCPF_SACK_PERM	0x02	/* the sender offered SACK */
#define QT_TCPF_CLOSE_INIT	0x04	/* the sender sent the first FIN/RST */
#define QT_TCPF_BE_LIBERAL	0x08	/* no window checks for this sender */
#define QT_TCPF_DATA_UNACKED	0x10	/* the sender has unacknowledged data */
#define QT_TCPF_MAXACK_SET	0x20	/* td_maxack is valid */
#define QT_TCPF_CHALLENGE_ACK	0x40	/* a challenge ACK is expected */
#define QT_TCPF_SIMULTANEOUS	0x80	/* simultaneous open seen */

struct qt_tcp_dir {
	uint32_t end;		/* td_end: highest seq + len sent */
	uint32_t maxend;	/* td_maxend: highest ack + window seen */
	uint32_t maxwin;	/* td_maxwin: largest window seen */
	uint32_t maxack;	/* td_maxack: highest ack sent */
	uint8_t scale;		/* td_scale: window scale factor */
	uint8_t flags;		/* QT_TCPF_* */
};

struct qt_tcp_conn {
	struct qt_tcp_dir seen[2];
	uint8_t state;		/* enum qt_tcp_state */
	uint8_t last_dir;	/* direction of the last packet */
	uint8_t retrans;	/* retransmissions seen of the last packet */
	uint8_t last_index;	/* packet class of the last packet */
	uint32_t last_seq;
	uint32_t last_ack;
	uint32_t last_end;
	uint16_t last_win;
	uint8_t last_wscale;	/* window scale in a SYN/ACK we ignored */
	uint8_t last_flags;	/* QT_TCPF_* of that SYN/ACK */
};

/* A 64-bit field that needs only 4-byte alignment, so that it does not
 * pad the protocol union (and the entry) to a multiple of 8. */
typedef uint64_t qt_u64_a4 __attribute__((aligned(4)));

/*
 * Layout: 128 bytes, two cache lines (the pool is 2 MB aligned).  The
 * first line holds what the lookup and the timer touch: the tuple, the
 * timer, status and the start of the TCP state; the second the rest of it,
 * the timeout, connmark and id.  The [table] accounting counters live
 * outside (struct qt_acct), and so do the index links (overflow buckets,
 * table.c).  Only the original tuple is stored: the reply tuple is its
 * inverse (the tracker's invert(), a swap of addresses and ports, or of the
 * ICMP type), computed by qt_conn_tuple().  status and helper share a byte
 * (bit-fields: four status bits, helper an enum of two values), and the
 * conn has no master field (an expectation names its master; nothing
 * asked a connection for its own).
 */
struct qt_conn {
	struct qt_tuple tuple[1];	/* [QT_DIR_ORIG] only; see above */
	struct qt_timer timer;
	uint8_t status : 4;	/* QT_CONN_* */
	uint8_t helper : 4;	/* enum qt_helper, 0 for none */
	uint8_t nexpect;	/* live expectations this conn is master of */
	uint16_t help;		/* 1 + helper state index (expect.h), 0 none */
	union {
		struct qt_tcp_conn tcp;
		struct {
			qt_u64_a4 stream_ts;	/* ms: when UDP may go stream */
		} udp;
	} proto;
	uint32_t timeout;	/* seconds of the current timeout */
	uint32_t mark;		/* connmark bits */
	uint32_t id;		/* unique, never reused while alive */
};

_Static_assert(sizeof(struct qt_conn) == 128, "qt_conn: 128 bytes");

/* Packets and bytes per direction of one connection ([table] accounting).
 * Kept in an array beside the pool (struct qt_table.acct), indexed like
 * it and mapped only once accounting is first switched on: without
 * accounting they would be 32 dead bytes in every entry. */
struct qt_acct {
	uint64_t packets[2];
	uint64_t bytes[2];
};

/* The tuple of @ct in direction @dir.  The reply tuple is the inverse of
 * the original one, as the connection's tracker computes it. */
void qt_conn_tuple(const struct qt_conn *ct, enum qt_dir dir,
		   struct qt_tuple *out);

#define QT_NO_CONN UINT32_MAX

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conn.h - one tracked connection, as the kernel's struct nf_conn.
 */
#ifndef QTRACK_CONN_H
#define QTRACK_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "timer.h"
#include "tuple.h"

/* ct->status bits (a subset of the kernel's IPS_*). */
#define QT_CONN_SEEN_REPLY	0x01	/* a reply-direction packet was seen */
#define QT_CONN_ASSURED		0x02	/* never early-dropped */
#define QT_CONN_EXPECTED	0x04	/* created from an expectation */
#define QT_CONN_HASHED		0x08	/* in the index: a live entry */
#define QT_CONN_CONFIRMED	0x10	/* its first packet passed the rules */

/* Per-direction TCP window data, the kernel's struct ip_ct_tcp_state. */
#define QT_TCPF_WINDOW_SCALE	0x01	/* the sender offered window scaling */
#define QT_TCPF_SACK_PERM	0x02	/* the sender offered SACK */
#define QT_TCPF_CLOSE_INIT	0x04	/* the sender sent the first FIN/RST */
#define QT_TCPF_BE_LIBERAL	0x08	/* no window checks for this sender */
#define QT_TCPF_DATA_UNACKED	0x10	/* the sender has unacknowledged data */
#define QT_TCPF_MAXACK_SET	0x20	/* td_maxack is valid */
#define QT_TCPF_CHALLENGE_ACK	0x40	/* a challenge ACK is expected */
#define QT_TCPF_SIMULTANEOUS	0x80	/* simultaneous open seen */

/* The window data of one direction.  Its window scale and QT_TCPF_*
 * flags live beside the pair in struct qt_tcp_conn (scale[], flags[]):
 * inside it they would pad each direction by two bytes. */
struct qt_tcp_dir {
	uint32_t end;		/* td_end: highest seq + len sent */
	uint32_t maxend;	/* td_maxend: highest ack + window seen */
	uint32_t maxwin;	/* td_maxwin: largest window seen */
	uint32_t maxack;	/* td_maxack: highest ack sent */
};

struct qt_tcp_conn {
	struct qt_tcp_dir seen[2];
	uint8_t scale[2];	/* td_scale per direction: window scale */
	uint8_t flags[2];	/* QT_TCPF_* per direction */
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

_Static_assert(sizeof(struct qt_tcp_conn) == 56, "qt_tcp_conn: 56 bytes");

/*
 * ct->proto.sctp.flags: HB_VTAG_FAILED, a heartbeat came with a tag not
 * expected (a path restart?), LAST_REPLY from the reply side; INIT_ORIG
 * and INIT_REPLY, an INIT was seen from that side since the last
 * COOKIE_ACK; FRESH, set by new(): the packet that creates the entry is
 * being tracked.
 */
#define QT_SCTPF_HB_VTAG_FAILED	0x01
#define QT_SCTPF_INIT_ORIG	0x02
#define QT_SCTPF_INIT_REPLY	0x04
#define QT_SCTPF_FRESH		0x08
#define QT_SCTPF_LAST_REPLY	0x10

/*
 * SCTP, the kernel's struct ip_ct_sctp.  The engine compares the byte at
 * proto.tcp.state before and after a packet to send an UPDATE event, so
 * the SCTP state sits at the same offset (the assertion below).
 */
struct qt_sctp_conn {
	uint32_t vtag[2];	/* expected verification tag per direction,
				 * host order */
	uint8_t unused[28];
	uint8_t state;		/* enum qt_sctp_state */
	uint8_t flags;		/* QT_SCTPF_* */
};

/* A 64-bit field that needs only 4-byte alignment, so that it does not
 * pad the protocol union (and the entry) to a multiple of 8. */
typedef uint64_t qt_u64_a4 __attribute__((aligned(4)));

/* The addresses of an IPv6 connection's original tuple, kept out of the
 * entry (struct qt_table.addr6, indexed like the pool). */
struct qt_addr6pair {
	union qt_addr src;
	union qt_addr dst;
};

/* The longest timeout ct->timeout holds, in seconds (~194 days; the
 * longest configurable one is 100 days). */
#define QT_CONN_TIMEOUT_MAX ((UINT32_C(1) << 24) - 1)

/*
 * Layout: 96 bytes.  Entries start at multiples of 32 bytes of a 2 MB
 * aligned pool, so wherever one sits it spans exactly two cache lines,
 * and what a lookup reads first (the original tuple) and the timer are
 * always in the first of them, with the start of the TCP state.
 *
 *   off size
 *     0    8  addr: IPv4 source and destination, or the IPv6 pair's address
 *     8    4  l4: sport/dport, or ICMP id/type/code, as in struct qt_tuple
 *    12    1  l4proto
 *    13    1  status:5, helper:2, v6:1
 *    14    2  help
 *    16   12  timer
 *    28   56  proto (tcp; udp.stream_ts)
 *    84    4  timeout:24, nexpect:8
 *    88    4  mark
 *    92    4  id
 *
 * Only the original tuple is stored, and in a compact form: IPv4
 * addresses inline (24 of the 32 address bytes of a struct qt_tuple
 * would be zero), IPv6 ones in the table's address store, family as the
 * v6 bit.  qt_conn_tuple() rebuilds the full tuple of either direction;
 * the reply tuple is the inverse of the original one (the tracker's
 * invert(): a swap of addresses and ports, or of the ICMP type).  A conn
 * gets its tuple from qt_table_set_tuple(), or qt_conn_set_tuple() when
 * built by hand.  The [table] accounting counters live outside (struct
 * qt_acct), and so do the index links (overflow buckets, table.c).  The
 * conn has no master field (an expectation names its master; nothing
 * asked a connection for its own).
 */
struct qt_conn {
	union {
		uint32_t ip4[2];	/* AF_INET: src, dst, network order */
		struct qt_addr6pair *ip6; /* AF_INET6 */
	} addr;
	union {
		struct {
			uint16_t sport;
			uint16_t dport;
		};
		struct {
			uint16_t id;
			uint8_t type;
			uint8_t code;
		} icmp;
		uint32_t l4;	/* both identifiers as one word */
	};
	uint8_t l4proto;	/* IPPROTO_* */
	uint8_t status : 5;	/* QT_CONN_* */
	uint8_t helper : 2;	/* enum qt_helper, 0 for none */
	uint8_t v6 : 1;		/* AF_INET6: addresses in *addr.ip6 */
	uint16_t help;		/* 1 + helper state index (expect.h), 0 none */
	struct qt_timer timer;
	union {
		struct qt_tcp_conn tcp;
		struct qt_sctp_conn sctp;
		struct {
			qt_u64_a4 stream_ts;	/* ms: when UDP may go stream */
		} udp;
	} proto;
	uint32_t timeout : 24;	/* seconds of the current timeout */
	uint32_t nexpect : 8;	/* live expectations it is master of */
	uint32_t mark;		/* connmark bits */
	uint32_t id;		/* unique, never reused while alive */
};

_Static_assert(sizeof(struct qt_conn) == 96, "qt_conn: 96 bytes");
_Static_assert(offsetof(struct qt_conn, l4) == 8, "qt_conn: l4");
_Static_assert(offsetof(struct qt_conn, l4proto) == 12, "qt_conn: l4proto");
_Static_assert(offsetof(struct qt_conn, help) == 14, "qt_conn: help");
_Static_assert(offsetof(struct qt_conn, timer) == 16, "qt_conn: timer");
_Static_assert(offsetof(struct qt_conn, proto) == 28, "qt_conn: proto");
_Static_assert(offsetof(struct qt_conn, proto.sctp.state) ==
		       offsetof(struct qt_conn, proto.tcp.state),
	       "qt_conn: the SCTP state shares the TCP state's byte");
_Static_assert(offsetof(struct qt_conn, mark) == 88, "qt_conn: mark");
_Static_assert(offsetof(struct qt_conn, id) == 92, "qt_conn: id");

/* Packets and bytes per direction of one connection ([table] accounting).
 * Kept in an array beside the pool (struct qt_table.acct), indexed like
 * it and mapped only once accounting is first switched on: without
 * accounting they would be 32 dead bytes in every entry. */
struct qt_acct {
	uint64_t packets[2];
	uint64_t bytes[2];
};

static inline uint8_t qt_conn_l4proto(const struct qt_conn *ct)
{
	return ct->l4proto;
}

/* AF_INET or AF_INET6. */
static inline uint8_t qt_conn_family(const struct qt_conn *ct)
{
	return ct->v6 ? AF_INET6 : AF_INET;
}

/* The ICMP type of the original tuple (meaningful for ICMP, ICMPv6). */
static inline uint8_t qt_conn_icmp_type(const struct qt_conn *ct)
{
	return ct->icmp.type;
}

/* The original tuple of @ct, rebuilt in full. */
static inline void qt_conn_tuple_orig(const struct qt_conn *ct,
				      struct qt_tuple *out)
{
	memset(out, 0, sizeof(*out));
	if (ct->v6) {
		out->src = ct->addr.ip6->src;
		out->dst = ct->addr.ip6->dst;
	} else {
		out->src.ip = ct->addr.ip4[0];
		out->dst.ip = ct->addr.ip4[1];
	}
	out->l4 = ct->l4;
	out->family = qt_conn_family(ct);
	out->proto = ct->l4proto;
}

/* The tuple of @ct in direction @dir.  The reply tuple is the inverse of
 * the original one, as the connection's tracker computes it. */
void qt_conn_tuple(const struct qt_conn *ct, enum qt_dir dir,
		   struct qt_tuple *out);

/*
 * qt_conn_set_tuple - make @tp (AF_INET or AF_INET6) the original tuple of
 * @ct.  An IPv6 tuple's addresses go to *@store, which must outlive @ct's
 * use; @store may be NULL for IPv4.  For conns built outside a table (unit
 * tests, fuzzers); a table's entries use qt_table_set_tuple().  Returns 0,
 * or -1 with errno EINVAL: another family, or IPv6 without a store.
 */
int qt_conn_set_tuple(struct qt_conn *ct, const struct qt_tuple *tp,
		      struct qt_addr6pair *store);

#define QT_NO_CONN UINT32_MAX

#endif

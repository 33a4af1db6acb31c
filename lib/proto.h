/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proto.h - the operations every layer 4 tracker fills in.
 *
 * The engine dispatches on the packet's protocol number through
 * qt_proto_find() and never looks at protocol headers itself.  Each tracker
 * lives in its own file (proto_tcp.c, proto_udp.c, proto_icmp.c,
 * proto_sctp.c, proto_gre.c, proto_generic.c) and ends in one const
 * struct qt_proto_ops.
 */
#ifndef QTRACK_PROTO_H
#define QTRACK_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "conn.h"
#include "packet.h"
#include "qtrack.h"

/* What a tracker is given besides the packet. */
struct qt_proto_ctx {
	const struct qt_conf *conf;
	uint64_t now;		/* ms */
};

/* Outcome of qt_proto_ops.packet(). */
enum qt_verdict {
	QT_V_ACCEPT,	/* valid; *timeout holds the new timeout */
	QT_V_IGNORE,	/* valid, but state and timeout stay as they are */
	QT_V_INVALID,	/* invalid; *why says why; the conn is untouched */
	QT_V_RESTART,	/* the conn is closed and this packet starts a new
			 * one (TCP port reuse): the engine destroys the conn
			 * and processes the packet again */
	QT_V_DESTROY,	/* valid; classify the packet with the conn, then
			 * destroy the conn (the kernel's nf_ct_kill followed
			 * by NF_ACCEPT, e.g. a RST as the only reply) */
};

struct qt_proto_ops {
	uint8_t proto;		/* IPPROTO_*; 0 for the generic tracker */
	const char *name;	/* as conntrack -L prints it: "tcp" */
	bool checksum;		/* the kernel verifies this protocol's
				 * checksum (nf_conntrack_checksum) */

	/*
	 * pre - optional; classify a packet before any lookup.
	 * Returns QT_CT_MAX to go on with lookup and tracking, or a final
	 * state: QT_CT_UNTRACKED (e.g. neighbour discovery), QT_CT_INVALID
	 * with *why set, or QT_CT_RELATED meaning "this is an ICMP error:
	 * the engine must find the connection quoted in pkt->inner".
	 */
	enum qt_ct_state (*pre)(const struct qt_pkt *pkt,
				const struct qt_proto_ctx *ctx,
				enum qt_reason *why);

	/* Compute the reply tuple of @orig.  Returns false when the tuple
	 * has no inverse (an ICMP type without a reply type). */
	bool (*invert)(struct qt_tuple *reply, const struct qt_tuple *orig);

	/*
	 * new - may @pkt create a connection?  If so, initialise ct->proto
	 * and return QT_R_NONE; else return the reason it is INVALID.
	 * @ct's original tuple is already set.  packet() is called next
	 * with QT_DIR_ORIG for the same packet, as in the kernel.
	 */
	enum qt_reason (*new)(struct qt_conn *ct, const struct qt_pkt *pkt,
			      const struct qt_proto_ctx *ctx);

	/*
	 * packet - track @pkt travelling in @dir.  On QT_V_ACCEPT sets
	 * *timeout (seconds) and may set QT_CONN_ASSURED in ct->status; on
	 * QT_V_INVALID sets *why.
	 * As in the kernel's nf_conntrack_in(), QT_CONN_SEEN_REPLY is set
	 * by the engine AFTER packet() accepts the first reply-direction
	 * packet: while packet() runs for that first reply the bit is still
	 * clear (so "RST as the only reply" and the UDP stream rule work as
	 * in the kernel).
	 */
	enum qt_verdict (*packet)(struct qt_conn *ct, const struct qt_pkt *pkt,
				  enum qt_dir dir,
				  const struct qt_proto_ctx *ctx,
				  uint32_t *timeout, enum qt_reason *why);

	/* Name of the protocol state for conntrack -L ("ESTABLISHED"), or
	 * NULL for protocols that print none.  May be NULL. */
	const char *(*state_name)(const struct qt_conn *ct);

	/* Whether early drop may evict @ct when the table is full (besides
	 * the rule that ASSURED conns are never evicted).  May be NULL:
	 * then any non-assured conn may go. */
	bool (*can_early_drop)(const struct qt_conn *ct);

	/*
	 * steady - optional; the tracker's short way for the bulk of all
	 * packets.  The engine calls it, instead of pre() and packet(),
	 * for a packet that is not a fragment (its checksum verified if it
	 * is to be) of a connection that is confirmed, assured, has seen
	 * both directions and has no helper, with the packet's view @v
	 * (packet.h) rather than the whole packet: so that it can run
	 * before, or without, the full parse.  Returns true having tracked
	 * @v exactly as pre() and packet() would when they let it through
	 * with QT_V_ACCEPT, *timeout set, and neither ct->status nor the
	 * protocol state changed (no UPDATE event); false having changed
	 * nothing, and the engine then takes the full way.  NULL: every
	 * packet takes the full way.
	 */
	bool (*steady)(struct qt_conn *ct, const struct qt_pkt_view *v,
		       enum qt_dir dir, const struct qt_proto_ctx *ctx,
		       uint32_t *timeout);
};

extern const struct qt_proto_ops qt_proto_tcp;
extern const struct qt_proto_ops qt_proto_udp;
extern const struct qt_proto_ops qt_proto_udplite;
extern const struct qt_proto_ops qt_proto_icmp;
extern const struct qt_proto_ops qt_proto_icmpv6;
extern const struct qt_proto_ops qt_proto_sctp;
extern const struct qt_proto_ops qt_proto_gre;
extern const struct qt_proto_ops qt_proto_generic;

/* The tracker for @proto: TCP, UDP, UDP-Lite, ICMP, ICMPv6, SCTP, GRE or
 * the generic one.  Inline: the engine asks once per packet, and a call was a
 * measurable part of the established path. */
static inline const struct qt_proto_ops *qt_proto_find(uint8_t proto)
{
	/* TCP first: most packets are TCP, and a switch compiles to a
	 * search that tests it third. */
	if (proto == 6)		/* IPPROTO_TCP */
		return &qt_proto_tcp;
	switch (proto) {
	case 17:	/* IPPROTO_UDP */
		return &qt_proto_udp;
	case 136:	/* IPPROTO_UDPLITE */
		return &qt_proto_udplite;
	case 1:		/* IPPROTO_ICMP */
		return &qt_proto_icmp;
	case 58:	/* IPPROTO_ICMPV6 */
		return &qt_proto_icmpv6;
	case 132:	/* IPPROTO_SCTP */
		return &qt_proto_sctp;
	case 47:	/* IPPROTO_GRE */
		return &qt_proto_gre;
	default:
		return &qt_proto_generic;
	}
}

/* The protocol name conntrack -L prints for @proto ("unknown" for ones it
 * has no name for). */
const char *qt_proto_name(uint8_t proto);

/* TCP state names as the kernel prints them ("SYN_SENT", ...). */
const char *qt_tcp_state_name(enum qt_tcp_state s);

/* SCTP state names as the kernel prints them ("COOKIE_WAIT", ...). */
const char *qt_sctp_state_name(enum qt_sctp_state s);

#endif

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proto_icmp.c - ICMP and ICMPv6, as nf_conntrack_proto_icmp.c and
 * nf_conntrack_proto_icmpv6.c track them.
 *
 * Query messages (echo, timestamp, information, address mask; ICMPv6 echo
 * and node information) form request/reply connections keyed by type, code
 * and identifier; only a request can start one, so an unsolicited reply is
 * INVALID.  Error messages are handed back to the engine (pre() returns
 * QT_CT_RELATED), which finds the connection of the quoted packet.
 * Neighbour discovery and MLD are UNTRACKED, as in the kernel.
 */
#include "proto.h"

/* Reply type of each request type and back; 0xff = no inverse.  ICMP echo
 * reply is type 0, so the table stores type + 1 and 0 means none. */
static const uint8_t icmp_inverse[] = {
	[8] = 0 + 1,  [0] = 8 + 1,	/* echo request / reply */
	[13] = 14 + 1, [14] = 13 + 1,	/* timestamp */
	[15] = 16 + 1, [16] = 15 + 1,	/* information */
	[17] = 18 + 1, [18] = 17 + 1,	/* address mask */
};

/* The types that may open a connection. */
static const bool icmp_valid_new[] = {
	[8] = true, [13] = true, [15] = true, [17] = true,
};

static const uint8_t icmpv6_inverse[] = {
	[128 - 128] = 129 + 1, [129 - 128] = 128 + 1,	/* echo */
	[139 - 128] = 140 + 1, [140 - 128] = 139 + 1,	/* node information */
};

static const bool icmpv6_valid_new[] = {
	[128 - 128] = true, [139 - 128] = true,
};

/* Multicast listener and neighbour discovery messages: the kernel gives
 * them no connection (nf_conntrack_icmpv6's noct_valid_new). */
static const bool icmpv6_untracked[] = {
	[130 - 128] = true, [131 - 128] = true, [132 - 128] = true,
	[133 - 128] = true, [134 - 128] = true, [135 - 128] = true,
	[136 - 128] = true, [143 - 128] = true,
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool icmp_tuple_invert(struct qt_tuple *reply,
			      const struct qt_tuple *orig, uint8_t inv_type)
{
	*reply = *orig;
	reply->src = orig->dst;
	reply->dst = orig->src;
	reply->icmp.type = inv_type;
	return true;
}

static bool icmp_invert(struct qt_tuple *reply, const struct qt_tuple *orig)
{
	uint8_t t = orig->icmp.type;

	if (t >= ARRAY_SIZE(icmp_inverse) || !icmp_inverse[t])
		return false;
	return icmp_tuple_invert(reply, orig, icmp_inverse[t] - 1);
}

static bool icmpv6_invert(struct qt_tuple *reply, const struct qt_tuple *orig)
{
	unsigned t = orig->icmp.type;

	if (t < 128 || t - 128 >= ARRAY_SIZE(icmpv6_inverse) ||
	    !icmpv6_inverse[t - 128])
		return false;
	return icmp_tuple_invert(reply, orig, icmpv6_inverse[t - 128] - 1);
}

static enum qt_ct_state icmp_pre(const struct qt_pkt *pkt,
				 const struct qt_proto_ctx *ctx,
				 enum qt_reason *why)
{
	return pkt->icmp.is_error ? QT_CT_RELATED : QT_CT_MAX;
}

static enum qt_ct_state icmpv6_pre(const struct qt_pkt *pkt,
				   const struct qt_proto_ctx *ctx,
				   enum qt_reason *why)
{
	unsigned t = pkt->icmp.type;

	if (pkt->icmp.is_error)
		return QT_CT_RELATED;
	if (t >= 128 && t - 128 < ARRAY_SIZE(icmpv6_untracked) &&
	    icmpv6_untracked[t - 128])
		return QT_CT_UNTRACKED;
	return QT_CT_MAX;
}

/* Only a request opens a connection; a reply without one is unsolicited,
 * anything else cannot be tracked. */
static enum qt_reason icmp_check_new(bool valid_new, bool has_inverse)
{
	if (valid_new)
		return QT_R_NONE;
	return has_inverse ? QT_R_ICMP_UNSOLICITED : QT_R_ICMP_TYPE;
}

static enum qt_reason icmp_new(struct qt_conn *ct, const struct qt_pkt *pkt,
			       const struct qt_proto_ctx *ctx)
{
	unsigned t = qt_conn_icmp_type(ct);
	bool inv = t < ARRAY_SIZE(icmp_inverse) && icmp_inverse[t];

	return icmp_check_new(t < ARRAY_SIZE(icmp_valid_new) &&
				      icmp_valid_new[t],
			      inv);
}

static enum qt_reason icmpv6_new(struct qt_conn *ct, const struct qt_pkt *pkt,
				 const struct qt_proto_ctx *ctx)
{
	unsigned t = qt_conn_icmp_type(ct);
	bool in = t >= 128 && t - 128 < ARRAY_SIZE(icmpv6_inverse);

	return icmp_check_new(in && t - 128 < ARRAY_SIZE(icmpv6_valid_new) &&
				      icmpv6_valid_new[t - 128],
			      in && icmpv6_inverse[t - 128]);
}

/* Every packet refreshes the timeout.  Today's kernel keeps the entry
 * after the reply (older ones destroyed it) and never sets ASSURED. */
static enum qt_verdict icmp_packet(struct qt_conn *ct, const struct qt_pkt *pkt,
				   enum qt_dir dir,
				   const struct qt_proto_ctx *ctx,
				   uint32_t *timeout, enum qt_reason *why)
{
	*timeout = ctx->conf->icmp.timeout;
	return QT_V_ACCEPT;
}

static enum qt_verdict icmpv6_packet(struct qt_conn *ct,
				     const struct qt_pkt *pkt, enum qt_dir dir,
				     const struct qt_proto_ctx *ctx,
				     uint32_t *timeout, enum qt_reason *why)
{
	*timeout = ctx->conf->icmpv6.timeout;
	return QT_V_ACCEPT;
}

/* A tracked request/reply pair is never early-dropped in preference to
 * anything else; the kernel has no ICMP rule, so any non-assured entry may
 * go. */
const struct qt_proto_ops qt_proto_icmp = {
	.proto = 1,
	.name = "icmp",
	.checksum = true,
	.pre = icmp_pre,
	.invert = icmp_invert,
	.new = icmp_new,
	.packet = icmp_packet,
};

const struct qt_proto_ops qt_proto_icmpv6 = {
	.proto = 58,
	.name = "icmpv6",
	.checksum = true,
	.pre = icmpv6_pre,
	.invert = icmpv6_invert,
	.new = icmpv6_new,
	.packet = icmpv6_packet,
};

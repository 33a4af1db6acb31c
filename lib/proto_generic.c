// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proto_generic.c - every IP protocol without a tracker of its own: the
 * connection is the address pair and the protocol number, as the kernel's
 * nf_conntrack_proto_generic.c tracks it.
 */
#include "proto.h"

/* Swap the endpoints; layer 4 identifiers, if any, swap with them. */
static bool generic_invert(struct qt_tuple *reply, const struct qt_tuple *orig)
{
	*reply = *orig;
	reply->src = orig->dst;
	reply->dst = orig->src;
	reply->sport = orig->dport;
	reply->dport = orig->sport;
	return true;
}

static enum qt_reason generic_new(struct qt_conn *ct, const struct qt_pkt *pkt,
				  const struct qt_proto_ctx *ctx)
{
	return QT_R_NONE;
}

/* Every packet refreshes the one timeout; nothing is ever ASSURED. */
static enum qt_verdict generic_packet(struct qt_conn *ct,
				      const struct qt_pkt *pkt, enum qt_dir dir,
				      const struct qt_proto_ctx *ctx,
				      uint32_t *timeout, enum qt_reason *why)
{
	*timeout = ctx->conf->generic.timeout;
	return QT_V_ACCEPT;
}

const struct qt_proto_ops qt_proto_generic = {
	.proto = 0,
	.name = "unknown",
	.invert = generic_invert,
	.new = generic_new,
	.packet = generic_packet,
};

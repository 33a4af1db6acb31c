// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proto_gre.c - GRE, as the kernel's nf_conntrack_proto_gre.c tracks it.
 *
 * The tuple's two 16-bit identifiers are the GRE keys: for version 1
 * (PPTP) the destination key is the call ID of the packet (lib/packet.c,
 * gre_keys()), so every PPTP call is a connection of its own; for every
 * other version both keys are 0 and a flow is the address pair, as with
 * the generic tracker.  The kernel's PPTP helper would fill in the source
 * key and link the two directions of a call; without it, as here, each
 * direction of a call is its own entry.
 *
 * A flow lives [gre] timeout (30 s) until a reply has been seen; from the
 * packet after the first reply on it gets [gre] timeout_stream (180 s) and
 * is ASSURED.
 */
#include "proto.h"

static bool gre_invert(struct qt_tuple *reply, const struct qt_tuple *orig)
{
	return qt_proto_generic.invert(reply, orig);
}

static enum qt_reason gre_new(struct qt_conn *ct, const struct qt_pkt *pkt,
			      const struct qt_proto_ctx *ctx)
{
	return QT_R_NONE;
}

/* SEEN_REPLY is set only after the first reply has been accepted, so that
 * reply still gets the short timeout, as in the kernel. */
static enum qt_verdict gre_packet(struct qt_conn *ct, const struct qt_pkt *pkt,
				  enum qt_dir dir,
				  const struct qt_proto_ctx *ctx,
				  uint32_t *timeout, enum qt_reason *why)
{
	if (ct->status & QT_CONN_SEEN_REPLY) {
		*timeout = ctx->conf->gre.timeout_stream;
		ct->status |= QT_CONN_ASSURED;
	} else {
		*timeout = ctx->conf->gre.timeout;
	}
	return QT_V_ACCEPT;
}

const struct qt_proto_ops qt_proto_gre = {
	.proto = 47,
	.name = "gre",
	.invert = gre_invert,
	.new = gre_new,
	.packet = gre_packet,
};

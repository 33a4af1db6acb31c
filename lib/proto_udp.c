// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proto_udp.c - UDP, as the kernel's nf_conntrack_proto_udp.c tracks it.
 *
 * A flow lives [udp] timeout (30 s) until a reply is seen.  Today's kernel
 * then keeps the short timeout until the flow is more than two seconds old,
 * so that a single request/response (DNS) does not occupy a long-lived
 * entry; only a flow still active after that gets [udp] timeout_stream and
 * ASSURED.
 */
#include "proto.h"

#define UDP_STREAM_DELAY_MS 2000

static bool udp_invert(struct qt_tuple *reply, const struct qt_tuple *orig)
{
	return qt_proto_generic.invert(reply, orig);
}

static enum qt_reason udp_new(struct qt_conn *ct, const struct qt_pkt *pkt,
			      const struct qt_proto_ctx *ctx)
{
	ct->proto.udp.stream_ts = ctx->now + UDP_STREAM_DELAY_MS;
	return QT_R_NONE;
}

static enum qt_verdict udp_packet(struct qt_conn *ct, const struct qt_pkt *pkt,
				  enum qt_dir dir,
				  const struct qt_proto_ctx *ctx,
				  uint32_t *timeout, enum qt_reason *why)
{
	const struct qt_conf *conf = ctx->conf;

	/* SEEN_REPLY is set only after the first reply has been accepted,
	 * so the first reply itself still gets the unreplied timeout. */
	if (!(ct->status & QT_CONN_SEEN_REPLY)) {
		*timeout = conf->udp.timeout;
		return QT_V_ACCEPT;
	}
	if (ctx->now > ct->proto.udp.stream_ts) {
		*timeout = conf->udp.timeout_stream;
		ct->status |= QT_CONN_ASSURED;
	} else {
		*timeout = conf->udp.timeout;
	}
	return QT_V_ACCEPT;
}

/* The steady way (proto.h): an assured flow that has seen both
 * directions gets the stream timeout, as in udp_packet(), once past the
 * delay (a flow restored from a state file may be assured before it). */
static bool udp_steady(struct qt_conn *ct, const struct qt_pkt_view *v,
		       enum qt_dir dir, const struct qt_proto_ctx *ctx,
		       uint32_t *timeout)
{
	(void)v;
	(void)dir;
	if (ctx->now <= ct->proto.udp.stream_ts)
		return false;
	*timeout = ctx->conf->udp.timeout_stream;
	return true;
}

/*
 * UDP-Lite: the kernel's udplite tracker (same file) keeps the older UDP
 * rule: once a reply has been seen, every packet gets the stream timeout
 * and ASSURED, with no two-second delay.  Its checksum is not verified
 * here (docs/conformance.md: the kernel checks it against UDP's pseudo
 * header and so rejects correct UDP-Lite).
 */
static enum qt_verdict udplite_packet(struct qt_conn *ct,
				      const struct qt_pkt *pkt, enum qt_dir dir,
				      const struct qt_proto_ctx *ctx,
				      uint32_t *timeout, enum qt_reason *why)
{
	const struct qt_conf *conf = ctx->conf;

	if (ct->status & QT_CONN_SEEN_REPLY) {
		*timeout = conf->udp.timeout_stream;
		ct->status |= QT_CONN_ASSURED;
	} else {
		*timeout = conf->udp.timeout;
	}
	return QT_V_ACCEPT;
}

const struct qt_proto_ops qt_proto_udplite = {
	.proto = 136,
	.name = "udplite",
	.invert = udp_invert,
	.new = udp_new,
	.packet = udplite_packet,
};

const struct qt_proto_ops qt_proto_udp = {
	.proto = 17,
	.name = "udp",
	.checksum = true,
	.invert = udp_invert,
	.new = udp_new,
	.packet = udp_packet,
	.steady = udp_steady,
};

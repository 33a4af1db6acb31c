/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packet.h - bounds-checked parse of one IPv4 or IPv6 packet.
 *
 * qt_packet_parse() fills a struct qt_pkt from the captured bytes.  It never
 * reads beyond caplen.  Lengths that matter to tracking (the layer 4 length,
 * the payload length) come from the IP header, not from the capture, so a
 * header-only copy from NFQUEUE is tracked exactly like the whole packet.
 */
#ifndef QTRACK_PACKET_H
#define QTRACK_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tuple.h"

/* Why a packet could not be parsed or was found invalid.  The names are
 * stable: they appear in logs, in `qtrackctl stats` and in qtrack-replay
 * output (see qt_reason_name()). */
enum qt_reason {
	QT_R_NONE = 0,
	/* parse errors (lib/packet.c) */
	QT_R_TRUNCATED,		/* capture ends inside a header */
	QT_R_BAD_VERSION,	/* IP version is neither 4 nor 6 */
	QT_R_BAD_IHL,		/* IPv4 header length < 20 or beyond packet */
	QT_R_BAD_TOTLEN,	/* IP total/payload length inconsistent */
	QT_R_BAD_EXTHDR,	/* malformed IPv6 extension header */
	QT_R_BAD_DATAOFF,	/* TCP data offset < 5 or beyond segment */
	QT_R_BAD_L4LEN,		/* UDP length or L4 header beyond packet */
	QT_R_BAD_OPTIONS,	/* malformed TCP options */
	QT_R_FRAGMENT,		/* non-first fragment: no layer 4 header */
	QT_R_NO_L4,		/* IPv6 "no next header": no layer 4 at all */
	/* tracking verdicts (lib/proto_*.c, lib/engine.c) */
	QT_R_TCP_FLAGS,		/* invalid TCP flag combination */
	QT_R_TCP_NEW,		/* this TCP packet cannot start a connection */
	QT_R_TCP_STATE,		/* invalid in the connection's TCP state */
	QT_R_TCP_WINDOW,	/* sequence or ack outside the window */
	QT_R_TCP_RST,		/* RST not acceptable (window, exact seq) */
	QT_R_TCP_SYNACK,	/* SYN/ACK does not match (stale, wrong ack) */
	QT_R_ICMP_TYPE,		/* ICMP type that cannot be tracked */
	QT_R_ICMP_UNSOLICITED,	/* reply without a request */
	QT_R_ICMP_NO_CONN,	/* error quotes no known connection */
	QT_R_ICMP_INNER,	/* error's quoted packet malformed/mismatched */
	QT_R_TABLE_FULL,	/* no entry free and none could be dropped */
	QT_R_BAD_CHECKSUM,	/* layer 4 checksum wrong (when verified) */
	QT_R_SCTP_CHUNK,	/* malformed or misplaced SCTP chunks */
	QT_R_SCTP_NEW,		/* these chunks cannot start one */
	QT_R_SCTP_VTAG,		/* verification tag not the expected */
	QT_R_SCTP_STATE,	/* chunk invalid in the association's state */
	QT_R_GRE_PROTO,		/* GRE version 1 not carrying PPP */
	QT_R_MAX
};

const char *qt_reason_name(enum qt_reason r);

/* TCP flag bits, as in the header's 13th byte. */
#define QT_TCP_FIN 0x01
#define QT_TCP_SYN 0x02
#define QT_TCP_RST 0x04
#define QT_TCP_PSH 0x08
#define QT_TCP_ACK 0x10
#define QT_TCP_URG 0x20
#define QT_TCP_ECE 0x40
#define QT_TCP_CWR 0x80

#define QT_TCP_MAX_SACK 4

struct qt_pkt_tcp {
	uint32_t seq;
	uint32_t ack;
	uint16_t win;		/* raw window field, unscaled */
	uint8_t flags;		/* QT_TCP_* */
	uint8_t doff;		/* header length in bytes */
	uint16_t mss;		/* 0 if absent */
	uint8_t wscale;		/* valid if has_wscale; capped at 14 */
	bool has_wscale;
	bool sack_perm;
	bool opts_seen;		/* options were inside the capture */
	uint8_t nsack;		/* number of SACK blocks below */
	uint32_t sack[QT_TCP_MAX_SACK][2];	/* start, end */
};

struct qt_pkt_icmp {
	uint8_t type;
	uint8_t code;
	uint16_t id;		/* for query types, host byte order */
	bool is_error;		/* type is an error that quotes a packet */
};

/* The packet quoted inside an ICMP error: its tuple as the sender of the
 * quoted packet saw it (addresses as in the quoted header), and for TCP the
 * quoted sequence number. */
struct qt_pkt_inner {
	struct qt_tuple tuple;
	uint32_t tcp_seq;
	bool present;		/* an inner header was parsed */
};

struct qt_pkt {
	struct qt_tuple tuple;	/* original-direction view of this packet */
	uint32_t l3_len;	/* IP header incl. extension headers */
	uint32_t l4_off;	/* offset of the L4 header in the buffer */
	uint32_t l4_len;	/* L4 header + payload, from the IP header */
	uint32_t payload_off;	/* offset of the L4 payload in the buffer */
	uint32_t payload_len;	/* payload length, from the IP header */
	uint32_t payload_caplen;/* payload bytes actually in the buffer */
	uint32_t ip_len;	/* whole packet length per the IP header */
	const uint8_t *data;	/* the buffer that was parsed */
	uint8_t ttl;		/* TTL / hop limit */
	bool fragment;		/* first fragment of a fragmented packet */
	struct qt_pkt_tcp tcp;	/* valid for IPPROTO_TCP */
	struct qt_pkt_icmp icmp;/* valid for ICMP and ICMPv6 */
	struct qt_pkt_inner inner;	/* valid for ICMP errors */
};

/*
 * qt_packet_parse - parse an IPv4 or IPv6 packet.
 * @data:    the captured bytes, starting with the IP header
 * @caplen:  bytes available at @data
 * @origlen: the packet's true length on the wire (>= caplen); when the
 *           packet is a GSO super-packet or the capture was truncated this
 *           is what the IP header length is checked against
 * @pkt:     filled on success, partially filled on error
 *
 * Returns QT_R_NONE on success or the reason the packet is malformed.
 * Never reads data[caplen] or beyond.
 */
enum qt_reason qt_packet_parse(const uint8_t *data, uint32_t caplen,
			       uint32_t origlen, struct qt_pkt *pkt);

/* Big-endian loads from a packet, at any alignment. */
static inline uint16_t qt_load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t qt_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * qt_ipv4_plain - the IP length of a plain IPv4 packet: version 4, a
 * 20-byte header, not a fragment, a length of at least 28 bytes (a UDP
 * or ICMP header) and at most @origlen (at least @caplen), the capture
 * holding 28 bytes or more.  0 for any other packet, which
 * qt_packet_parse()'s general path decides.
 */
static inline uint32_t qt_ipv4_plain(const uint8_t *data, uint32_t caplen,
				     uint32_t origlen)
{
	uint32_t ip_len;

	if (origlen < caplen)
		origlen = caplen;
	if (caplen < 28 || data[0] != 0x45)
		return 0;
	ip_len = qt_load_be16(data + 2);
	/* ip_len 0 (BIG TCP) is below 28 and takes the general path. */
	if (ip_len > origlen || ip_len < 28)
		return 0;
	/* Fragment offset or more fragments. */
	if (qt_load_be16(data + 6) & 0x3fff)
		return 0;
	return ip_len;
}

/*
 * What a tracker's steady() (proto.h) reads of a packet: a small view,
 * the same for every protocol, that both parsers fill (qt_packet_parse()
 * in struct qt_pkt, qt_packet_brief() in struct qt_pkt_brief).  Fields a
 * protocol does not have are zero.
 */
struct qt_pkt_view {
	uint32_t ip_len;	/* as qt_pkt.ip_len */
	uint32_t payload_len;	/* as qt_pkt.payload_len */
	uint32_t seq;		/* TCP: as qt_pkt.tcp.seq */
	uint32_t ack;		/* TCP: as qt_pkt.tcp.ack */
	uint16_t win;		/* TCP: as qt_pkt.tcp.win */
	uint8_t flags;		/* TCP: as qt_pkt.tcp.flags */
	uint32_t sack;		/* TCP: qt_tcp_sack_highest() of the ack */
};

/*
 * The few fields of a plain IPv4 TCP or UDP packet that the batch's
 * short way (engine.c) needs, parsed without a struct qt_pkt.
 */
struct qt_pkt_brief {
	uint32_t src;		/* as tuple.src.ip, network order */
	uint32_t dst;		/* as tuple.dst.ip */
	uint32_t l4;		/* as tuple.l4: the ports, host order */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	struct qt_pkt_view v;
};

/* The highest right edge of @tcp's SACK blocks if it lies after @ack
 * (modulo 2^32), else @ack: what the kernel's tcp_sack() gives the window
 * check. */
static inline uint32_t qt_tcp_sack_highest(const struct qt_pkt_tcp *tcp,
					   uint32_t ack)
{
	uint32_t sack = ack;

	for (unsigned int i = 0; i < tcp->nsack && i < QT_TCP_MAX_SACK; i++)
		if ((int32_t)(tcp->sack[i][1] - sack) > 0)
			sack = tcp->sack[i][1];
	return sack;
}

/* The view of a packet qt_packet_parse() has parsed; the fields of
 * another protocol than TCP are undefined (its steady() ignores them). */
static inline void qt_packet_view(const struct qt_pkt *pkt,
				  struct qt_pkt_view *v)
{
	v->ip_len = pkt->ip_len;
	v->payload_len = pkt->payload_len;
	v->seq = pkt->tcp.seq;
	v->ack = pkt->tcp.ack;
	v->win = pkt->tcp.win;
	v->flags = pkt->tcp.flags;
	v->sack = pkt->tcp.nsack ? qt_tcp_sack_highest(&pkt->tcp, v->ack)
				 : v->ack;
}

/* The option layout Linux puts on every segment after the handshake
 * (net.ipv4.tcp_timestamps, the default): NOP, NOP, timestamps, 12 bytes
 * in all.  The tracker reads nothing of it, so a parser that recognises
 * it needs no walk of the options. */
#define QT_TCP_TS_ONLY_LEN 12

static inline bool qt_tcp_opts_ts_only(const uint8_t *opt, uint32_t len)
{
	return len == QT_TCP_TS_ONLY_LEN && qt_load_be32(opt) == 0x0101080a;
}

/*
 * qt_tcp_opts_brief - whether the @len bytes of TCP options at @opt are
 * one of the layouts Linux sends after the handshake: the timestamps
 * alone, or the timestamps then NOP, NOP and a SACK option of one to
 * three blocks filling the rest.  For those the general parse finds no
 * MSS or window scale, and the SACK blocks it would store are read here
 * only for their highest right edge after @*sack (the ack on entry).
 */
static inline bool qt_tcp_opts_brief(const uint8_t *opt, uint32_t len,
				     uint32_t *sack)
{
	if (qt_tcp_opts_ts_only(opt, len))
		return true;
	/* 24, 32 or 40 bytes: 16 + 8 per block; the SACK length must say
	 * exactly that many blocks. */
	if (len < QT_TCP_TS_ONLY_LEN + 12 || len & 7 ||
	    qt_load_be32(opt) != 0x0101080a ||
	    qt_load_be32(opt + 12) != (0x01010500u | (len - 14)))
		return false;
	for (uint32_t off = 16; off < len; off += 8) {
		uint32_t edge = qt_load_be32(opt + off + 4);

		if ((int32_t)(edge - *sack) > 0)
			*sack = edge;
	}
	return true;
}

/*
 * qt_packet_brief - parse a plain IPv4 packet (qt_ipv4_plain()) that is
 * TCP without options or with a layout qt_tcp_opts_brief() knows, or UDP
 * with a consistent length, its headers inside the capture.  Returns
 * false for any other packet.  For every packet it accepts,
 * qt_packet_parse() succeeds and gives the same values (it takes this
 * function's result for these packets; test_packet_fast.c compares both
 * with the general parse).
 */
static inline bool qt_packet_brief(const uint8_t *data, uint32_t caplen,
				   uint32_t origlen, struct qt_pkt_brief *b)
{
	const uint8_t *l4 = data + 20;
	uint32_t ip_len = qt_ipv4_plain(data, caplen, origlen);
	uint32_t cap = caplen < ip_len ? caplen : ip_len;
	union {
		struct {
			uint16_t sport;
			uint16_t dport;
		};
		uint32_t word;
	} u;

	if (!ip_len)
		return false;
	b->proto = data[9];
	if (b->proto == IPPROTO_TCP) {
		uint32_t hlen;

		/* No options, or a layout qt_tcp_opts_brief() knows; the
		 * data offset is read only once the header is captured. */
		if (ip_len < 40 || cap < 40)
			return false;
		hlen = 20 + (uint32_t)(l4[12] >> 4) * 4;
		b->v.ack = qt_load_be32(l4 + 8);
		b->v.sack = b->v.ack;
		if (hlen != 40 &&
		    (hlen < 40 || ip_len < hlen || cap < hlen ||
		     !qt_tcp_opts_brief(l4 + 20, hlen - 40, &b->v.sack)))
			return false;
		b->v.seq = qt_load_be32(l4 + 4);
		b->v.flags = l4[13];
		b->v.win = qt_load_be16(l4 + 14);
		b->v.payload_len = ip_len - hlen;
	} else if (b->proto == IPPROTO_UDP) {
		uint32_t ulen = qt_load_be16(l4 + 4);

		if (ulen < 8 || ulen > ip_len - 20)
			return false;
		b->v.payload_len = ip_len - 28;
		b->v.seq = 0;
		b->v.ack = 0;
		b->v.win = 0;
		b->v.flags = 0;
		b->v.sack = 0;
	} else {
		return false;
	}
	memcpy(&b->src, data + 12, 4);
	memcpy(&b->dst, data + 16, 4);
	u.sport = qt_load_be16(l4);
	u.dport = qt_load_be16(l4 + 2);
	b->l4 = u.word;
	b->v.ip_len = ip_len;
	return true;
}

/* qt_packet_parse() without its fast path for plain IPv4 TCP, UDP and ICMP
 * queries: the reference the fast path must agree with, field for field
 * (unit tests). */
enum qt_reason qt_packet_parse_general(const uint8_t *data, uint32_t caplen,
				       uint32_t origlen, struct qt_pkt *pkt);

#endif

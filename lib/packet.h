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

#include <stdbool.h>
#include <stdint.h>

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

/* qt_packet_parse() without its fast path for plain IPv4 TCP, UDP and ICMP
 * queries: the reference the fast path must agree with, field for field
 * (unit tests). */
enum qt_reason qt_packet_parse_general(const uint8_t *data, uint32_t caplen,
				       uint32_t origlen, struct qt_pkt *pkt);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packet.c - bounds-checked parse of one IPv4 or IPv6 packet.
 *
 * Two lengths bound every read and every decision:
 *   - the capture (caplen): nothing at or beyond data[caplen] is read;
 *   - the packet as the IP header describes it (ip_len, checked against the
 *     true length origlen): layer 4 and payload lengths come from it, so a
 *     header-only NFQUEUE copy is tracked like the whole packet.
 * A header that the IP header says lies beyond the packet is malformed
 * (BAD_*); one that the packet has but the capture lacks is TRUNCATED.
 *
 * The kernel reassembles fragments before its conntrack, and before the
 * queue when the netns defragments (the shipped rule sets' socket match
 * in the raw table asks it to).  Fragments reach us when nothing does: a
 * first fragment is parsed by its headers (pkt->fragment, lengths its
 * own), a later one carries no layer 4 header and is QT_R_FRAGMENT.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "packet.h"

#define IPV4_HDR_LEN 20
#define IPV6_HDR_LEN 40
#define TCP_HDR_LEN 20
#define UDP_HDR_LEN 8
#define ICMP_HDR_LEN 8
#define SCTP_HDR_LEN 12
#define GRE_HDR_LEN 4		/* flags and version, protocol */
#define GRE_PPTP_LEN 8		/* ... payload length, call ID */
#define GRE_VERSION_MASK 0x0007
#define GRE_PROTO_PPP 0x880b
/* An ICMP error quotes at least the first 8 bytes of the layer 4 header
 * (RFC 792).  Like the kernel, the inner tuple needs only the two ports of
 * TCP and UDP, and the 8-byte header of ICMP. */
#define INNER_PORTS_LEN 4
#define INNER_ICMP_LEN 8

/* Walking more extension headers than this is treated as an attack. */
#define IPV6_MAX_EXTHDRS 16

/* The kernel's TCP_MAX_WSCALE. */
#define TCP_MAX_WSCALE 14

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WINDOW 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOLEN_MSS 4
#define TCPOLEN_WINDOW 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_SACK_BASE 2
#define TCPOLEN_SACK_PERBLOCK 8

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IP6F_OFF_MASK 0xfff8
#define IP6F_MORE 0x0001

static const char *const reason_names[QT_R_MAX] = {
	[QT_R_NONE] = "none",
	[QT_R_TRUNCATED] = "truncated",
	[QT_R_BAD_VERSION] = "bad-version",
	[QT_R_BAD_IHL] = "bad-ihl",
	[QT_R_BAD_TOTLEN] = "bad-totlen",
	[QT_R_BAD_EXTHDR] = "bad-exthdr",
	[QT_R_BAD_DATAOFF] = "bad-dataoff",
	[QT_R_BAD_L4LEN] = "bad-l4len",
	[QT_R_BAD_OPTIONS] = "bad-options",
	[QT_R_FRAGMENT] = "fragment",
	[QT_R_NO_L4] = "no-l4",
	[QT_R_TCP_FLAGS] = "tcp-flags",
	[QT_R_TCP_NEW] = "tcp-new",
	[QT_R_TCP_STATE] = "tcp-state",
	[QT_R_TCP_WINDOW] = "tcp-window",
	[QT_R_TCP_RST] = "tcp-rst",
	[QT_R_TCP_SYNACK] = "tcp-synack",
	[QT_R_ICMP_TYPE] = "icmp-type",
	[QT_R_ICMP_UNSOLICITED] = "icmp-unsolicited",
	[QT_R_ICMP_NO_CONN] = "icmp-no-conn",
	[QT_R_ICMP_INNER] = "icmp-inner",
	[QT_R_TABLE_FULL] = "table-full",
	[QT_R_BAD_CHECKSUM] = "bad-checksum",
	[QT_R_SCTP_CHUNK] = "sctp-chunk",
	[QT_R_SCTP_NEW] = "sctp-new",
	[QT_R_SCTP_VTAG] = "sctp-vtag",
	[QT_R_SCTP_STATE] = "sctp-state",
	[QT_R_GRE_PROTO] = "gre-proto",
};

const char *qt_reason_name(enum qt_reason r)
{
	if ((unsigned int)r >= QT_R_MAX || !reason_names[r])
		return "unknown";
	return reason_names[r];
}

/* Where the layer 3 walk ended: the layer 4 protocol and its offset. */
struct l3_walk {
	uint32_t l4_off;
	uint8_t proto;
	bool frag_first;	/* offset 0 with more fragments to come */
	bool frag_later;	/* offset != 0: no layer 4 header here */
};

/*
 * ipv6_walk_exthdrs - skip IPv6 extension headers.
 * @data: buffer; @off: offset of the first header after the fixed one
 * @nexthdr: the fixed header's next header field
 * @end: where the packet ends per its IP header (for a quoted packet: the
 *       capture end, as its own length is not checked)
 * @cap: where the capture ends (<= @end is not required)
 *
 * Returns QT_R_NONE with @w filled, QT_R_BAD_EXTHDR for a chain that runs
 * past @end or is too long, QT_R_TRUNCATED if it runs past @cap.
 */
static enum qt_reason ipv6_walk_exthdrs(const uint8_t *data, uint32_t off,
					uint8_t nexthdr, uint32_t end,
					uint32_t cap, struct l3_walk *w)
{
	unsigned int n;

	for (n = 0;; n++) {
		uint32_t len;
		uint16_t frag;

		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_FRAGMENT:
		case IPPROTO_AH:
			break;
		default:
			/* Layer 4, ESP or "no next header" (59): done. */
			w->proto = nexthdr;
			w->l4_off = off;
			return QT_R_NONE;
		}
		if (n >= IPV6_MAX_EXTHDRS)
			return QT_R_BAD_EXTHDR;
		if (end - off < 2)
			return QT_R_BAD_EXTHDR;
		if (cap < off + 2)
			return QT_R_TRUNCATED;

		if (nexthdr == IPPROTO_FRAGMENT)
			len = 8;
		else if (nexthdr == IPPROTO_AH)
			len = ((uint32_t)data[off + 1] + 2) * 4;
		else
			len = ((uint32_t)data[off + 1] + 1) * 8;
		if (end - off < len)
			return QT_R_BAD_EXTHDR;
		if (cap - off < len)
			return QT_R_TRUNCATED;

		if (nexthdr == IPPROTO_FRAGMENT) {
			frag = qt_load_be16(data + off + 2);
			if (frag & IP6F_OFF_MASK) {
				/* The rest is fragment data, not headers. */
				w->frag_later = true;
				w->proto = data[off];
				w->l4_off = off + len;
				return QT_R_NONE;
			}
			if (frag & IP6F_MORE)
				w->frag_first = true;
		}
		nexthdr = data[off];
		off += len;
	}
}

/*
 * ipv4_parse - the IPv4 header of the outer packet.  Fills the tuple's
 * addresses and protocol, ttl, l3_len and ip_len.
 */
static enum qt_reason ipv4_parse(const uint8_t *data, uint32_t caplen,
				 uint32_t origlen, struct qt_pkt *pkt,
				 struct l3_walk *w)
{
	uint32_t ihl = (uint32_t)(data[0] & 0x0f) * 4;
	uint32_t ip_len;
	uint16_t frag;

	if (ihl < IPV4_HDR_LEN)
		return QT_R_BAD_IHL;
	if (caplen < IPV4_HDR_LEN)
		return QT_R_TRUNCATED;

	pkt->tuple.family = AF_INET;
	pkt->tuple.proto = data[9];
	memcpy(pkt->tuple.src.b, data + 12, 4);
	memcpy(pkt->tuple.dst.b, data + 16, 4);
	pkt->ttl = data[8];

	ip_len = qt_load_be16(data + 2);
	/* BIG TCP: a GSO packet above 64k carries tot_len 0. */
	if (ip_len == 0 && origlen > 0xffff)
		ip_len = origlen;
	if (ip_len > origlen || ip_len < ihl)
		return QT_R_BAD_TOTLEN;
	if (caplen < ihl)
		return QT_R_TRUNCATED;
	pkt->ip_len = ip_len;
	pkt->l3_len = ihl;

	frag = qt_load_be16(data + 6);
	w->proto = data[9];
	w->l4_off = ihl;
	w->frag_later = (frag & IP_OFFSET) != 0;
	w->frag_first = !w->frag_later && (frag & IP_MF);
	return QT_R_NONE;
}

static enum qt_reason ipv6_parse(const uint8_t *data, uint32_t caplen,
				 uint32_t origlen, struct qt_pkt *pkt,
				 struct l3_walk *w)
{
	uint32_t ip_len, cap;
	enum qt_reason r;

	if (caplen < IPV6_HDR_LEN)
		return QT_R_TRUNCATED;

	pkt->tuple.family = AF_INET6;
	pkt->tuple.proto = data[6];
	memcpy(pkt->tuple.src.b, data + 8, 16);
	memcpy(pkt->tuple.dst.b, data + 24, 16);
	pkt->ttl = data[7];

	ip_len = IPV6_HDR_LEN + (uint32_t)qt_load_be16(data + 4);
	/* BIG TCP / jumbogram: payload_len 0 and the true length above 64k. */
	if (ip_len == IPV6_HDR_LEN && origlen > 0xffff)
		ip_len = origlen;
	if (ip_len > origlen)
		return QT_R_BAD_TOTLEN;
	pkt->ip_len = ip_len;

	cap = caplen < ip_len ? caplen : ip_len;
	r = ipv6_walk_exthdrs(data, IPV6_HDR_LEN, data[6], ip_len, cap, w);
	pkt->tuple.proto = w->proto;
	if (r != QT_R_NONE)
		return r;
	/* The kernel finds no layer 4 protocol here and tracks nothing. */
	if (w->proto == IPPROTO_NONE && !w->frag_later)
		return QT_R_NO_L4;
	pkt->l3_len = w->l4_off;
	return QT_R_NONE;
}

static bool icmp_type_is_error(uint8_t family, uint8_t type)
{
	if (family == AF_INET)
		return type == 3 || type == 4 || type == 5 || type == 11 ||
		       type == 12;
	/* RFC 4443 2.1: every ICMPv6 type below 128 is an error message,
	 * assigned or not, and the kernel's icmpv6_error() relates them all
	 * to the connection they quote. */
	return type < 128;
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP;
}

static bool proto_is_icmp(uint8_t family, uint8_t proto)
{
	return (family == AF_INET && proto == IPPROTO_ICMP) ||
	       (family == AF_INET6 && proto == IPPROTO_ICMPV6);
}

/* Fill the layer 4 part of @t from the first 8 bytes at @l4. */
static void tuple_fill_l4(struct qt_tuple *t, const uint8_t *l4)
{
	if (proto_has_ports(t->proto)) {
		t->sport = qt_load_be16(l4);
		t->dport = qt_load_be16(l4 + 2);
	} else if (proto_is_icmp(t->family, t->proto)) {
		t->icmp.type = l4[0];
		t->icmp.code = l4[1];
		/* The kernel takes the identifier field of every type; it
		 * matters for the query types (echo, timestamp, ICMPv6 node
		 * information, ...) that open connections. */
		if (!icmp_type_is_error(t->family, l4[0]))
			t->icmp.id = qt_load_be16(l4 + 4);
	}
}

/*
 * gre_keys - the GRE part of a tuple, as the kernel's gre_pkt_to_tuple()
 * builds it from the header at @gh, of which @len bytes are in the packet
 * and @cap in the capture.  Version 1 (enhanced GRE, RFC 2637) carries
 * PPTP: its call ID names the receiving end of a call and is the tuple's
 * destination key; the source key would come from the PPTP control
 * connection's helper, which qtrack does not have, so it is 0 as in the
 * kernel without that helper.  Every other version, and a packet too short
 * to hold the fields, is tracked with both keys 0.  Version 1 with another
 * payload than PPP has no tuple in the kernel: INVALID.
 */
static enum qt_reason gre_keys(const uint8_t *gh, uint32_t len, uint32_t cap,
			       struct qt_tuple *t)
{
	if (len < GRE_HDR_LEN)
		return QT_R_NONE;
	if (cap < GRE_HDR_LEN)
		return QT_R_TRUNCATED;
	if ((qt_load_be16(gh) & GRE_VERSION_MASK) != 1 || len < GRE_PPTP_LEN)
		return QT_R_NONE;
	if (cap < GRE_PPTP_LEN)
		return QT_R_TRUNCATED;
	if (qt_load_be16(gh + 2) != GRE_PROTO_PPP)
		return QT_R_GRE_PROTO;
	t->sport = 0;
	t->dport = qt_load_be16(gh + 6);
	return QT_R_NONE;
}

/*
 * icmp_inner_parse - the packet quoted by an ICMP error, at @off, up to the
 * capture end @cap.  Only the capture bounds it: the quoted packet's own
 * length fields describe the original packet, not the quote.  Leaves
 * @in->present false when the quote is missing or garbled.
 */
static void icmp_inner_parse(const uint8_t *data, uint32_t off, uint32_t cap,
			     uint8_t family, struct qt_pkt_inner *in)
{
	struct qt_tuple t;
	struct l3_walk w = { 0 };
	const uint8_t *ip = data + off;
	uint32_t avail = cap > off ? cap - off : 0;

	memset(&t, 0, sizeof(t));
	t.family = family;
	if (family == AF_INET) {
		uint32_t ihl;

		if (avail < IPV4_HDR_LEN || ip[0] >> 4 != 4)
			return;
		ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		if (ihl < IPV4_HDR_LEN || avail < ihl)
			return;
		if (qt_load_be16(ip + 6) & IP_OFFSET)
			return;
		t.proto = ip[9];
		memcpy(t.src.b, ip + 12, 4);
		memcpy(t.dst.b, ip + 16, 4);
		w.l4_off = ihl;
	} else {
		if (avail < IPV6_HDR_LEN || ip[0] >> 4 != 6)
			return;
		if (ipv6_walk_exthdrs(ip, IPV6_HDR_LEN, ip[6], avail, avail,
				      &w) != QT_R_NONE ||
		    w.frag_later)
			return;
		t.proto = w.proto;
		memcpy(t.src.b, ip + 8, 16);
		memcpy(t.dst.b, ip + 24, 16);
	}

	/* Protocols tracked generically need nothing from layer 4. */
	if (proto_has_ports(t.proto)) {
		if (avail - w.l4_off < INNER_PORTS_LEN)
			return;
		tuple_fill_l4(&t, ip + w.l4_off);
		if (t.proto == IPPROTO_TCP && avail - w.l4_off >= 8)
			in->tcp_seq = qt_load_be32(ip + w.l4_off + 4);
	} else if (proto_is_icmp(family, t.proto)) {
		if (avail - w.l4_off < INNER_ICMP_LEN)
			return;
		tuple_fill_l4(&t, ip + w.l4_off);
	} else if (t.proto == IPPROTO_GRE) {
		/* The quote is all there is of the packet: keys it cuts
		 * off are 0, as in the kernel. */
		if (gre_keys(ip + w.l4_off, avail - w.l4_off, avail - w.l4_off,
			     &t) != QT_R_NONE)
			return;
	}
	in->tuple = t;
	in->present = true;
}

/*
 * tcp_options_parse - the options between the fixed header and doff, all
 * inside the capture.  Like the kernel's tcp_options()/tcp_sack(), an
 * option with a bad length ends the walk without making the packet invalid.
 */
static void tcp_options_parse(const uint8_t *opt, uint32_t len,
			      struct qt_pkt_tcp *tcp)
{
	uint32_t i = 0;

	while (i < len) {
		uint8_t kind = opt[i];
		uint32_t size, blocks, b;

		if (kind == TCPOPT_EOL)
			return;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return;
		size = opt[i + 1];
		if (size < 2 || size > len - i)
			return;

		switch (kind) {
		case TCPOPT_MSS:
			if (size == TCPOLEN_MSS)
				tcp->mss = qt_load_be16(opt + i + 2);
			break;
		case TCPOPT_WINDOW:
			if (size == TCPOLEN_WINDOW) {
				tcp->wscale = opt[i + 2] > TCP_MAX_WSCALE ?
						      TCP_MAX_WSCALE :
						      opt[i + 2];
				tcp->has_wscale = true;
			}
			break;
		case TCPOPT_SACK_PERM:
			if (size == TCPOLEN_SACK_PERM)
				tcp->sack_perm = true;
			break;
		case TCPOPT_SACK:
			if (size < TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK ||
			    (size - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK)
				break;
			blocks = (size - TCPOLEN_SACK_BASE) /
				 TCPOLEN_SACK_PERBLOCK;
			for (b = 0; b < blocks && tcp->nsack < QT_TCP_MAX_SACK;
			     b++) {
				const uint8_t *blk = opt + i +
						     TCPOLEN_SACK_BASE +
						     b * TCPOLEN_SACK_PERBLOCK;

				tcp->sack[tcp->nsack][0] = qt_load_be32(blk);
				tcp->sack[tcp->nsack][1] = qt_load_be32(blk + 4);
				tcp->nsack++;
			}
			break;
		default:
			break;
		}
		i += size;
	}
}

static enum qt_reason tcp_parse(const uint8_t *data, uint32_t cap,
				struct qt_pkt *pkt)
{
	const uint8_t *th = data + pkt->l4_off;
	struct qt_pkt_tcp *tcp = &pkt->tcp;
	uint32_t doff;

	if (pkt->l4_len < TCP_HDR_LEN)
		return QT_R_BAD_L4LEN;
	if (cap - pkt->l4_off < TCP_HDR_LEN)
		return QT_R_TRUNCATED;

	tuple_fill_l4(&pkt->tuple, th);
	tcp->seq = qt_load_be32(th + 4);
	tcp->ack = qt_load_be32(th + 8);
	doff = (uint32_t)(th[12] >> 4) * 4;
	tcp->flags = th[13];
	tcp->win = qt_load_be16(th + 14);
	if (doff < TCP_HDR_LEN || doff > pkt->l4_len)
		return QT_R_BAD_DATAOFF;
	tcp->doff = (uint8_t)doff;

	if (cap - pkt->l4_off >= doff) {
		tcp->opts_seen = true;
		/* Nothing of the timestamps is kept: no walk for them. */
		if (!qt_tcp_opts_ts_only(th + TCP_HDR_LEN, doff - TCP_HDR_LEN))
			tcp_options_parse(th + TCP_HDR_LEN,
					  doff - TCP_HDR_LEN, tcp);
	}
	pkt->payload_off = pkt->l4_off + doff;
	pkt->payload_len = pkt->l4_len - doff;
	return QT_R_NONE;
}

/*
 * udp_parse - UDP and UDP-Lite.  The length field is checked as the
 * kernel's udp_error()/udplite_error() do: UDP's must cover at least its
 * header and at most the IP payload; UDP-Lite's is a checksum coverage
 * where 0 means "everything".  A first fragment's UDP length describes the
 * whole datagram, so only the lower bound applies to it.
 */
static enum qt_reason udp_parse(const uint8_t *data, uint32_t cap,
				struct qt_pkt *pkt)
{
	const uint8_t *uh = data + pkt->l4_off;
	uint32_t ulen;

	if (pkt->l4_len < UDP_HDR_LEN)
		return QT_R_BAD_L4LEN;
	if (cap - pkt->l4_off < UDP_HDR_LEN)
		return QT_R_TRUNCATED;

	tuple_fill_l4(&pkt->tuple, uh);
	ulen = qt_load_be16(uh + 4);
	if (!(pkt->tuple.proto == IPPROTO_UDPLITE && ulen == 0)) {
		if (ulen < UDP_HDR_LEN)
			return QT_R_BAD_L4LEN;
		if (ulen > pkt->l4_len && !pkt->fragment)
			return QT_R_BAD_L4LEN;
	}
	pkt->payload_off = pkt->l4_off + UDP_HDR_LEN;
	pkt->payload_len = pkt->l4_len - UDP_HDR_LEN;
	return QT_R_NONE;
}

/*
 * sctp_parse - the common header: ports, verification tag, checksum.  The
 * kernel finds a packet shorter than it INVALID (sctp_error()).  The
 * chunks are the payload; the tracker walks them.
 */
static enum qt_reason sctp_parse(const uint8_t *data, uint32_t cap,
				 struct qt_pkt *pkt)
{
	if (pkt->l4_len < SCTP_HDR_LEN)
		return QT_R_BAD_L4LEN;
	if (cap - pkt->l4_off < SCTP_HDR_LEN)
		return QT_R_TRUNCATED;
	tuple_fill_l4(&pkt->tuple, data + pkt->l4_off);
	pkt->payload_off = pkt->l4_off + SCTP_HDR_LEN;
	pkt->payload_len = pkt->l4_len - SCTP_HDR_LEN;
	return QT_R_NONE;
}

static enum qt_reason icmp_parse(const uint8_t *data, uint32_t cap,
				 struct qt_pkt *pkt)
{
	const uint8_t *ih = data + pkt->l4_off;
	uint8_t family = pkt->tuple.family;

	if (pkt->l4_len < ICMP_HDR_LEN)
		return QT_R_BAD_L4LEN;
	if (cap - pkt->l4_off < ICMP_HDR_LEN)
		return QT_R_TRUNCATED;

	tuple_fill_l4(&pkt->tuple, ih);
	pkt->icmp.type = ih[0];
	pkt->icmp.code = ih[1];
	pkt->icmp.id = pkt->tuple.icmp.id;
	pkt->icmp.is_error = icmp_type_is_error(family, ih[0]);
	pkt->payload_off = pkt->l4_off + ICMP_HDR_LEN;
	pkt->payload_len = pkt->l4_len - ICMP_HDR_LEN;
	if (pkt->icmp.is_error)
		icmp_inner_parse(data, pkt->payload_off, cap, family,
				 &pkt->inner);
	return QT_R_NONE;
}

/*
 * The tuple of a plain IPv4 packet, stored as five 8-byte words.  The hash
 * and the lookup read the tuple in words right after the parse; a word
 * load that spans several narrower stores (4-byte addresses, 2-byte ports)
 * cannot be forwarded from them and waits for them to reach the cache,
 * which was the largest single stall of the established path.
 */
_Static_assert(sizeof(struct qt_tuple) == 40 &&
		   offsetof(struct qt_tuple, dst) == 16 &&
		   offsetof(struct qt_tuple, sport) == 32 &&
		   offsetof(struct qt_tuple, dport) == 34 &&
		   offsetof(struct qt_tuple, family) == 36 &&
		   offsetof(struct qt_tuple, proto) == 37,
	       "tuple_store_v4() knows the tuple's layout");

typedef uint64_t v2u64 __attribute__((vector_size(16)));

static inline void tuple_store_v4(struct qt_tuple *t, const uint8_t *ip,
				  uint8_t proto, uint32_t l4word)
{
	char *p = (char *)t;
	uint64_t src, dst, l4;
	uint32_t a;

	memcpy(&a, ip + 12, 4);
	src = a;
	memcpy(&a, ip + 16, 4);
	dst = a;
	/* @l4word is the tuple's l4 member as a value: in memory it is
	 * bytes 32-35 in either byte order. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	l4 = l4word | (uint64_t)AF_INET << 32 | (uint64_t)proto << 40;
#else
	src <<= 32;
	dst <<= 32;
	l4 = (uint64_t)l4word << 32 | (uint64_t)AF_INET << 24 |
	     (uint64_t)proto << 16;
#endif
	/* Each address with its zero padding as one 16-byte store, straight
	 * into the tuple: the readers load 8 or 16 bytes at a time, and both
	 * forward from it.  (A local array bounced through the stack, whose
	 * reload stalled the same way.) */
	v2u64 a16 = { src, 0 };

	memcpy(p, &a16, 16);
	a16 = (v2u64){ dst, 0 };
	memcpy(p + 16, &a16, 16);
	memcpy(p + 32, &l4, 8);
}

/* The lengths and offsets a one-pass parse stores: a network header of
 * @l3 bytes without options or extensions, @hdr bytes of layer 4 header,
 * @cap bytes of the datagram's @ip_len in the capture. */
static inline void fast_parse_lengths(struct qt_pkt *pkt, uint32_t l3,
				      uint32_t ip_len, uint32_t hdr,
				      uint32_t cap)
{
	pkt->ip_len = ip_len;
	pkt->l3_len = l3;
	pkt->l4_off = l3;
	pkt->l4_len = ip_len - l3;
	pkt->payload_off = l3 + hdr;
	pkt->payload_len = ip_len - l3 - hdr;
	if (cap > l3 + hdr)
		pkt->payload_caplen = cap - l3 - hdr;
}

/*
 * ipv4_fast_parse - the common packet in one pass: IPv4 without options,
 * not a fragment, TCP without options or with the timestamps alone, UDP
 * or an ICMP query (echo...), every header inside the capture and every
 * length consistent.  Fills @pkt (already cleared) exactly as the general
 * path below would and returns true; returns false, having written
 * nothing, for anything else, which the general path then parses (or
 * refuses) as before.
 */
static inline bool ipv4_fast_parse(const uint8_t *data, uint32_t caplen,
				   uint32_t origlen, struct qt_pkt *pkt)
{
	const uint8_t *l4 = data + IPV4_HDR_LEN;
	struct qt_pkt_brief b;
	uint32_t ip_len, cap, hdr;
	uint8_t proto;
	/* The tuple's l4 member, built in a register. */
	union {
		struct {
			uint16_t id;
			uint8_t type;
			uint8_t code;
		} icmp;
		uint32_t word;
	} u;

	if (qt_packet_brief(data, caplen, origlen, &b)) {
		/* TCP without options or UDP: the brief has it all. */
		ip_len = b.v.ip_len;
		proto = b.proto;
		u.word = b.l4;
		if (proto == IPPROTO_TCP) {
			hdr = ip_len - IPV4_HDR_LEN - b.v.payload_len;
			/* SACK blocks are stored by the general parse. */
			if (hdr > TCP_HDR_LEN + QT_TCP_TS_ONLY_LEN)
				return false;
			pkt->tcp.seq = b.v.seq;
			pkt->tcp.ack = b.v.ack;
			pkt->tcp.flags = b.v.flags;
			pkt->tcp.win = b.v.win;
			pkt->tcp.doff = (uint8_t)hdr;
			pkt->tcp.opts_seen = true;
		} else {
			hdr = UDP_HDR_LEN;
		}
	} else {
		/* ICMP queries only (echo, timestamp...): an error quotes
		 * a packet, which the general path parses. */
		ip_len = qt_ipv4_plain(data, caplen, origlen);
		if (!ip_len || data[9] != IPPROTO_ICMP ||
		    icmp_type_is_error(AF_INET, l4[0]))
			return false;
		proto = IPPROTO_ICMP;
		hdr = ICMP_HDR_LEN;
		pkt->icmp.type = l4[0];
		pkt->icmp.code = l4[1];
		pkt->icmp.id = qt_load_be16(l4 + 4);
		u.icmp.id = pkt->icmp.id;
		u.icmp.type = l4[0];
		u.icmp.code = l4[1];
	}
	cap = caplen < ip_len ? caplen : ip_len;

	tuple_store_v4(&pkt->tuple, data, proto, u.word);
	pkt->ttl = data[8];
	fast_parse_lengths(pkt, IPV4_HDR_LEN, ip_len, hdr, cap);
	return true;
}

/*
 * ipv6_fast_parse - the common IPv6 packet in one pass: no extension
 * header, TCP without options or with the timestamps alone, or UDP,
 * every header inside the capture and every length consistent.  Fills
 * @pkt, whose head is cleared, exactly as the general path would and
 * returns true; returns false, having written nothing, for anything else.
 */
static inline bool ipv6_fast_parse(const uint8_t *data, uint32_t caplen,
				   uint32_t origlen, struct qt_pkt *pkt)
{
	const uint8_t *l4 = data + IPV6_HDR_LEN;
	uint32_t ip_len, l4_len, cap, hdr;
	uint8_t proto;

	if (caplen < IPV6_HDR_LEN + UDP_HDR_LEN || data[0] >> 4 != 6)
		return false;
	proto = data[6];
	l4_len = qt_load_be16(data + 4);
	ip_len = IPV6_HDR_LEN + l4_len;
	/* A payload length of 0 (jumbogram, BIG TCP) takes the general
	 * path. */
	if (!l4_len || ip_len > origlen)
		return false;
	cap = caplen < ip_len ? caplen : ip_len;
	if (proto == IPPROTO_TCP) {
		if (l4_len < TCP_HDR_LEN || cap < IPV6_HDR_LEN + TCP_HDR_LEN)
			return false;
		hdr = (uint32_t)(l4[12] >> 4) * 4;
		if (hdr != TCP_HDR_LEN &&
		    (hdr > l4_len || cap - IPV6_HDR_LEN < hdr ||
		     !qt_tcp_opts_ts_only(l4 + TCP_HDR_LEN, hdr - TCP_HDR_LEN)))
			return false;
	} else if (proto == IPPROTO_UDP) {
		uint32_t ulen = qt_load_be16(l4 + 4);

		if (l4_len < UDP_HDR_LEN || ulen < UDP_HDR_LEN || ulen > l4_len)
			return false;
		hdr = UDP_HDR_LEN;
	} else {
		return false;
	}

	pkt->tuple.family = AF_INET6;
	pkt->tuple.proto = proto;
	memcpy(pkt->tuple.src.b, data + 8, 16);
	memcpy(pkt->tuple.dst.b, data + 24, 16);
	pkt->tuple.sport = qt_load_be16(l4);
	pkt->tuple.dport = qt_load_be16(l4 + 2);
	if (proto == IPPROTO_TCP) {
		pkt->tcp.seq = qt_load_be32(l4 + 4);
		pkt->tcp.ack = qt_load_be32(l4 + 8);
		pkt->tcp.flags = l4[13];
		pkt->tcp.win = qt_load_be16(l4 + 14);
		pkt->tcp.doff = (uint8_t)hdr;
		pkt->tcp.opts_seen = true;
	}
	pkt->ttl = data[7];
	fast_parse_lengths(pkt, IPV6_HDR_LEN, ip_len, hdr, cap);
	return true;
}

/* Clear bytes @from to @to of @pkt in pieces of 64 bytes: the compiler
 * writes those with a few vector stores, where one memset of the whole
 * struct became a string store (rep stos), slow to start for so few bytes
 * on every packet. */
static inline void pkt_clear_range(struct qt_pkt *pkt, size_t from, size_t to)
{
	for (size_t off = from; off < to; off += 64)
		memset((char *)pkt + off, 0, to - off < 64 ? to - off : 64);
}

static inline void pkt_clear(struct qt_pkt *pkt)
{
	pkt_clear_range(pkt, 0, sizeof(*pkt));
}

/* ipv4_fast_parse() writes every byte before payload_caplen (the tuple as
 * whole words): only the rest needs clearing before it runs. */
#define PKT_FAST_WRITES offsetof(struct qt_pkt, payload_caplen)
_Static_assert(offsetof(struct qt_pkt, tuple) == 0 &&
		   offsetof(struct qt_pkt, payload_len) + 4 == PKT_FAST_WRITES,
	       "ipv4_fast_parse() writes the head of struct qt_pkt");

/* The general parse of a cleared @pkt; out of line so that the fast path
 * does not pay for its registers. */
static __attribute__((noinline)) enum qt_reason
packet_parse_general(const uint8_t *data, uint32_t caplen, uint32_t origlen,
		     struct qt_pkt *pkt)
{
	struct l3_walk w = { 0 };
	enum qt_reason r;
	uint32_t cap;

	if (caplen < 1)
		return QT_R_TRUNCATED;

	switch (data[0] >> 4) {
	case 4:
		r = ipv4_parse(data, caplen, origlen, pkt, &w);
		break;
	case 6:
		r = ipv6_parse(data, caplen, origlen, pkt, &w);
		break;
	default:
		return QT_R_BAD_VERSION;
	}
	if (r != QT_R_NONE)
		return r;

	/* Bytes after ip_len are link layer padding, not packet. */
	cap = caplen < pkt->ip_len ? caplen : pkt->ip_len;
	pkt->l4_off = pkt->l3_len;
	pkt->l4_len = pkt->ip_len - pkt->l3_len;
	pkt->payload_off = pkt->l4_off;
	pkt->payload_len = pkt->l4_len;
	pkt->fragment = w.frag_first;

	if (w.frag_later) {
		r = QT_R_FRAGMENT;
	} else if (pkt->tuple.proto == IPPROTO_TCP) {
		r = tcp_parse(data, cap, pkt);
	} else if (pkt->tuple.proto == IPPROTO_UDP ||
		   pkt->tuple.proto == IPPROTO_UDPLITE) {
		r = udp_parse(data, cap, pkt);
	} else if (proto_is_icmp(pkt->tuple.family, pkt->tuple.proto)) {
		r = icmp_parse(data, cap, pkt);
	} else if (pkt->tuple.proto == IPPROTO_SCTP) {
		r = sctp_parse(data, cap, pkt);
	} else if (pkt->tuple.proto == IPPROTO_GRE) {
		r = gre_keys(data + pkt->l4_off, pkt->l4_len,
			     cap > pkt->l4_off ? cap - pkt->l4_off : 0,
			     &pkt->tuple);
	}
	/* Everything else is tracked generically: the whole layer 4 part is
	 * payload. */

	if (cap > pkt->payload_off)
		pkt->payload_caplen = cap - pkt->payload_off;
	return r;
}

enum qt_reason qt_packet_parse(const uint8_t *data, uint32_t caplen,
			       uint32_t origlen, struct qt_pkt *pkt)
{
	pkt_clear_range(pkt, PKT_FAST_WRITES, sizeof(*pkt));
	pkt->data = data;
	/* A caller that knows no better passes origlen == caplen; one that
	 * passes less cannot mean it, the bytes are there. */
	if (origlen < caplen)
		origlen = caplen;
	if (ipv4_fast_parse(data, caplen, origlen, pkt))
		return QT_R_NONE;
	/* It wrote nothing: clear the head for the others. */
	pkt_clear_range(pkt, 0, PKT_FAST_WRITES);
	if (ipv6_fast_parse(data, caplen, origlen, pkt))
		return QT_R_NONE;
	return packet_parse_general(data, caplen, origlen, pkt);
}

enum qt_reason qt_packet_parse_general(const uint8_t *data, uint32_t caplen,
				       uint32_t origlen, struct qt_pkt *pkt)
{
	pkt_clear(pkt);
	pkt->data = data;
	if (origlen < caplen)
		origlen = caplen;
	return packet_parse_general(data, caplen, origlen, pkt);
}

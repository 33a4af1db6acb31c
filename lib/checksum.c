// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * checksum.c - layer 4 checksum verification (RFC 1071 one's complement
 * sum), for the packets the kernel's conntrack would verify: TCP, UDP,
 * ICMP and ICMPv6 that arrived from the network with a checksum nobody has
 * checked yet (see QT_IN_VERIFY_CSUM in qtrack.h).
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "checksum.h"

static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The pseudo header of RFC 793 / RFC 8200 section 8.1. */
static uint32_t sum_pseudo(const struct qt_pkt *pkt)
{
	const struct qt_tuple *t = &pkt->tuple;
	uint32_t sum = 0;

	if (t->family == AF_INET) {
		sum = sum_bytes(sum, t->src.b, 4);
		sum = sum_bytes(sum, t->dst.b, 4);
	} else {
		sum = sum_bytes(sum, t->src.b, 16);
		sum = sum_bytes(sum, t->dst.b, 16);
	}
	sum += t->proto;
	sum += pkt->l4_len & 0xffff;
	sum += pkt->l4_len >> 16;
	return sum;
}

bool qt_checksum_covers(const struct qt_pkt *pkt)
{
	return pkt->payload_caplen == pkt->payload_len;
}

bool qt_checksum_ok(const struct qt_pkt *pkt)
{
	const uint8_t *l4 = pkt->data + pkt->l4_off;
	uint32_t sum = 0;

	switch (pkt->tuple.proto) {
	case IPPROTO_UDP:
		/* No checksum at all passes, for IPv6 too: the kernel's
		 * udp_error() accepts it before verifying anything. */
		if (l4[6] == 0 && l4[7] == 0)
			return true;
		sum = sum_pseudo(pkt);
		break;
	case IPPROTO_TCP:
	case IPPROTO_ICMPV6:
		sum = sum_pseudo(pkt);
		break;
	case IPPROTO_ICMP:
		break;
	default:
		return true;
	}
	sum = sum_bytes(sum, l4, pkt->l4_len);
	return fold(sum) == 0xffff;
}

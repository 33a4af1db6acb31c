// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proto.c - the names conntrack -L prints (the dispatch from protocol
 * number to tracker, qt_proto_find(), is inline in proto.h).
 */
#include <netinet/in.h>

#include "proto.h"

const char *qt_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_DCCP:
		return "dccp";
	case IPPROTO_GRE:
		return "gre";
	case IPPROTO_UDPLITE:
		return "udplite";
	default:
		return "unknown";
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proto.c - dispatch from protocol number to tracker, and the names
 * conntrack -L prints.
 */
#include <netinet/in.h>

#include "proto.h"

const struct qt_proto_ops *qt_proto_find(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return &qt_proto_tcp;
	case IPPROTO_UDP:
		return &qt_proto_udp;
	case IPPROTO_UDPLITE:
		return &qt_proto_udplite;
	case IPPROTO_ICMP:
		return &qt_proto_icmp;
	case IPPROTO_ICMPV6:
		return &qt_proto_icmpv6;
	default:
		return &qt_proto_generic;
	}
}

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

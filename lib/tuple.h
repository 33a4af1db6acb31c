/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tuple.h - the identity of one direction of a connection.
 *
 * A tuple is what the kernel calls nf_conntrack_tuple: layer 3 family and
 * addresses, layer 4 protocol and the protocol's two 16-bit identifiers.
 * Addresses are stored in 16 bytes for both families; an IPv4 address
 * occupies the first four bytes and the rest is zero, so tuples compare and
 * hash with memcmp-like code regardless of family.
 *
 * Layer 4 identifiers, as in the kernel:
 *   TCP, UDP, UDPLITE, SCTP, DCCP: sport and dport in host byte order.
 *   ICMP, ICMPv6: icmp.id is the echo/timestamp/... identifier (the
 *     kernel's src.u.icmp.id), icmp.type and icmp.code are the message's
 *     type and code (the kernel's dst.u.icmp.type/code).
 *   everything else (generic): both zero.
 */
#ifndef QTRACK_TUPLE_H
#define QTRACK_TUPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

union qt_addr {
	uint8_t b[16];
	uint32_t w[4];
	uint32_t ip;	/* IPv4, network byte order */
};

struct qt_tuple {
	union qt_addr src;
	union qt_addr dst;
	union {
		struct {
			uint16_t sport;
			uint16_t dport;
		};
		struct {
			uint16_t id;
			uint8_t type;
			uint8_t code;
		} icmp;
		uint32_t l4;	/* both identifiers as one word */
	};
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_* */
	uint16_t pad;		/* always zero, so tuples compare bytewise */
};

_Static_assert(sizeof(struct qt_tuple) == 40, "tuple must stay 40 bytes");

enum qt_dir {
	QT_DIR_ORIG = 0,
	QT_DIR_REPLY = 1,
};

/*
 * How the trackers' invert() treats the layer 4 word, for the index
 * (table.c), which must hash a tuple and its inverse alike and compare a
 * tuple with a connection's reply tuple without calling a tracker.  Every
 * protocol but ICMP and ICMPv6 swaps its two identifiers with the
 * addresses (TCP, UDP and UDP-Lite ports, the generic tracker's zeros; a
 * new tracker whose invert() does something else says so here).  ICMP
 * keeps the id and the code and changes the type (echo request <-> reply):
 * QT_TUPLE_L4_KEPT are the bits of its l4 word an inverse keeps.
 */
static inline bool qt_tuple_l4_swaps(uint8_t proto)
{
	return proto != 1 /* IPPROTO_ICMP */ && proto != 58 /* ICMPV6 */;
}

#define QT_TUPLE_L4_KEPT 0xff00ffffu	/* l4 without icmp.type */

_Static_assert(offsetof(struct qt_tuple, icmp.type) -
		       offsetof(struct qt_tuple, l4) == 2,
	       "QT_TUPLE_L4_KEPT: icmp.type is the l4 word's third byte");

static inline bool qt_tuple_equal(const struct qt_tuple *a,
				  const struct qt_tuple *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

#endif

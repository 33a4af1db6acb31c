/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checksum.h - layer 4 checksum verification for TCP, UDP, ICMP, ICMPv6
 * and SCTP.
 */
#ifndef QTRACK_CHECKSUM_H
#define QTRACK_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* Whether the whole layer 4 segment of @pkt is in the capture, so that its
 * checksum can be computed at all. */
bool qt_checksum_covers(const struct qt_pkt *pkt);

/* Whether the layer 4 checksum of @pkt (fully captured) is correct.
 * Protocols other than TCP, UDP, ICMP, ICMPv6 and SCTP always pass. */
bool qt_checksum_ok(const struct qt_pkt *pkt);

/* The RFC 1071 one's complement sum of @len bytes at @p (big-endian
 * 16-bit words, an odd last byte padded with zero) added to @sum,
 * unfolded, so that pieces (a pseudo header, a header) add up. */
uint32_t qt_checksum_add(uint32_t sum, const uint8_t *p, size_t len);

/* @sum folded to 16 bits.  A packet's checksum field holds its
 * complement; a packet whose sum folds to 0xffff is correct. */
uint16_t qt_checksum_fold(uint32_t sum);

/* CRC32c of @len bytes at @p continuing from @crc (start with 0xffffffff,
 * invert the result): SCTP's checksum. */
uint32_t qt_crc32c(uint32_t crc, const uint8_t *p, uint32_t len);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checksum.h - layer 4 checksum verification for TCP, UDP, ICMP, ICMPv6
 * and SCTP.
 */
#ifndef QTRACK_CHECKSUM_H
#define QTRACK_CHECKSUM_H

#include <stdbool.h>

#include "packet.h"

/* Whether the whole layer 4 segment of @pkt is in the capture, so that its
 * checksum can be computed at all. */
bool qt_checksum_covers(const struct qt_pkt *pkt);

/* Whether the layer 4 checksum of @pkt (fully captured) is correct.
 * Protocols other than TCP, UDP, ICMP, ICMPv6 and SCTP always pass. */
bool qt_checksum_ok(const struct qt_pkt *pkt);

/* CRC32c of @len bytes at @p continuing from @crc (start with 0xffffffff,
 * invert the result): SCTP's checksum. */
uint32_t qt_crc32c(uint32_t crc, const uint8_t *p, uint32_t len);

#endif

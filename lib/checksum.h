/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checksum.h - layer 4 checksum verification for TCP, UDP, ICMP, ICMPv6.
 */
#ifndef QTRACK_CHECKSUM_H
#define QTRACK_CHECKSUM_H

#include <stdbool.h>

#include "packet.h"

/* Whether the whole layer 4 segment of @pkt is in the capture, so that its
 * checksum can be computed at all. */
bool qt_checksum_covers(const struct qt_pkt *pkt);

/* Whether the layer 4 checksum of @pkt (fully captured) is correct.
 * Protocols other than TCP, UDP, ICMP and ICMPv6 always pass. */
bool qt_checksum_ok(const struct qt_pkt *pkt);

#endif

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_conformance_bypass.sh BUILD_DIR - the conformance suite with
# [bypass] enable = yes: the queue rule skips packets that carry a state,
# which qtrackd's nftables table gives the packets of the connections it
# offloads.  Passes when every difference from the kernel is in the common
# allow-list or the bypass one (docs/conformance.md, "With the bypass").
# Only the scenarios the bypass can change run (TCP, UDP and UDP-Lite,
# the ICMP errors about them, real traffic, the drop scenarios): the
# bypass offloads nothing else.  The TCP state table (tcp-table/*) is left
# out too: each of its scenarios ends one packet after the handshake, two
# before a connection is offloaded.  Skipped where nft(8) or nf_tables cannot
# work.
command -v nft >/dev/null || { echo "SKIP: nft not installed"; exit 4; }
probe=qtc-nft-$$-$RANDOM
if [ "$(id -u)" = 0 ] && ip netns add "$probe" 2>/dev/null; then
	ok=1
	ip netns exec "$probe" nft add table inet qtprobe 2>/dev/null || ok=0
	ip netns del "$probe"
	[ $ok = 1 ] || { echo "SKIP: nf_tables does not work in a namespace"; exit 4; }
fi
export QT_CONFORMANCE_BYPASS=1
only=()
for g in 'tcp*' 'udp*' 'real*' 'drop*' 'x-tcp*' 'x-udp*' 'x-icmp*'; do
	only+=(--only "$g")
done
only+=(--skip 'tcp-table/*')
exec "$(dirname "$0")/test_conformance.sh" "$1" "${only[@]}" "${@:2}"

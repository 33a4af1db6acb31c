#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_conformance.sh BUILD_DIR - qtrackd against the kernel's conntrack,
# packet by packet (see docs/conformance.md).  Exit 0 pass, 1 fail, 4 skip
# (no root, no netns, or the kernel lacks conntrack/NFQUEUE/NFLOG).
set -u
build=${1:?usage: test_conformance.sh BUILD_DIR}
src=${QT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/conformance
py=/usr/bin/python3	# the interpreter with scapy

skip() { echo "SKIP: $*"; exit 4; }

[ "$(id -u)" = 0 ] || skip "needs root"
for t in ip iptables ip6tables conntrack socat lftp ping; do
	command -v "$t" >/dev/null || skip "$t not installed"
done
"$py" -c 'import scapy.all' 2>/dev/null || skip "scapy missing in $py"

# Probe the kernel in a throw-away namespace: conntrack match, NFQUEUE and
# NFLOG targets, and IPv6 conntrack must all be available.
probe=qtc-probe-$$-$RANDOM
ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces"
trap 'ip netns del "$probe" 2>/dev/null' EXIT
ok=1
ip netns exec "$probe" iptables -t mangle -A FORWARD -m conntrack \
	--ctstate NEW -j NFQUEUE --queue-num 7 --queue-bypass 2>/dev/null || ok=0
ip netns exec "$probe" ip6tables -t mangle -A FORWARD -m conntrack \
	--ctstate NEW -j NFLOG --nflog-group 71 2>/dev/null || ok=0
ip netns exec "$probe" iptables -t raw -A PREROUTING -p 254 \
	-j CT --notrack 2>/dev/null || ok=0
[ -e "/proc/net/netfilter/nfnetlink_queue" ] ||
	ip netns exec "$probe" test -e /proc/net/netfilter/nfnetlink_queue || ok=0
ip netns del "$probe"
trap - EXIT
[ $ok = 1 ] || skip "kernel lacks conntrack, NFQUEUE, NFLOG or CT target"

exec "$py" "$here/conformance.py" --build "$build" --src "$src" "${@:2}"

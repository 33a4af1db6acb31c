#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh - show qtrack classifying traffic.
#
# First version: an offline demo.  It generates a small capture (ping, a UDP
# request and reply, an ICMP port unreachable quoting that UDP flow, a TCP
# handshake, data and close) and runs qtrack-replay over it.  The live demo
# (qtrackd behind iptables NFQUEUE in a network namespace) replaces
# demo_run below; setup and build stay the same.
set -eu

cd "$(dirname "$(readlink -f "$0")")/.." || exit 1
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

demo_setup() {
	qt_need_root "$@"
	qt_install_deps
}

demo_build() {
	qt_log "building qtrack in build/"
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
	[ -x build/tools/qtrack-replay ] ||
		qt_die "build/tools/qtrack-replay was not built"
}

demo_run() {
	local tmp
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	/usr/bin/python3 tests/replay/gen_pcaps.py "$tmp" demo >/dev/null
	qt_log "qtrack-replay $tmp/demo.pcap"
	echo "    (packet  time  state  direction  proto  flow  [details])"
	echo
	build/tools/qtrack-replay "$tmp/demo.pcap"
}

demo_setup "$@"
demo_build
demo_run

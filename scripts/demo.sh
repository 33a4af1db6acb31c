#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh - show qtrack tracking live traffic.
#
# Installs what is missing, builds, then builds a small network out of
# namespaces: client -- firewall -- server.  The firewall loads the shipped
# rule set conf/iptables-accept.rules, which passes ESTABLISHED and RELATED
# packets by mark and NEW ones only for ping, TCP 22 and UDP 53, and runs
# qtrackd.  Then a ping, a fragmented 3000-byte ping, a TCP transfer, a UDP exchange and one connection
# attempt that the firewall refuses; then qtrackd's connection table and the
# firewall's rule counters.  Everything is removed at the end.
#
#   scripts/demo.sh            the live demo
#   scripts/demo.sh --replay   the offline demo: qtrack-replay over a capture
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
	local b
	for b in tools/qtrack-replay daemon/qtrackd tools/qtrackctl; do
		[ -x "build/$b" ] || qt_die "build/$b was not built"
	done
}

demo_replay() {
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

# demo_step WHAT EXPECT CMD...: run one piece of traffic (CMD succeeds if
# it got through) and say whether the outcome is the expected one.
demo_step() {
	local what=$1 expect=$2 got
	shift 2
	if "$@"; then got=pass; else got=blocked; fi
	if [ "$got" = "$expect" ]; then
		printf '    %-52s %-8s (as the rules say)\n' "$what" "$got"
	else
		printf '    %-52s %-8s UNEXPECTED\n' "$what" "$got"
		DEMO_SURPRISES=$((DEMO_SURPRISES + 1))
	fi
}

# demo_big_ping ADDR: a 3000-byte echo, sent and answered in fragments.
demo_big_ping() {
	qt_ns "$NS_CLI" ping -c 1 -W 3 -s 3000 "$1" >/dev/null 2>&1
}

# demo_tcp_through ARGS: a TCP connection got through (see qt_tcp_blocked).
demo_tcp_through() {
	! qt_tcp_blocked "$@"
}

demo_live() {
	DEMO_SURPRISES=0
	# The namespace, traffic and cleanup helpers of the end-to-end tests.
	set +eu
	set -- build
	# shellcheck source=tests/e2e/lib.sh
	. tests/e2e/lib.sh
	qt_log "network: $NS_CLI ($CLI4) -- $NS_FW -- $NS_SRV ($SRV4)"
	qt_topo_setup
	qt_ns "$NS_FW" iptables-restore <conf/iptables-accept.rules ||
		qt_die "loading conf/iptables-accept.rules"
	qt_log "firewall rules: conf/iptables-accept.rules (NFQUEUE in mangle, marks matched in filter)"
	qt_log "  and a socket match in the raw table: the kernel reassembles fragments first, without its conntrack"
	qt_conf "$QT_TMP/qtrackd.conf" accept "[log]" "invalid = yes"
	qt_log "starting qtrackd in $NS_FW"
	qt_daemon_start "$QT_TMP/qtrackd.conf" ||
		qt_die "qtrackd did not start: $(cat "$QT_TMP/qtrackd.log")"

	qt_log "traffic from the client"
	demo_step "ping $SRV4" pass qt_ping 4 "$NS_CLI" $SRV4
	demo_step "ping -s 3000 $SRV4 (fragmented)" pass demo_big_ping $SRV4
	demo_step "TCP $SRV4:22, 256 KiB transfer" pass \
		qt_tcp_transfer 4 "$NS_CLI" "$NS_SRV" srv 22 256
	demo_step "UDP $SRV4:53, request and answer" pass \
		qt_udp_exchange 4 "$NS_CLI" "$NS_SRV" srv 53
	demo_step "TCP $SRV4:8080, a port the rules do not open" blocked \
		demo_tcp_through 4 "$NS_CLI" "$NS_SRV" srv 8080
	qt_log "traffic from the server"
	demo_step "TCP $CLI4:2222, a server-initiated connection" blocked \
		demo_tcp_through 4 "$NS_SRV" "$NS_CLI" cli 2222

	qt_log "qtrackd's connection table (qtrackctl list)"
	if ! qt_ns "$NS_FW" build/tools/qtrackctl -s "$QT_TMP/qtrackd.sock" \
		list; then
		qt_log "control socket unavailable; connections from qtrackd's debug log:"
		grep -E "\[(NEW|DESTROY)\]" "$QT_TMP/qtrackd.log"
	fi
	qt_log "qtrackctl stats"
	qt_ns "$NS_FW" build/tools/qtrackctl -s "$QT_TMP/qtrackd.sock" stats ||
		true

	qt_log "firewall counters: iptables -t mangle -L -v -n"
	qt_ns "$NS_FW" iptables -t mangle -L PREROUTING -v -n
	qt_log "firewall counters: iptables -L -v -n"
	qt_ns "$NS_FW" iptables -L -v -n
	echo "    marks: 0x1 NEW, 0x2/0xef ESTABLISHED either way, 0x3 RELATED, 0x4 INVALID (docs/marks.md)"

	qt_log "stopping qtrackd"
	qt_daemon_stop || qt_log "qtrackd exited with an error"
	qt_log "qtrackd's log"
	sed 's/^/    /' "$QT_TMP/qtrackd.log"
	qt_log "cleaning up namespaces"
	if [ "$DEMO_SURPRISES" -ne 0 ]; then
		qt_log "$DEMO_SURPRISES step(s) did not behave as the rules say"
		exit 1
	fi
	qt_log "done"
	exit 0
}

demo_setup "$@"
demo_build
case "${1:-}" in
--replay) demo_replay ;;
"") demo_live ;;
*) qt_die "usage: $0 [--replay]" ;;
esac

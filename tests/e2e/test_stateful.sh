#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_stateful.sh BUILD - qtrackd as the state source of a real firewall.
#
# client -- fw -- server; fw loads the shipped rule sets (conf/*.rules),
# which pass ESTABLISHED/RELATED by mark and NEW only for ping, TCP 22 and
# UDP 53.  For accept and repeat mode, IPv4 and IPv6: ping, a TCP transfer
# and a UDP exchange work; a NEW connection to another port is blocked; a
# connection started by the server towards the client is blocked, so the
# replies that did pass passed as ESTABLISHED (whose rule counted them);
# a SYN+FIN segment is INVALID, logged ([log] invalid) and dropped by mark.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip iptables ip6tables iptables-restore ip6tables-restore \
	socat ping ss timeout
qt_require_daemon
qt_topo_setup

run_mode() {
	local mode=$1 fam rules ipt
	qt_conf "$QT_TMP/$mode.conf" "$mode" "[log]" "invalid = yes"
	for fam in 4 6; do
		ipt=iptables
		[ $fam = 6 ] && ipt=ip6tables
		rules=$QT_SRC/conf/${ipt}-$mode.rules
		qt_ns "$NS_FW" $ipt-restore <"$rules" ||
			{ qt_fail "$mode v$fam: loading $rules"; continue; }
	done
	qt_daemon_start "$QT_TMP/$mode.conf" || return

	for fam in 4 6; do
		local srv=$SRV4 t="$mode IPv$fam"
		[ $fam = 6 ] && srv=$SRV6
		qt_check "$t: ping client -> server" qt_ping $fam "$NS_CLI" $srv
		qt_check "$t: TCP transfer to port 22" \
			qt_tcp_transfer $fam "$NS_CLI" "$NS_SRV" srv 22 256
		qt_check "$t: UDP exchange with port 53" \
			qt_udp_exchange $fam "$NS_CLI" "$NS_SRV" srv 53
		qt_check "$t: NEW TCP to port 8080 is blocked" \
			qt_tcp_blocked $fam "$NS_CLI" "$NS_SRV" srv 8080
		qt_check "$t: NEW TCP from the server to the client is blocked" \
			qt_tcp_blocked $fam "$NS_SRV" "$NS_CLI" cli 2222
		qt_check "$t: NEW UDP to port 54 is blocked" \
			not_udp $fam
		local est
		est=$(qt_rule_packets $fam filter qtrack-state "0x2/0xef")
		qt_check "$t: replies passed as ESTABLISHED ($est packets)" \
			test "${est:-0}" -gt 0
	done
	# A SYN+FIN segment is INVALID (tcp-flags): logged, dropped by the
	# INVALID rule, never seen by the server.
	if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import scapy' \
		2>/dev/null; then
		qt_ns "$NS_CLI" /usr/bin/python3 -c '
import sys
from scapy.all import IP, TCP, send
send(IP(dst=sys.argv[1])/TCP(sport=40000, dport=22, flags="SF"), verbose=0)
' $SRV4
		qt_check "$mode: INVALID SYN+FIN logged with reason and tuple" \
			qt_wait_for 5 grep -q \
			"INVALID tcp-flags: proto=6 src=$CLI4 dst=$SRV4 sport=40000 dport=22" \
			"$QT_DAEMON_LOG"
		# An echo reply nobody asked for: INVALID, logged with the
		# ICMP fields (type, code, id), not as ports.
		qt_ns "$NS_CLI" /usr/bin/python3 -c '
import sys
from scapy.all import IP, ICMP, send
send(IP(dst=sys.argv[1])/ICMP(type=0, id=10534, seq=1), verbose=0)
' $SRV4
		qt_check "$mode: INVALID ICMP logged with type, code and id" \
			qt_wait_for 5 grep -q \
			"INVALID [a-z-]*: proto=1 src=$CLI4 dst=$SRV4 type=0 code=0 id=10534 len=" \
			"$QT_DAEMON_LOG"
		local inv
		inv=$(qt_rule_packets 4 filter qtrack-state "0x4/0xef")
		qt_check "$mode: INVALID dropped by its mark rule ($inv)" \
			test "${inv:-0}" -gt 0
	fi
	qt_check "$mode: qtrackd still running" qt_daemon_alive
	qt_check "$mode: qtrackd exits 0 on SIGTERM" qt_daemon_stop
	qt_check "$mode: no verdict errors logged" \
		not grep -q "refused a verdict\|sending verdicts" "$QT_DAEMON_LOG"
	for ipt in iptables ip6tables; do
		qt_ns "$NS_FW" $ipt -t mangle -F
		qt_ns "$NS_FW" $ipt -t filter -F
		qt_ns "$NS_FW" $ipt -t filter -X
	done
}

not() { ! "$@"; }
not_udp() { ! qt_udp_exchange "$1" "$NS_CLI" "$NS_SRV" srv 54; }

run_mode accept
run_mode repeat
qt_finish

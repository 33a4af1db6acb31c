#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_shutdown.sh BUILD - what happens to packets while qtrackd is down.
#
# With `-j NFQUEUE --queue-bypass` packets pass the queue rule while no
# daemon listens; without it they are dropped.  qtrackd unbinds its queue
# on SIGTERM and exits 0, so both behaviours show right after a stop, and
# a restarted daemon takes over again.  With the shipped stateful rule set
# a bypassed packet carries no state mark and the filter's DROP policy
# still applies (fail closed), and a TCP connection opened before a restart
# carries on afterwards (picked up mid-stream, as nf_conntrack_tcp_loose).
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip iptables iptables-restore socat ping ss timeout dd
qt_require_daemon
qt_topo_setup

conf=$QT_TMP/qtrackd.conf
qt_conf "$conf" accept

# queue_rules [--queue-bypass]: queue everything forwarded, accept all.
queue_rules() {
	qt_ns "$NS_FW" iptables -t mangle -F FORWARD
	qt_ns "$NS_FW" iptables -t mangle -A FORWARD -j NFQUEUE \
		--queue-num 0 "$@"
}
not_queue_bound() { ! qt_queue_bound 0; }
not() { ! "$@"; }
ping_fails() { ! qt_ping 4 "$NS_CLI" $SRV4; }

# --queue-bypass
queue_rules --queue-bypass
qt_check "bypass, no daemon: ping passes" qt_ping 4 "$NS_CLI" $SRV4
qt_daemon_start "$conf" || exit 1
qt_check "bypass, daemon up: ping passes" qt_ping 4 "$NS_CLI" $SRV4
qt_check "SIGTERM: exit status 0" qt_daemon_stop
qt_check "SIGTERM: the queue is unbound" qt_wait_for 5 not_queue_bound
qt_check "SIGTERM: the daemon answered every packet it read" \
	grep -q "queue 0: [1-9][0-9]* packets, [1-9][0-9]* verdicts" \
	"$QT_DAEMON_LOG"
qt_check "bypass, daemon stopped: ping passes" qt_ping 4 "$NS_CLI" $SRV4

# no --queue-bypass
queue_rules
qt_check "no bypass, no daemon: ping is dropped" ping_fails
qt_daemon_start "$conf" || exit 1
qt_check "no bypass, daemon up: ping passes" qt_ping 4 "$NS_CLI" $SRV4
qt_check "SIGTERM: exit status 0" qt_daemon_stop
qt_check "no bypass, daemon stopped: ping is dropped" ping_fails
qt_daemon_start "$conf" || exit 1
qt_check "no bypass, daemon restarted: ping passes" \
	qt_ping 4 "$NS_CLI" $SRV4
qt_daemon_stop

# The shipped stateful rule set (with --queue-bypass in mangle).
qt_ns "$NS_FW" iptables -t mangle -F
qt_ns "$NS_FW" iptables-restore <"$QT_SRC/conf/iptables-accept.rules"
qt_check "stateful, no daemon: bypassed NEW to port 22 still dropped" \
	qt_tcp_blocked 4 "$NS_CLI" "$NS_SRV" srv 22
qt_daemon_start "$conf" || exit 1
qt_check "stateful, daemon up: TCP to port 22 passes" \
	qt_tcp_transfer 4 "$NS_CLI" "$NS_SRV" srv 22 64

# A paced transfer across a restart of the daemon.
qt_paced_start "$NS_CLI" "$NS_SRV" "$SRV4" 22 30 0.1 90 ||
	qt_fail "transfer did not start"
src=$QT_PACED_SRC dst=$QT_PACED_DST
lpid=$QT_PACED_LPID cpid=$QT_PACED_CPID
qt_check "restart during a transfer: stopped" qt_daemon_stop
qt_daemon_start "$conf" || exit 1
wait $cpid
qt_check "restart during a transfer: client finished" test $? -eq 0
wait $lpid
qt_check "restart during a transfer: data intact" cmp -s "$src" "$dst"
qt_check "restarted daemon: still running" qt_daemon_alive
qt_check "restarted daemon: exits 0" qt_daemon_stop

# Repeat mode with --queue-bypass fails open, which is why the shipped
# repeat rule set does not use it (qtrackd(8), QUEUE BYPASS).
qt_ns "$NS_FW" iptables -t mangle -F
qt_ns "$NS_FW" iptables -F
qt_ns "$NS_FW" iptables -X
sed 's/-j NFQUEUE --queue-num 0$/& --queue-bypass/' \
	"$QT_SRC/conf/iptables-repeat.rules" | qt_ns "$NS_FW" iptables-restore
qt_check "repeat + bypass, no daemon: NEW to port 8080 passes (fail open)" \
	not qt_tcp_blocked 4 "$NS_CLI" "$NS_SRV" srv 8080
qt_ns "$NS_FW" iptables-restore <"$QT_SRC/conf/iptables-repeat.rules"
qt_check "shipped repeat rules, no daemon: NEW to port 22 dropped" \
	qt_tcp_blocked 4 "$NS_CLI" "$NS_SRV" srv 22
# ... but the host's own output is not cut: OUTPUT bypasses the queue
# (its policy accepts anyway).
got=$QT_TMP/udp-from-fw
qt_bg "$NS_SRV" socat -u UDP-RECV:5555 "OPEN:$got,creat"
fw_sent() {
	echo from-fw | qt_ns "$NS_FW" socat -u - UDP-SENDTO:$SRV4:5555
	grep -q from-fw "$got"
}
qt_check "shipped repeat rules, no daemon: the host's own output passes" \
	qt_wait_for 10 fw_sent
[ "$QT_FAILS" -eq 0 ] || cat "$QT_DAEMON_LOG"
qt_finish

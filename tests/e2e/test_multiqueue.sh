#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_multiqueue.sh BUILD - qtrackd with two queues and two worker threads.
#
# The fw namespace loads the shipped accept-mode rule set with the queue
# rule turned into --queue-balance 0:1; qtrackd serves num = 0-1.  The
# kernel spreads flows by a hash of the address pair and the protocol, so
# the client uses many source addresses:
#   - TCP transfers, UDP exchanges and pings from every address work;
#   - `qtrackctl stats` shows packets received on both queues;
#   - a UDP packet to a closed port is answered by an ICMP port unreachable
#     that reaches the client (the filter passes it only as RELATED), also
#     for addresses whose ICMP lands on the other queue than their UDP: the
#     per-queue queue_xrelated counter must grow;
#   - a UDP packet with TTL 1 makes the fw send time-exceeded, which must
#     be RELATED as well;
#   - reload (SIGHUP) works with threads; SIGTERM: exit 0.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip iptables iptables-restore socat ping ss timeout
qt_require_daemon
qt_topo_setup

QTRACKCTL=$QT_BUILD/tools/qtrackctl
SOCK=$QT_TMP/qtrackd.sock
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
NADDR=12

ctl() { qt_ns "$NS_FW" "$QTRACKCTL" -s "$SOCK" "$@"; }
# qstat KEY: one value of `qtrackctl stats`.
qstat() { ctl stats | awk -v k="$1" '$1 == k { print $2 }'; }
not() { ! "$@"; }

sed 's/--queue-num 0/--queue-balance 0:1/' \
	"$QT_SRC/conf/iptables-accept.rules" >"$QT_TMP/mq.rules"
qt_ns "$NS_FW" iptables-restore <"$QT_TMP/mq.rules" ||
	qt_skip "the kernel refuses --queue-balance"
# Count the fw's own time-exceeded messages that leave marked RELATED.
qt_ns "$NS_FW" iptables -A OUTPUT -p icmp --icmp-type time-exceeded \
	-m mark --mark 0x3/0xef
qt_conf "$QT_TMP/mq.conf" accept
sed -i 's/^num = 0$/num = 0-1/' "$QT_TMP/mq.conf"
printf '[log]\ninvalid = yes\n' >>"$QT_TMP/mq.conf"

for i in $(seq 1 $NADDR); do
	qt_ns "$NS_CLI" ip addr add 10.0.1.$((100 + i))/24 dev cli0
done
qt_daemon_start "$QT_TMP/mq.conf" || qt_finish
qt_check "both queues bound" qt_queue_bound 1
qt_check "log names two worker queues" \
	grep -q "started: queues 0-1" "$QT_DAEMON_LOG"

# A TCP echo server on 22 and a UDP echo server on 53 serve every flow.
qt_bg "$NS_SRV" timeout 120 socat TCP4-LISTEN:22,reuseaddr,fork EXEC:cat
qt_bg "$NS_SRV" timeout 120 socat -T 1 UDP4-RECVFROM:53,fork EXEC:cat
udp_pid=$!
qt_wait_for 5 qt_listening "$NS_SRV" tcp 22
qt_wait_for 5 qt_listening "$NS_SRV" udp 53

tcp_echo() {
	local out
	out=$(echo "tcp-$1" | qt_ns "$NS_CLI" timeout 5 socat -t 2 - \
		"TCP4:$SRV4:22,bind=$1,connect-timeout=3" 2>/dev/null)
	[ "$out" = "tcp-$1" ]
}
udp_echo() {
	local out
	out=$(echo "udp-$1" | qt_ns "$NS_CLI" timeout 5 socat -t 2 - \
		"UDP4:$SRV4:53,bind=$1" 2>/dev/null)
	[ "$out" = "udp-$1" ]
}

ok_tcp=0 ok_udp=0 ok_ping=0
for i in $(seq 1 $NADDR); do
	a=10.0.1.$((100 + i))
	tcp_echo $a && ok_tcp=$((ok_tcp + 1))
	udp_echo $a && ok_udp=$((ok_udp + 1))
	qt_ns "$NS_CLI" ping -4 -c 1 -W 2 -I $a $SRV4 >/dev/null 2>&1 &&
		ok_ping=$((ok_ping + 1))
done
qt_check "TCP echo from $NADDR addresses ($ok_tcp ok)" test $ok_tcp = $NADDR
qt_check "UDP echo from $NADDR addresses ($ok_udp ok)" test $ok_udp = $NADDR
qt_check "ping from $NADDR addresses ($ok_ping ok)" test $ok_ping = $NADDR
r0=$(qstat queue_received.0)
r1=$(qstat queue_received.1)
qt_check "queue 0 received packets (${r0:-none})" test "${r0:-0}" -gt 0
qt_check "queue 1 received packets (${r1:-none})" test "${r1:-0}" -gt 0
n=$(ctl count)
qt_check "the shards together list every flow ($n entries)" \
	test "${n:-0}" -ge $((2 * NADDR))

# ICMP port unreachable: the client's socket must see ECONNREFUSED.
refused() {
	qt_ns "$NS_CLI" "$PY" - "$1" "$SRV4" "$2" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(2)
s.connect((sys.argv[2], int(sys.argv[3])))
s.send(b"x")
try:
    s.recv(100)
except ConnectionRefusedError:
    sys.exit(0)
except socket.timeout:
    sys.exit(1)
sys.exit(1)
PYEOF
}
# Nothing listens on UDP 53 any more.
kill $udp_pid 2>/dev/null
qt_wait_for 5 not qt_listening "$NS_SRV" udp 53
ok_ref=0
for i in $(seq 1 $NADDR); do
	refused 10.0.1.$((100 + i)) 53 && ok_ref=$((ok_ref + 1))
done
qt_check "port unreachable RELATED for $NADDR addresses ($ok_ref ok)" \
	test $ok_ref = $NADDR
x0=$(qstat queue_xrelated.0)
x1=$(qstat queue_xrelated.1)
qt_check "ICMP errors related through the other queue's shard (${x0:-?}+${x1:-?})" \
	test $((${x0:-0} + ${x1:-0})) -gt 0
rel=$(qt_rule_packets 4 filter qtrack-state "0x3/0xef")
qt_check "the RELATED rule passed the errors ($rel packets)" \
	test "${rel:-0}" -ge $NADDR

# Time exceeded from the fw itself, for a UDP packet with TTL 1.
for i in $(seq 1 $NADDR); do
	qt_ns "$NS_CLI" "$PY" - 10.0.1.$((100 + i)) "$SRV4" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
s.sendto(b"x", (sys.argv[2], 53))
PYEOF
done
te=$(qt_ns "$NS_FW" iptables -L OUTPUT -v -x -n |
	awk '/icmptype 11/ { print $1; exit }')
qt_check "time-exceeded from the router RELATED ($te of $NADDR)" \
	test "${te:-0}" -ge $NADDR

qt_check "no INVALID ICMP error logged" \
	not grep -q "INVALID icmp-no-conn" "$QT_DAEMON_LOG"
kill -HUP "$QT_DAEMON_PID"
qt_check "reload with worker threads" \
	qt_wait_for 5 grep -q "reloaded" "$QT_DAEMON_LOG"
qt_check "TCP still works after the reload" tcp_echo 10.0.1.101
qt_check "qtrackd still running" qt_daemon_alive
qt_check "qtrackd exits 0 on SIGTERM" qt_daemon_stop
qt_check "both workers reported at exit" \
	test "$(grep -c 'queue [01]: .* packets, ' "$QT_DAEMON_LOG")" = 2
qt_check "no verdict errors logged" \
	not grep -q "refused a verdict\|sending verdicts" "$QT_DAEMON_LOG"

# More queues than the statistics once had rows for (64), and more rows
# than the control socket's default output buffer holds in Prometheus
# form: every queue has its row in every format, and the JSON is whole.
NQ=500
qt_conf "$QT_TMP/many.conf" accept "[table]" "max = 256"
sed -i "s/^num = 0\$/num = 0-$((NQ - 1))/" "$QT_TMP/many.conf"
qt_daemon_start "$QT_TMP/many.conf" || qt_finish
qt_check "the last of $NQ queues bound" qt_queue_bound $((NQ - 1))
n=$(ctl stats | grep -c '^queue_kernel_dropped\.')
qt_check "stats: a kernel drop row for each of $NQ queues ($n)" \
	test "$n" = $NQ
qt_check "stats: the last queue's drops read from the kernel" \
	test "$(qstat queue_kernel_dropped.$((NQ - 1)))" = 0
n=$(ctl stats -o prometheus | grep -c '^qtrack_queue_user_dropped_total{')
qt_check "prometheus: a user drop sample for each of $NQ queues ($n)" \
	test "$n" = $NQ
n=$(ctl stats -o json | "$PY" -c 'import json, sys
print(len(json.load(sys.stdin)["queue_received"]))')
qt_check "json: whole, with each of $NQ queues (${n:-not JSON})" \
	test "$n" = $NQ
qt_check "qtrackd with $NQ queues exits 0 on SIGTERM" qt_daemon_stop
qt_finish

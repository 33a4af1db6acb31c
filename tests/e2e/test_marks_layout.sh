#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_marks_layout.sh BUILD - the "[mark] layout for policy routing" of
# docs/marks.md works as written.
#
# The firewall routes the client's packets by firewall mark: mangle
# PREROUTING sets 0x7 in the low byte before the queue rule, `ip rule
# fwmark 0x7/0xff` sends them to a table with the route to the server, and
# the main table has none (unreachable).  With qtrackd's bits moved to the
# third byte (the documented [mark] section, rules written with
# 0x20000/0xef0000 and so on) a TCP transfer passes, as ESTABLISHED on
# the way back; with the default layout qtrackd owns the low byte, the
# routing mark is overwritten and the same connection cannot get through.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip iptables iptables-restore socat
qt_require_daemon
qt_topo_setup

conf=$QT_TMP/qtrackd.conf
qt_ns "$NS_FW" ip rule add fwmark 0x7/0xff table 100 priority 100
qt_ns "$NS_FW" ip route add 10.0.2.0/24 dev fws0 table 100
qt_ns "$NS_FW" ip route add unreachable $SRV4/32

qt_ns "$NS_FW" iptables-restore <<'RULES'
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i fwc0 -j MARK --set-xmark 0x7/0xff
-A PREROUTING ! -i lo -j NFQUEUE --queue-num 0 --queue-bypass
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m mark --mark 0x40000/0xef0000 -j DROP
-A FORWARD -m mark --mark 0x20000/0xef0000 -j ACCEPT
-A FORWARD -m mark --mark 0x30000/0xef0000 -j ACCEPT
-A FORWARD -p tcp --dport 22 -m mark --mark 0x10000/0xff0000 -j ACCEPT
COMMIT
RULES

# The [mark] section exactly as docs/marks.md prints it.
awk '/^### Keeping the low byte/ { s = 1 } s && /^```ini/ { c = 1; next }
	c && /^```/ { exit } c { print }' "$QT_SRC/docs/marks.md" >"$QT_TMP/mark.ini"
qt_check "docs/marks.md has the [mark] section" \
	grep -qx "mask = 0xff0000" "$QT_TMP/mark.ini"
qt_conf "$conf" accept "$(cat "$QT_TMP/mark.ini")"
qt_daemon_start "$conf" || exit 1
qt_check "third-byte layout: TCP through the policy route passes" \
	qt_tcp_transfer 4 "$NS_CLI" "$NS_SRV" srv 22 64
est=$(qt_rule_packets 4 filter FORWARD "0x20000/0xef0000")
qt_check "third-byte layout: replies matched ESTABLISHED (${est:-0})" \
	test "${est:-0}" -gt 0
qt_check "qtrackd exits 0" qt_daemon_stop

# The same filter rules in the default layout, so that only routing can
# stop the connection.
qt_ns "$NS_FW" iptables -F FORWARD
qt_ns "$NS_FW" iptables -A FORWARD -m mark --mark 0x4/0xef -j DROP
qt_ns "$NS_FW" iptables -A FORWARD -m mark --mark 0x2/0xef -j ACCEPT
qt_ns "$NS_FW" iptables -A FORWARD -m mark --mark 0x3/0xef -j ACCEPT
qt_ns "$NS_FW" iptables -A FORWARD -p tcp --dport 22 \
	-m mark --mark 0x1/0xff -j ACCEPT
qt_conf "$conf" accept
qt_daemon_start "$conf" || exit 1
qt_check "default layout: the routing mark is overwritten, no route" \
	qt_tcp_blocked 4 "$NS_CLI" "$NS_SRV" srv 22
# ... and with the main table's route back, the same rules pass it.
qt_ns "$NS_FW" ip route del unreachable $SRV4/32
qt_check "default layout, main table routes: TCP passes" \
	qt_tcp_transfer 4 "$NS_CLI" "$NS_SRV" srv 22 64
qt_check "qtrackd exits 0" qt_daemon_stop
qt_finish

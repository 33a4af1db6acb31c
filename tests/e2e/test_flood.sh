#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_flood.sh - the table cannot be filled from outside.
#
# client -- fw -- server; fw loads the shipped accept-mode rule sets (with
# their confirm rules) and runs qtrackd with [table] max = 10000 and no
# kernel conntrack.  Four bounded floods from spoofed sources, each ten
# times the table: SYNs to the open port (22), SYNs to a port the rules
# drop (8080), UDP from random ports to the open UDP port (53), and IPv6
# SYNs to the open port.  During and after each flood a client opens 100
# new TCP connections to port 22 (in the flood's family) and at least 99
# must succeed; an established transfer keeps ESTABLISHED marks
# throughout; dropped packets leave no entry; qtrackd's RSS stays flat.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_daemon
qt_require_cmd socat
qt_require_cmd iptables-restore
FLOOD=$QT_BUILD/bench/qtrack-flood
QTRACKCTL=$QT_BUILD/tools/qtrackctl
[ -x "$FLOOD" ] || qt_skip "qtrack-flood not built"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
SOCK=$QT_TMP/qtrackd.sock
MAX=10000
NFLOOD=$((10 * MAX))
RATE=50000

ctl() { qt_ns "$NS_FW" "$QTRACKCTL" --socket "$SOCK" "$@"; }
# qstat KEY: one value of `qtrackctl stats` (early_drop_proto.tcp).
qstat() { ctl stats | awk -v k="$1" '$1 == k { print $2 }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$QT_DAEMON_PID/status"; }
unconfirmed_gone() { [ "$(qstat unconfirmed)" = 0 ]; }
not() { ! "$@"; }

qt_topo_setup
# No kernel conntrack in the firewall: the shipped rule sets need none.
qt_ns "$NS_FW" iptables-restore <"$QT_SRC/conf/iptables-accept.rules" ||
	qt_skip "cannot load the shipped rule set"
qt_ns "$NS_FW" iptables -A FORWARD -p tcp --dport 5001 \
	-m mark --mark 0x1/0xff -j ACCEPT
# Replies to the spoofed sources go back towards the client side, where
# nobody has those addresses.
qt_ns "$NS_FW" ip route add 10.99.0.0/16 via $CLI4
qt_ns "$NS_FW" ip -6 route add fd99::/64 via $CLI6
qt_ns "$NS_FW" ip6tables-restore <"$QT_SRC/conf/ip6tables-accept.rules" ||
	qt_skip "cannot load the shipped IPv6 rule set"
qt_conf "$QT_TMP/flood.conf" accept "[table]" "max = $MAX"
qt_daemon_start "$QT_TMP/flood.conf" || qt_finish

# A server on port 22 that accepts and closes, for the legitimate client.
cat >"$QT_TMP/server.py" <<'EOF'
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 22))
s.listen(512)
s.settimeout(float(sys.argv[2]))
while True:
    try:
        c, _ = s.accept()
    except OSError:
        break
    c.close()
EOF
# client.py ADDR N: open N connections one after the other, print how
# many were accepted.
cat >"$QT_TMP/client.py" <<'EOF'
import socket, sys
ok = 0
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
for i in range(int(sys.argv[2])):
    c = socket.socket(fam)
    c.settimeout(8)
    try:
        c.connect((sys.argv[1], 22))
        ok += 1
    except OSError:
        pass
    finally:
        c.close()
print(ok)
EOF
qt_bg "$NS_SRV" timeout 300 "$PY" "$QT_TMP/server.py" $SRV4 300
qt_bg "$NS_SRV" timeout 300 "$PY" "$QT_TMP/server.py" $SRV6 300
qt_wait_for 5 qt_listening "$NS_SRV" tcp 22 || qt_fail "server did not start"
# legit [ADDR]: 100 connections, one after the other, to ADDR (srv, IPv4).
legit() {
	qt_ns "$NS_CLI" timeout 200 "$PY" "$QT_TMP/client.py" "${1:-$SRV4}" 100
}

# The established flow: a paced transfer through all three floods.
qt_paced_start "$NS_CLI" "$NS_SRV" $SRV4 5001 120 0.25 120 ||
	qt_fail "paced transfer did not start"
# From now on every packet of it must carry ESTABLISHED (0x2, reply 0x12).
# (By address too: a spoofed SYN may come from source port 5001.)
qt_ns "$NS_FW" iptables -I FORWARD 1 -s $CLI4 -d $SRV4 -p tcp --dport 5001 \
	-m mark ! --mark 0x2/0xff -m comment --comment qt-not-est-orig
qt_ns "$NS_FW" iptables -I FORWARD 1 -s $SRV4 -d $CLI4 -p tcp --sport 5001 \
	-m mark ! --mark 0x12/0xff -m comment --comment qt-not-est-reply

before=$(legit)
qt_check "before the floods: $before/100 connections" [ "$before" -ge 99 ]

# A connection the rules refuse waits unconfirmed: listed only when asked
# for (conntrack -L unconfirmed), and gone once its SYNs stop.
listed() { [ "$(ctl "$@" | grep -c 'dport=8080')" -gt 0 ]; }
qt_bg "$NS_CLI" timeout 3 socat -u /dev/null "TCP4:$SRV4:8080,connect-timeout=3"
qt_check "refused connection: listed by -L unconfirmed" \
	qt_wait_for 3 listed -L unconfirmed
qt_check_not "refused connection: not in -L" listed -L
qt_check "refused connection: not listed once its SYNs stop" \
	qt_wait_for 10 not listed -L unconfirmed

# flood NAME ARGS...: a flood with a legitimate client during and after
# (IPv6 when FLOOD6=1).
flood() {
	local name=$1 during after dst=$SRV4 src=10.99.0.0/16
	shift
	[ "${FLOOD6:-0}" = 1 ] && dst=$SRV6 src=fd99::/64
	qt_bg "$NS_CLI" timeout 60 "$FLOOD" -d $dst -s $src \
		-n $NFLOOD -r $RATE "$@"
	local fpid=${QT_PIDS[-1]}
	sleep 0.3
	during=$(legit $dst)
	wait "$fpid"
	after=$(legit $dst)
	qt_log "$name: legitimate connections $during/100 during," \
		"$after/100 after; early_drop $(qstat early_drop)," \
		"refused $(qstat refused), entries $(qstat entries)," \
		"unconfirmed_expired $(qstat unconfirmed_expired)," \
		"kernel queue drops $(qt_queue_drops 0)"
	qt_check "$name: >= 99/100 connections during the flood" \
		[ "$during" -ge 99 ]
	qt_check "$name: >= 99/100 connections after the flood" \
		[ "$after" -ge 99 ]
	qt_check "$name: the table never held more than max" \
		[ "$(qstat entries)" -le $MAX ]
}

flood "SYN flood to the open port" -P tcp -p 22
qt_check "open port: half-open entries were evicted" \
	[ "$(qstat early_drop_proto.tcp)" -gt 0 ]
rss1=$(rss_kb)

ed_before=$(qstat early_drop)
flood "SYN flood to a dropped port" -P tcp -p 8080
qt_check "dropped port: no connection listed for it" \
	[ "$(ctl list -p tcp --dport 8080 | grep -c 'dport=8080')" = 0 ]
qt_check "dropped port: every unconfirmed entry goes" \
	qt_wait_for 10 unconfirmed_gone
qt_check "dropped port: entries of dropped packets expired or evicted" \
	[ "$(($(qstat unconfirmed_expired) + $(qstat unconfirmed_replaced) + \
		$(qstat early_drop) - ed_before))" -gt 0 ]
qt_check "dropped port: packets came back from the confirm rule" \
	[ "$(qstat confirmed)" -gt 0 ]

flood "UDP flood from random ports" -P udp -p 53
qt_check "UDP: unassured UDP entries were evicted" \
	[ "$(qstat early_drop_proto.udp)" -gt 0 ]
ed_before=$(qstat early_drop)
FLOOD6=1 flood "IPv6 SYN flood to the open port" -P tcp -p 22
qt_check "IPv6: half-open entries were evicted" \
	[ "$(qstat early_drop)" -gt "$ed_before" ]
rss2=$(rss_kb)
qt_log "qtrackd RSS: ${rss1} kB after the first flood, ${rss2} kB after the last"
qt_check "RSS flat across the floods (+$((rss2 - rss1)) kB)" \
	[ $((rss2 - rss1)) -le 2048 ]

qt_check "established transfer: intact through the floods" \
	qt_wait_for 90 cmp -s "$QT_PACED_SRC" "$QT_PACED_DST"
qt_check "established transfer: never a state other than ESTABLISHED" \
	[ "$(qt_rule_packets 4 filter FORWARD qt-not-est-orig)" = 0 ] &&
	[ "$(qt_rule_packets 4 filter FORWARD qt-not-est-reply)" = 0 ]
qt_check "qtrackd survived" qt_daemon_alive
[ "$QT_FAILS" -eq 0 ] || tail -30 "$QT_DAEMON_LOG"
qt_finish

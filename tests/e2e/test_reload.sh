#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_reload.sh BUILD - SIGHUP reloads the configuration without losing
# a packet, and a bad or unappliable configuration leaves the old one in
# force.
#
# A TCP transfer runs through the firewall while qtrackd is sent SIGHUP
# several times: it completes intact and the kernel's queue counters show
# no drops.  A good reload changes [udp] timeout and the daemon logs the
# change; a file with a syntax error and a change of [table] max (which
# cannot apply live) are refused, the daemon keeps running and traffic
# keeps passing; putting the good file back then reloads as "no change",
# which shows that the good configuration stayed in force throughout.
# `qtrackctl reload` returns the same outcomes as its exit status.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip iptables iptables-restore socat ping ss timeout dd
qt_require_daemon
qt_topo_setup

conf=$QT_TMP/qtrackd.conf
qt_conf "$conf" accept "[udp]" "timeout = 30"
qt_ns "$NS_FW" iptables-restore <"$QT_SRC/conf/iptables-accept.rules"
qt_daemon_start "$conf" || exit 1

log_has() { grep -q -- "$1" "$QT_DAEMON_LOG"; }
log_count() { grep -c -- "$1" "$QT_DAEMON_LOG"; }

# hup_and_wait PATTERN: SIGHUP, then wait until PATTERN appears once more.
hup_and_wait() {
	local before
	before=$(log_count "$1")
	kill -HUP "$QT_DAEMON_PID"
	qt_wait_for 10 qt_log_grew "$1" "$before"
}

# A transfer paced in 40 chunks so that the reloads land in its middle.
qt_paced_start "$NS_CLI" "$NS_SRV" "$SRV4" 22 40 0.05 60 ||
	qt_fail "transfer did not start"
src=$QT_PACED_SRC dst=$QT_PACED_DST
lpid=$QT_PACED_LPID cpid=$QT_PACED_CPID
# The good reload: one changed key, logged as such.
qt_conf "$conf" accept "[udp]" "timeout = 45"
qt_check "SIGHUP during the transfer: reloaded" hup_and_wait "reloaded "
qt_check "the changed key is logged" log_has "\[udp\] timeout = 30 -> 45"
qt_check "SIGHUP again during the transfer" hup_and_wait "reload: no change"
qt_check "transfer still running during the reloads" kill -0 $cpid

wait $cpid
qt_check "client finished" test $? -eq 0
wait $lpid
qt_check "transfer through the reloads is intact" cmp -s "$src" "$dst"
drops=$(qt_queue_drops 0)
qt_check "kernel queue dropped nothing (${drops:-?})" test "${drops:-x}" = 0

# A bad file: refused with its line, the daemon keeps going.
cp "$conf" "$QT_TMP/good.conf"
printf '[udp]\ntimeout = soon\n' >"$conf"
qt_check "bad file: reload failed and logged" hup_and_wait "reload failed"
qt_check "bad file: the error names file and line" \
	log_has "$conf:2: \[udp\] timeout"
qt_check "bad file: qtrackd still running" qt_daemon_alive
qt_check "bad file: ping still passes" qt_ping 4 "$NS_CLI" $SRV4
qt_check "bad file: TCP still passes" \
	qt_tcp_transfer 4 "$NS_CLI" "$NS_SRV" srv 22 64
qt_check "bad file: NEW to 8080 still blocked" \
	qt_tcp_blocked 4 "$NS_CLI" "$NS_SRV" srv 8080

# A change that cannot apply live: refused, the daemon keeps going.
qt_conf "$conf" accept "[udp]" "timeout = 45" "[table]" "max = 1000"
qt_check "[table] max change: reload refused" hup_and_wait "reload refused"
qt_check "refused reload names the key" log_has "reload refused.*max"
qt_check "refused reload: qtrackd still running" qt_daemon_alive
qt_check "refused reload: UDP still passes" \
	qt_udp_exchange 4 "$NS_CLI" "$NS_SRV" srv 53

# The same two through the control socket: qtrackctl waits for the
# outcome and fails with it (what the unit's ExecReload relies on).
ctl() { qt_ns "$NS_FW" "$QT_BUILD/tools/qtrackctl" -c "$conf" "$@"; }
out=$(ctl reload 2>&1)
rc=$?
qt_check "qtrackctl reload, [table] max change: exit 1" test $rc -eq 1
qt_check "qtrackctl reload: the reason ('$out')" grep -q \
	"reload refused, keeping the old configuration: \[table\] max: cannot change while running" \
	<<<"$out"
# Broken outside [control]: qtrackctl still finds the socket there.
qt_conf "$conf" accept "[udp]" "timeout = soon"
out=$(ctl reload 2>&1)
rc=$?
qt_check "qtrackctl reload, broken file: exit 1" test $rc -eq 1
qt_check "qtrackctl reload, broken file: file, line and key ('$out')" \
	grep -q "reload failed.*$conf:[0-9]*: \[udp\] timeout" <<<"$out"

# The good file again: nothing to change, so the good configuration was in
# force all along.
cp "$QT_TMP/good.conf" "$conf"
qt_check "good file again: reload finds no change" \
	hup_and_wait "reload: no change"
qt_check "qtrackctl reload, good file: exit 0" ctl reload
qt_check "qtrackd exits 0 on SIGTERM" qt_daemon_stop
[ "$QT_FAILS" -eq 0 ] || cat "$QT_DAEMON_LOG"
qt_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_unit_watchdog.sh BUILD - a hung qtrackd is restarted by systemd's
# watchdog, under the container's systemd with the unit as installed
# (container.sh).
#
# The unit's WatchdogSec= is shortened to 2 s by a drop-in so the test
# does not wait 10 s.  While qtrackd runs, its pings keep it alive: after
# several periods it is the same process.  Then it is stopped with SIGSTOP
# (holding its queue, as a hang would): systemd records a watchdog
# timeout, starts a new process, and the queue is served again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container.sh"

qt_require_root
qt_require_daemon
qt_ct_boot

printf '[queue]\nnum = 0\n' >"$QT_CT_ETC/qtrackd.conf"
qt_ct mkdir -p /run/systemd/system/qtrackd.service.d
printf '[Service]\nWatchdogSec=2s\n' |
	qt_ct tee /run/systemd/system/qtrackd.service.d/watchdog.conf >/dev/null
qt_ct systemctl daemon-reload

journal() { qt_ct journalctl -q -u qtrackd.service --no-pager; }
journal_has() { journal | grep -q -- "$1"; }
mainpid() { qt_ct systemctl show -p MainPID --value qtrackd.service; }
active() { test "$(qt_ct systemctl is-active qtrackd.service)" = active; }
restarted() { active && [ "$(mainpid)" != 0 ] && [ "$(mainpid)" != "$1" ]; }
# The queue is bound by process $1 (its netlink port id is its pid).
bound_by() {
	[ "$(qt_ct awk '$1 == 0 { print $2 }' \
		/proc/net/netfilter/nfnetlink_queue)" = "$1" ]
}

qt_ct systemctl start qtrackd.service
qt_check "the unit starts" qt_wait_for 10 active
pid=$(mainpid)
qt_check "the unit has the watchdog on" test \
	"$(qt_ct systemctl show -p WatchdogUSec --value qtrackd.service)" = 2s
qt_check "the daemon says it pings" journal_has "watchdog: a ping every"
# Three periods of the watchdog: a daemon that pings is left alone.
qt_ct sleep 6
qt_check "a working daemon is left running (pid $pid)" \
	test "$(mainpid)" = "$pid"

qt_ct kill -STOP "$pid"
qt_check "a stopped daemon: systemd reports the watchdog timeout" \
	qt_wait_for 30 journal_has "Watchdog timeout"
qt_check "a stopped daemon: a new process runs" qt_wait_for 30 restarted "$pid"
new=$(mainpid)
# It binds the queue, or takes the bound socket over from systemd's file
# descriptor store (the unit keeps it across restarts).
serves() {
	bound_by "$1" || journal_has "qtrackd\[$1\]: queue 0: taken over"
}
qt_check "the new process ($new) serves the queue" \
	qt_wait_for 10 serves "$new"
qt_ct_poweroff
qt_finish

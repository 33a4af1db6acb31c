#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_sync_hostile.sh BUILD - what reaches a standby's sync port that is
# not its peer's: a wrong key, garbage, a replayed datagram, a stale one,
# correctly signed datagrams from another address or port, and a flood.  Each is refused and counted (qtrackctl stats), none is
# applied, the daemon goes on; a correctly signed datagram is applied.
#
# qtrackd runs as a standby in $NS_FW with [sync] peer 10.0.9.2; the
# sender is syncsend.py (/usr/bin/python3) in $NS_CLI at 10.0.9.2.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip timeout
qt_require_daemon
QTRACKCTL=$QT_BUILD/tools/qtrackctl

qt_sync_link
qt_ns "$NS_CLI" ip addr add 10.0.9.3/24 dev sy0

qt_sync_standby_start || exit 1

stat_of() {
	"$QTRACKCTL" --socket "$QT_TMP/qtrackd.sock" stats |
		awk -v k="$1" '$1 == k { print $2; exit }'
}


send() { qt_sync_send "$@"; }

stat_at_least() {
	[ "$(stat_of "$1")" -ge "$2" ]
}

has_conn() {
	"$QTRACKCTL" --socket "$QT_TMP/qtrackd.sock" -L -p udp --sport "$1" \
		2>/dev/null | grep -q "sport=$1 "
}

send wrongkey
qt_check "a wrong key is refused and counted" qt_wait_for 5 stat_at_least sync_refused 1
qt_check_not "nothing of it is applied" has_conn 1001

send garbage
qt_check "garbage is refused and counted" qt_wait_for 5 stat_at_least sync_refused 7

send badrecord
qt_check "a signed datagram with a damaged record is refused" \
	qt_wait_for 5 stat_at_least sync_refused 8
qt_check_not "nothing of it is applied" has_conn 4001

send foreign
qt_check "signed datagrams from another address and another port are refused and counted" \
	qt_wait_for 5 stat_at_least sync_foreign 2
qt_check_not "nothing of them is applied" eval 'has_conn 8001 || has_conn 8002'
qt_check "they are not even authenticated ($(stat_of sync_received) accepted)" \
	test "$(stat_of sync_received)" = 0

send good+replay
qt_check "a correctly signed datagram is applied" qt_wait_for 5 has_conn 2001
qt_check "its replay is refused and counted" qt_wait_for 5 stat_at_least sync_replayed 1

send stale
qt_check "a datagram an hour old is refused and counted" \
	qt_wait_for 5 stat_at_least sync_replayed 2
qt_check_not "nothing of it is applied" has_conn 3001

r0=$(stat_of sync_refused)
send flood
qt_check "a flood of 20000 datagrams is refused and counted ($(stat_of sync_refused) refused)" \
	qt_wait_for 10 stat_at_least sync_refused $((r0 + 1000))
qt_check "qtrackd still runs" qt_daemon_alive
answers() {
	"$QTRACKCTL" --socket "$QT_TMP/qtrackd.sock" stats -o json >/dev/null
}
qt_check "and answers" answers
qt_check "applied only the one good entry ($(stat_of sync_applied))" \
	test "$(stat_of sync_applied)" = 1
ctl() {
	"$QTRACKCTL" --socket "$QT_TMP/qtrackd.sock" "$@" >/dev/null 2>&1
}
qt_check "qtrackctl sync-resync answers" ctl sync-resync
qt_check "qtrackctl sync-active makes it active" \
	eval 'ctl sync-active && test "$(stat_of sync_active)" = 1'
qt_check "qtrackctl sync-standby makes it standby" \
	eval 'ctl sync-standby && test "$(stat_of sync_active)" = 0'
qt_check "qtrackd stops cleanly" qt_daemon_stop
qt_finish

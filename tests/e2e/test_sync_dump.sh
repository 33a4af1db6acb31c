#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_sync_dump.sh BUILD - a standby's full resync removes what its peer
# no longer has.  A peer's full dump of 5001 and 5002, then one without
# 5002 (its DESTROY was lost): 5002 goes, 5001 stays, and so does an entry
# the standby's own traffic created.  A dump with a gap in it (a datagram
# lost) removes nothing and makes the standby ask for another.
#
# qtrackd runs as a standby in $NS_FW (10.0.9.1) with [sync] peer
# 10.0.9.2; the peer is syncsend.py in $NS_CLI.  The standby's own entry
# is a UDP datagram from $NS_CLI to 10.0.9.1 port 9999, queued in INPUT.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip iptables timeout
qt_require_daemon
QTRACKCTL=$QT_BUILD/tools/qtrackctl

qt_sync_link
qt_ns "$NS_FW" iptables -A INPUT -p udp --dport 9999 -j NFQUEUE --queue-num 0 ||
	qt_skip "no NFQUEUE target"

qt_sync_standby_start || exit 1

ctl() { "$QTRACKCTL" --socket "$QT_TMP/qtrackd.sock" "$@"; }
stat_of() { ctl stats | awk -v k="$1" '$1 == k { print $2; exit }'; }
send() { qt_sync_send "$@"; }
has_conn() {
	ctl -L -p udp --sport "$1" 2>/dev/null | grep -q "sport=$1 "
}
has_own() {
	ctl -L -p udp --dport 9999 2>/dev/null | grep -q "dport=9999 "
}

# The standby's own connection, created by a packet while it is standby.
qt_ns "$NS_CLI" /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x", ("10.0.9.1", 9999))'
qt_check "the standby's own traffic made an entry" qt_wait_for 5 has_own

send dump
qt_check "the first dump's entry that the second lacks is removed" \
	qt_wait_for 5 eval '! has_conn 5002'
qt_check "the entry both dumps had stays" has_conn 5001
qt_check "the standby's own entry stays" has_own
qt_check "counted (sync_stale_removed $(stat_of sync_stale_removed))" \
	test "$(stat_of sync_stale_removed)" -ge 1

r0=$(stat_of sync_resync_requests)
send gapdump
qt_check "the first of two dumps is applied" qt_wait_for 5 has_conn 6002
more_requests() { [ "$(stat_of sync_resync_requests)" -gt "$r0" ]; }
qt_check "a dump with a gap makes the standby ask for another" \
	qt_wait_for 5 more_requests
qt_check "and removes nothing: 6002 stays" has_conn 6002
qt_check "qtrackd still runs" qt_daemon_alive
qt_check "qtrackd stops cleanly" qt_daemon_stop
qt_finish

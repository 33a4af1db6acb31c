#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_startup.sh BUILD - start-up errors say what to do.
#
# A second qtrackd on a queue already bound fails with "queue N is already
# bound by another process", also when it runs as a user who cannot read
# /proc/net/netfilter/nfnetlink_queue; qtrackd without CAP_NET_ADMIN fails with
# "need CAP_NET_ADMIN"; an unreadable configuration fails with "cannot read
# FILE"; each exits 1 and leaves the running daemon undisturbed.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip iptables ping setpriv
qt_require_daemon
qt_topo_setup

conf=$QT_TMP/qtrackd.conf
qt_conf "$conf" accept
chmod 755 "$QT_TMP"
chmod 644 "$conf"
qt_ns "$NS_FW" iptables -t mangle -A FORWARD -j NFQUEUE --queue-num 0
qt_daemon_start "$conf" || exit 1

out=$(qt_ns "$NS_FW" timeout 10 "$QTRACKD" -d -c "$conf" 2>&1)
rc=$?
qt_check "second daemon on queue 0: exit 1" test $rc -eq 1
qt_check "second daemon: 'queue 0 is already bound by another process'" \
	grep -q "queue 0 is already bound by another process" <<<"$out"

# As the shipped unit runs it: another user with CAP_NET_ADMIN only, who
# cannot read the 0440 proc file that names the queue's owner.
out=$(qt_ns "$NS_FW" timeout 10 setpriv --reuid=65534 --regid=65534 \
	--clear-groups --inh-caps=+net_admin --ambient-caps=+net_admin \
	"$QTRACKD" -d -c "$conf" 2>&1)
rc=$?
qt_check "second daemon, CAP_NET_ADMIN only: exit 1" test $rc -eq 1
qt_check "second daemon, CAP_NET_ADMIN only: 'already bound' ('$out')" \
	grep -q "queue 0 is already bound by another process" <<<"$out"

out=$(qt_ns "$NS_FW" timeout 10 setpriv --reuid=65534 --regid=65534 \
	--clear-groups --inh-caps=-all --bounding-set=-all \
	"$QTRACKD" -d -c "$conf" 2>&1)
rc=$?
qt_check "without CAP_NET_ADMIN: exit 1" test $rc -eq 1
qt_check "without CAP_NET_ADMIN: says what to do ('$out')" \
	grep -q "need CAP_NET_ADMIN: run as root or through systemd/qtrackd.service" \
	<<<"$out"

mkdir "$QT_TMP/dir.conf"
out=$(qt_ns "$NS_FW" timeout 10 "$QTRACKD" -d -c "$QT_TMP/dir.conf" 2>&1)
rc=$?
qt_check "a directory as config: exit 1" test $rc -eq 1
qt_check "a directory as config: 'cannot read FILE: reason'" \
	grep -q "cannot read $QT_TMP/dir.conf: " <<<"$out"

qt_check "the first daemon still serves the queue" qt_ping 4 "$NS_CLI" $SRV4
qt_check "the first daemon exits 0" qt_daemon_stop
qt_finish

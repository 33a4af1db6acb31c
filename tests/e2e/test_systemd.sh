#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_systemd.sh BUILD - the installed unit passes `systemd-analyze
# verify` without a single complaint.
#
# The build is installed with prefix /usr into a scratch root; inside a
# private mount namespace that root's /usr/sbin is mounted over /usr/sbin
# and its /usr/bin laid over /usr/bin (a read-only overlay) so the unit's
# ExecStart=/usr/sbin/qtrackd and ExecReload=/usr/bin/qtrackctl exist, and MANPATH points at the
# installed man pages so Documentation=man:qtrackd(8) is checked too.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd systemd-analyze unshare mount cmake man
qt_require_daemon

root=$QT_TMP/root
DESTDIR=$root cmake --install "$QT_BUILD" --prefix /usr >/dev/null ||
	{ qt_fail "cmake --install"; exit 1; }
unit=$root/usr/lib/systemd/system/qtrackd.service
qt_check "the unit is installed" test -f "$unit"
qt_check "the man page is installed" test -f "$root/usr/share/man/man8/qtrackd.8"
qt_check "the sysusers.d file is installed" \
	test -f "$root/usr/lib/sysusers.d/qtrack.conf"

out=$(MANPATH=$root/usr/share/man unshare -m sh -c '
	mount --bind "$1/usr/sbin" /usr/sbin || exit 99
	mount -t overlay -o "lowerdir=$1/usr/bin:/usr/bin" overlay /usr/bin ||
		exit 99
	systemd-analyze verify "$2" 2>&1' sh "$root" "$unit")
rc=$?
[ $rc -eq 99 ] && qt_skip "cannot bind-mount in a private mount namespace"
if [ $rc -eq 0 ] && [ -z "$out" ]; then
	qt_pass "systemd-analyze verify: clean"
else
	qt_fail "systemd-analyze verify: exit $rc: $out"
fi

for key in "Type=notify" "ExecStart=/usr/sbin/qtrackd" \
	"ExecReload=/usr/bin/qtrackctl reload" "Restart=on-failure" "WatchdogSec=10s" \
	"User=qtrack" "AmbientCapabilities=CAP_NET_ADMIN" \
	"CapabilityBoundingSet=CAP_NET_ADMIN" "NoNewPrivileges=yes" \
	"ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" \
	"RestrictAddressFamilies=AF_NETLINK AF_UNIX" \
	"SystemCallFilter=@system-service" "RuntimeDirectory=qtrackd" \
	"RuntimeDirectoryMode=0755" \
	"StateDirectory=qtrack" "FileDescriptorStoreMax=64"; do
	qt_check "unit has $key" grep -qxF "$key" "$unit"
done
qt_finish

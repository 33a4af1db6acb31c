#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_unit_lastgood.sh BUILD - `systemctl restart` with a broken file
# starts on the last-known-good copy, loudly, under the container's
# systemd with the unit as installed (container.sh).
#
# A good file ([table] max = 5000) starts and is saved to
# /var/lib/qtrack/last-good.conf.  The file is broken ([table] max = 7000
# and a bad line) and the unit restarted: it is active again, running the
# saved copy (stats: max 5000), and the journal and the status line say
# so.  Fixing the file and reloading clears the status line.  Without a
# saved copy a broken file still fails the start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container.sh"

qt_require_root
qt_require_daemon
qt_ct_boot

CONF=$QT_CT_ETC/qtrackd.conf
GOOD=/var/lib/qtrack/last-good.conf
journal_has() {
	qt_ct journalctl -q -u qtrackd.service -o cat --no-pager |
		grep -q -- "$1"
}
status_has() {
	qt_ct systemctl show -p StatusText --value qtrackd.service |
		grep -q -- "$1"
}
state() { qt_ct systemctl is-active qtrackd.service; }
active() { test "$(state)" = active; }
qstat() { qt_ct qtrackctl stats | awk -v k="$1" '$1 == k { print $2 }'; }

printf '[queue]\nnum = 0\n[table]\nmax = 5000\n' >"$CONF"
qt_ct systemctl start qtrackd.service
qt_check "a good file starts" qt_wait_for 10 active
qt_check "the copy is saved in the state directory" \
	qt_wait_for 10 qt_ct grep -qx "max = 5000" $GOOD
qt_check "the copy is the daemon's, not world-readable" \
	test "$(qt_ct stat -c '%U %a' $GOOD)" = "qtrack 640"

printf '[queue]\nnum = 0\n[table]\nmax = 7000\nbogus\n' >"$CONF"
qt_ct systemctl restart qtrackd.service
qt_check "broken file: the restart leaves the unit active" \
	qt_wait_for 10 active
qt_check "broken file: the saved copy runs (max 5000)" \
	test "$(qstat max)" = 5000
qt_check "broken file: the journal says so loudly" journal_has \
	"STARTING ON THE LAST KNOWN GOOD CONFIGURATION $GOOD, because /etc/qtrack/qtrackd.conf cannot be loaded: /etc/qtrack/qtrackd.conf:5:"
qt_check "broken file: the status line says so" \
	status_has "is broken (.*), running on the last known good copy"
qt_check "broken file: the copy is kept as it was" \
	qt_ct grep -qx "max = 5000" $GOOD

printf '[queue]\nnum = 0\n[table]\nmax = 5000\n[udp]\ntimeout = 40\n' >"$CONF"
qt_check "fixed file: systemctl reload exits 0" \
	qt_ct timeout 30 systemctl reload qtrackd.service
qt_check "fixed file: status line clear" \
	status_has "running with /etc/qtrack/qtrackd.conf"
qt_check "fixed file: saved as the new copy" \
	qt_ct grep -qx "timeout = 40" $GOOD

# No copy: the broken file fails the start, as before.
qt_ct systemctl stop qtrackd.service
qt_ct rm -f $GOOD
printf '[queue]\nnum = 0\nbogus\n' >"$CONF"
qt_ct systemctl start qtrackd.service 2>/dev/null
qt_check_not "no copy, broken file: the unit does not run" active
qt_check "no copy: the journal says there is none" \
	journal_has "no last known good configuration to start on"
qt_ct_poweroff
qt_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_unit_reload.sh BUILD - `systemctl reload qtrackd` tells the truth,
# under the container's systemd with the unit as installed (container.sh).
#
# A good file reloads (exit 0, the changed key in the journal); a file
# edited and not yet reloaded shows in the status line; a broken file and
# a change that needs a restart make `systemctl reload` fail with the
# reason in the journal, the unit stays active on the old configuration
# and the status line says the file on disk was not loaded; `qtrackctl
# reload` by hand fails the same way, even though the broken file is the
# one qtrackctl reads to find the socket; the good file back reloads and
# clears the status line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container.sh"

qt_require_root
qt_require_daemon
qt_ct_boot

CONF=$QT_CT_ETC/qtrackd.conf
good() { printf '[queue]\nnum = 0\n[udp]\ntimeout = %s\n' "$1" >"$CONF"; }
journal() { qt_ct journalctl -q -u qtrackd.service -o cat --no-pager; }
journal_has() { journal | grep -q -- "$1"; }
status() { qt_ct systemctl show -p StatusText --value qtrackd.service; }
status_has() { status | grep -q -- "$1"; }
active() { test "$(qt_ct systemctl is-active qtrackd.service)" = active; }
reload() { qt_ct timeout 30 systemctl reload qtrackd.service 2>/dev/null; }

good 30
qt_ct systemctl start qtrackd.service
qt_check "the unit starts" qt_wait_for 10 active
qt_check "status: running with the file" \
	status_has "running with /etc/qtrack/qtrackd.conf"

good 45
qt_check "good file: systemctl reload exits 0" reload
qt_check "good file: the change is in the journal" \
	journal_has "\[udp\] timeout = 30 -> 45"

# Edited, not reloaded: the status line says so within one look (5 s).
good 50
qt_check "edited file: the status line says it is not applied" \
	qt_wait_for 15 status_has "changed on disk since it was loaded"
good 45

printf '[udp]\ntimeout = soon\n' >"$CONF"
qt_check_not "broken file: systemctl reload fails" reload
qt_check "broken file: the journal names file, line and key" journal_has \
	"reload failed, keeping the old configuration: /etc/qtrack/qtrackd.conf:2: \[udp\] timeout"
qt_check "broken file: the unit stays active" active
qt_check "broken file: the status line says the file was not loaded" \
	status_has "/etc/qtrack/qtrackd.conf was not loaded"
out=$(qt_ct qtrackctl reload 2>&1)
rc=$?
qt_check "broken file: qtrackctl reload exits 1" test $rc -eq 1
qt_check "broken file: qtrackctl says why ('$out')" grep -q \
	"reload failed, keeping the old configuration: /etc/qtrack/qtrackd.conf:2: \[udp\] timeout" \
	<<<"$out"

printf '[queue]\nnum = 0\n[udp]\ntimeout = 45\n[table]\nmax = 1000\n' >"$CONF"
qt_check_not "restart-only change: systemctl reload fails" reload
qt_check "restart-only change: the journal says restart" \
	journal_has "\[table\] max: cannot change while running"
qt_check "restart-only change: the unit stays active" active

good 45
qt_check "good file back: systemctl reload exits 0" reload
qt_check "good file back: no change (the old one stayed in force)" \
	journal_has "reload: no change"
qt_check "good file back: status line clear" \
	status_has "running with /etc/qtrack/qtrackd.conf"
out=$(qt_ct qtrackctl reload 2>&1)
qt_check "qtrackctl reload by hand: exit 0 ('$out')" test $? -eq 0
qt_ct_poweroff
qt_finish

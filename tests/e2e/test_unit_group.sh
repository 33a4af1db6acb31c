#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_unit_group.sh BUILD - a [control] group other than qtrack works
# under the shipped unit, as qtrackd.8 says (container.sh).
#
# Group qtops with member alice; bob is in neither group.  Without the
# drop-in the daemon says it must belong to the group (and does not
# start); with SupplementaryGroups=qtops it starts, alice's qtrackctl
# gets through /run/qtrackd (0755, no longer 0750 qtrack) and bob's is
# refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container.sh"

qt_require_root
qt_require_daemon
qt_ct_boot

qt_ct groupadd qtops
qt_ct useradd -M -N -G qtops alice
qt_ct useradd -M -N bob
printf '[queue]\nnum = 0\n[control]\ngroup = qtops\n' >"$QT_CT_ETC/qtrackd.conf"

journal_has() {
	qt_ct journalctl -q -u qtrackd.service -o cat --no-pager |
		grep -q -- "$1"
}
active() { test "$(qt_ct systemctl is-active qtrackd.service)" = active; }
as() { local u=$1; shift; qt_ct runuser -u "$u" -- "$@"; }

qt_ct systemctl start qtrackd.service 2>/dev/null
qt_check "without the drop-in: the daemon says what it needs" \
	qt_wait_for 10 journal_has \
	"not a member of it (under systemd: systemctl edit qtrackd, \[Service\] SupplementaryGroups=qtops)"
qt_ct systemctl stop qtrackd.service
qt_ct systemctl reset-failed qtrackd.service 2>/dev/null

qt_ct mkdir -p /run/systemd/system/qtrackd.service.d
printf '[Service]\nSupplementaryGroups=qtops\n' |
	qt_ct tee /run/systemd/system/qtrackd.service.d/group.conf >/dev/null
qt_ct systemctl daemon-reload
qt_ct systemctl start qtrackd.service
qt_check "with SupplementaryGroups=qtops the unit starts" \
	qt_wait_for 10 active
qt_check "the socket belongs to group qtops" test \
	"$(qt_ct stat -c %G /run/qtrackd/qtrackd.sock)" = qtops
out=$(as alice qtrackctl stats 2>&1)
qt_check "alice (group qtops) uses qtrackctl" grep -q "^entries " <<<"$out"
out=$(as bob qtrackctl stats 2>&1)
rc=$?
qt_check "bob (no group) is refused ('$out')" test $rc -ne 0
qt_ct_poweroff
qt_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_unit_kdrops.sh BUILD - the kernel's drop counters work under the
# shipped unit (user qtrack, CAP_NET_ADMIN only), in a container booting
# the host's systemd (container.sh).
#
# The daemon is stopped (SIGSTOP) while 40 packets go to its queue of 8:
# the kernel drops 32.  Within one check the journal says so ("since the
# queue was bound": no silent baseline) and `qtrackctl stats` shows the
# same number as the proc file.  Then, with the unit's chgrp line taken
# out by a drop-in, the daemon says once that the counters are unavailable
# and stats print "unavailable", not 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container.sh"

qt_require_root
qt_require_daemon
qt_ct_boot

PROC=/proc/net/netfilter/nfnetlink_queue
printf '[queue]\nnum = 0\nmaxlen = 8\n' >"$QT_CT_ETC/qtrackd.conf"
qt_ct iptables -t mangle -A OUTPUT -o lo -p udp --dport 9999 \
	-j NFQUEUE --queue-num 0 ||
	qt_skip "no NFQUEUE target in the container"

journal() { qt_ct journalctl -q -u qtrackd.service -o cat --no-pager; }
qstat() { qt_ct qtrackctl stats | awk -v k="$1" '$1 == k { print $2 }'; }
active() { test "$(qt_ct systemctl is-active qtrackd.service)" = active; }
journal_has() { journal | grep -q "$1"; }

qt_ct systemctl start qtrackd.service
qt_check "the unit starts" qt_wait_for 10 active
qt_check "the proc file belongs to group qtrack" \
	test "$(qt_ct stat -c %G $PROC)" = qtrack
qt_check_not "no 'unavailable' message" \
	journal_has "drop counters are unavailable"
qt_check "stats: queue_kernel_dropped.0 is 0, a reading" \
	test "$(qstat queue_kernel_dropped.0)" = 0

pid=$(qt_ct systemctl show -p MainPID --value qtrackd.service)
qt_ct kill -STOP "$pid"
qt_ct bash -c 'for i in $(seq 40); do
	echo x >/dev/udp/127.0.0.1/9999; done' 2>/dev/null
kdrop=$(qt_ct awk '$1 == 0 { print $6 }' $PROC)
qt_ct kill -CONT "$pid"
qt_log "the kernel counted $kdrop drops"
qt_check "the kernel dropped packets for the full queue" test "$kdrop" -ge 30
qt_check "the journal reports them, counted from the bind" \
	qt_wait_for 15 journal_has \
	"queue 0: the kernel dropped $kdrop packets (queue full.*since the queue was bound"
qt_check "stats: queue_kernel_dropped.0 = $kdrop" \
	test "$(qstat queue_kernel_dropped.0)" = "$kdrop"
qt_check "stats json: a number" \
	qt_ct sh -c "qtrackctl stats -o json | grep -q '\"queue_kernel_dropped\":{\"0\":$kdrop}'"

# Without the unit's chgrp the file stays root's.
qt_ct systemctl stop qtrackd.service
qt_ct chgrp root $PROC
qt_ct mkdir -p /run/systemd/system/qtrackd.service.d
printf '[Service]\nExecStartPre=\n' |
	qt_ct tee /run/systemd/system/qtrackd.service.d/nochgrp.conf >/dev/null
qt_ct systemctl daemon-reload
qt_ct systemctl start qtrackd.service
qt_check "the unit starts without access to the file" qt_wait_for 10 active
qt_check "stats: queue_kernel_dropped.0 unavailable" \
	test "$(qstat queue_kernel_dropped.0)" = unavailable
qt_check "stats json: null" \
	qt_ct sh -c "qtrackctl stats -o json | grep -q '\"queue_kernel_dropped\":{\"0\":null}'"
qt_check "the journal says why, once" test "$(qt_ct journalctl -q \
	-u qtrackd.service -o cat --no-pager _PID="$(qt_ct systemctl show \
	-p MainPID --value qtrackd.service)" |
	grep -c "cannot read $PROC, the kernel's drop counters are unavailable")" = 1
qt_ct_poweroff
qt_finish

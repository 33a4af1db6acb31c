#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# qtrack-notify.sh - keepalived notify script for a qtrackd firewall pair
# (docs/failover.md).  Tells qtrackd its role when keepalived's VRRP
# state changes: MASTER makes it the active node (it sends its table to
# the peer), every other state (BACKUP, FAULT, STOP) the standby (it keeps
# the peer's table and asks for all of it).  qtrackd classifies with the
# table it has in either role: nothing is committed on promotion.
#
# In keepalived.conf, on a vrrp_sync_group (or a vrrp_instance):
#     notify "/etc/qtrack/qtrack-notify.sh"
# or, with qtrackd not run by systemd, naming a file holding its pid:
#     notify "/etc/qtrack/qtrack-notify.sh /run/qtrackd.pid"
# keepalived appends TYPE NAME STATE PRIORITY to the arguments.

pidfile=
case "$1" in
/*) pidfile=$1; shift ;;
esac
state=$3

case "$state" in
MASTER) sig=USR1 ;;
BACKUP | FAULT | STOP) sig=USR2 ;;
*) exit 0 ;;
esac

if [ -n "$pidfile" ]; then
	kill -s "$sig" "$(cat "$pidfile")"
else
	systemctl kill --kill-whom=main --signal="$sig" qtrackd.service
fi

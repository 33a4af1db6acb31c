#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_failover_multiqueue.sh BUILD - test_failover.sh with the flows
# spread over three queues (--queue-balance 0:2, [queue] num = 0-2) on
# both firewalls: every flow of every queue survives the failovers and
# the failback.  Fewer flows than the single-queue run, for time.
QUEUES=3 FLOWS=${FLOWS:-120} UDP_FLOWS=${UDP_FLOWS:-30} \
	V6_FLOWS=${V6_FLOWS:-24} \
	exec "$(dirname "$0")/test_failover.sh" "$@"

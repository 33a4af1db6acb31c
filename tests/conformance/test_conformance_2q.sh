#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_conformance_2q.sh BUILD_DIR - the conformance suite with qtrackd
# serving two queues (num = 7-8, one worker thread and table shard each)
# behind iptables --queue-balance 7:8.  Same verdict as test_conformance.sh.
export QT_CONFORMANCE_QUEUES=2
exec "$(dirname "$0")/test_conformance.sh" "$@"

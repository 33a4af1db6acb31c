#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_bypass_legacy.sh BUILD - test_bypass.sh with the shipped rule sets
# loaded by iptables-legacy: qtrackd's nftables table beside x_tables
# rules, IPv4 and IPv6.
export QT_BYPASS_IPTABLES=legacy
exec "$(dirname "$0")/test_bypass.sh" "$@"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_fragments.sh BUILD - fragmented traffic through the shipped rule sets
# with no kernel conntrack in the firewall.
#
# client -- fw -- server; nothing in fw uses the kernel's conntrack (checked:
# no conntrack/state/CT rule, no entry in its table, a zero count).
#
# First without the raw table's defragmenting rule: fragments reach qtrackd,
# which warns once, naming the rule, and counts them (qtrackctl stats,
# Prometheus); a later fragment is INVALID, so `ping -s 3000` is lost.
#
# Then, for the shipped rule sets in accept and repeat mode, IPv4 and IPv6:
# `ping -s 3000`, a 3000-byte UDP reply and a TCP connection whose segments
# are sent as fragments in order, reversed, duplicated and overlapping (see
# fragtool.py) get through exactly when the kernel's reassembly (the one
# its conntrack uses) makes whole datagrams of them: all but the
# overlapping one, which it discards, and the connection goes on.  qtrackd
# sees no fragment, and every reassembled datagram leaves the firewall with
# the mark the kernel's conntrack would give it (counted by rules in mangle
# POSTROUTING, before the kernel fragments it again for the next link).
. "$(dirname "$0")/lib.sh"

FRAGTOOL=$QT_SRC/tests/e2e/fragtool.py
QTRACKCTL=$QT_BUILD/tools/qtrackctl

qt_require_root
qt_require_cmd ip iptables ip6tables iptables-restore ip6tables-restore \
	iptables-save ip6tables-save ping ss timeout conntrack
qt_require_daemon
[ -x "$QTRACKCTL" ] || { qt_fail "$QTRACKCTL not built"; exit 1; }
/usr/bin/python3 -c 'import scapy.all' 2>/dev/null || qt_skip "needs scapy"
qt_topo_setup
# Probe for the socket match in a namespace of its own: in fw it would
# switch defragmentation on.
QT_NETNS+=("qtp-$QT_RND")
if ! ip netns add "qtp-$QT_RND" ||
	! qt_ns "qtp-$QT_RND" iptables -t raw -A PREROUTING -m socket \
		2>/dev/null; then
	qt_skip "kernel lacks the socket match (xt_socket)"
fi

# The client's kernel has no socket for the hand-made TCP connection and
# would reset it: drop those resets (in the client, not the firewall).
qt_ns "$NS_CLI" iptables -A OUTPUT -p tcp --sport 41000:41999 \
	--tcp-flags RST RST -j DROP
qt_ns "$NS_CLI" ip6tables -A OUTPUT -p tcp --sport 41000:41999 \
	--tcp-flags RST RST -j DROP

ctl() { qt_ns "$NS_FW" "$QTRACKCTL" -s "$QT_TMP/qtrackd.sock" "$@"; }
qstat() { ctl stats | awk -v k="$1" '$1 == k { print $2 }'; }
not() { ! "$@"; }

# Nothing in fw may ask for the kernel's conntrack, and it holds nothing.
no_kernel_conntrack() {
	local t
	for t in iptables ip6tables iptables-legacy ip6tables-legacy; do
		command -v $t-save >/dev/null || continue
		qt_ns "$NS_FW" $t-save 2>/dev/null |
			grep -Eq -- '-m (conntrack|state)|-j (CT|NOTRACK)|--ctstate|--state' &&
			return 1
	done
	[ "$(qt_ns "$NS_FW" conntrack -C 2>/dev/null || echo 0)" -eq 0 ] &&
		[ "$(qt_ns "$NS_FW" cat /proc/sys/net/netfilter/nf_conntrack_count \
			2>/dev/null || echo 0)" -eq 0 ] &&
		! qt_ns "$NS_FW" conntrack -L 2>/dev/null | grep -q .
}

load_rules() {
	local mode=$1 strip=$2 ipt
	for ipt in iptables ip6tables; do
		if [ "$strip" = yes ]; then
			# The same rule set without its *raw section.
			sed '/^\*raw$/,/^COMMIT$/d' \
				"$QT_SRC/conf/$ipt-$mode.rules" |
				qt_ns "$NS_FW" $ipt-restore
		else
			qt_ns "$NS_FW" $ipt-restore <"$QT_SRC/conf/$ipt-$mode.rules"
		fi || qt_fail "$mode: loading $ipt-$mode.rules"
	done
}

flush_rules() {
	local ipt t
	for ipt in iptables ip6tables; do
		for t in raw mangle filter security; do
			qt_ns "$NS_FW" $ipt -t $t -F
			qt_ns "$NS_FW" $ipt -t $t -X
		done
	done
}

# Counting rules at the top of mangle POSTROUTING: for each kind of large
# datagram, one rule for all of them and one for those with the expected
# mark.  Equal counts (and not zero) mean every one had the mark.
# shellcheck disable=SC2034 # read through a nameref in add_counters
COUNTS4=(
	"-p icmp --icmp-type echo-request|0x1/0xff"
	"-p icmp --icmp-type echo-reply|0x12/0xff"
	"-p udp --sport 53|0x12/0xff"
	"-p tcp --dport 22|0x2/0xff"
)
# shellcheck disable=SC2034
COUNTS6=(
	"-p ipv6-icmp --icmpv6-type echo-request|0x1/0xff"
	"-p ipv6-icmp --icmpv6-type echo-reply|0x12/0xff"
	"-p udp --sport 53|0x12/0xff"
	"-p tcp --dport 22|0x2/0xff"
)
COUNT_NAMES=("echo request NEW" "echo reply ESTABLISHED"
	"UDP reply ESTABLISHED" "TCP data ESTABLISHED")

add_counters() {
	local fam=$1 ipt=iptables i n=1 match mark
	local -n list=COUNTS$fam
	[ $fam = 6 ] && ipt=ip6tables
	for i in "${!list[@]}"; do
		match=${list[$i]%|*}
		mark=${list[$i]#*|}
		# shellcheck disable=SC2086
		qt_ns "$NS_FW" $ipt -t mangle -I POSTROUTING $n $match \
			-m length --length 1400:65535
		# shellcheck disable=SC2086
		qt_ns "$NS_FW" $ipt -t mangle -I POSTROUTING $((n + 1)) $match \
			-m length --length 1400:65535 -m mark --mark "$mark"
		n=$((n + 2))
	done
}

# rule_count FAMILY N: packets of rule N of mangle POSTROUTING.
rule_count() {
	local ipt=iptables
	[ "$1" = 6 ] && ipt=ip6tables
	qt_ns "$NS_FW" $ipt -t mangle -L POSTROUTING -v -x -n --line-numbers |
		awk -v n="$2" '$1 == n { print $2 }'
}

check_marks() {
	local t=$1 fam=$2 i all marked
	for i in "${!COUNT_NAMES[@]}"; do
		all=$(rule_count $fam $((2 * i + 1)))
		marked=$(rule_count $fam $((2 * i + 2)))
		qt_check "$t: every reassembled ${COUNT_NAMES[$i]} marked so ($marked of $all)" \
			test "${all:-0}" -gt 0 -a "${all:-0}" = "${marked:-x}"
	done
}

udp_big_reply() {
	local fam=$1 addr=$2 lpid rc=0
	ip netns exec "$NS_SRV" timeout 20 /usr/bin/python3 "$FRAGTOOL" \
		udp-server $fam 53 3000 &
	lpid=$!
	QT_PIDS+=("$lpid")
	qt_wait_for 5 qt_listening "$NS_SRV" udp 53 || return 1
	qt_ns "$NS_CLI" /usr/bin/python3 "$FRAGTOOL" udp-client $fam "$addr" \
		53 3000 || rc=1
	kill $lpid 2>/dev/null
	wait $lpid 2>/dev/null
	return $rc
}

big_ping() {
	qt_ns "$NS_CLI" ping -"$1" -c 1 -W 3 -s 3000 "$2" >/dev/null 2>&1
}

# tcp_fragments T FAMILY SRC DST: the hand-made TCP connection.
tcp_fragments() {
	local t=$1 fam=$2 src=$3 dst=$4 lpid line
	local rx=$QT_TMP/tcp.rx tx=$QT_TMP/tcp.tx
	rm -f "$rx" "$tx"
	ip netns exec "$NS_SRV" timeout 30 /usr/bin/python3 "$FRAGTOOL" \
		tcp-server $fam 22 "$rx" 7000 &
	lpid=$!
	QT_PIDS+=("$lpid")
	qt_wait_for 5 qt_listening "$NS_SRV" tcp 22 ||
		{ qt_fail "$t: TCP listener"; return; }
	while read -r line; do
		case $line in
		"ok "*) qt_pass "$t: TCP ${line#ok }" ;;
		"not ok "*) qt_fail "$t: TCP ${line#not ok }" ;;
		*) qt_log "$line" ;;
		esac
	done < <(QT_FRAG_DATA=$tx ip netns exec "$NS_CLI" timeout 60 \
		/usr/bin/python3 "$FRAGTOOL" tcp-frags $fam "$src" "$dst" 22 2>&1)
	wait $lpid 2>/dev/null
	qt_check "$t: TCP the server got every byte once, in order" \
		cmp -s "$tx" "$rx"
}

# ---- without the defragmenting rule ----------------------------------------
qt_conf "$QT_TMP/accept.conf" accept
load_rules accept yes
qt_daemon_start "$QT_TMP/accept.conf" || exit 1
qt_check "no defrag rule: no kernel conntrack in fw" no_kernel_conntrack
qt_check_not "no defrag rule: ping -s 3000 is lost (later fragments INVALID)" \
	big_ping 4 $SRV4
qt_check "no defrag rule: qtrackd warns, naming the rule" \
	qt_wait_for 5 grep -q "fragments received.*raw.*qtrack-defrag.*-m socket" \
	"$QT_DAEMON_LOG"
qt_check "no defrag rule: the warning is not repeated" \
	test "$(grep -c "fragments received" "$QT_DAEMON_LOG")" -eq 1
n=$(qstat fragments)
qt_check "no defrag rule: stats counts the fragments ($n)" \
	test "${n:-0}" -ge 2
qt_check "no defrag rule: Prometheus has the counter" \
	sh -c "'$QTRACKCTL' -s '$QT_TMP/qtrackd.sock' stats -o prometheus |
		grep -Eq '^qtrack_fragments_total [1-9]'"
qt_check "no defrag rule: qtrackd exits 0" qt_daemon_stop
flush_rules

# ---- the shipped rule sets ---------------------------------------------------
for mode in accept repeat; do
	qt_conf "$QT_TMP/$mode.conf" $mode
	load_rules $mode no
	add_counters 4
	add_counters 6
	: >"$QT_DAEMON_LOG"
	qt_daemon_start "$QT_TMP/$mode.conf" || continue
	for fam in 4 6; do
		t="$mode IPv$fam"
		cli=$CLI4 srv=$SRV4
		[ $fam = 6 ] && cli=$CLI6 srv=$SRV6
		qt_check "$t: ping -s 3000" big_ping $fam $srv
		qt_check "$t: a 3000-byte UDP reply" udp_big_reply $fam $srv
		tcp_fragments "$t" $fam $cli $srv
		check_marks "$t" $fam
	done
	qt_check "$mode: qtrackd saw no fragment" test "$(qstat fragments)" = 0
	qt_check "$mode: no fragment warning" \
		not grep -q "fragments received" "$QT_DAEMON_LOG"
	qt_check "$mode: no kernel conntrack in fw" no_kernel_conntrack
	qt_check "$mode: qtrackd exits 0" qt_daemon_stop
	flush_rules
done
qt_finish

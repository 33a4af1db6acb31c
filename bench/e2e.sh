#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# e2e.sh BUILD_DIR - the end-to-end benchmark: the same UDP load through a
# firewall namespace, measured with
#   kernel   the kernel's conntrack only (ctstate rules, no queue);
#   bare     qtrack-bareq, an accept-all NFQUEUE consumer;
#   qtrackd  qtrackd with one queue;
#   qtrackd2 qtrackd with two queues (--queue-balance 0:1, two threads);
#   bypass   qtrackd with [bypass] enable = yes: the queue rule skips packets
#            with a state, which qtrackd's nftables sets give the packets of
#            its assured flows (not in the default MODES; needs nft).
#
# Topology (made fresh for each mode, deleted afterwards):
#   cli 10.9.1.2 -- 10.9.1.1 fw 10.9.2.1 -- 10.9.2.2 srv
# qtrack-loadgen echoes UDP between cli and srv over 16 flows (source ports).
#
# Per mode: (a) saturation: closed loop with 256 requests in flight for
# SAT_SECONDS; delivered packets per second through fw (request + reply),
# and for queue modes the consumer's CPU time (utime+stime of its process,
# /proc/PID/stat) per million packets it answered (the queue's id sequence
# in /proc/net/netfilter/nfnetlink_queue); (b) latency: open loop at
# LAT_RATE requests per second for LAT_SECONDS; round-trip p50/p99.
#
# Environment: SAT_SECONDS (8), LAT_SECONDS (5), LAT_RATE (10000),
# MODES ("kernel bare qtrackd qtrackd2"), QTRACKD (another qtrackd binary,
# e.g. an older build to compare), ROUNDS (1): run all modes ROUNDS times,
# one after the other, and compute the ratios from each mode's medians
# (a shared machine's slow and fast spells then fall on every mode alike).
# Bounded: about 15 s per mode and round.
# Needs root and network namespaces.  Output: one table on stdout.
set -u
build=$(cd "${1:?usage: e2e.sh BUILD_DIR}" && pwd)
SAT_SECONDS=${SAT_SECONDS:-8}
LAT_SECONDS=${LAT_SECONDS:-5}
LAT_RATE=${LAT_RATE:-10000}
MODES=${MODES:-kernel bare qtrackd qtrackd2}
ROUNDS=${ROUNDS:-1}
LG=$build/bench/qtrack-loadgen
BQ=$build/bench/qtrack-bareq
QD=${QTRACKD:-$build/daemon/qtrackd}
PORT=9999
# The flows' source ports, the same in the warm-up and the measured runs,
# which so continue established flows.
SPORT=40000
tmp=$(mktemp -d /tmp/qtrack-bench.XXXXXX)
rnd=$(basename "$tmp" | tr -dc 'a-z0-9' | tail -c 6)
CLI=qbc-$rnd FW=qbf-$rnd SRV=qbs-$rnd
pids=()

[ "$(id -u)" = 0 ] || { echo "e2e.sh: needs root"; exit 4; }
for b in "$LG" "$BQ" "$QD"; do
	[ -x "$b" ] || { echo "e2e.sh: $b not built"; exit 1; }
done

# shellcheck source=bench/lib.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM


# rules MODE: the fw's ruleset.  The kernel mode asks conntrack for the
# state; the queue modes queue every forwarded packet and drop by mark what
# qtrackd calls INVALID (bareq leaves mark 0: everything passes).
rules() {
	case $1 in
	kernel)
		ns $FW iptables-restore <<-EOF
		*filter
		:FORWARD DROP [0:0]
		-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
		-A FORWARD -m conntrack --ctstate INVALID -j DROP
		-A FORWARD -p udp --dport $PORT -m conntrack --ctstate NEW -j ACCEPT
		COMMIT
		EOF
		;;
	*)
		local q="--queue-num 0" m=
		[ "$1" = qtrackd2 ] && q="--queue-balance 0:1"
		[ "$1" = bypass ] && m="-m mark --mark 0/0xff"
		ns $FW iptables-restore <<-EOF
		*mangle
		-A FORWARD $m -j NFQUEUE $q
		COMMIT
		*filter
		:FORWARD ACCEPT [0:0]
		-A FORWARD -m mark --mark 0x4/0xef -j DROP
		COMMIT
		EOF
		;;
	esac
}

# queue_field Q N: field N of queue Q in the fw's nfnetlink_queue.
queue_field() {
	ns $FW awk -v q="$1" -v f="$2" '$1 == q { print $f }' \
		/proc/net/netfilter/nfnetlink_queue
}
queue_ids() {
	local s=0 q v
	for q in 0 1; do
		v=$(queue_field $q 8)
		s=$((s + ${v:-0}))
	done
	echo $s
}
queue_drops() {
	local s=0 q a b
	for q in 0 1; do
		a=$(queue_field $q 6)
		b=$(queue_field $q 7)
		s=$((s + ${a:-0} + ${b:-0}))
	done
	echo $s
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
user_ticks() { awk '{ print $14 }' "/proc/$1/stat"; }

# start_consumer MODE: sets CPID to the consumer's pid (empty: none).
start_consumer() {
	local last=0 i
	CPID=
	case $1 in
	kernel) return ;;
	bare)
		ip netns exec $FW "$BQ" -q 0 >/dev/null 2>"$tmp/bareq.log" &
		;;
	qtrackd | qtrackd2 | bypass)
		local num=0
		[ "$1" = qtrackd2 ] && { num=0-1; last=1; }
		printf '[queue]\nnum = %s\n[control]\nsocket = %s\n[state]\nfile = %s\n' \
			"$num" "$tmp/qtrackd.sock" "$tmp/state" \
			>"$tmp/qtrackd.conf"
		[ "$1" = bypass ] &&
			printf '[bypass]\nenable = yes\n' >>"$tmp/qtrackd.conf"
		ip netns exec $FW "$QD" -d -c "$tmp/qtrackd.conf" >/dev/null \
			2>"$tmp/qtrackd.log" &
		;;
	esac
	CPID=$!
	pids+=($CPID)
	for i in $(seq 50); do
		[ -n "$(queue_field $last 1)" ] && break
		sleep 0.1
	done
}

kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

case $ROUNDS in
'' | *[!0-9]* | 0) echo "e2e.sh: ROUNDS must be a positive integer"; exit 1 ;;
esac
printf '%-9s %10s %12s %11s %8s %8s %8s %8s\n' mode "sat pps" \
	"cpu s/Mpkt" "user s/Mpkt" "q drops" "p50 us" "p99 us" "lat rps"
# Per mode, the figures of every round (space-separated), then medians.
declare -A PPS CPU USR P50 P99
hz=$(getconf CLK_TCK)
for round in $(seq "$ROUNDS"); do
[ "$ROUNDS" -gt 1 ] && echo "# round $round of $ROUNDS"
for mode in $MODES; do
	topo
	rules $mode
	ip netns exec $SRV "$LG" server -p $PORT -t 120 >/dev/null &
	pids+=($!)
	start_consumer $mode
	pid=$CPID
	sleep 0.3
	# Warm-up: create the flows (and, with the bypass, make them UDP
	# streams: replies seen and traffic for more than 2 s).
	ns $CLI "$LG" client -d 10.9.2.2 -p $PORT -b $SPORT -n 6000 -t 3 -r 2000 \
		>/dev/null
	ids0=$(queue_ids) drops0=$(queue_drops) t0=0
	[ -n "$pid" ] && t0=$(cpu_ticks $pid) u0=$(user_ticks $pid)
	sat=$(ns $CLI "$LG" client -d 10.9.2.2 -p $PORT -b $SPORT -n 50000000 \
		-t "$SAT_SECONDS" -w 256)
	cpu=- usr=-
	if [ -n "$pid" ]; then
		t1=$(cpu_ticks $pid) u1=$(user_ticks $pid)
		ids1=$(queue_ids)
		n=$((ids1 - ids0))
		cpu=$(awk -v t=$((t1 - t0)) -v hz=$hz -v n=$n \
			'BEGIN { printf "%.2f", n ? t / hz / (n / 1e6) : 0 }')
		usr=$(awk -v t=$((u1 - u0)) -v hz=$hz -v n=$n \
			'BEGIN { printf "%.3f", n ? t / hz / (n / 1e6) : 0 }')
	fi
	drops=$(($(queue_drops) - drops0))
	lat=$(ns $CLI "$LG" client -d 10.9.2.2 -p $PORT -b $SPORT \
		-n $((LAT_RATE * LAT_SECONDS)) -t $((LAT_SECONDS + 2)) \
		-r "$LAT_RATE")
	pps=$(kv "$sat" pps) p50=$(kv "$lat" p50_us) p99=$(kv "$lat" p99_us)
	PPS[$mode]+=" $pps" CPU[$mode]+=" $cpu" USR[$mode]+=" $usr"
	P50[$mode]+=" $p50" P99[$mode]+=" $p99"
	printf '%-9s %10s %12s %11s %8s %8s %8s %8s\n' $mode \
		"$pps" "$cpu" "$usr" "$drops" "$p50" "$p99" \
		"$(kv "$lat" rps)"
	echo "# $mode saturation: $sat"
	[ -n "$pid" ] && echo "# $mode queued during saturation: $n packets"
	echo "# $mode latency:    $lat"
	cleanup
done
done

# median LIST: the middle value (the lower of the two middle ones for an
# even count); "-" when the list is all "-" (the kernel mode's CPU).
median() {
	tr ' ' '\n' <<<"$1" | awk '$1 != "" && $1 != "-"' | sort -g |
		awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'
}
for mode in $MODES; do
	PPS[$mode]=$(median "${PPS[$mode]}") CPU[$mode]=$(median "${CPU[$mode]}")
	USR[$mode]=$(median "${USR[$mode]}") P50[$mode]=$(median "${P50[$mode]}")
	P99[$mode]=$(median "${P99[$mode]}")
done
if [ "$ROUNDS" -gt 1 ]; then
	echo "median of $ROUNDS rounds:"
	for mode in $MODES; do
		printf '%-9s %10s %12s %11s %8s %8s %8s\n' $mode "${PPS[$mode]}" \
			"${CPU[$mode]}" "${USR[$mode]}" - "${P50[$mode]}" \
			"${P99[$mode]}"
	done
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
if [ -n "${PPS[qtrackd]:-}" ] && [ -n "${PPS[bare]:-}" ]; then
	echo "qtrackd/bare   pps $(ratio "${PPS[qtrackd]}" "${PPS[bare]}") (target >= 0.90)" \
		" cpu/pkt $(ratio "${CPU[qtrackd]}" "${CPU[bare]}") (target <= 1.25)" \
		" user cpu/pkt $(ratio "${USR[qtrackd]}" "${USR[bare]}")" \
		" added p50 $((${P50[qtrackd]} - ${P50[bare]})) us," \
		" p99 $((${P99[qtrackd]} - ${P99[bare]})) us"
fi
if [ -n "${PPS[qtrackd]:-}" ] && [ -n "${PPS[kernel]:-}" ]; then
	echo "qtrackd/kernel pps $(ratio "${PPS[qtrackd]}" "${PPS[kernel]}")" \
		" added p50 $((${P50[qtrackd]} - ${P50[kernel]})) us," \
		" p99 $((${P99[qtrackd]} - ${P99[kernel]})) us"
fi
if [ -n "${PPS[bypass]:-}" ] && [ -n "${PPS[kernel]:-}" ]; then
	echo "bypass/kernel  pps $(ratio "${PPS[bypass]}" "${PPS[kernel]}") (target >= 0.90)" \
		" added p50 $((${P50[bypass]} - ${P50[kernel]})) us," \
		" p99 $((${P99[bypass]} - ${P99[kernel]})) us"
fi
if [ -n "${PPS[qtrackd2]:-}" ] && [ -n "${PPS[qtrackd]:-}" ]; then
	echo "qtrackd2/qtrackd pps $(ratio "${PPS[qtrackd2]}" "${PPS[qtrackd]}")"
fi

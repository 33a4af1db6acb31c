#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# pause.sh BUILD_DIR - how long does listing a big table stall verdicts?
# (issue 5: the control socket never stalls the packet path.)
#
# Topology (made fresh for each mode, deleted afterwards), as bench/e2e.sh:
#   cli 10.9.1.2 -- 10.9.1.1 fw 10.9.2.1 -- 10.9.2.2 srv
# fw queues every forwarded packet to qtrackd.  Per mode:
#   1. fill: qtrack-flowfill sends one UDP datagram per flow from cli to
#      10.9.2.3 (64 source ports x destination ports; dropped in fw's
#      filter FORWARD after the queue), FILL_RATE a second, until qtrackd
#      holds FLOWS connections ([udp] timeout 600 keeps them; at most four
#      passes, each sending what is still missing as new flows);
#   2. baseline: qtrack-loadgen UDP echo cli -> srv at LAT_RATE requests/s
#      for LAT_SECONDS: round trip p50/p99/max with no control traffic;
#   3. during: the same load again while `qtrackctl list | wc -l` runs
#      back to back for the whole LAT_SECONDS (the first list's time and
#      lines are reported);
#   4. stats: control_chunk_max_us (longest a walk chunk held a worker's
#      lock), control_callback_max_us (longest control callback on the main
#      loop), chunks and chunks over 1 ms;
#   5. snapshot: the same load while [state] save_interval = 1 (set by a
#      reload) has the snapshot thread write the whole table to the state
#      file back to back (a walk of one chunk per lock hold, from its own
#      thread); state_snapshots taken and state_chunk_max_us reported;
#   6. flush: the same load while `qtrackctl flush` empties the table
#      (a walk like list: one chunk of deletions per lock hold).
# Modes: 1q ([queue] num = 0: packets and control share the main loop, the
# pause is the callback) and 2q (num = 0-1, --queue-balance 0:1: worker
# threads, the pause is the lock hold).
#
# Summary columns: chunk, cpu, cb = control_chunk_max_us,
# control_chunk_max_cpu_us, control_callback_max_us; >1ms =
# control_slow_chunks (all since qtrackd started: fill, lists, stats).
#
# Environment: FLOWS (1000000), FILL_RATE (150000), LAT_RATE (5000),
# LAT_SECONDS (8), MODES ("1q 2q").  Needs root.  About 50-70 s per mode
# on a 2-vCPU machine.  Output: one block per mode, then a summary table.
set -u
build=$(cd "${1:?usage: pause.sh BUILD_DIR}" && pwd)
FLOWS=${FLOWS:-1000000}
FILL_RATE=${FILL_RATE:-150000}
LAT_RATE=${LAT_RATE:-5000}
LAT_SECONDS=${LAT_SECONDS:-8}
MODES=${MODES:-1q 2q}
LG=$build/bench/qtrack-loadgen
FF=$build/bench/qtrack-flowfill
QD=${QTRACKD:-$build/daemon/qtrackd}
QC=$build/tools/qtrackctl
PORT=9999
tmp=$(mktemp -d /tmp/qtrack-pause.XXXXXX)
rnd=$(basename "$tmp" | tr -dc 'a-z0-9' | tail -c 6)
CLI=qpc-$rnd FW=qpf-$rnd SRV=qps-$rnd
SOCK=$tmp/qtrackd.sock
pids=()

[ "$(id -u)" = 0 ] || { echo "pause.sh: needs root"; exit 4; }
for b in "$LG" "$FF" "$QD" "$QC"; do
	[ -x "$b" ] || { echo "pause.sh: $b not built"; exit 1; }
done

# shellcheck source=bench/lib.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
qc() { "$QC" -s "$SOCK" "$@"; }
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
stat_of() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }


# Everything forwarded goes through qtrackd; the fill traffic (to the
# unused 10.9.2.3) dies right after it, INVALID as usual.
rules() {
	local q="--queue-num 0"
	[ "$1" = 2q ] && q="--queue-balance 0:1"
	ns $FW iptables-restore <<-EOF
	*mangle
	-A FORWARD -j NFQUEUE $q
	COMMIT
	*filter
	:FORWARD ACCEPT [0:0]
	-A FORWARD -d 10.9.2.3 -j DROP
	-A FORWARD -m mark --mark 0x4/0xef -j DROP
	COMMIT
	EOF
}

queue_drops() {
	ns $FW awk '{ s += $6 + $7 } END { print s + 0 }' \
		/proc/net/netfilter/nfnetlink_queue
}

# write_conf MODE: the configuration; SAVE_INTERVAL sets [state]
# save_interval (0 when unset).
write_conf() {
	local num=0
	[ "$1" = 2q ] && num=0-1
	cat >"$tmp/qtrackd.conf" <<-EOF
	[queue]
	num = $num
	maxlen = 65536
	rcvbuf = 67108864
	[table]
	max = 1100000
	buckets = 1048576
	[udp]
	timeout = 600
	[control]
	socket = $SOCK
	[state]
	file = $tmp/state
	save_interval = ${SAVE_INTERVAL:-0}
	EOF
}

start_qtrackd() {
	local i
	write_conf "$1"
	ip netns exec $FW "$QD" -c "$tmp/qtrackd.conf" >/dev/null \
		2>"$tmp/qtrackd-$1.log" &
	QPID=$!
	pids+=($QPID)
	for i in $(seq 100); do
		qc count >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "pause.sh: qtrackd did not start:"
	cat "$tmp/qtrackd-$1.log"
	exit 1
}

count() { qc count 2>/dev/null || echo 0; }

# Fill until qtrackd holds FLOWS connections.
fill() {
	local offset=0 pass need have t0 last now
	t0=$(date +%s%N)
	for pass in 1 2 3 4; do
		have=$(count)
		need=$((FLOWS - have))
		[ $need -le 0 ] && break
		ns $CLI "$FF" -d 10.9.2.3 -n $need -o $offset -r "$FILL_RATE" \
			-t 60 >/dev/null
		offset=$((offset + need))
		# Let the queue drain: wait until the count stops moving.
		last=-1
		while :; do
			sleep 0.3
			now=$(count)
			[ "$now" = "$last" ] && break
			last=$now
		done
	done
	FILL_MS=$(ms_since $t0)
	FILLED=$(count)
}

# load SECONDS: the echo load for SECONDS in the background; LGPID.
load() {
	ip netns exec $CLI "$LG" client -d 10.9.2.2 -p $PORT \
		-n $((LAT_RATE * $1)) -t "$1" -r "$LAT_RATE" >"$tmp/load.out" &
	LGPID=$!
}

declare -A R
for mode in $MODES; do
	topo
	rules $mode
	ip netns exec $SRV "$LG" server -p $PORT -t 300 >/dev/null &
	pids+=($!)
	start_qtrackd $mode
	drops0=$(queue_drops)
	fill
	fill_drops=$(($(queue_drops) - drops0))
	echo "== $mode: filled $FILLED connections in $FILL_MS ms" \
		"(kernel queue drops during fill: $fill_drops)"

	# Warm the echo flows, then the baseline.
	ns $CLI "$LG" client -d 10.9.2.2 -p $PORT -n 1000 -t 2 -r 1000 \
		>/dev/null
	load "$LAT_SECONDS"
	wait $LGPID
	base=$(cat "$tmp/load.out")
	echo "   baseline: $base"

	# During: list back to back while the load runs.
	load "$LAT_SECONDS"
	sleep 0.2
	lists=0 first_ms= first_lines=
	while kill -0 $LGPID 2>/dev/null; do
		t0=$(date +%s%N)
		lines=$(qc list 2>/dev/null | wc -l)
		ms=$(ms_since $t0)
		lists=$((lists + 1))
		if [ -z "$first_ms" ]; then
			first_ms=$ms
			first_lines=$lines
		fi
	done
	wait $LGPID
	during=$(cat "$tmp/load.out")
	echo "   list: $first_lines lines in $first_ms ms" \
		"($((first_lines * 1000 / (first_ms ? first_ms : 1))) lines/s);" \
		"$lists lists during the load"
	echo "   during: $during"

	st=$(qc stats)
	echo "   stats: $(grep -E '^control_(chunk|callback)' <<<"$st" |
		tr '\n' ' ')"

	# Snapshots back to back while the load runs.
	snaps0=$(stat_of "$st" state_snapshots)
	SAVE_INTERVAL=1 write_conf $mode
	kill -HUP $QPID
	load "$LAT_SECONDS"
	wait $LGPID
	snap=$(cat "$tmp/load.out")
	SAVE_INTERVAL=0 write_conf $mode
	kill -HUP $QPID
	sst=$(qc stats)
	snaps=$(($(stat_of "$sst" state_snapshots) - ${snaps0:-0}))
	echo "   snapshots: $snaps of $(stat -c %s "$tmp/state" 2>/dev/null)" \
		"bytes during the load; state_chunk_max_us" \
		"$(stat_of "$sst" state_chunk_max_us)"
	echo "   during snapshots: $snap"

	# Flush, for contrast: one unchunked call per shard.
	load 4
	sleep 1
	t0=$(date +%s%N)
	flushed=$(qc flush 2>&1 | tr -dc '0-9 ' | awk '{ print $NF }')
	flush_ms=$(ms_since $t0)
	wait $LGPID
	fl=$(cat "$tmp/load.out")
	echo "   flush: $flushed connections in $flush_ms ms; load: $fl"

	R[$mode]=$(printf '%-4s %9s %7s %9s %6s/%-6s/%-7s %6s/%-6s/%-7s %7s %7s %7s %5s %6s/%-7s %4s %6s/%-6s/%-7s %6s' \
		$mode "$FILLED" "$first_ms" \
		"$((first_lines * 1000 / (first_ms ? first_ms : 1)))" \
		"$(kv "$base" p50_us)" "$(kv "$base" p99_us)" \
		"$(kv "$base" max_us)" \
		"$(kv "$during" p50_us)" "$(kv "$during" p99_us)" \
		"$(kv "$during" max_us)" \
		"$(stat_of "$st" control_chunk_max_us)" \
		"$(stat_of "$st" control_chunk_max_cpu_us)" \
		"$(stat_of "$st" control_callback_max_us)" \
		"$(stat_of "$st" control_slow_chunks)" \
		"$flush_ms" "$(kv "$fl" max_us)" \
		"$snaps" "$(kv "$snap" p50_us)" "$(kv "$snap" p99_us)" \
		"$(kv "$snap" max_us)" "$(stat_of "$sst" state_chunk_max_us)")
	cleanup
done

echo
printf '%-4s %9s %7s %9s %-22s %-22s %7s %7s %7s %5s %s %s %s %s\n' mode entries \
	"list ms" "lines/s" "base p50/p99/max us" "list p50/p99/max us" \
	"chunk" "cpu" "cb" ">1ms" "flush ms/max us" \
	"snaps" "snap p50/p99/max us" "s.chunk"
for mode in $MODES; do
	echo "${R[$mode]}"
done

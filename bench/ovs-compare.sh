#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ovs-compare.sh - run Open vSwitch's userspace conntrack benchmark and
# qtrack-bench's comparable mode one after the other, on the same CPU, and
# print both and the ratios.
#
#   bench/ovs-compare.sh OVSTEST [N [ITERATIONS [QTRACK_BENCH [BATCH]]]]
#
# OVSTEST is an ovstest binary you built yourself from an Open vSwitch
# source tree (./boot.sh && ./configure && make tests/ovstest); nothing of
# Open vSwitch is shipped or built here.  N defaults to 1000000, ITERATIONS
# to 3, QTRACK_BENCH to build-rel/tools/qtrack-bench, BATCH (packets per
# qt_engine_process_batch() call, qtrack-bench -b) to 1 and 32: OVS's
# benchmark passes one packet per conntrack_execute() call, so -b 1 is the
# like-for-like figure and -b 32 what the daemon does with a queue burst.
# CPU defaults to 1 (env CPU) for taskset.
#
# OVS's "ct execute (commit)" is N inserts, "ct execute (no commit)" N
# lookups of the same flows, both as average microseconds per iteration.
#
# If OVSTEST was built with bench/ovs-batch.patch (its benchmark-batch
# command), OVS also runs the same workload at each BATCH, and the script
# prints the ratio at the same batch size as well: OVS's datapath hands
# conntrack bursts of up to 32 packets too.
set -eu

ovstest=${1:?usage: $0 OVSTEST [N [ITERATIONS [QTRACK_BENCH [BATCH]]]]}
n=${2:-1000000}
iters=${3:-3}
qb=${4:-build-rel/tools/qtrack-bench}
batches=${5:-"1 32"}
cpu=${CPU:-1}

pin() {
	if command -v taskset >/dev/null 2>&1; then
		taskset -c "$cpu" "$@"
	else
		"$@"
	fi
}

out=$(pin "$ovstest" test-conntrack benchmark-zones "$n" 1 "$iters")
avg=$(printf '%s\n' "$out" | awk -F'|' '/^\| Avg/ {
	gsub(/[ us]/, "", $3); gsub(/[ us]/, "", $4); print $3, $4 }')
[ -n "$avg" ] || { printf '%s\n' "$out" >&2; echo "no Avg line" >&2; exit 1; }
ovs_ins=$(echo "$avg" | awk -v n="$n" '{ printf "%.1f", $1 * 1000 / n }')
ovs_look=$(echo "$avg" | awk -v n="$n" '{ printf "%.1f", $2 * 1000 / n }')
echo "ovs:    $n flows x $iters: $ovs_ins ns/insert, $ovs_look ns/lookup"
ovs_batch=false
if "$ovstest" test-conntrack benchmark-batch 1 1 1 >/dev/null 2>&1; then
	ovs_batch=true
fi

for b in $batches; do
	js=$(pin "$qb" --ovs "$n" "$iters" -b "$b" --json)
	ins=$(printf '%s' "$js" | sed -n 's/.*"ns_per_insert": \([0-9.]*\).*/\1/p')
	look=$(printf '%s' "$js" | sed -n 's/.*"ns_per_lookup": \([0-9.]*\).*/\1/p')
	mism=$(printf '%s' "$js" | sed -n 's/.*"mismatches": \([0-9]*\).*/\1/p')
	echo "qtrack: $n flows x $iters, batch $b: $ins ns/insert," \
		"$look ns/lookup, $mism mismatches"
	awk -v a="$ovs_ins" -v b="$ins" -v c="$ovs_look" -v d="$look" \
		-v bs="$b" 'BEGIN { printf "ratio (ovs/qtrack), batch %s: " \
		"insert %.2fx, lookup %.2fx\n", bs, a / b, c / d }'
	$ovs_batch || continue
	# "batch B: X ns/insert, Y ns/lookup"
	ob=$(pin "$ovstest" test-conntrack benchmark-batch "$n" "$iters" "$b")
	echo "ovs:    $n flows x $iters, $ob"
	printf '%s\n' "$ob" | awk -v b="$ins" -v d="$look" -v bs="$b" '{
		printf "ratio (ovs/qtrack), both batch %s: insert %.2fx, " \
		"lookup %.2fx\n", bs, $3 / b, $5 / d }'
done

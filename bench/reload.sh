#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# reload.sh BUILD_DIR - does a reload stall verdicts?
#
# Topology as bench/e2e.sh (bench/lib.sh): cli -- fw -- srv, fw queues
# every forwarded packet to qtrackd ([queue] num = 0: packets, signals and
# the control socket share the main loop).  qtrack-loadgen sends a UDP
# echo load cli -> srv at LAT_RATE requests/s for LAT_SECONDS and reports
# the round trip p50/p99/max:
#   1. baseline: no reload;
#   2. sighup:   RELOADS SIGHUPs spread over the run, each switching
#                between two files that differ in [udp] timeout and
#                [queue] maxlen, so every reload changes an engine value
#                and the kernel's queue parameters;
#   3. ctl:      the same reloads through `qtrackctl reload` (waits for
#                the outcome), from fw.
# Environment: LAT_RATE (5000), LAT_SECONDS (10), RELOADS (100), ROUNDS
# (1: how many times the three runs are repeated, in turn), QTRACKD
# (another qtrackd binary to measure, e.g. an older build; the ctl run is
# then skipped).  Needs root.
set -u
build=$(cd "${1:?usage: reload.sh BUILD_DIR}" && pwd)
LAT_RATE=${LAT_RATE:-5000}
LAT_SECONDS=${LAT_SECONDS:-10}
RELOADS=${RELOADS:-100}
LG=$build/bench/qtrack-loadgen
QD=${QTRACKD:-$build/daemon/qtrackd}
QC=$build/tools/qtrackctl
PORT=9999
tmp=$(mktemp -d /tmp/qtrack-reload.XXXXXX)
rnd=$(basename "$tmp" | tr -dc 'a-z0-9' | tail -c 6)
CLI=qrc-$rnd FW=qrf-$rnd SRV=qrs-$rnd
SOCK=$tmp/qtrackd.sock
pids=()

[ "$(id -u)" = 0 ] || { echo "reload.sh: needs root"; exit 4; }
for b in "$LG" "$QD" "$QC"; do
	[ -x "$b" ] || { echo "reload.sh: $b not built"; exit 1; }
done

# shellcheck source=bench/lib.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# conf FILE TIMEOUT MAXLEN
conf() {
	cat >"$1" <<-EOF
	[queue]
	num = 0
	maxlen = $3
	[udp]
	timeout = $2
	[control]
	socket = $SOCK
	EOF
}

topo
ns $FW iptables-restore <<-EOF
	*mangle
	-A FORWARD -j NFQUEUE --queue-num 0
	COMMIT
	EOF
ns $SRV "$LG" server -p $PORT -t 600 >/dev/null &
pids+=($!)
conf "$tmp/a.conf" 30 4096
conf "$tmp/b.conf" 31 4095
cp "$tmp/a.conf" "$tmp/qtrackd.conf"
ip netns exec $FW "$QD" -c "$tmp/qtrackd.conf" >/dev/null \
	2>"$tmp/qtrackd.log" &
QPID=$!
pids+=($QPID)
for i in $(seq 100); do
	"$QC" -s "$SOCK" count >/dev/null 2>&1 && break
	sleep 0.1
done

# run NAME RELOADER: the load, with RELOADS reloads by RELOADER meanwhile.
run() {
	local name=$1 reloader=$2 i gap lg
	ns $CLI "$LG" client -d 10.9.2.2 -p $PORT \
		-n $((LAT_RATE * LAT_SECONDS)) -t "$LAT_SECONDS" \
		-r "$LAT_RATE" >"$tmp/load.out" &
	lg=$!
	if [ "$reloader" != none ]; then
		gap=$(awk -v s="$LAT_SECONDS" -v n="$RELOADS" \
			'BEGIN { printf "%.3f", (s - 1) / n }')
		sleep 0.5
		for i in $(seq "$RELOADS"); do
			if [ $((i % 2)) = 1 ]; then
				cp "$tmp/b.conf" "$tmp/qtrackd.conf"
			else
				cp "$tmp/a.conf" "$tmp/qtrackd.conf"
			fi
			$reloader
			sleep "$gap"
		done
	fi
	wait $lg
	printf '%-9s %s\n' "$name" "$(cat "$tmp/load.out")"
}
hup() { kill -HUP $QPID; }
ctl() { ns $FW "$QC" -s "$SOCK" reload 2>/dev/null; }

# Warm the flows.
ns $CLI "$LG" client -d 10.9.2.2 -p $PORT -n 1000 -t 2 -r 1000 >/dev/null
echo "qtrackd: $QD; $LAT_RATE req/s for $LAT_SECONDS s; $RELOADS reloads"
for r in $(seq "${ROUNDS:-1}"); do
	run baseline none
	run sighup hup
	if [ -z "${QTRACKD:-}" ]; then
		run ctl ctl
	fi
done
runs=2
[ -n "${QTRACKD:-}" ] && runs=1
# An older qtrackd may log to syslog only: then nothing is counted here.
echo "reloads logged: $(grep -c 'reloaded ' "$tmp/qtrackd.log")" \
	"of $((RELOADS * ${ROUNDS:-1} * runs))"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bypass.sh BUILD_DIR - what [bypass] buys, against the kernel's conntrack,
# in one run: a firewall namespace between client and server forwards
#   small UDP   64-byte requests and their replies over 16 established
#               flows, closed loop (qtrack-loadgen): packets per second;
#   TCP bulk    iperf3, 1 stream and 4 streams: Gbit/s received;
#   new conns   sequential TCP connections (connect, close): per second;
# in three modes, each on a topology of its own (made once):
#   kernel   the kernel's conntrack (-m conntrack rules, no queue);
#   qoff     qtrackd behind the shipped accept-mode rule set, bypass off;
#   qon      the same with [bypass] enable = yes;
#   qonmin   (not in the default MODES) the bypass behind a minimal rule
#            set in the kernel mode's image: one queue rule in mangle
#            FORWARD, the filter rules on the mark, no confirm rules.
# The filter rules are the same in every mode (ESTABLISHED/RELATED accept,
# INVALID drop, NEW to the benchmark's ports accept, policy DROP); the
# queue modes load conf/iptables-accept.rules with its confirm rules.
#
# Each test runs in every mode one after the other, ROUNDS times; the
# ratios are the medians of each round's ratios, whose figures were
# measured seconds apart (a shared machine's load changes by the minute).
# The queued column is how many packets the queue saw during the test.
#
# Environment: SECONDS_UDP (3), SECONDS_TCP (3), CONNS (1000), ROUNDS (3),
# MODES ("kernel qoff qon"), TESTS ("udp tcp1 tcp4 cps").  Bounded: about 12 s per mode and round plus
# 5 s of set-up per mode; every client has a time limit.  Needs root,
# network namespaces, iperf3 and, for qon, nft.  Traffic stays in the
# namespaces it makes.  Run it under flock /tmp/qtrack-bench.lock on a
# shared machine.
set -u
build=$(cd "${1:?usage: bypass.sh BUILD_DIR}" && pwd)
SECONDS_UDP=${SECONDS_UDP:-3}
SECONDS_TCP=${SECONDS_TCP:-3}
CONNS=${CONNS:-1000}
ROUNDS=${ROUNDS:-3}
MODES=${MODES:-kernel qoff qon}
TESTS=${TESTS:-udp tcp1 tcp4 cps}
LG=$build/bench/qtrack-loadgen
QD=${QTRACKD:-$build/daemon/qtrackd}
src=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
PY=/usr/bin/python3
UPORT=9999 TPORT=5201 CPORT=22 SPORT=40000
tmp=$(mktemp -d /tmp/qtrack-bypass.XXXXXX)
rnd=$(basename "$tmp" | tr -dc 'a-z0-9' | tail -c 6)
CLI=qbc-$rnd FW=qbf-$rnd SRV=qbs-$rnd
pids=()

[ "$(id -u)" = 0 ] || { echo "bypass.sh: needs root"; exit 4; }
for b in "$LG" "$QD"; do
	[ -x "$b" ] || { echo "bypass.sh: $b not built"; exit 1; }
done
command -v iperf3 >/dev/null || { echo "bypass.sh: iperf3 missing (scripts/deps.sh)"; exit 4; }

# shellcheck source=bench/lib.sh
. "$src/bench/lib.sh"
cleanup_all() {
	local m
	for m in $MODES; do use $m; cleanup; done
}
trap 'cleanup_all; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The NEW connections the benchmark makes, written for the kernel
# (conntrack) or for qtrackd (the mark: NEW is 0x1).
allow() {
	local m="-m conntrack --ctstate NEW"
	[ "$1" = kernel ] || m="-m mark --mark 0x1/0xff"
	cat <<-EOF
	-A FORWARD -p udp --dport $UPORT $m -j ACCEPT
	-A FORWARD -p tcp --dport $TPORT $m -j ACCEPT
	-A FORWARD -p tcp --dport $CPORT $m -j ACCEPT
	EOF
}

rules() {
	if [ "$1" = kernel ]; then
		ns $FW iptables-restore <<-EOF
		*filter
		:FORWARD DROP [0:0]
		-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
		-A FORWARD -m conntrack --ctstate INVALID -j DROP
		$(allow kernel)
		COMMIT
		EOF
		return
	fi
	if [ "$1" = qonmin ]; then
		ns $FW iptables-restore <<-EOF
		*mangle
		-A FORWARD -m mark --mark 0/0xff -j NFQUEUE --queue-num 0 --queue-bypass
		COMMIT
		*filter
		:FORWARD DROP [0:0]
		-A FORWARD -m mark --mark 0x2/0xef -j ACCEPT
		-A FORWARD -m mark --mark 0x4/0xef -j DROP
		$(allow q)
		COMMIT
		EOF
		return
	fi
	# The shipped rule set, with this topology's NEW rules in its
	# FORWARD chain (after qtrack-state, before the policy).
	awk -v extra="$(allow q)" '
		/^-A FORWARD -j qtrack-state/ { print; print extra; next }
		{ print }' "$src/conf/iptables-accept.rules" |
		ns $FW iptables-restore
}

start_qtrackd() {
	local i
	printf '[queue]\nnum = 0\n[control]\nsocket = %s/%s.sock\n[state]\nfile = %s/%s.state\n' \
		"$tmp" "$1" "$tmp" "$1" >"$tmp/$1.conf"
	case $1 in qon*) printf '[bypass]\nenable = yes\n' >>"$tmp/$1.conf" ;; esac
	ip netns exec $FW "$QD" -d -c "$tmp/$1.conf" >/dev/null \
		2>"$tmp/qtrackd-$1.log" &
	QPID=$!
	pids+=($QPID)
	for i in $(seq 50); do
		grep -q "started:" "$tmp/qtrackd-$1.log" && return 0
		sleep 0.1
	done
	echo "bypass.sh: qtrackd did not start ($1)" >&2
	cat "$tmp/qtrackd-$1.log" >&2
	exit 1
}

cat >"$tmp/conn_srv.py" <<'EOF'
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.9.2.2", 22))
s.listen(1024)
while True:
    c, _ = s.accept()
    c.close()
EOF
# Sequential connections, closed by RST (SO_LINGER 0) so that the client
# runs out of neither ports nor TIME_WAIT slots; at most 60 s.
cat >"$tmp/conn_cli.py" <<'EOF'
import socket, sys, time
n, ok = int(sys.argv[1]), 0
t0 = time.monotonic()
for i in range(n):
    if time.monotonic() - t0 > 60:
        break
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    c.settimeout(5)
    try:
        c.connect(("10.9.2.2", 22))
        ok += 1
    except OSError:
        pass
    c.close()
print("%.0f" % (ok / (time.monotonic() - t0)))
EOF
# iperf3 -J on stdin: Gbit/s received.
gbits() {
	$PY -c 'import json, sys
try:
    j = json.load(sys.stdin)
    print("%.2f" % (j["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("0")'
}

kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
median() {
	tr ' ' '\n' <<<"$1" | awk '$1 != ""' | sort -g |
		awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

qids() {
	ns $FW awk '$1 == 0 { print $8 }' /proc/net/netfilter/nfnetlink_queue |
		grep . || echo 0
}

# use MODE: the namespaces of MODE's topology become $CLI $FW $SRV.
use() { CLI=qbc-$rnd-$1 FW=qbf-$rnd-$1 SRV=qbs-$rnd-$1; }

# setup MODE: MODE's topology, rules, servers, qtrackd and warmed-up UDP
# flows (replies seen for more than 2 s: assured streams, as steady
# flows are).
setup() {
	use $1
	topo
	rules $1
	# Not through ns(): $! must be the process itself.
	ip netns exec $SRV "$LG" server -p $UPORT -t 600 >/dev/null &
	pids+=($!)
	ip netns exec $SRV timeout 600 iperf3 -s -B 10.9.2.2 -p $TPORT \
		>/dev/null 2>&1 &
	pids+=($!)
	ip netns exec $SRV timeout 600 $PY "$tmp/conn_srv.py" &
	pids+=($!)
	QPID=
	[ $1 = kernel ] || start_qtrackd $1
	QP[$1]=$QPID
	sleep 0.3
	ns $CLI "$LG" client -d 10.9.2.2 -p $UPORT -b $SPORT -n 6000 \
		-t 3 -r 2000 >/dev/null
}

# measure TEST MODE: one figure of TEST in MODE's topology.
measure() {
	local out
	use $2
	case $1 in
	udp)
		out=$(ns $CLI "$LG" client -d 10.9.2.2 -p $UPORT -b $SPORT \
			-n 50000000 -t "$SECONDS_UDP" -w 256)
		kv "$out" pps
		;;
	tcp1 | tcp4)
		ns $CLI timeout $((SECONDS_TCP + 20)) iperf3 -c 10.9.2.2 \
			-p $TPORT -t "$SECONDS_TCP" -P "${1#tcp}" -J | gbits
		;;
	cps)
		ns $CLI timeout 70 $PY "$tmp/conn_cli.py" "$CONNS"
		;;
	esac
}

# Every mode's topology exists for the whole run, and each test runs in
# every mode one after the other, round after round: a shared machine's
# slow and fast spells then fall on every mode alike.
declare -A QP FIG
for mode in $MODES; do setup $mode; done
echo "# $(uname -r), $(nproc) cores; UDP ${SECONDS_UDP}s, TCP ${SECONDS_TCP}s, $CONNS connections, $ROUNDS rounds"
echo "# test   mode    figure    queued"
for round in $(seq "$ROUNDS"); do
	for t in $TESTS; do
		for mode in $MODES; do
			use $mode
			q0=$(qids)
			v=$(measure $t $mode)
			queued=-
			[ $mode = kernel ] || queued=$(($(qids) - q0))
			FIG[$t.$mode]+=" ${v:-0}"
			printf '%-6s %-7s %10s %s\n' $t $mode "${v:-0}" \
				"$queued"
		done
	done
done
for mode in $MODES; do
	[ -n "${QP[$mode]}" ] || continue
	kill "${QP[$mode]}"
	wait "${QP[$mode]}" 2>/dev/null
	grep 'bypass:' "$tmp/qtrackd-$mode.log" | sed "s/^/# $mode: /"
done

echo "median of $ROUNDS rounds: udp pps, tcp 1 stream Gbit/s, tcp 4 streams Gbit/s, conn/s"
for mode in $MODES; do
	printf '%-7s %10s %10s %10s %8s\n' $mode \
		"$(median "${FIG[udp.$mode]:-}")" "$(median "${FIG[tcp1.$mode]:-}")" \
		"$(median "${FIG[tcp4.$mode]:-}")" "$(median "${FIG[cps.$mode]:-}")"
done
# The ratio of each round's figures (measured seconds apart), then the
# median of those.
rratio() {
	local t=$1 a=$2 b=$3 i r=
	local -a x=(${FIG[$t.$a]:-}) y=(${FIG[$t.$b]:-})
	for i in "${!x[@]}"; do
		r+=" $(ratio "${x[$i]}" "${y[$i]}")"
	done
	median "$r"
}
for mode in qoff qon qonmin; do
	[ -n "${FIG[udp.$mode]:-}" ] && [ -n "${FIG[udp.kernel]:-}" ] || continue
	echo "$mode/kernel: udp pps $(rratio udp $mode kernel)," \
		"tcp 1 stream $(rratio tcp1 $mode kernel)," \
		"tcp 4 streams $(rratio tcp4 $mode kernel)," \
		"conn/s $(rratio cps $mode kernel)"
done
if [ -n "${FIG[cps.qon]:-}" ] && [ -n "${FIG[cps.qoff]:-}" ]; then
	echo "qon/qoff: conn/s $(rratio cps qon qoff) (target: unchanged)"
fi

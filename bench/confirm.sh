#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/confirm.sh - what confirmation costs per new connection.
#
#   bench/confirm.sh [BUILD] [CONNS] [ROUNDS]
#
# cli -- fw -- srv; fw runs qtrackd behind the shipped accept-mode rule set
# (conf/iptables-accept.rules), once with its confirm rules (the security
# table) and once without them, and, for reference, the kernel's conntrack
# with the same filter rules written with -m conntrack.  In each mode a
# client opens CONNS TCP connections to srv port 22, one after the other
# (connect, close), ROUNDS times; the script prints the connection rate and
# qtrackd's CPU time per connection (medians over the rounds).  Bounded:
# every connection has a 5 s timeout, and traffic stays in the namespaces
# it makes.
set -u
cd "$(dirname "$(readlink -f "$0")")/.." || exit 1
B=${1:-build}
CONNS=${2:-2000}
ROUNDS=${3:-3}
QTRACKD=$B/daemon/qtrackd
PY=/usr/bin/python3
[ -x "$QTRACKD" ] || { echo "no $QTRACKD: build first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }

R=$(mktemp -u XXXXXX | tr 'A-Z' 'a-z')
CLI=qbc-$R FW=qbf-$R SRV=qbs-$R
TMP=$(mktemp -d /tmp/qtrack-confirm.XXXXXX)
pids=()
# shellcheck source=bench/lib.sh
. bench/lib.sh
trap 'cleanup; [ -n "${QT_KEEP:-}" ] && cat "$TMP/qtrackd.log" >&2; rm -rf "$TMP"' EXIT
topo

cat >"$TMP/server.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.9.2.2", 22))
s.listen(1024)
while True:
    c, _ = s.accept()
    c.close()
EOF
cat >"$TMP/client.py" <<'EOF'
import socket, sys, time
n, ok = int(sys.argv[1]), 0
t0 = time.monotonic()
for i in range(n):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    c.settimeout(5)
    try:
        c.connect(("10.9.2.2", 22))
        ok += 1
    except OSError:
        pass
    c.close()
print("ok=%d seconds=%.3f" % (ok, time.monotonic() - t0))
EOF
ns $SRV $PY "$TMP/server.py" &
pids+=($!)
printf '[queue]\nnum = 0\n[control]\nsocket = %s/sock\n[state]\nfile = %s/state\n' "$TMP" "$TMP" >"$TMP/q.conf"

# run_mode NAME: ROUNDS client runs; prints conn/s and µs of qtrackd CPU
# per connection, each the median over the rounds.
run_mode() {
	local name=$1 qpid= i out rates=() cpus=() t0 t1
	if [ "$name" != kernel ]; then
		# Not through ns(): a backgrounded function is a subshell, and
		# $! must be qtrackd itself.
		ip netns exec $FW "$QTRACKD" -d -c "$TMP/q.conf" \
			>"$TMP/qtrackd.log" 2>&1 &
		qpid=$!
		pids+=($qpid)
		for i in $(seq 50); do
			grep -q "started:" "$TMP/qtrackd.log" && break
			sleep 0.1
		done
	fi
	for i in $(seq "$ROUNDS"); do
		[ -n "$qpid" ] && t0=$(awk '{ print $14 + $15 }' "/proc/$qpid/stat")
		out=$(ns $CLI $PY "$TMP/client.py" "$CONNS")
		echo "# $name: $out" >&2
		[ -n "$qpid" ] && t1=$(awk '{ print $14 + $15 }' "/proc/$qpid/stat")
		rates+=("$(awk -v o="$out" 'BEGIN { split(o, a, /[ =]/);
			printf "%.0f", a[2] / a[4] }')")
		[ -n "$qpid" ] && cpus+=("$(awk -v a="$t0" -v b="$t1" -v n="$CONNS" \
			-v hz="$(getconf CLK_TCK)" \
			'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }')")
	done
	[ -n "$qpid" ] && { kill "$qpid"; wait "$qpid" 2>/dev/null; }
	printf '%-22s %8s conn/s   qtrackd CPU %6s us/conn\n' "$name" \
		"$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 }
			END { print a[int((NR + 1) / 2)] }')" \
		"$( [ ${#cpus[@]} -gt 0 ] && printf '%s\n' "${cpus[@]}" | sort -n |
			awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' ||
			echo -)"
}

echo "# $CONNS sequential TCP connections per round, $ROUNDS rounds, medians"
sed 's/10\.0\./10.9./' conf/iptables-accept.rules | ns $FW iptables-restore
run_mode "qtrackd, confirm rules"
ns $FW iptables -t security -F
run_mode "qtrackd, no confirm"
ns $FW iptables -t mangle -F
ns $FW iptables -t security -F
ns $FW iptables -F
ns $FW iptables -X
ns $FW iptables -P FORWARD DROP
ns $FW iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
ns $FW iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP
ns $FW iptables -A FORWARD -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT
run_mode kernel

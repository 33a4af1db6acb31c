#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# sync.sh BUILD_DIR - what replication ([sync]) costs and what failover
# takes, on a firewall pair in network namespaces:
#
#   cli 10.9.1.2 --[brc]--+-- lan0 .11 fwa wan0 .11 --+--[brs]-- 10.9.2.2 srv
#                         |        sy0 10.9.3.1        |
#                         +-- lan0 .12 fwb wan0 .12 --+
#                                  sy0 10.9.3.2
#
# Every forwarded packet goes through qtrackd ([queue] num = 0); fwa is
# active, fwb standby.  fwa accepts NEW, fwb only ESTABLISHED and RELATED
# (by qtrackd's mark), so a flow passes fwb only if fwb knows it.
#
# 1. New connections per second, sync off, sync on, and sync on with no
#    standby running (tx: the active node's own cost, since both nodes
#    share the machine's cores here), alternated (REPS times each), fresh
#    daemons every run:
#    - udp: qtrack-flowfill sends one-datagram flows as fast as it can
#      for CONN_SECONDS (dropped after the queue): flows fwa created per
#      second (what qtrackd sustains; the queue drops the rest);
#    - tcp: CONN_THREADS Python threads open, echo one byte and close TCP
#      connections to srv for CONN_SECONDS ([tcp] timeout_time_wait 1 s,
#      so that every connection's DESTROY is sent too): connections/s.
#    With sync on: fwa's sync_sent_bytes per connection ([sync] refresh
#    3600 s, so that no refresh walk is counted: the events only), and
#    fwb's sync lag p50/p99/max (sync_lag_us: from the event on fwa to fwb
#    having applied it; one machine, one clock).
# 2. For each N of SIZES: fill fwa with N one-datagram UDP flows
#    (FILL_RATE/s), wait until fwb has them, then
#    - (largest N only) the verdict pause: a qtrack-loadgen UDP echo
#      through fwa at LAT_RATE for LAT_SECONDS, steady (sync on, paced
#      refresh every 10 s), then again while fwb asks fwa for a full dump
#      every 2 s (qtrackctl sync-resync): round trip p50/p99/max;
#    - failover: a probe UDP flow through fwa (a datagram every 0.5 ms,
#      echoed by srv) that fwb has replicated; at t0 fwb is made active
#      (qtrackctl sync-active, what the notify script does) right after
#      fwa's links went down, and cli's and srv's routes move to fwb; then
#      fwa is made standby (so fwb dumps its N entries to it while the
#      probe runs).  Failover time: t0 to the first echo of a datagram
#      sent after fwa went down (fwb classified both directions
#      ESTABLISHED); "cmds" is how long the promotion and route commands
#      themselves took (most of it: fwb's table was live before its
#      promotion); "gap" the longest pause between echoes after that
#      (fwb dumping its table to fwa meanwhile).  Then how long fwa
#      takes to hold fwb's whole table (sync_in_sync), at most 120 s.
#
# Environment: SIZES ("1000 100000 1000000"), REPS (2), CONN_SECONDS (5),
# CONN_THREADS (8), FILL_RATE (150000), LAT_RATE (5000), LAT_SECONDS (6).
# Needs root; run it under flock /tmp/qtrack-bench.lock.  Background
# programs start as plain `ip netns exec NS prog &`, so that $! is theirs.  About 4 minutes
# on a 2-vCPU machine.
set -u
build=$(cd "${1:?usage: sync.sh BUILD_DIR}" && pwd)
SIZES=${SIZES:-1000 100000 1000000}
REPS=${REPS:-2}
CONN_SECONDS=${CONN_SECONDS:-5}
CONN_THREADS=${CONN_THREADS:-8}
FILL_RATE=${FILL_RATE:-150000}
LAT_RATE=${LAT_RATE:-5000}
LAT_SECONDS=${LAT_SECONDS:-6}
LG=$build/bench/qtrack-loadgen
FF=$build/bench/qtrack-flowfill
QD=${QTRACKD:-$build/daemon/qtrackd}
QC=$build/tools/qtrackctl
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/qtrack-syncb.XXXXXX)
rnd=$(basename "$tmp" | tr -dc 'a-z0-9' | tail -c 6)
CLI=qyc-$rnd SRV=qys-$rnd FWA=qya-$rnd FWB=qyb-$rnd BRC=qyl-$rnd BRS=qyw-$rnd
pids=()

[ "$(id -u)" = 0 ] || { echo "sync.sh: needs root"; exit 4; }
for b in "$LG" "$FF" "$QD" "$QC" "$PY"; do
	[ -x "$b" ] || { echo "sync.sh: $b not built"; exit 1; }
done

ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
qc() { local n=$1; shift; "$QC" --socket "$tmp/$n.sock" "$@"; }
stat_of() { qc "$1" stats 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
count() { qc "$1" count 2>/dev/null || echo 0; }
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
now_ns() { date +%s%N; }

cleanup() {
	local p n
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pids=()
	for n in $CLI $SRV $FWA $FWB $BRC $BRS; do
		ip netns del "$n" 2>/dev/null
	done
}
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/sync.key"
chmod 600 "$tmp/sync.key"

# ---- helpers run in the namespaces -----------------------------------------

cat >"$tmp/tcpsrv.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
# Echo what arrives on 10.9.2.2:7001; close when the client does.
import selectors, socket
sel = selectors.DefaultSelector()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("10.9.2.2", 7001))
ls.listen(4096)
ls.setblocking(False)
sel.register(ls, selectors.EVENT_READ)
while True:
    for k, _ in sel.select():
        s = k.fileobj
        if s is ls:
            try:
                c, _ = ls.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
            except OSError:
                pass
            continue
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if d:
            try:
                s.send(d)
                continue
            except OSError:
                pass
        sel.unregister(s)
        s.close()
EOF

cat >"$tmp/tcpcli.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
# tcpcli.py SECONDS THREADS: connect, echo a byte, close, again.
import socket, sys, threading, time
secs, nthr = float(sys.argv[1]), int(sys.argv[2])
done, fails = [0], [0]
lock = threading.Lock()
end = time.time() + secs
def run():
    n = f = 0
    while time.time() < end:
        try:
            s = socket.create_connection(("10.9.2.2", 7001), timeout=2)
            s.sendall(b"x")
            if s.recv(1) == b"x":
                n += 1
            else:
                f += 1
            s.close()
        except OSError:
            f += 1
    with lock:
        done[0] += n
        fails[0] += f
t0 = time.time()
th = [threading.Thread(target=run) for _ in range(nthr)]
for t in th: t.start()
for t in th: t.join()
print("conns=%d fails=%d secs=%.2f" % (done[0], fails[0], time.time() - t0))
EOF

cat >"$tmp/probe.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
# probe.py SECONDS OUT: a UDP flow to 10.9.2.2:9999 (echoed), a datagram
# every 0.5 ms carrying its send time; OUT gets "sent_ns recv_ns" lines.
import os, select, socket, struct, sys, time
secs, out = float(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.9.1.2", 40000))
s.connect(("10.9.2.2", 9999))
s.setblocking(False)
got = []
end = time.time() + secs
nxt = time.time_ns()
while time.time() < end:
    now = time.time_ns()
    if now >= nxt:
        try:
            s.send(struct.pack("!Q", now) + b"p" * 24)
        except OSError:
            pass
        nxt = now + 500000
    r, _, _ = select.select([s], [], [], max(0, (nxt - time.time_ns()) / 1e9))
    if r:
        while True:
            try:
                d = s.recv(64)
            except OSError:
                break
            if len(d) >= 8:
                got.append((struct.unpack("!Q", d[:8])[0], time.time_ns()))
with open(out, "w") as f:
    for a, b in got:
        f.write("%d %d\n" % (a, b))
EOF

# ---- topology and daemons --------------------------------------------------

link() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	ns "$3" ip link set "$4" master br0 up
	ns "$1" ip link set "$2" up
}

topo() {
	local n
	for n in $CLI $SRV $FWA $FWB $BRC $BRS; do
		ip netns add $n || exit 4
		ns $n ip link set lo up
	done
	for n in $BRC $BRS; do
		ns $n ip link add br0 type bridge stp_state 0 forward_delay 0 \
			mcast_snooping 0
		ns $n ip link set br0 up
	done
	link $CLI c0 $BRC p_cli
	link $FWA lan0 $BRC p_a
	link $FWB lan0 $BRC p_b
	link $SRV s0 $BRS p_srv
	link $FWA wan0 $BRS p_a
	link $FWB wan0 $BRS p_b
	ip link add sy0 netns $FWA type veth peer name sy0 netns $FWB
	ns $CLI ip addr add 10.9.1.2/24 dev c0
	ns $SRV ip addr add 10.9.2.2/24 dev s0
	ns $CLI ip route add default via 10.9.1.11
	ns $SRV ip route add default via 10.9.2.11
	n=1
	for fw in $FWA $FWB; do
		ns $fw ip addr add 10.9.1.1$n/24 dev lan0
		ns $fw ip addr add 10.9.2.1$n/24 dev wan0
		ns $fw ip addr add 10.9.3.$n/24 dev sy0
		ns $fw ip link set sy0 up
		ns $fw sysctl -qw net.ipv4.ip_forward=1
		n=$((n + 1))
	done
	rules $FWA ACCEPT
	rules $FWB DROP
	ip netns exec $SRV "$LG" server -p 9999 -t 600 >/dev/null &
	pids+=($!)
	ip netns exec $SRV $PY "$tmp/tcpsrv.py" &
	pids+=($!)
}

# rules NS POLICY: everything forwarded through qtrackd; ESTABLISHED and
# RELATED pass, NEW only with POLICY ACCEPT; the fill flows (to the unused
# 10.9.2.3) die after the queue.
rules() {
	ns $1 iptables-restore <<-EOF
	*mangle
	-A FORWARD -j NFQUEUE --queue-num 0
	COMMIT
	*filter
	:FORWARD $2 [0:0]
	-A FORWARD -d 10.9.2.3 -j DROP
	-A FORWARD -m mark --mark 0x2/0xef -j ACCEPT
	-A FORWARD -m mark --mark 0x3/0xef -j ACCEPT
	-A FORWARD -m mark --mark 0x4/0xef -j DROP
	COMMIT
	EOF
}

# start NAME NS LOCAL PEER ROLE REFRESH (PEER empty: sync off)
start() {
	local i
	cat >"$tmp/$1.conf" <<-EOF
	[queue]
	num = 0
	maxlen = 65536
	rcvbuf = 67108864
	[table]
	max = 1100000
	buckets = 1048576
	[udp]
	timeout = 600
	[tcp]
	timeout_time_wait = 1
	[control]
	socket = $tmp/$1.sock
	[state]
	file = $tmp/$1.state
	[sync]
	local = $3
	peer = $4
	key_file = $tmp/sync.key
	role = $5
	refresh = $6
	EOF
	rm -f "$tmp/$1.state"
	ip netns exec $2 "$QD" -c "$tmp/$1.conf" >"$tmp/$1.log" 2>&1 &
	eval "PID_$1=$!"
	pids+=($!)
	for i in $(seq 100); do
		qc $1 count >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "sync.sh: qtrackd $1 did not start:"
	cat "$tmp/$1.log"
	exit 1
}

stop() {
	local p
	p=$(eval echo "\${PID_$1:-}")
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	eval "PID_$1="
}

# pair SYNC REFRESH: fresh daemons; fwb only with sync on.
pair() {
	stop fwa
	stop fwb
	if [ "$1" = tx ]; then
		# Sync on, but no standby: what sending costs the active
		# node alone (here both nodes share the same two cores).
		start fwa $FWA 10.9.3.1 10.9.3.2 active "$2"
	elif [ "$1" = on ]; then
		start fwa $FWA 10.9.3.1 10.9.3.2 active "$2"
		start fwb $FWB 10.9.3.2 10.9.3.1 standby "$2"
		wait_for 10 grep -q "standby has the peer's table" "$tmp/fwb.log"
	else
		start fwa $FWA 10.9.3.1 "" active "$2"
	fi
}

# wait_for SECONDS CMD...
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# settle NAME: until NAME's count stops moving.
settle() {
	local last=-1 now
	while :; do
		sleep 0.5
		now=$(count $1)
		[ "$now" = "$last" ] && break
		last=$now
	done
}

caught_up() { [ "$(count fwb)" -ge "$(count fwa)" ]; }

# ---- 1. connections per second ---------------------------------------------

topo
declare -A U T B L
for rep in $(seq "$REPS"); do
	for mode in off on tx; do
		pair $mode 3600
		# The rate while saturated: the count between 1 s after the
		# start and 1 s before the end (the queue behind is full).
		ip netns exec $CLI "$FF" -d 10.9.2.3 -n 5000000 -S 64 -b 20000 \
			-r 500000 -t "$CONN_SECONDS" >/dev/null &
		ffpid=$!
		sleep 1
		c1=$(count fwa) t1=$(now_ns)
		sleep $((CONN_SECONDS - 2))
		c2=$(count fwa) t2=$(now_ns)
		wait $ffpid
		settle fwa
		n=$(count fwa)
		secs=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
		rate=$(awk -v n="$((c2 - c1))" -v s="$secs" 'BEGIN { printf "%d", n / s }')
		U[$mode]+="$rate "
		line="udp rep $rep sync $mode: $((c2 - c1)) flows in $secs s = $rate/s ($n in all)"
		if [ $mode = on ]; then
			wait_for 60 caught_up
			b=$(stat_of fwa sync_sent_bytes)
			line+="; fwb has $(count fwb); $((b / (n ? n : 1))) bytes/flow;"
			line+=" lag p50/p99/max $(stat_of fwb sync_lag_us.0.5)/$(stat_of fwb sync_lag_us.0.99)/$(stat_of fwb sync_lag_us.1) us"
			B[udp]+="$((b / (n ? n : 1))) "
			L[udp]+="$(stat_of fwb sync_lag_us.0.5)/$(stat_of fwb sync_lag_us.0.99) "
		fi
		echo "$line"

		pair $mode 3600
		out=$(ns $CLI $PY "$tmp/tcpcli.py" "$CONN_SECONDS" "$CONN_THREADS")
		n=$(kv "$out" conns)
		secs=$(kv "$out" secs)
		rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%d", n / s }')
		T[$mode]+="$rate "
		line="tcp rep $rep sync $mode: $out = $rate/s"
		if [ $mode = on ]; then
			# TIME_WAIT is 1 s: wait for the DESTROYs.
			wait_for 30 eval '[ "$(count fwa)" -le 2 ]'
			sleep 1
			b=$(stat_of fwa sync_sent_bytes)
			line+="; $((b / (n ? n : 1))) bytes/connection (NEW, updates, DESTROY);"
			line+=" lag p50/p99/max $(stat_of fwb sync_lag_us.0.5)/$(stat_of fwb sync_lag_us.0.99)/$(stat_of fwb sync_lag_us.1) us"
			B[tcp]+="$((b / (n ? n : 1))) "
			L[tcp]+="$(stat_of fwb sync_lag_us.0.5)/$(stat_of fwb sync_lag_us.0.99) "
		fi
		echo "$line"
	done
done
stop fwa
stop fwb

# ---- 2. verdict pause and failover per table size --------------------------

# fill N: fwa holds N flows (at most four passes), fwb has them.
fill() {
	local offset=0 pass need t0
	t0=$(now_ns)
	for pass in 1 2 3 4; do
		need=$(($1 - $(count fwa)))
		[ $need -le 0 ] && break
		ns $CLI "$FF" -d 10.9.2.3 -n $need -o $offset -S 64 -b 20000 \
			-r "$FILL_RATE" -t 60 >/dev/null
		offset=$((offset + need))
		settle fwa
	done
	wait_for 120 caught_up
	echo "fill $1: fwa $(count fwa), fwb $(count fwb) in $((($(now_ns) - t0) / 1000000)) ms;" \
		"fwb lag p50/p99/max $(stat_of fwb sync_lag_us.0.5)/$(stat_of fwb sync_lag_us.0.99)/$(stat_of fwb sync_lag_us.1) us," \
		"fwa events dropped $(stat_of fwa sync_events_dropped), dumps $(stat_of fwa sync_dumps)"
}

declare -A F
largest=$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -1)
for size in $SIZES; do
	cleanup
	topo
	pair on 10
	fill "$size"

	if [ "$size" = "$largest" ]; then
		ns $CLI "$LG" client -d 10.9.2.2 -p 9999 -n 1000 -t 2 -r 1000 \
			>/dev/null
		base=$(ns $CLI "$LG" client -d 10.9.2.2 -p 9999 \
			-n $((LAT_RATE * LAT_SECONDS)) -t "$LAT_SECONDS" -r "$LAT_RATE")
		d0=$(stat_of fwa sync_dumps)
		ip netns exec $CLI "$LG" client -d 10.9.2.2 -p 9999 \
			-n $((LAT_RATE * LAT_SECONDS)) -t "$LAT_SECONDS" \
			-r "$LAT_RATE" >"$tmp/load.out" &
		lgpid=$!
		while kill -0 $lgpid 2>/dev/null; do
			qc fwb sync-resync >/dev/null 2>&1
			sleep 2
		done
		wait $lgpid
		during=$(cat "$tmp/load.out")
		echo "verdict pause at $size entries: steady $(kv "$base" p50_us)/$(kv "$base" p99_us)/$(kv "$base" max_us) us," \
			"during $(($(stat_of fwa sync_dumps) - d0)) full dumps $(kv "$during" p50_us)/$(kv "$during" p99_us)/$(kv "$during" max_us) us (p50/p99/max round trip)"
		PAUSE="$(kv "$base" p50_us)/$(kv "$base" p99_us)/$(kv "$base" max_us) -> $(kv "$during" p50_us)/$(kv "$during" p99_us)/$(kv "$during" max_us)"
	fi

	# Warm the neighbour entries the failover will need.
	ns $CLI ping -c1 -W1 10.9.1.12 >/dev/null
	ns $SRV ping -c1 -W1 10.9.2.12 >/dev/null
	ns $FWB ping -c1 -W1 10.9.1.2 >/dev/null
	ns $FWB ping -c1 -W1 10.9.2.2 >/dev/null
	ip netns exec $CLI $PY "$tmp/probe.py" 6 "$tmp/probe.out" &
	ppid=$!
	has_probe() {
		qc fwb -L -p udp --sport 40000 2>/dev/null | grep -q "dport=9999"
	}
	wait_for 3 has_probe || echo "fwb does not have the probe flow"
	sleep 0.5
	# The old master goes first: nothing passes fwa after td.
	ns $FWA ip link set lan0 down
	ns $FWA ip link set wan0 down
	td=$(now_ns)
	t0=$(now_ns)
	qc fwb sync-active >/dev/null
	ns $CLI ip route replace default via 10.9.1.12
	ns $SRV ip route replace default via 10.9.2.12
	t1=$(now_ns)
	qc fwa sync-standby >/dev/null
	tr=$(now_ns)
	# fwa, now standby, gets fwb's whole table (bounded: 120 s),
	# watched while the probe runs.
	in_sync() { [ "$(stat_of fwa sync_in_sync)" = 1 ]; }
	rs=">120000"
	for i in $(seq 2400); do
		if in_sync; then
			rs=$((($(now_ns) - tr) / 1000000))
			break
		fi
		sleep 0.05
	done
	wait $ppid
	r=$(awk -v t0="$t0" -v td="$td" '$1 >= td { if (!f || $2 < f) f = $2 }
		$2 >= t0 { r[++n] = $2 }
		END {
			g = 0
			for (i = 2; i <= n; i++)
				if (r[i - 1] >= f && r[i] - r[i - 1] > g)
					g = r[i] - r[i - 1]
			printf "%.1f %.1f %d", (f - t0) / 1e6, g / 1e6, n
		}' "$tmp/probe.out")
	set -- $r
	echo "failover at $size entries: first echo through fwb $1 ms after" \
		"promotion (cmds $((($t1 - $t0) / 1000000)) ms); longest gap after" \
		"it $2 ms; $3 echoes after t0; fwb dumps $(stat_of fwb sync_dumps)"
	F[$size]="$1 $((($t1 - $t0) / 1000000)) $2"
	echo "resync at $size entries: fwa has fwb's table $rs ms after" \
		"it became standby ($(count fwa) entries; fwb sent" \
		"$(stat_of fwb sync_dumps) dumps)"
	F[$size]+=" $rs"
done

echo
echo "summary (rates per rep; off then on):"
echo "  udp new flows/s: off ${U[off]:-}| on ${U[on]:-}| on without standby ${U[tx]:-}"
echo "  tcp connections/s: off ${T[off]:-}| on ${T[on]:-}| on without standby ${T[tx]:-}"
echo "  bytes per connection: udp ${B[udp]:-}| tcp ${B[tcp]:-}"
echo "  lag p50/p99 us: udp ${L[udp]:-}| tcp ${L[tcp]:-}"
echo "  verdict round trip p50/p99/max us at $largest entries, steady -> during dumps: ${PAUSE:-}"
for size in $SIZES; do
	set -- ${F[$size]}
	echo "  failover $size: $1 ms (cmds $2 ms), longest gap after $3 ms;" \
		"the old master resynced in $4 ms"
done

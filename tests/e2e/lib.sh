# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - shared helpers for qtrack's network namespace tests.
#
# Source it from tests/e2e/test_*.sh; the test is run as `test_x.sh BUILD`.
# Exit codes follow the kernel selftests: 0 pass, 1 fail, 4 skip.
#
# The topology made by qt_topo_setup:
#
#   $NS_CLI (veth cli0) --- (fwc0) $NS_FW (fws0) --- (srv0) $NS_SRV
#   10.0.1.2/24  fd00:1::2/64    10.0.1.1 fd00:1::1 | 10.0.2.1 fd00:2::1
#                                                   10.0.2.2/24 fd00:2::2/64
#
# qtrackd runs in $NS_FW, which forwards between the two.

QT_BUILD=${1:-}
QT_SRC=${QT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
QTRACKD=${QT_BUILD:+$QT_BUILD/daemon/qtrackd}

QT_KSFT_SKIP=4
QT_FAILS=0
QT_PIDS=()
QT_NETNS=()
QT_TMP=$(mktemp -d /tmp/qtrack-e2e.XXXXXX)
QT_RND=$(mktemp -u XXXXXX | tr 'A-Z' 'a-z')
NS_CLI=qtc-$QT_RND
NS_FW=qtf-$QT_RND
NS_SRV=qts-$QT_RND
CLI4=10.0.1.2
SRV4=10.0.2.2
CLI6=fd00:1::2
SRV6=fd00:2::2
QT_DAEMON_PID=

qt_log() { echo "# $*"; }
qt_pass() { echo "PASS: $*"; }
qt_fail() {
	echo "FAIL: $*"
	QT_FAILS=$((QT_FAILS + 1))
}
qt_skip() {
	echo "SKIP: $*"
	exit $QT_KSFT_SKIP
}

# qt_check DESCRIPTION CMD...: PASS if CMD succeeds, else FAIL.
qt_check() {
	local what=$1
	shift
	if "$@"; then qt_pass "$what"; else qt_fail "$what"; fi
}

# qt_check_not DESCRIPTION CMD...: PASS if CMD fails.
qt_check_not() {
	local what=$1
	shift
	if "$@"; then qt_fail "$what"; else qt_pass "$what"; fi
}

qt_finish() {
	if [ "$QT_FAILS" -ne 0 ]; then
		echo "# $QT_FAILS check(s) failed"
		exit 1
	fi
	exit 0
}

qt_cleanup() {
	local pid ns
	for pid in "${QT_PIDS[@]}" $QT_DAEMON_PID; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${QT_PIDS[@]}" $QT_DAEMON_PID; do
		wait "$pid" 2>/dev/null
	done
	for ns in "${QT_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$QT_TMP"
}
trap qt_cleanup EXIT

qt_require_root() {
	[ "$(id -u)" -eq 0 ] || qt_skip "needs root"
}

qt_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || qt_skip "needs $c"
	done
}

qt_require_daemon() {
	[ -n "$QT_BUILD" ] || { echo "usage: $0 BUILD_DIR"; exit 1; }
	[ -x "$QTRACKD" ] || { qt_fail "$QTRACKD not built"; exit 1; }
}

# qt_wait_for SECONDS CMD...: poll CMD until it succeeds or time runs out.
qt_wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
	return 0
}

qt_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# The replication tests' standby: $NS_FW (10.0.9.1) joined by veth sy0
# to $NS_CLI (10.0.9.2), where tests/e2e/syncsend.py plays the active node
# with key $QT_SYNC_KEY.  qt_sync_link makes the link (skip if the kernel
# cannot), qt_sync_standby_start starts qtrackd on it as the standby.
QT_SYNC_KEY=0123456789abcdef0123456789abcdef
qt_sync_link() {
	local ns
	for ns in "$NS_CLI" "$NS_FW"; do
		ip netns add "$ns" || qt_skip "cannot create network namespaces"
		QT_NETNS+=("$ns")
		qt_ns "$ns" ip link set lo up
	done
	ip link add sy0 netns "$NS_FW" type veth peer name sy0 \
		netns "$NS_CLI" || qt_skip "no veth support"
	qt_ns "$NS_FW" ip addr add 10.0.9.1/24 dev sy0
	qt_ns "$NS_CLI" ip addr add 10.0.9.2/24 dev sy0
	qt_ns "$NS_FW" ip link set sy0 up
	qt_ns "$NS_CLI" ip link set sy0 up
}
qt_sync_standby_start() {
	echo "$QT_SYNC_KEY" >"$QT_TMP/sync.key"
	chmod 600 "$QT_TMP/sync.key"
	qt_conf "$QT_TMP/qtrackd.conf" accept "[sync]" "local = 10.0.9.1" \
		"peer = 10.0.9.2" "key_file = $QT_TMP/sync.key" \
		"role = standby"
	qt_daemon_start "$QT_TMP/qtrackd.conf"
}
# qt_sync_send WHAT: syncsend.py's message WHAT from the peer.
qt_sync_send() {
	qt_ns "$NS_CLI" /usr/bin/python3 "$QT_SRC/tests/e2e/syncsend.py" \
		"$QT_SYNC_KEY" "$1"
}

# Make the three namespaces and the veth links; skip if the kernel cannot.
qt_topo_setup() {
	local ns
	for ns in "$NS_CLI" "$NS_FW" "$NS_SRV"; do
		ip netns add "$ns" || qt_skip "cannot create network namespaces"
		QT_NETNS+=("$ns")
		qt_ns "$ns" ip link set lo up
	done
	ip link add cli0 netns "$NS_CLI" type veth peer name fwc0 \
		netns "$NS_FW" || qt_skip "no veth support"
	ip link add srv0 netns "$NS_SRV" type veth peer name fws0 \
		netns "$NS_FW"
	qt_ns "$NS_CLI" ip addr add $CLI4/24 dev cli0
	qt_ns "$NS_CLI" ip addr add $CLI6/64 dev cli0 nodad
	qt_ns "$NS_SRV" ip addr add $SRV4/24 dev srv0
	qt_ns "$NS_SRV" ip addr add $SRV6/64 dev srv0 nodad
	qt_ns "$NS_FW" ip addr add 10.0.1.1/24 dev fwc0
	qt_ns "$NS_FW" ip addr add fd00:1::1/64 dev fwc0 nodad
	qt_ns "$NS_FW" ip addr add 10.0.2.1/24 dev fws0
	qt_ns "$NS_FW" ip addr add fd00:2::1/64 dev fws0 nodad
	qt_ns "$NS_CLI" ip link set cli0 up
	qt_ns "$NS_SRV" ip link set srv0 up
	qt_ns "$NS_FW" ip link set fwc0 up
	qt_ns "$NS_FW" ip link set fws0 up
	qt_ns "$NS_CLI" ip route add default via 10.0.1.1
	qt_ns "$NS_CLI" ip -6 route add default via fd00:1::1
	qt_ns "$NS_SRV" ip route add default via 10.0.2.1
	qt_ns "$NS_SRV" ip -6 route add default via fd00:2::1
	qt_ns "$NS_FW" sysctl -qw net.ipv4.ip_forward=1
	qt_ns "$NS_FW" sysctl -qw net.ipv6.conf.all.forwarding=1
	# Probe for NFQUEUE: without nfnetlink_queue the rule is refused.
	qt_ns "$NS_FW" iptables -t mangle -A FORWARD -j NFQUEUE \
		--queue-num 0 --queue-bypass 2>/dev/null ||
		qt_skip "kernel lacks the NFQUEUE target"
	qt_ns "$NS_FW" iptables -t mangle -F FORWARD
}

# qt_conf FILE MODE [EXTRA...]: write a daemon configuration whose control
# socket and state file live in the test's directory (a test must never
# meet the table another test left in the default state file).
qt_conf() {
	local file=$1 mode=$2
	shift 2
	{
		echo "[queue]"
		echo "num = 0"
		echo "mode = $mode"
		echo "[state]"
		echo "file = $QT_TMP/state"
		echo "[control]"
		echo "socket = $QT_TMP/qtrackd.sock"
		printf '%s\n' "$@"
	} >"$file"
}

# qt_queue_bound NUM: the fw namespace's kernel lists queue NUM as bound.
qt_queue_bound() {
	qt_ns "$NS_FW" awk -v q="$1" '$1 == q { f = 1 } END { exit !f }' \
		/proc/net/netfilter/nfnetlink_queue
}

# qt_queue_drops NUM: queue_dropped + user_dropped of queue NUM.
qt_queue_drops() {
	qt_ns "$NS_FW" awk -v q="$1" '$1 == q { print $6 + $7 }' \
		/proc/net/netfilter/nfnetlink_queue
}

# qt_log_grew PATTERN N: the daemon log has more than N lines with PATTERN.
qt_log_grew() {
	[ "$(grep -c -- "$1" "$QT_DAEMON_LOG")" -gt "$2" ]
}

# qt_daemon_start CONF: run qtrackd -d in the fw namespace, logging to
# $QT_TMP/qtrackd.log, and wait until it has bound its queue.
qt_daemon_start() {
	local before
	QT_DAEMON_LOG=$QT_TMP/qtrackd.log
	touch "$QT_DAEMON_LOG"
	before=$(grep -c "started:" "$QT_DAEMON_LOG")
	ip netns exec "$NS_FW" "$QTRACKD" -d -c "$1" >>"$QT_DAEMON_LOG" 2>&1 &
	QT_DAEMON_PID=$!
	if ! qt_wait_for 10 qt_log_grew "started:" "$before"; then
		qt_fail "qtrackd did not start"
		cat "$QT_DAEMON_LOG"
		return 1
	fi
}

# qt_daemon_stop: SIGTERM, wait; returns the daemon's exit status.
qt_daemon_stop() {
	local rc=0
	[ -n "$QT_DAEMON_PID" ] || return 0
	kill -TERM "$QT_DAEMON_PID" 2>/dev/null
	wait "$QT_DAEMON_PID" || rc=$?
	QT_DAEMON_PID=
	return $rc
}

qt_daemon_alive() {
	[ -n "$QT_DAEMON_PID" ] && kill -0 "$QT_DAEMON_PID" 2>/dev/null
}

# qt_bg NS CMD...: run CMD in NS in the background, remembered for cleanup.
qt_bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" &
	QT_PIDS+=($!)
}

# qt_listening NS PROTO PORT: a socket listens on PORT (tcp or udp).
qt_listening() {
	local opt=-ltnH
	[ "$2" = udp ] && opt=-lunH
	qt_ns "$1" ss $opt "sport = :$3" | grep -q .
}

# qt_addr FAMILY HOST: the address of cli or srv for family 4 or 6.
qt_addr() {
	case "$1$2" in
	4cli) echo $CLI4 ;;
	4srv) echo $SRV4 ;;
	6cli) echo "[$CLI6]" ;;
	6srv) echo "[$SRV6]" ;;
	esac
}

# IPv6 listeners must not also take the IPv4 port (and the reverse).
qt_v6only() {
	[ "$1" = 6 ] && echo ",ipv6only=1"
}

# qt_tcp_transfer FAMILY FROM_NS TO_NS TO_HOST PORT SIZE_KB: start a
# one-shot listener in TO_NS, send SIZE_KB of random data from FROM_NS and
# compare what arrived.  Succeeds only if the data is intact.
qt_tcp_transfer() {
	local fam=$1 from=$2 to=$3 host=$4 port=$5 kb=$6
	local src=$QT_TMP/tx.$port dst=$QT_TMP/rx.$port
	head -c $((kb * 1024)) /dev/urandom >"$src"
	rm -f "$dst"
	ip netns exec "$to" timeout 30 socat -u \
		"TCP$fam-LISTEN:$port,reuseaddr$(qt_v6only "$fam")" \
		"OPEN:$dst,creat,trunc" &
	local lpid=$!
	QT_PIDS+=($lpid)
	qt_wait_for 5 qt_listening "$to" tcp "$port" || return 1
	qt_ns "$from" timeout 20 socat -u "OPEN:$src" \
		"TCP$fam:$(qt_addr "$fam" "$host"):$port,connect-timeout=3" ||
		{ kill $lpid 2>/dev/null; return 1; }
	wait $lpid 2>/dev/null
	cmp -s "$src" "$dst"
}

# qt_paced_start FROM_NS TO_NS ADDR PORT CHUNKS DELAY LIMIT: start, in the
# background, an IPv4 transfer of CHUNKS random 16 KiB chunks sent DELAY
# seconds apart, so that something can happen in its middle; both sides
# give up after LIMIT seconds.  Sets QT_PACED_SRC and QT_PACED_DST (the
# files), QT_PACED_LPID and QT_PACED_CPID (listener and client), and
# returns once data has started to arrive.
qt_paced_start() {
	local from=$1 to=$2 addr=$3 port=$4 chunks=$5 delay=$6 limit=$7
	QT_PACED_SRC=$QT_TMP/paced.tx
	QT_PACED_DST=$QT_TMP/paced.rx
	head -c $((chunks * 16384)) /dev/urandom >"$QT_PACED_SRC"
	rm -f "$QT_PACED_DST"
	ip netns exec "$to" timeout "$limit" socat -u \
		"TCP4-LISTEN:$port,reuseaddr" "OPEN:$QT_PACED_DST,creat,trunc" &
	QT_PACED_LPID=$!
	QT_PIDS+=($QT_PACED_LPID)
	qt_wait_for 5 qt_listening "$to" tcp "$port" || return 1
	(
		for i in $(seq 0 $((chunks - 1))); do
			dd if="$QT_PACED_SRC" bs=16384 skip="$i" count=1 \
				status=none
			sleep "$delay"
		done
	) | ip netns exec "$from" timeout "$limit" socat -u - \
		"TCP4:$addr:$port" &
	QT_PACED_CPID=$!
	QT_PIDS+=($QT_PACED_CPID)
	qt_wait_for 10 test -s "$QT_PACED_DST"
}

# qt_tcp_blocked FAMILY FROM_NS TO_NS TO_HOST PORT: a listener waits in
# TO_NS, yet a connection from FROM_NS must not get through.
qt_tcp_blocked() {
	local fam=$1 from=$2 to=$3 host=$4 port=$5 rc=0
	ip netns exec "$to" timeout 15 socat -u \
		"TCP$fam-LISTEN:$port,reuseaddr$(qt_v6only "$fam")" /dev/null &
	local lpid=$!
	QT_PIDS+=($lpid)
	qt_wait_for 5 qt_listening "$to" tcp "$port" || return 1
	if qt_ns "$from" timeout 5 socat -u /dev/null \
		"TCP$fam:$(qt_addr "$fam" "$host"):$port,connect-timeout=2" \
		2>/dev/null; then
		rc=1
	fi
	kill $lpid 2>/dev/null
	wait $lpid 2>/dev/null
	return $rc
}

# qt_udp_exchange FAMILY FROM_NS TO_NS TO_HOST PORT: an echo server in
# TO_NS; the request must come back.
qt_udp_exchange() {
	local fam=$1 from=$2 to=$3 host=$4 port=$5 out
	# -T 1: each forked echo child ends a second after its answer.
	ip netns exec "$to" timeout 15 socat -T 1 \
		"UDP$fam-RECVFROM:$port,fork$(qt_v6only "$fam")" EXEC:cat &
	local lpid=$!
	QT_PIDS+=($lpid)
	qt_wait_for 5 qt_listening "$to" udp "$port" || return 1
	out=$(echo "qtrack-$port" | qt_ns "$from" timeout 5 socat -t 3 - \
		"UDP$fam:$(qt_addr "$fam" "$host"):$port" 2>/dev/null)
	kill $lpid 2>/dev/null
	wait $lpid 2>/dev/null
	[ "$out" = "qtrack-$port" ]
}

# qt_ping FAMILY FROM_NS ADDR
qt_ping() {
	qt_ns "$2" ping -"$1" -c 2 -i 0.2 -W 2 "$3" >/dev/null 2>&1
}

# qt_rule_packets FAMILY TABLE CHAIN PATTERN: packet count of the first
# rule in CHAIN whose listing matches PATTERN.
qt_rule_packets() {
	local ipt=iptables
	[ "$1" = 6 ] && ipt=ip6tables
	qt_ns "$NS_FW" $ipt -t "$2" -L "$3" -v -x -n |
		awk -v p="$4" 'NR > 2 && $0 ~ p { print $1; exit }'
}

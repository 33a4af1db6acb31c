#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_systemd_restart.sh BUILD - the shipped unit under a real systemd:
# start, classify, reload, and restarts under a steady load that lose
# nothing.
#
# Debian's systemd boots in a container (systemd-nspawn over the host's
# own root as a volatile overlay, private network; see the project's
# notes on systemd in a container) with the build installed by `cmake
# --install` bound in.  Inside it the container's network namespace is
# the firewall between a client and a server namespace; its rules queue
# every forwarded packet to queue 0 WITHOUT --queue-bypass (a packet that
# finds the queue unbound is dropped) and accept only what qtrackd marks
# ESTABLISHED, plus NEW echo requests and NEW TCP to port 7000.
#
#   - `systemctl start`: active (READY=1), traffic classified;
#   - `systemctl reload`: still active, the reload logged;
#   - `systemctl restart` during a ping flood and a paced TCP transfer:
#     no echo lost, the transfer intact, the kernel's queue drop counters
#     unchanged, no packet unmarked or NEW, the queue bound by the same
#     socket throughout (systemd kept it in its file descriptor store);
#   - `kill -9` with Restart=on-failure and [state] save_interval: the
#     same;
#   - `systemctl stop`: the queue is unbound.
# Skipped (exit 4), saying why, where the container cannot boot.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd systemd-nspawn unshare nsenter cmake mount
qt_require_daemon
[ -d /sys/fs/cgroup/unified ] || [ -f /sys/fs/cgroup/cgroup.controllers ] ||
	qt_skip "no cgroup hierarchy for a container"

STAGE=$QT_TMP/stage
ROOT=$QT_TMP/root
ETC=$QT_TMP/etc
OUT=$QT_TMP/out
NAME=qtsr-$QT_RND
mkdir -p "$STAGE" "$ROOT" "$ETC" "$OUT"
DESTDIR=$STAGE cmake --install "$QT_BUILD" --prefix /usr >/dev/null ||
	{ qt_fail "cmake --install"; exit 1; }
cp "$QT_SRC/conf/qtrackd.conf" "$ETC/qtrackd.conf"
printf '[state]\nsave_interval = 1\n' >>"$ETC/qtrackd.conf"

# The test inside the container: PASS:/FAIL: lines on stdout.
cat >"$QT_TMP/inner.sh" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
check() { local w=$1; shift; if "$@"; then pass "$w"; else fail "$w"; fi; }
wait_for() {
	local n=$1; shift
	for _ in $(seq $((n * 10))); do "$@" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
ip netns add cli && ip netns add srv || { fail "netns"; exit 0; }
ip link add fc0 type veth peer name c0 netns cli
ip link add fs0 type veth peer name s0 netns srv
ip -n cli addr add 10.0.1.2/24 dev c0
ip -n srv addr add 10.0.2.2/24 dev s0
ip addr add 10.0.1.1/24 dev fc0
ip addr add 10.0.2.1/24 dev fs0
for l in "cli c0" "cli lo" "srv s0" "srv lo"; do ip -n ${l% *} link set ${l#* } up; done
ip link set fc0 up
ip link set fs0 up
ip -n cli route add default via 10.0.1.1
ip -n srv route add default via 10.0.2.1
sysctl -qw net.ipv4.ip_forward=1
iptables-restore <<'R' || fail "rules"
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i fc0 -j NFQUEUE --queue-num 0
-A PREROUTING -i fs0 -j NFQUEUE --queue-num 0
COMMIT
*filter
:FORWARD DROP [0:0]
-A FORWARD -m mark --mark 0/0xff -m comment --comment unmarked
-A FORWARD -m mark --mark 0x1/0xff -m comment --comment new
-A FORWARD -m mark --mark 0x2/0xef -m comment --comment est -j ACCEPT
-A FORWARD -p icmp --icmp-type echo-request -m mark --mark 0x1/0xff -j ACCEPT
-A FORWARD -p tcp --dport 7000 -m mark --mark 0x1/0xff -j ACCEPT
COMMIT
R
count() {
	iptables -L FORWARD -v -n -x |
		awk -v c="/* $1 */" 'index($0, c) { print $1; exit }'
}
# queue 0's line of the kernel's table: portid, then the drop counters
qline() { awk '$1 == 0 { print $2, $6 + $7 }' /proc/net/netfilter/nfnetlink_queue; }

systemctl start qtrackd
check "systemctl start: active (READY=1)" systemctl is-active -q qtrackd
check "a ping is classified and passes" \
	ip netns exec cli ping -q -c 2 -W 2 10.0.2.2 >/dev/null
check "packets were ESTABLISHED ($(count est))" test "$(count est)" -gt 0
systemctl reload qtrackd
check "systemctl reload: still active, reloaded" wait_for 5 \
	sh -c 'journalctl -u qtrackd --no-pager | grep -q "reloaded "'
check "  ... and active" systemctl is-active -q qtrackd

# A paced TCP transfer to port 7000 and a ping flood across the restarts.
ip netns exec srv sh -c 'timeout 60 socat -u TCP4-LISTEN:7000 OPEN:/tmp/rx,creat,trunc &'
wait_for 5 sh -c 'ip netns exec srv ss -ltnH "sport = :7000" | grep -q .'
head -c $((40 * 16384)) /dev/urandom >/tmp/tx
(for i in $(seq 0 39); do dd if=/tmp/tx bs=16384 skip=$i count=1 status=none; sleep 0.25; done) |
	ip netns exec cli timeout 60 socat -u - TCP4:10.0.2.2:7000 &
TX=$!
# restart WHAT DELAY CMD...: a ping flood starts, DELAY seconds later CMD
# restarts qtrackd; then the checks.
restart() {
	local what=$1 delay=$2 before after pp
	shift 2
	ip netns exec cli ping -q -i 0.005 -c $((200 * (delay + 3))) -W 2 \
		10.0.2.2 >/tmp/ping.out 2>&1 &
	pp=$!
	sleep "$delay"
	before=$(qline)
	iptables -Z FORWARD
	"$@"
	wait_for 20 systemctl is-active -q qtrackd
	wait $pp
	after=$(qline)
	check "$what: active again" systemctl is-active -q qtrackd
	check "$what: no echo lost ($(tail -2 /tmp/ping.out | head -1))" \
		grep -q " 0% packet loss" /tmp/ping.out
	check "$what: the queue stayed bound, no kernel drop ($before -> $after)" \
		test "${before% *}" = "${after% *}" -a "${before#* }" = "${after#* }"
	check "$what: no packet unmarked ($(count unmarked)) or NEW ($(count new))" \
		test "$(count unmarked)" = 0 -a "$(count new)" = 0
}
restart "systemctl restart" 1 systemctl restart qtrackd
check "systemctl restart: taken over from the file descriptor store" \
	sh -c 'journalctl -u qtrackd --no-pager | grep -q "taken over, still bound"'
# Three seconds of [state] save_interval = 1: a snapshot that began after
# the ping flow did is complete when qtrackd is killed.
restart "kill -9, Restart=on-failure" 3 systemctl kill -s KILL qtrackd
check "kill -9: restored from a snapshot" sh -c \
	'journalctl -u qtrackd --no-pager | grep -q "restored .*a snapshot"'
wait $TX
check "the TCP transfer across both restarts arrived intact" \
	wait_for 5 cmp -s /tmp/tx /tmp/rx
systemctl stop qtrackd
check "systemctl stop: the queue is unbound" \
	test -z "$(awk '$1 == 0' /proc/net/netfilter/nfnetlink_queue)"
journalctl -u qtrackd --no-pager | grep -E "queue 0|state:" | tail -20 | sed 's/^/# /'
EOF

CG=qtrack-$NAME
CGDIRS=()
cg_cleanup() {
	local d
	[ -n "${NSPID:-}" ] && kill "$NSPID" 2>/dev/null && wait "$NSPID" 2>/dev/null
	for d in "${CGDIRS[@]}"; do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	qt_cleanup
}
trap cg_cleanup EXIT
for h in unified systemd; do
	if [ -d /sys/fs/cgroup/$h ]; then
		mkdir -p /sys/fs/cgroup/$h/$CG && CGDIRS+=(/sys/fs/cgroup/$h/$CG)
	fi
done
(
	for d in "${CGDIRS[@]}"; do echo $BASHPID >"$d/cgroup.procs"; done
	exec unshare -m --propagation private sh -c \
		'mount --bind / "$1"; shift; exec "$@"' sh "$ROOT" \
		systemd-nspawn -q -D "$ROOT" --volatile=overlay --register=no \
		--keep-unit --private-network -M "$NAME" \
		--bind-ro="$STAGE/usr/sbin/qtrackd:/usr/sbin/qtrackd" \
		--bind-ro="$STAGE/usr/bin/qtrackctl:/usr/bin/qtrackctl" \
		--bind-ro="$STAGE/usr/lib/systemd/system/qtrackd.service:/usr/lib/systemd/system/qtrackd.service" \
		--bind-ro="$STAGE/usr/lib/sysusers.d/qtrack.conf:/usr/lib/sysusers.d/qtrack.conf" \
		--bind="$ETC:/etc/qtrack" \
		--bind-ro="$QT_TMP/inner.sh:/run/qt-inner.sh" \
		-b -- systemd.mask=console-getty.service \
		systemd.mask=getty@tty1.service \
		systemd.mask=postgresql.service systemd.mask=e2scrub_reap.service \
		systemd.mask=systemd-timesyncd.service \
		systemd.mask=apt-daily.timer systemd.mask=apt-daily-upgrade.timer \
		systemd.mask=man-db.timer
) >"$QT_TMP/nspawn.log" 2>&1 &
NSPID=$!

# The container's PID 1: the process named systemd whose parent is our
# nspawn (the subshell exec'd unshare, sh and nspawn in turn).
pid1() {
	local p
	for p in $(pgrep -x systemd); do
		[ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$NSPID" ] &&
			{ echo "$p"; return 0; }
	done
	return 1
}
if ! qt_wait_for 20 pid1; then
	qt_skip "the container did not boot: $(tail -3 "$QT_TMP/nspawn.log" | tr '\n' ' ')"
fi
P1=$(pid1)
cin() {
	nsenter -t "$P1" -m -u -i -n -p -C -- \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
qt_wait_for 20 cin test -S /run/systemd/private ||
	qt_skip "the container's systemd did not come up"
state=$(cin timeout 60 systemctl is-system-running --wait 2>&1)
qt_log "container $NAME: systemd $state"

cin timeout 240 bash /run/qt-inner.sh >"$OUT/inner.log" 2>&1
cat "$OUT/inner.log"
qt_check "checks ran in the container" grep -q "^PASS: systemctl start" \
	"$OUT/inner.log"
QT_FAILS=$((QT_FAILS + $(grep -c "^FAIL:" "$OUT/inner.log")))
cin systemctl poweroff >/dev/null 2>&1
wait "$NSPID" 2>/dev/null
NSPID=
qt_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_bypass.sh BUILD - [bypass] enable = yes: steady connections skip the
# queue through qtrackd's nftables table and keep their marks.
#
# client -- fw -- server; fw loads the shipped accept-mode rule sets and
# runs qtrackd with the bypass on.  For IPv4 and IPv6, a TCP connection
# that carries data becomes offloaded: its elements appear in the sets,
# the queue (its id sequence in /proc/net/netfilter/nfnetlink_queue)
# stops seeing its data while counting rules in mangle FORWARD see its
# packets marked ESTABLISHED both ways; its FIN reaches qtrackd, which
# takes it out of the sets and through the close; the data arrives whole.
# A UDP flow is offloaded once assured; its elements expire ([bypass]
# timeout after their addition) and qtrackd adds them again when the next
# packet reaches it.  Stopping qtrackd removes the table.  Skipped when nft(8) or nf_tables cannot work here.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip iptables ip6tables iptables-restore ip6tables-restore \
	nft ss timeout
qt_require_daemon
[ -x /usr/bin/python3 ] || qt_skip "/usr/bin/python3 missing"
QTRACKCTL=$QT_BUILD/tools/qtrackctl
[ -x "$QTRACKCTL" ] || { qt_fail "$QTRACKCTL not built"; exit 1; }
qt_topo_setup
SOCK=$QT_TMP/qtrackd.sock

qt_ns "$NS_FW" nft add table inet qtprobe 2>/dev/null &&
	qt_ns "$NS_FW" nft delete table inet qtprobe ||
	qt_skip "nf_tables does not work in a network namespace here"

for fam in 4 6; do
	ipt=iptables
	[ $fam = 6 ] && ipt=ip6tables
	qt_ns "$NS_FW" $ipt-restore <"$QT_SRC/conf/$ipt-accept.rules" ||
		{ qt_fail "loading $ipt-accept.rules"; exit 1; }
	# Counters only: what the fast path marked, per direction.
	qt_ns "$NS_FW" $ipt -t mangle -A FORWARD -m mark --mark 0x2/0xff \
		-m comment --comment orig-est
	qt_ns "$NS_FW" $ipt -t mangle -A FORWARD -m mark --mark 0x12/0xff \
		-m comment --comment reply-est
	qt_ns "$NS_FW" $ipt -t mangle -A FORWARD -m mark --mark 0/0xff \
		-m comment --comment unmarked
	qt_ns "$NS_FW" $ipt -A FORWARD -p udp --dport 5353 \
		-m mark --mark 0x1/0xff -j ACCEPT
done
qt_conf "$QT_TMP/bypass.conf" accept "[bypass]" "enable = yes" \
	"timeout = 5" "[table]" "accounting = yes"
qt_daemon_start "$QT_TMP/bypass.conf" || exit 1
qt_check "the table inet qtrack exists" \
	qt_ns "$NS_FW" nft list table inet qtrack

# A TCP server that counts what it reads and answers with the count; a
# UDP server that echoes.
cat >"$QT_TMP/srv.py" <<'PY'
import socket, sys, threading
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
def udp():
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((sys.argv[1], 5353))
    while True:
        d, a = u.recvfrom(2048)
        u.sendto(d, a)
threading.Thread(target=udp, daemon=True).start()
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 22))
s.listen(4)
while True:
    c, _ = s.accept()
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.sendall(b"%d\n" % n)
    c.close()
PY
# The client: a little data, then waits for $2.go, sends 8 MB, waits for
# $2.close, closes its side and prints the server's count.
cat >"$QT_TMP/cli.py" <<'PY'
import os, socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
def wait(f):
    while not os.path.exists(f):
        time.sleep(0.05)
if sys.argv[3] == "tcp":
    s = socket.create_connection((sys.argv[1], 22))
    s.sendall(b"x" * 1000)
    wait(sys.argv[2] + ".go")
    blk = b"y" * 65536
    for _ in range(128):
        s.sendall(blk)
    open(sys.argv[2] + ".sent", "w").close()
    wait(sys.argv[2] + ".close")
    s.shutdown(socket.SHUT_WR)
    print(s.recv(100).decode().strip(), flush=True)
else:
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.settimeout(2)
    u.connect((sys.argv[1], 5353))
    go = False
    n = 0
    while not os.path.exists(sys.argv[2] + ".close"):
        burst = 1
        if not go and os.path.exists(sys.argv[2] + ".go"):
            go, burst = True, 2000
        for _ in range(burst):
            u.send(b"z" * 32)
            u.recv(100)
            n += 1
        if go and burst > 1:
            open(sys.argv[2] + ".sent", "w").close()
        time.sleep(0.05)
    print(n, flush=True)
PY

queued() {
	qt_ns "$NS_FW" awk '$1 == 0 { print $8 }' \
		/proc/net/netfilter/nfnetlink_queue
}

# in_set FAM DIR PROTO: that direction's set holds a PROTO element from
# the client (orig) or from the server (reply).
in_set() {
	local from=$CLI4
	[ "$1" = 4 ] || from=$CLI6
	if [ "$2" = reply ]; then
		from=$SRV4
		[ "$1" = 4 ] || from=$SRV6
	fi
	qt_ns "$NS_FW" nft list set inet qtrack "$2$1" |
		grep -qF "$from . $3 ."
}

# expires_ms FAM DIR PROTO: the time left of that element, in ms (0 if
# there is none).
expires_ms() {
	local from=$CLI4
	[ "$1" = 4 ] || from=$CLI6
	qt_ns "$NS_FW" nft list set inet qtrack "$2$1" | tr -s '\n\t ' ' ' |
		tr ',}' '\n\n' | grep -F "$from . $3 ." | sed -n 's/.* expires \([0-9ms]*\).*/\1/p' |
		awk '{ s = 0; ms = 0
		       if (match($0, /^[0-9]+s/)) s = substr($0, 1, RLENGTH - 1)
		       if (match($0, /[0-9]+ms/)) ms = substr($0, RSTART, RLENGTH - 2)
		       print s * 1000 + ms; f = 1 }
		     END { if (!f) print 0 }'
}

# listening_on ADDR PROTO: the server listens on ADDR port 22 or 5353.
listening_on() {
	qt_ns "$NS_SRV" ss -lnH -A "$2" | grep -qF "$1"
}

count() { qt_rule_packets "$1" mangle FORWARD "$2"; }

# entry ADDR PROTO PORT: qtrackd's -L line of the PROTO connection from
# ADDR to port PORT.
entry() {
	qt_ns "$NS_FW" "$QTRACKCTL" --socket "$SOCK" -L 2>/dev/null |
		grep -E "^$2 .* src=$1 .* dport=$3 " | head -1
}

# orig_packets LINE: the packets= of the original direction.
orig_packets() {
	sed -n 's/^[^=]* src=[^ ]* dst=[^ ]* sport=[0-9]* dport=[0-9]* packets=\([0-9]*\) .*/\1/p' <<<"$1"
}

run_fam() {
	local fam=$1 srv=$SRV4 cl=$CLI4 f=$QT_TMP/t$1 q0 q1 o0 o1 r0 r1 got
	local t="IPv$fam"
	[ "$fam" = 6 ] && srv=$SRV6 cl=$CLI6
	qt_bg "$NS_SRV" /usr/bin/python3 "$QT_TMP/srv.py" "$srv"
	qt_wait_for 5 eval "listening_on '$srv' tcp && listening_on '$srv' udp" ||
		{ qt_fail "$t: server did not listen"; return; }

	# TCP.
	qt_ns "$NS_CLI" timeout 60 /usr/bin/python3 "$QT_TMP/cli.py" "$srv" \
		"$f" tcp >"$f.out" 2>&1 &
	local cli=$!
	qt_check "$t: the TCP connection is offloaded both ways" \
		qt_wait_for 10 eval "in_set $fam orig tcp && in_set $fam reply tcp"
	q0=$(queued); o0=$(count "$fam" orig-est); r0=$(count "$fam" reply-est)
	touch "$f.go"
	qt_wait_for 30 test -e "$f.sent"
	q1=$(queued); o1=$(count "$fam" orig-est); r1=$(count "$fam" reply-est)
	qt_log "$t TCP 8 MB: queued $((q1 - q0)), ESTABLISHED orig $((o1 - o0)), reply $((r1 - r0))"
	qt_check "$t: the data went by the fast path marked ESTABLISHED (orig $((o1 - o0)) packets)" \
		test $((o1 - o0)) -gt 100
	qt_check "$t: the ACKs went by it marked ESTABLISHED reply ($((r1 - r0)) packets)" \
		test $((r1 - r0)) -gt 20
	qt_check "$t: the queue saw almost none of it ($((q1 - q0)) packets)" \
		test $((q1 - q0)) -lt $(((o1 - o0) / 10))
	line=$(entry "$cl" tcp 22)
	qt_log "$t: $line"
	qt_check "$t: -L shows the entry [OFFLOAD] where [ASSURED] was" \
		eval "grep -q ' dport=[0-9]* packets=[0-9]* bytes=[0-9]* \[OFFLOAD\] mark=' <<<'$line'"
	qt_check "$t: its packets= count the fast path's too ($(orig_packets "$line") >= $((o1 - o0)))" \
		test "$(orig_packets "$line")" -ge $((o1 - o0))
	touch "$f.close"
	wait $cli
	got=$(cat "$f.out")
	qt_check "$t: the server received every byte after the close ($got)" \
		test "$got" = $((1000 + 128 * 65536))
	qt_check "$t: the FIN took the connection out of the sets" \
		qt_wait_for 5 eval "! in_set $fam orig tcp && ! in_set $fam reply tcp"
	qt_check "$t: qtrackd's table followed the close" \
		qt_wait_for 5 eval "qt_ns $NS_FW $QTRACKCTL --socket $SOCK -L |
			grep -E 'tcp .*(TIME_WAIT|CLOSE|LAST_ACK|FIN_WAIT) src=$cl '"
	line=$(entry "$cl" tcp 22)
	qt_log "$t: $line"
	qt_check "$t: after the close, [ASSURED] again and the fast path's packets kept ($(orig_packets "$line"))" \
		eval "grep -q '\[ASSURED\]' <<<'$line' &&
			[ $(orig_packets "$line") -ge $((o1 - o0)) ]"

	# UDP: assured after replies for more than 2 s.
	rm -f "$f.go" "$f.sent" "$f.close"
	qt_ns "$NS_CLI" timeout 60 /usr/bin/python3 "$QT_TMP/cli.py" "$srv" \
		"$f" udp >"$f.out" 2>&1 &
	cli=$!
	qt_check "$t: the UDP flow is offloaded once assured" \
		qt_wait_for 15 eval "in_set $fam orig udp && in_set $fam reply udp"
	q0=$(queued); o0=$(count "$fam" orig-est); r0=$(count "$fam" reply-est)
	touch "$f.go"
	qt_wait_for 30 test -e "$f.sent"
	q1=$(queued); o1=$(count "$fam" orig-est); r1=$(count "$fam" reply-est)
	qt_log "$t UDP 2000 exchanges: queued $((q1 - q0)), ESTABLISHED orig $((o1 - o0)), reply $((r1 - r0))"
	qt_check "$t: UDP went by the fast path marked ESTABLISHED both ways" \
		test $((o1 - o0)) -ge 2000 -a $((r1 - r0)) -ge 2000
	qt_check "$t: the queue saw almost none of it ($((q1 - q0)) packets)" \
		test $((q1 - q0)) -lt 200
	# The elements expire 5 s after their addition, busy or not: a
	# packet of the flow then reaches qtrackd, which adds them again
	# (their time left runs down, then goes up).
	qt_check "$t: the UDP elements run down while the flow is busy" \
		qt_wait_for 10 eval "[ \$(expires_ms $fam orig udp) -lt 2500 ]"
	qt_check "$t: ... and qtrackd adds them again when they expire" \
		qt_wait_for 10 eval "[ \$(expires_ms $fam orig udp) -gt 3500 ]"
	qt_check "$t: ... both directions" \
		qt_wait_for 5 eval "in_set $fam orig udp && in_set $fam reply udp"
	touch "$f.close"
	wait $cli
}

run_fam 4
run_fam 6

qt_check "qtrackd stops cleanly" qt_daemon_stop
qt_log "$(grep 'bypass:' "$QT_DAEMON_LOG")"
qt_check "qtrackd renewed expired elements" \
	grep -Eq "bypass: [0-9]+ connections offloaded, [1-9][0-9]* elements renewed" \
	"$QT_DAEMON_LOG"
qt_check_not "stop leaves no table inet qtrack" \
	qt_ns "$NS_FW" nft list table inet qtrack
qt_finish

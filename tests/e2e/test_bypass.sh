#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_bypass.sh BUILD - [bypass] enable = yes: steady connections skip the
# queue through qtrackd's nftables table and keep their marks.
#
# client -- fw -- server; fw loads the shipped accept-mode rule sets and
# runs qtrackd with the bypass on.  For IPv4 and IPv6, a TCP connection
# that carries data becomes offloaded: its elements appear in the map,
# the queue (its id sequence in /proc/net/netfilter/nfnetlink_queue)
# stops seeing its data while counting rules in mangle FORWARD see its
# packets marked ESTABLISHED both ways; its FIN reaches qtrackd, which
# takes it out of the map and through the close; the data arrives whole.
# A UDP flow is offloaded once assured; its elements expire ([bypass]
# timeout after their addition) and qtrackd adds them again when the next
# packet reaches it.  Stopping qtrackd removes the table.  Skipped when nft(8) or nf_tables cannot work here.
. "$(dirname "$0")/lib.sh"

qt_require_root
IPT4=iptables IPT6=ip6tables
if [ "${QT_BYPASS_IPTABLES:-nft}" = legacy ]; then
	IPT4=iptables-legacy IPT6=ip6tables-legacy
fi
qt_require_cmd ip $IPT4 $IPT6 $IPT4-restore $IPT6-restore nft ss timeout
qt_require_daemon
[ -x /usr/bin/python3 ] || qt_skip "/usr/bin/python3 missing"
QTRACKCTL=$QT_BUILD/tools/qtrackctl
[ -x "$QTRACKCTL" ] || { qt_fail "$QTRACKCTL not built"; exit 1; }
qt_topo_setup
SOCK=$QT_TMP/qtrackd.sock

qt_ns "$NS_FW" nft add table inet qtprobe 2>/dev/null &&
	qt_ns "$NS_FW" nft delete table inet qtprobe ||
	qt_skip "nf_tables does not work in a network namespace here"

if [ "$IPT4" = iptables-legacy ]; then
	qt_ns "$NS_FW" iptables-legacy -t mangle -L -n >/dev/null 2>&1 &&
		qt_ns "$NS_FW" ip6tables-legacy -t mangle -L -n >/dev/null 2>&1 ||
		qt_skip "iptables-legacy cannot work here (no ip_tables)"
fi
for fam in 4 6; do
	ipt=$IPT4 rules=iptables-accept.rules
	[ $fam = 6 ] && ipt=$IPT6 rules=ip6tables-accept.rules
	qt_ns "$NS_FW" $ipt-restore <"$QT_SRC/conf/$rules" ||
		{ qt_fail "loading $rules with $ipt-restore"; exit 1; }
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

# elems FAM DIR: the elements of map flowsFAM for direction DIR (orig:
# those that go to chain est, reply: to est_reply), one a line.
elems() {
	local chain=est
	[ "$2" = reply ] && chain=est_reply
	qt_ns "$NS_FW" nft list map inet qtrack "flows$1" 2>/dev/null |
		tr -s '\n\t ' ' ' | tr ',}' '\n\n' |
		grep -E ": goto $chain ?\$"
}

# in_set FAM DIR PROTO: the map holds a PROTO element of that direction
# from the client (orig) or from the server (reply).
in_set() {
	local from=$CLI4
	[ "$1" = 4 ] || from=$CLI6
	if [ "$2" = reply ]; then
		from=$SRV4
		[ "$1" = 4 ] || from=$SRV6
	fi
	elems "$1" "$2" | grep -qF "$from . $3 ."
}

# expires_ms FAM DIR PROTO: the time left of that element, in ms (0 if
# there is none).
expires_ms() {
	local from=$CLI4
	[ "$1" = 4 ] || from=$CLI6
	elems "$1" "$2" | grep -F "$from . $3 ." | sed -n 's/.* expires \([0-9ms]*\).*/\1/p' |
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

# count FAM PATTERN: packets of the mangle FORWARD counting rule PATTERN
# (with the iptables variant in use).
count() {
	local ipt=$IPT4
	[ "$1" = 6 ] && ipt=$IPT6
	qt_ns "$NS_FW" $ipt -t mangle -L FORWARD -v -x -n |
		awk -v p="$2" 'NR > 2 && $0 ~ p { print $1; exit }'
}

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
	qt_check "$t: the FIN took the connection out of the map" \
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


# The keys "SRC PROTO SPORT DST DPORT" (original direction) of: the
# original-direction elements of map flows$1 (set_orig), its reply ones
# turned round (set_reply), the entries -L shows [OFFLOAD] (offloaded);
# sorted.
KEYRE='[0-9a-f:.]+ \. (tcp|udp) \. [0-9]+ \. [0-9a-f:.]+ \. [0-9]+'
set_keys() { elems "$1" "$2" | grep -oE "$KEYRE" | sed 's/ \. / /g'; }
set_orig() { set_keys "$1" orig | sort; }
set_reply() { set_keys "$1" reply | awk '{ print $4, $2, $5, $1, $3 }' | sort; }
offloaded() {
	local v=ipv4
	[ "$1" = 6 ] && v=ipv6
	qt_ns "$NS_FW" "$QTRACKCTL" --socket "$SOCK" -L -f $v 2>/dev/null |
		grep -F '[OFFLOAD]' |
		sed -E 's/^([a-z]+) [^=]* src=([^ ]+) dst=([^ ]+) sport=([0-9]+) dport=([0-9]+) .*/\2 \1 \4 \3 \5/' |
		sort
}
# consistent FAM: the map holds the elements of the offloaded entries,
# both directions, and nothing else.
consistent() {
	local o r l
	o=$(set_orig "$1") r=$(set_reply "$1") l=$(offloaded "$1")
	[ "$o" = "$r" ] && [ "$o" = "$l" ]
}
# flow_offloaded FAM ADDR: consistent, and the TCP flow from ADDR is
# offloaded.
flow_offloaded() {
	consistent "$1" && offloaded "$1" | grep -q "^$2 tcp "
}
# est_entry ADDR: the -L line of the ESTABLISHED TCP connection from ADDR
# to port 22 (earlier ones from ADDR may linger in TIME_WAIT).
est_entry() {
	qt_ns "$NS_FW" "$QTRACKCTL" --socket "$SOCK" -L 2>/dev/null |
		grep -E "^tcp .* ESTABLISHED src=$1 .* dport=22 " | head -1
}
flow_entry() { est_entry "$1" | grep -q .; }

# A client that sends 64 KB every 10 ms while $2.run exists, pauses while
# it does not, and at $2.close shuts its side and prints what it sent and
# what the server counted.
cat >"$QT_TMP/steady.py" <<'PY'
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], 22))
blk, sent = b"s" * 65536, 0
while not os.path.exists(sys.argv[2] + ".close"):
    if os.path.exists(sys.argv[2] + ".run"):
        s.sendall(blk)
        sent += len(blk)
        time.sleep(0.01)
    else:
        time.sleep(0.05)
s.shutdown(socket.SHUT_WR)
print(sent, s.recv(100).decode().strip(), flush=True)
PY

# offrec.py FILE SPORT: FILE (a state file, docs/state-format.md) holds a
# CONN record of version 2 with the OFFLOAD status bit for the TCP
# connection from port SPORT to port 22.
cat >"$QT_TMP/offrec.py" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, found = 48, False
while off + 4 <= len(d):
    typ, ver, n = d[off], d[off + 1], struct.unpack(">H", d[off + 2:off + 4])[0]
    p = d[off + 4:off + 4 + n]
    if typ == 1 and ver == 2 and p[1] == 6 and p[40] & 0x08 and \
            struct.unpack(">HH", p[36:40]) == (int(sys.argv[2]), 22):
        found = True
    off += 4 + n + 4
sys.exit(0 if found else 1)
PY

# lifecycle FAM: the flow through delete, flush, reload and restart.
lifecycle() {
	local fam=$1 srv=$SRV4 cl=$CLI4 f=$QT_TMP/l$1 t="IPv$1" cli out line sp
	[ "$fam" = 6 ] && srv=$SRV6 cl=$CLI6
	qt_ns "$NS_CLI" timeout 120 /usr/bin/python3 "$QT_TMP/steady.py" \
		"$srv" "$f" >"$f.out" 2>&1 &
	cli=$!
	touch "$f.run"
	qt_check "$t: the steady flow is offloaded" \
		qt_wait_for 10 flow_offloaded "$fam" "$cl"
	rm -f "$f.run"

	# Delete: its elements go with the entry, at once.
	line=$(est_entry "$cl")
	sp=$(sed -n 's/.* sport=\([0-9]*\) dport=22 .*/\1/p' <<<"$line" | head -1)
	qt_ns "$NS_FW" "$QTRACKCTL" --socket "$SOCK" -D -p tcp -s "$cl" \
		-d "$srv" --sport "$sp" --dport 22 >/dev/null 2>&1
	qt_check "$t: delete leaves no element of the flow" \
		eval "consistent $fam && ! offloaded $fam | grep -q '^$cl tcp '"
	touch "$f.run"
	qt_check "$t: ... its packets come back to qtrackd, which offloads it again" \
		qt_wait_for 10 flow_offloaded "$fam" "$cl"
	rm -f "$f.run"

	# Flush: every element goes.
	qt_ns "$NS_FW" "$QTRACKCTL" --socket "$SOCK" -F >/dev/null 2>&1
	qt_check "$t: flush leaves the map empty" \
		eval "[ -z \"\$(set_orig $fam)\$(set_reply $fam)\" ]"
	touch "$f.run"
	qt_check "$t: ... and the flow is tracked and offloaded again" \
		qt_wait_for 10 flow_offloaded "$fam" "$cl"
	rm -f "$f.run"

	# Reload: the table and its elements stay as they are.
	touch "$f.run"
	qt_ns "$NS_FW" "$QTRACKCTL" --socket "$SOCK" reload >/dev/null 2>&1
	qt_check "$t: reload keeps the offload and the map consistent" \
		qt_wait_for 5 flow_offloaded "$fam" "$cl"
	# Stop with elements that have seconds to live (they last 5 s from
	# their addition, and the running flow adds them again when they
	# expire), so that the flow is offloaded when the state is saved.
	qt_wait_for 10 eval "[ \$(expires_ms $fam orig tcp) -gt 2500 ]"
	rm -f "$f.run"

	# Restart: the table goes with qtrackd; the restored entry is not
	# offloaded until its packets make it so, and its window data, stale
	# after the bypassed data, is picked up again.
	qt_check "$t: qtrackd stops (restart)" qt_daemon_stop
	qt_check_not "$t: ... stopping removed the table" \
		qt_ns "$NS_FW" nft list table inet qtrack
	qt_check "$t: ... the state file says the flow was offloaded (CONN record version 2, status OFFLOAD)" \
		/usr/bin/python3 "$QT_TMP/offrec.py" "$QT_TMP/state" "$sp"
	qt_daemon_start "$QT_TMP/bypass.conf" || return
	qt_check "$t: ... restarted with an empty map" \
		eval "[ -z \"\$(set_orig $fam)\$(set_reply $fam)\" ]"
	qt_check "$t: ... the flow's entry was restored from the state file" \
		flow_entry "$cl"
	qt_check "$t: ... not offloaded yet, consistent" \
		eval "consistent $fam && ! offloaded $fam | grep -q '^$cl tcp '"
	touch "$f.run"
	qt_check "$t: ... its packets offload it again" \
		qt_wait_for 10 flow_offloaded "$fam" "$cl"
	rm -f "$f.run"

	touch "$f.close"
	wait $cli
	out=$(cat "$f.out")
	qt_check "$t: after all that, the close is clean and every byte arrived ($out)" \
		eval "set -- $out; [ \"\$1\" = \"\$2\" ] && [ \"\$1\" -gt 0 ]"
	qt_check "$t: ... and the map is consistent" \
		qt_wait_for 5 consistent "$fam"
}

run_fam 4
run_fam 6
lifecycle 4
lifecycle 6

qt_check "qtrackd stops cleanly" qt_daemon_stop
qt_log "$(grep 'bypass:' "$QT_DAEMON_LOG")"
qt_check "qtrackd renewed expired elements" \
	grep -Eq "bypass: [0-9]+ connections offloaded, [1-9][0-9]* elements renewed" \
	"$QT_DAEMON_LOG"
qt_check_not "stop leaves no table inet qtrack" \
	qt_ns "$NS_FW" nft list table inet qtrack
qt_finish

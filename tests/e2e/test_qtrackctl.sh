#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_qtrackctl.sh BUILD - the control socket and qtrackctl, end to end.
#
# qtrackd runs in the forwarding namespace of tests/e2e/lib.sh with a
# FORWARD rule that queues every packet; the same rule matches on
# -m conntrack, so the kernel tracks the very same packets.  Then:
#   - `qtrackctl list` equals the kernel's `conntrack -L` field for field
#     (except the timeout and use=), with accounting on in both, for TCP
#     (open and closed), UDP and ICMP;
#   - an awk script written for `conntrack -L` reads both the same way;
#   - list -o json, stats (text, JSON, Prometheus), count with filters,
#     delete by tuple and flush do what they say;
#   - malformed, unknown and oversized requests get ERR and change nothing;
#   - a TCP connection's events arrive in order NEW, UPDATE..., DESTROY;
#   - a stopped `events` subscriber does not slow traffic: a transfer
#     completes, its lost events are counted and announced with [LOST];
#   - -U sets the mark of every entry its filters match and prints them
#     and their count as conntrack -U does; the connmark bits of the new
#     mark reach the connection's later packets;
#   - -o id ends each line with a stable id=N, and --id selects by it;
#   - users outside the socket's group are refused, members are served.

. "$(dirname "$0")/lib.sh"

QTRACKCTL=$QT_BUILD/tools/qtrackctl
SOCK=$QT_TMP/qtrackd.sock

qt_require_root
qt_require_cmd conntrack socat iptables setpriv awk
qt_require_daemon
[ -x "$QTRACKCTL" ] || { qt_fail "$QTRACKCTL not built"; exit 1; }
qt_topo_setup

ctl() { qt_ns "$NS_FW" "$QTRACKCTL" -s "$SOCK" "$@"; }

# raw REQUEST: send bytes on the socket as they are, print the reply.
raw() { printf '%s' "$1" | qt_ns "$NS_FW" socat -t 5 - "UNIX-CONNECT:$SOCK"; }

# qstat KEY: one value of `qtrackctl stats`.
qstat() { ctl stats | awk -v k="$1" '$1 == k { print $2 }'; }

# fails_with PATTERN CMD...: CMD fails and says PATTERN on stderr.
fails_with() {
	local pat=$1 err
	shift
	if err=$("$@" 2>&1 >/dev/null); then
		echo "# $* succeeded"
		return 1
	fi
	grep -q -- "$pat" <<<"$err" || { echo "# $*: $err"; return 1; }
}

# Drop the timeout (third field) and use=, squeeze blanks, sort: what is
# left must be identical between the kernel and qtrackd.
norm() {
	awk '{ $3 = ""; for (i = 1; i <= NF; i++) if ($i ~ /^use=/) $i = "";
	       print }' | tr -s ' ' | sed 's/ $//' | sort
}

# Queue every forwarded packet; -m conntrack makes the kernel track it.
qt_ns "$NS_FW" iptables -A FORWARD -m conntrack \
	--ctstate NEW,ESTABLISHED,RELATED,INVALID,UNTRACKED \
	-j NFQUEUE --queue-num 0 --queue-bypass
qt_ns "$NS_FW" sysctl -qw net.netfilter.nf_conntrack_acct=1 ||
	qt_skip "no nf_conntrack_acct sysctl"

# ---- phase 1: default timeouts, accounting on ------------------------------

qt_conf "$QT_TMP/a.conf" accept "[table]" "accounting = yes" \
	"[mark]" "connmark = 0xff00"
qt_daemon_start "$QT_TMP/a.conf" || exit 1

qt_check "socket is mode 0660" \
	test "$(stat -c %a "$SOCK")" = 660

# An open TCP connection: the client keeps its end open for a while.
qt_bg "$NS_SRV" timeout 60 socat -u TCP4-LISTEN:5001,reuseaddr OPEN:/dev/null
qt_wait_for 5 qt_listening "$NS_SRV" tcp 5001
qt_ns "$NS_CLI" bash -c "sleep 40 | timeout 60 socat -u - TCP4:$SRV4:5001" &
QT_PIDS+=($!)
# A closed TCP connection (TIME_WAIT), UDP both ways, ICMP echo.
qt_check "tcp transfer" qt_tcp_transfer 4 "$NS_CLI" "$NS_SRV" srv 5002 64
qt_check "udp exchange" qt_udp_exchange 4 "$NS_CLI" "$NS_SRV" srv 5003
qt_check "ping" qt_ping 4 "$NS_CLI" $SRV4

open_established() {
	ctl list -p tcp --dport 5001 --state ESTABLISHED 2>/dev/null |
		grep -q ASSURED &&
	qt_ns "$NS_FW" conntrack -L -p tcp --dport 5001 2>/dev/null |
		grep -q ASSURED
}
qt_check "open connection established in both tables" \
	qt_wait_for 10 open_established
# Let every last packet of the closed flows pass both trackers.
sleep 1

ctl list -f ipv4 >"$QT_TMP/q.list" 2>"$QT_TMP/q.err"
qt_ns "$NS_FW" conntrack -L -f ipv4 >"$QT_TMP/k.list" 2>/dev/null
norm <"$QT_TMP/q.list" >"$QT_TMP/q.norm"
norm <"$QT_TMP/k.list" >"$QT_TMP/k.norm"
if [ -s "$QT_TMP/k.norm" ] && cmp -s "$QT_TMP/q.norm" "$QT_TMP/k.norm"; then
	qt_pass "list equals conntrack -L (tcp, udp, icmp; accounting)"
else
	qt_fail "list equals conntrack -L (tcp, udp, icmp; accounting)"
	diff -u "$QT_TMP/k.norm" "$QT_TMP/q.norm" | sed 's/^/# /'
fi
# conntrack(8)'s everyday command lines, unchanged: the same arguments to
# conntrack and to qtrackctl (the socket is a long option) list the same
# entries.
ctlc() { qt_ns "$NS_FW" "$QTRACKCTL" --socket "$SOCK" "$@"; }
tsport=$(awk '/dport=5001 / { for (i = 1; i <= NF; i++) if ($i ~ /^sport=/)
	{ print substr($i, 7); exit } }' "$QT_TMP/q.list")
same_as_conntrack() {
	qt_ns "$NS_FW" conntrack "$@" 2>/dev/null | norm >"$QT_TMP/k.cmd"
	ctlc "$@" 2>/dev/null | norm >"$QT_TMP/q.cmd"
	[ -s "$QT_TMP/k.cmd" ] && cmp -s "$QT_TMP/k.cmd" "$QT_TMP/q.cmd" ||
		{ diff -u "$QT_TMP/k.cmd" "$QT_TMP/q.cmd" | sed 's/^/# /'
		  return 1; }
}
for args in "-L -f ipv4 -s $CLI4 -p tcp --dport 5001" \
	"-L -f ipv4 -p udp" "-L -f ipv4 -d $SRV4 -p icmp" \
	"-L -f ipv4 -r $SRV4" "-L -f ipv4 -q $CLI4 -p tcp" \
	"-L -f ipv4 --reply-src $SRV4 --reply-dst $CLI4 -p udp" \
	"-L -f ipv4 --status ASSURED" "-L -f ipv4 -m 0/0xffffffff -p tcp" \
	"-L -f ipv4 --orig-src $CLI4 -p tcp --state ESTABLISHED" \
	"-G -s $CLI4 -d $SRV4 -p tcp --sport $tsport --dport 5001"; do
	# shellcheck disable=SC2086
	qt_check "conntrack $args: same entries" same_as_conntrack $args
done
# -o extended puts the family before each line, as conntrack does; the
# timeout moves to the fifth field.
qt_ns "$NS_FW" conntrack -L -o extended -f ipv4 -p udp 2>/dev/null |
	awk '{ $5 = "" } 1' | norm >"$QT_TMP/k.ext"
ctlc -L -o extended -f ipv4 -p udp 2>/dev/null |
	awk '{ $5 = "" } 1' | norm >"$QT_TMP/q.ext"
qt_check "conntrack -L -o extended: same lines" \
	cmp -s "$QT_TMP/k.ext" "$QT_TMP/q.ext"
qt_check "-G of a connection that does not exist: exit 1" \
	fails_with "no such connection" ctlc -G -s $CLI4 -d $SRV4 -p tcp \
	--sport 1 --dport 1
qt_check "-C with -m counts what -L -m lists" test \
	"$(ctlc -C -m 1/0xffffffff)" = 0 -a "$(ctlc -C -m 0)" = \
	"$(ctlc -L -m 0 2>/dev/null | wc -l)"

for p in tcp udp icmp; do
	qt_check "list shows $p" grep -q "^$p " "$QT_TMP/q.list"
done
qt_check "list shows packets= bytes=" grep -q "packets=.*bytes=" "$QT_TMP/q.list"
qt_check "list summary on stderr" grep -qx \
	"qtrackctl: $(wc -l <"$QT_TMP/q.list") flow entries have been shown." \
	"$QT_TMP/q.err"

# An operator's script for conntrack -L output: protocol, first src/dst,
# destination port, TCP state.
cat >"$QT_TMP/ops.awk" <<'EOF'
{
	src = dst = dport = state = ""
	if ($1 == "tcp") state = $4
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^src=/ && src == "") src = substr($i, 5)
		else if ($i ~ /^dst=/ && dst == "") dst = substr($i, 5)
		else if ($i ~ /^dport=/ && dport == "") dport = substr($i, 7)
	}
	printf "%s %s -> %s:%s %s\n", $1, src, dst, dport, state
}
EOF
awk -f "$QT_TMP/ops.awk" "$QT_TMP/q.list" | sort >"$QT_TMP/q.ops"
awk -f "$QT_TMP/ops.awk" "$QT_TMP/k.list" | sort >"$QT_TMP/k.ops"
qt_check "conntrack -L awk script reads qtrackctl list the same" \
	cmp -s "$QT_TMP/q.ops" "$QT_TMP/k.ops"
qt_check "awk script finds the open connection" grep -qx \
	"tcp $CLI4 -> $SRV4:5001 ESTABLISHED" "$QT_TMP/q.ops"

# JSON: one valid object per connection.
ctl list -o json 2>/dev/null >"$QT_TMP/q.json"
qt_check "list -o json: one valid object per connection" \
	/usr/bin/python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in lines]
assert len(objs) == int(sys.argv[2]) and all(isinstance(o, dict) for o in objs)
' "$QT_TMP/q.json" "$(wc -l <"$QT_TMP/q.list")"

# Counts and filters.
n=$(ctl count)
qt_check "count equals the listed entries" \
	test "$n" -eq "$(wc -l <"$QT_TMP/q.list")"
qt_check "count -p tcp" test "$(ctl count -p tcp)" -eq 2
qt_check "count -p tcp --state TIME_WAIT" \
	test "$(ctl count -p tcp --state TIME_WAIT)" -eq 1
qt_check "count --src/--dst/-p udp" test \
	"$(ctl count -p udp --src $CLI4 --dst $SRV4 --dport 5003)" -eq 1
qt_check "conntrack letters: -L -p tcp lists what count -p tcp counts" \
	test "$(ctl -L -p tcp 2>/dev/null | wc -l)" -eq "$(ctl -C -p tcp)"
qt_check "count --dst of the reply side matches nothing" \
	test "$(ctl count --dst $CLI4)" -eq 0

# Stats, three ways.
qt_check "stats entries" test "$(qstat entries)" -eq "$n"
qt_check "stats per protocol" test "$(qstat entries_proto.tcp)" -eq 2
qt_check "stats per TCP state" test "$(qstat tcp_state.ESTABLISHED)" -eq 1
qt_check "stats packets per ct_state" test "$(qstat packets.new)" -ge 4
qt_check "stats queue counters" test "$(qstat queue_received.0)" -ge 10
qt_check "stats kernel queue drops" \
	test "$(qstat queue_kernel_dropped.0)" = "$(qt_ns "$NS_FW" awk \
	'$1 == 0 { print $6 }' /proc/net/netfilter/nfnetlink_queue)"
ctl stats -o prometheus >"$QT_TMP/prom"
qt_check "prometheus: connections gauge" \
	grep -qx "qtrack_connections $n" "$QT_TMP/prom"
qt_check "prometheus: HELP and TYPE" grep -qx \
	"# TYPE qtrack_packets_total counter" "$QT_TMP/prom"
qt_check "prometheus: labelled sample" \
	grep -q '^qtrack_packets_total{state="new"} [0-9][0-9]*$' "$QT_TMP/prom"
qt_check "prometheus: every sample line well formed" \
	awk '!/^# (HELP|TYPE) / && !/^qtrack_[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9]+$/ \
	     { bad = 1 } END { exit bad }' "$QT_TMP/prom"
qt_check "stats -o json parses" /usr/bin/python3 -c '
import json, sys
s = json.loads(sys.stdin.read())
assert s["entries"] == int(sys.argv[1]) and s["entries_proto"]["tcp"] == 2
' "$n" < <(ctl stats -o json)

# Malformed, unknown and oversized requests: ERR, and nothing changes.
before=$(ctl count)
bad_request() {
	local out
	out=$(raw "$1")
	case "$out" in
	"ERR "*) ;;
	*) echo "# '$1' got: $out"; return 1 ;;
	esac
	[ "$(ctl count)" -eq "$before" ]
}
qt_check "unknown command gets ERR" bad_request $'bogus\n'
qt_check "flush with junk gets ERR, flushes nothing" bad_request $'flush now\n'
qt_check "delete without a tuple gets ERR" bad_request $'delete proto=tcp\n'
qt_check "bad port gets ERR" bad_request $'list proto=tcp sport=70000\n'
qt_check "binary garbage gets ERR" bad_request $'\x01\x02\xff\n'
qt_check "empty line gets ERR" bad_request $'\n'
long=$(head -c 3000 /dev/zero | tr '\0' 'a')
qt_check "oversized request gets ERR request too long" \
	test "$(raw "$long")" = "ERR request too long"
qt_check "oversized request with newline gets ERR" bad_request "flush $long"$'\n'
qt_check "qtrackctl reports ERR and fails" \
	fails_with "no such connection" ctl delete -p udp \
	--src 192.0.2.1 --dst 192.0.2.2 --sport 1 --dport 2
qt_check "raw protocol: OK ends a reply" \
	test "$(raw $'count\n' | tail -n 1)" = "OK"

# Delete by tuple.
usport=$(awk '$1 == "udp" { for (i = 1; i <= NF; i++) if ($i ~ /^sport=/)
	{ print substr($i, 7); exit } }' "$QT_TMP/q.list")
deleted() {
	ctl delete -p udp --src $CLI4 --dst $SRV4 --sport "$usport" \
		--dport 5003 >"$QT_TMP/del.out" 2>&1 &&
		grep -q "^udp .*sport=$usport dport=5003 " "$QT_TMP/del.out" &&
		grep -qx "qtrackctl: 1 flow entries have been deleted." \
			"$QT_TMP/del.out"
}
qt_check "delete by tuple prints the entry" deleted
qt_check "deleted entry is gone" test "$(ctl count -p udp)" -eq 0
# conntrack -D with a partial filter deletes every match.
nicmp=$(ctl count -p icmp)
ctlc -D -p icmp >"$QT_TMP/dp.out" 2>&1
qt_check "-D -p icmp: every ICMP entry deleted ($nicmp)" test "$nicmp" -ge 1 \
	-a "$(ctl count -p icmp)" -eq 0
qt_check "-D -p icmp: the entries and the count printed" grep -qx \
	"qtrackctl: $nicmp flow entries have been deleted." "$QT_TMP/dp.out"
qt_check "-D -p icmp: other entries stay" test "$(ctl count -p tcp)" -ge 1

# conntrack -U: -m is the new mark, (old & ~MASK) ^ VALUE, of every
# entry the other filters match; each updated entry is printed as -L
# prints it, then the count; an entry already as asked is neither
# printed nor counted.  (Debian 12's conntrack 1.4.7 itself fails or
# misprints -U -m on the kernel's entries, a bug conntrack 1.4.8 fixed,
# so the lines are compared with qtrackctl's -L, which equals the
# kernel's -L above.)
upd() { ctlc -U "$@" >"$QT_TMP/q.upd" 2>"$QT_TMP/q.uerr"; }
upd_count() { grep -q "^qtrackctl: $1 flow entries have been updated\.$" \
	"$QT_TMP/q.uerr" && [ "$(wc -l <"$QT_TMP/q.upd")" -eq "$1" ]; }
# upd_shows ARGS...: the -U output equals -L ARGS now.
upd_shows() {
	ctlc -L "$@" 2>/dev/null | norm >"$QT_TMP/q.now"
	norm <"$QT_TMP/q.upd" | cmp -s - "$QT_TMP/q.now"
}
upd -p tcp --dport 5001 -m 0x4200/0xff00
qt_check "-U -p tcp --dport 5001 -m 0x4200/0xff00: 1 updated" upd_count 1
qt_check "-U: the entry is printed as -L prints it now" upd_shows -p tcp \
	--dport 5001
qt_check "-U: the new mark is (0 & ~0xff00) ^ 0x4200" \
	grep -q "dport=5001 .*mark=16896 use=1$" "$QT_TMP/q.upd"
upd -p tcp --dport 5001 -m 0x4200/0xff00
qt_check "-U again: nothing to change, nothing printed, 0 updated" \
	upd_count 0
upd -f ipv4 -p tcp -m 0x100/0x100
qt_check "-U -f ipv4 -p tcp (a partial filter): both TCP entries" \
	upd_count 2
qt_check "-U -p tcp: printed as -L prints them" upd_shows -f ipv4 -p tcp
qt_check "-U -p tcp: (old & ~0x100) ^ 0x100 on each" test \
	"$(grep -c -e 'dport=5001 .*mark=17152 ' -e 'dport=5002 .*mark=256 ' \
	"$QT_TMP/q.upd")" -eq 2
upd -f ipv4 -r $SRV4 -p tcp --dport 5002 -m 7
qt_check "-U -r (reply source) --dport 5002 -m 7: that entry, mark=7" \
	grep -q "dport=5002 .*mark=7 use=1$" "$QT_TMP/q.upd"
qt_check "-U -r: 1 updated" upd_count 1
upd -f ipv4 -r 192.0.2.99 -p tcp -m 9
qt_check "-U matching nothing: 0 updated" upd_count 0
qt_check "-L -m filters on the marks -U set" test \
	"$(ctlc -L -m 0x4300/0xff00 2>/dev/null | grep -c 'dport=5001 ')" -eq 1
qt_check "-U without -m is refused" fails_with "needs -m" ctlc -U -p tcp
qt_check "-U --status is refused" \
	fails_with "status" ctlc -U -p tcp --status ASSURED -m 1

# The connmark bits of a mark set by -U reach the connection's later
# packets, as if its first packet had brought them.
qt_ns "$NS_FW" iptables -t mangle -A POSTROUTING -p udp --dport 5041 \
	-m mark --mark 0x4200/0xff00
udp_send() {
	qt_ns "$NS_CLI" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5040))
s.sendto(b"x", (sys.argv[1], 5041))
' $SRV4
}
remarked() { [ "$(qt_rule_packets 4 mangle POSTROUTING 'dpt:5041')" -ge 1 ]; }
udp_send
udp_tracked() { [ "$(ctl count -p udp --dport 5041)" -eq 1 ]; }
qt_check "a new UDP flow is tracked" qt_wait_for 5 udp_tracked
qt_check "its packet did not carry the connmark" \
	test "$(qt_rule_packets 4 mangle POSTROUTING 'dpt:5041')" -eq 0
upd -p udp --sport 5040 --dport 5041 -m 0x4200/0xff00
qt_check "-U of the UDP flow: 1 updated" upd_count 1
udp_send
qt_check "its next packet leaves with the connmark bits -U set" \
	qt_wait_for 5 remarked

# -o id: conntrack prints id=N last, after use=; the id is the entry's
# for its whole life and --id (-i) selects by it.
ctlc -L -o id -p tcp --dport 5001 >"$QT_TMP/q.id" 2>/dev/null
cid=$(sed -n 's/.* use=1 id=\([0-9][0-9]*\)$/\1/p' "$QT_TMP/q.id")
qt_check "-L -o id: one line ending in use=1 id=N" \
	test -n "$cid" -a "$(wc -l <"$QT_TMP/q.id")" -eq 1
qt_check "-L -o id: the rest of the line as without -o id" test \
	"$(sed 's/ id=[0-9]*$//' "$QT_TMP/q.id" | norm)" = \
	"$(ctlc -L -p tcp --dport 5001 2>/dev/null | norm)"
qt_check "the id is stable" test "$(ctlc -L -o id -p tcp --dport 5001 \
	2>/dev/null | sed -n 's/.* id=\([0-9]*\)$/\1/p')" = "$cid"
qt_check "-o extended,id: family first, id last" grep -q \
	"^ipv4     2 tcp .* use=1 id=$cid$" <(ctlc -G -o extended,id -s $CLI4 \
	-d $SRV4 -p tcp --sport $tsport --dport 5001 2>/dev/null)
qt_check "--id selects the entry of that id" test \
	"$(ctlc -L --id "$cid" 2>/dev/null | grep -c 'dport=5001 ')" -eq 1 \
	-a "$(ctlc -L --id "$cid" 2>/dev/null | wc -l)" -eq 1
qt_check "-i of another id selects nothing" \
	test "$(ctlc -L -i $((cid + 100000)) 2>/dev/null | wc -l)" -eq 0
ctlc -U --id "$cid" -o id -m 0x4400/0xff00 >"$QT_TMP/q.upd" \
	2>"$QT_TMP/q.uerr"
qt_check "-U --id -o id: that entry, printed with its id" \
	grep -q "dport=5001 .*mark=17408 use=1 id=$cid$" "$QT_TMP/q.upd"
ids_distinct() {
	ctlc -L -o id 2>/dev/null | sed -n 's/.* id=\([0-9]*\)$/\1/p' |
		sort | uniq -d | grep -q . && return 1
	test "$(ctlc -L -o id 2>/dev/null | grep -c ' id=[0-9]*$')" -ge 3
}
qt_check "every entry has its own id" ids_distinct
qt_check "-E -o id is refused" fails_with "-o id goes with" ctlc -E -o id
uid=$(ctlc -L -o id -p udp --dport 5041 2>/dev/null |
	sed -n 's/.* id=\([0-9]*\)$/\1/p')
ctlc -D --id "$uid" >"$QT_TMP/did.out" 2>&1
qt_check "-D --id: that entry deleted" test -n "$uid" -a \
	"$(ctl count -p udp --dport 5041)" -eq 0
qt_check "-D --id: 1 flow entries" grep -qx \
	"qtrackctl: 1 flow entries have been deleted." "$QT_TMP/did.out"

# Many entries: a list longer than one chunk streams completely.
qt_ns "$NS_CLI" /usr/bin/python3 -c '
import socket, sys
for i in range(3000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 20000 + i))
    s.sendto(b"x", (sys.argv[1], 9))
    s.close()
' $SRV4
many() { [ "$(ctl count -p udp --dport 9)" -ge 3000 ]; }
qt_check "3000 udp flows tracked" qt_wait_for 10 many
n=$(ctl count)
qt_check "list streams every entry" \
	test "$(ctl list 2>/dev/null | wc -l)" -eq "$n"
flushed() {
	local k
	k=$(ctl flush 2>&1 | sed -n \
		's/^qtrackctl: connection tracking table has been emptied (\([0-9]*\) entries)\.$/\1/p')
	[ -n "$k" ] && [ "$k" -ge 3000 ]
}
qt_check "flush empties the table and says how many" flushed
qt_check "count is 0 after flush" test "$(ctl count)" -eq 0

# Permissions: root only by default.  The socket is unreachable for
# others; even with a lax mode, SO_PEERCRED refuses them.
chmod 711 "$QT_TMP"
as_user() {
	local u=$1 g=$2
	shift 2
	qt_ns "$NS_FW" setpriv --reuid="$u" --regid="$g" --clear-groups \
		"$QTRACKCTL" -s "$SOCK" "$@"
}
qt_check "nobody cannot use a 0660 root socket" \
	fails_with "Permission denied" as_user nobody nogroup count
chmod 666 "$SOCK"
qt_check "nobody is refused by credentials" \
	fails_with "permission denied" as_user nobody nogroup count
qt_check "refusal counted" test "$(qstat control_refused)" -ge 1
qt_daemon_stop

# ---- phase 2: short timeouts, a socket group, events --------------------------

qt_conf "$QT_TMP/b.conf" accept "group = nogroup" "[tcp]" \
	"timeout_time_wait = 1" "timeout_close = 1" "timeout_fin_wait = 2" \
	"timeout_close_wait = 2" "timeout_last_ack = 2" "[udp]" "timeout = 2"
qt_daemon_start "$QT_TMP/b.conf" || exit 1

qt_check "socket group is nogroup" \
	test "$(stat -c %G "$SOCK")" = nogroup
qt_check "a member of the group is served" \
	test "$(as_user nobody nogroup count)" -eq "$(ctl count)"
chmod 666 "$SOCK"
qt_check "a user outside the group is refused" \
	fails_with "permission denied" as_user daemon daemon count

subscribers() { [ "$(qstat control_subscribers)" -eq "$1" ]; }

# The whole life of one TCP connection, in order.
# exec: $! must be qtrackctl itself, not a subshell around it, for the
# SIGSTOP below to stop the reader.
(exec ip netns exec "$NS_FW" "$QTRACKCTL" -s "$SOCK" events \
	>"$QT_TMP/ev" 2>&1) &
evpid=$!
QT_PIDS+=($evpid)
ctl events -o json >"$QT_TMP/ev.json" 2>&1 &
QT_PIDS+=($!)
# conntrack -E -e DESTROY: only the ends of connections.
qt_ns "$NS_FW" "$QTRACKCTL" --socket "$SOCK" -E -e DESTROY \
	>"$QT_TMP/ev.destroy" 2>&1 &
QT_PIDS+=($!)
qt_check "three subscribers" qt_wait_for 5 subscribers 3
qt_check "tcp transfer (events)" \
	qt_tcp_transfer 4 "$NS_CLI" "$NS_SRV" srv 5010 16
destroyed() { grep -q 'DESTROY.*dport=5010 ' "$QT_TMP/ev"; }
qt_check "DESTROY arrives after the timeout" qt_wait_for 15 destroyed
only_destroy() {
	awk '/dport=5010 / { n++; if ($1 != "[DESTROY]") bad = 1 }
	END { exit bad || n != 1 }' "$QT_TMP/ev.destroy"
}
qt_check "-E -e DESTROY: the DESTROY, and no other event" \
	qt_wait_for 5 only_destroy
grep 'dport=5010 ' "$QT_TMP/ev" | awk '{ print $1 }' >"$QT_TMP/ev.seq"
qt_check "events in order: NEW, UPDATE..., DESTROY" awk '
	NR == 1 && $0 != "[NEW]" { bad = 1 }
	NR > 1 && $0 == "[NEW]" { bad = 1 }
	$0 == "[DESTROY]" { d++ } prev == "[DESTROY]" { bad = 1 }
	$0 == "[UPDATE]" { u++ } { prev = $0 }
	END { exit bad || d != 1 || u < 1 || prev != "[DESTROY]" }' \
	"$QT_TMP/ev.seq"
qt_check "NEW is SYN_SENT, an UPDATE is ESTABLISHED" awk '
	/dport=5010 / && $1 == "[NEW]" && $5 == "SYN_SENT" { n = 1 }
	/dport=5010 / && $1 == "[UPDATE]" && $5 == "ESTABLISHED" { e = 1 }
	END { exit !(n && e) }' "$QT_TMP/ev"
qt_check "json events carry the same life" /usr/bin/python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
mine = [e for e in evs if "5010" in json.dumps(e)]
kinds = [e.get("event") for e in mine]
assert kinds[0] == "NEW" and kinds[-1] == "DESTROY", kinds
assert kinds.count("NEW") == 1 and kinds.count("DESTROY") == 1, kinds
' "$QT_TMP/ev.json"

# A subscriber that stops reading must not slow the packet path.
kill -STOP $evpid
qt_ns "$NS_CLI" /usr/bin/python3 -c '
import socket, sys
for i in range(6000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 20000 + i))
    s.sendto(b"x", (sys.argv[1], 9))
    s.close()
' $SRV4
qt_check "transfer completes while a subscriber is stopped" \
	qt_tcp_transfer 4 "$NS_CLI" "$NS_SRV" srv 5011 2048
lost() { [ "$(qstat events_lost)" -gt 0 ]; }
qt_check "events for the stopped subscriber are dropped and counted" \
	qt_wait_for 10 lost
qt_check "no queue drops meanwhile" test "$(qstat queue_kernel_dropped.0)" -eq 0
kill -CONT $evpid
announced() { grep -q '^\[LOST\] [0-9][0-9]* events$' "$QT_TMP/ev"; }
qt_check "the subscriber is told: [LOST] N events" qt_wait_for 15 announced
qt_check "daemon still alive" qt_daemon_alive
qt_check "daemon stops cleanly" qt_daemon_stop
qt_check "socket removed on exit" test ! -e "$SOCK"

qt_finish

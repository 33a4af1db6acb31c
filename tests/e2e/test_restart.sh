#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_restart.sh BUILD - the table outlives qtrackd: stop and start, kill -9
# with [state] save_interval, and a damaged state file.
#
# Topology of tests/e2e/lib.sh: client -- fw -- server.  fw's FORWARD
# chain accepts ESTABLISHED and RELATED by qtrackd's mark and NEW only to
# port 7000 (TCP and UDP) and to FTP's port 21; counting rules in front
# count every packet per state.  The client holds TCP_FLOWS echo
# connections and UDP_FLOWS UDP flows to the server's port 7000, an FTP
# download stopped halfway and a second FTP control connection whose PASV
# was answered but not yet used.
#
# 1. qtrackd stops (SIGTERM) and starts again: every flow goes on (one
#    more round trip on each, the download completes intact, the waiting
#    data connection is RELATED), and the counters see no NEW and no
#    INVALID packet.
# 2. qtrackd starts from a file `qtrackctl save` wrote before the flows'
#    last packets (their TCP windows are relearned): the same.  With
#    save_interval = 1, qtrackd is killed (-9) once a snapshot has been
#    taken after the flows' last packets, and started again: the same.
# 3. The same with two queues (--queue-balance 0:1, [queue] num = 0-1).
# 4. A damaged, a truncated, a newer-format, an other-byte-order and a
#    foreign file are each refused with a log line, moved to state.bad,
#    and qtrackd starts empty.
. "$(dirname "$0")/lib.sh"

TCP_FLOWS=${TCP_FLOWS:-200}
UDP_FLOWS=${UDP_FLOWS:-100}

qt_require_root
qt_require_cmd ip iptables iptables-restore ss timeout dd
qt_require_daemon
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pyftpdlib' \
	2>/dev/null || qt_skip "needs /usr/bin/python3 with pyftpdlib"
QTRACKCTL=$QT_BUILD/tools/qtrackctl
qt_topo_setup

STATE=$QT_TMP/state
CTL=$QT_TMP/ctl
mkdir -p "$CTL" "$QT_TMP/ftp"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$QT_TMP/ftp/data.bin"

# ---- servers -------------------------------------------------------------

cat >"$QT_TMP/echod.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
# TCP and UDP echo on ADDR:7000.
import selectors, socket, sys
addr = sys.argv[1]
sel = selectors.DefaultSelector()
lt = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lt.bind((addr, 7000))
lt.listen(1024)
lt.setblocking(False)
sel.register(lt, selectors.EVENT_READ, "accept")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, 7000))
u.setblocking(False)
sel.register(u, selectors.EVENT_READ, "udp")
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if key.data == "accept":
            c, _ = s.accept()
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, "tcp")
        elif key.data == "udp":
            try:
                data, peer = s.recvfrom(2048)
                s.sendto(data, peer)
            except BlockingIOError:
                pass
        else:
            try:
                data = s.recv(65536)
            except (BlockingIOError, ConnectionError):
                data = None
            if not data:
                sel.unregister(s)
                s.close()
            else:
                s.setblocking(True)
                s.sendall(data)
                s.setblocking(False)
EOF

cat >"$QT_TMP/ftpd.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
# Anonymous read-only FTP on ADDR:21, passive ports 50000-50099.
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
addr, root = sys.argv[1], sys.argv[2]
auth = DummyAuthorizer()
auth.add_anonymous(root)
FTPHandler.authorizer = auth
FTPHandler.passive_ports = range(50000, 50100)
FTPHandler.permit_foreign_addresses = False
FTPServer((addr, 21), FTPHandler).serve_forever()
EOF

# ---- the client ------------------------------------------------------------

# Opens the flows, then does one round per CTL/go.N file: a round trip on
# every flow (and in round 2 the FTP work), answered in CTL/done.N with
# "ok" or what failed.
cat >"$QT_TMP/client.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
import ftplib, os, socket, sys, time
srv, ctl, ntcp, nudp, blob = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5]
with_ftp = len(sys.argv) < 7 or sys.argv[6] != "noftp"
# Source addresses to spread the flows over (the kernel's queue balance
# hashes addresses only), or the default one.
srcs = sys.argv[7].split(",") if len(sys.argv) > 7 else [""]
want = open(blob, "rb").read()

def done(n, msg):
    with open(os.path.join(ctl, "done.%d.tmp" % n), "w") as f:
        f.write(msg + "\n")
    os.rename(os.path.join(ctl, "done.%d.tmp" % n),
              os.path.join(ctl, "done.%d" % n))

def round_trip(n):
    errs = []
    for i, s in enumerate(tcp):
        msg = b"round %d tcp %d " % (n, i) + b"x" * 200
        try:
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = s.recv(len(msg) - len(got))
                if not d:
                    raise ConnectionError("closed")
                got += d
            if got != msg:
                errs.append("tcp %d: wrong echo" % i)
        except OSError as e:
            errs.append("tcp %d: %s" % (i, e))
    for i, s in enumerate(udp):
        msg = b"round %d udp %d" % (n, i)
        try:
            s.send(msg)
            if s.recv(2048) != msg:
                errs.append("udp %d: wrong echo" % i)
        except OSError as e:
            errs.append("udp %d: %s" % (i, e))
    return errs

tcp, udp = [], []
for i in range(ntcp):
    s = socket.create_connection((srv, 7000), timeout=5,
                                 source_address=(srcs[i % len(srcs)], 0))
    tcp.append(s)
for i in range(nudp):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.bind((srcs[i % len(srcs)], 0))
    s.connect((srv, 7000))
    udp.append(s)
errs = round_trip(1)
# A download stopped halfway, and a PASV answered but not yet used.
if with_ftp:
    ftp1 = ftplib.FTP(srv, timeout=10)
    ftp1.login()
    ftp1.voidcmd("TYPE I")
    data1 = ftp1.transfercmd("RETR data.bin")
    data1.settimeout(10)
    got1 = b""
    while len(got1) < 256 * 1024:
        got1 += data1.recv(65536)
    ftp2 = ftplib.FTP(srv, timeout=10)
    ftp2.login()
    ftp2.voidcmd("TYPE I")
    pasv = ftp2.makepasv()
done(1, "ok" if not errs else "; ".join(errs[:5]))

n = 2
while True:
    go = os.path.join(ctl, "go.%d" % n)
    while not os.path.exists(go):
        time.sleep(0.05)
    errs = round_trip(n)
    if n == 2 and with_ftp:
        try:
            while True:
                d = data1.recv(65536)
                if not d:
                    break
                got1 += d
            data1.close()
            ftp1.voidresp()
            if got1 != want:
                errs.append("ftp download: %d of %d bytes, %s" %
                            (len(got1), len(want),
                             "same" if want.startswith(got1) else "differs"))
        except (OSError, ftplib.Error) as e:
            errs.append("ftp download: %s" % e)
        try:
            data2 = socket.create_connection(pasv, timeout=10)
            ftp2.putcmd("RETR data.bin")
            resp = ftp2.getresp()
            got2 = b""
            while True:
                d = data2.recv(65536)
                if not d:
                    break
                got2 += d
            data2.close()
            ftp2.voidresp()
            if got2 != want:
                errs.append("ftp after PASV: %d of %d bytes" %
                            (len(got2), len(want)))
        except (OSError, ftplib.Error) as e:
            errs.append("ftp after PASV: %s" % e)
    done(n, "ok" if not errs else "%d failed: %s" % (len(errs),
                                                      "; ".join(errs[:5])))
    n += 1
EOF

# ---- rules ---------------------------------------------------------------

# load_rules [QUEUE_SPEC]: --queue-num 0 unless told (--queue-balance 0:1).
load_rules() {
	local q=${1:---queue-num 0}
	qt_ns "$NS_FW" iptables-restore <<-EOF
	*mangle
	:PREROUTING ACCEPT [0:0]
	:INPUT ACCEPT [0:0]
	:FORWARD ACCEPT [0:0]
	:OUTPUT ACCEPT [0:0]
	:POSTROUTING ACCEPT [0:0]
	-A PREROUTING ! -i lo -j NFQUEUE $q --queue-bypass
	COMMIT
	*filter
	:INPUT ACCEPT [0:0]
	:FORWARD DROP [0:0]
	:OUTPUT ACCEPT [0:0]
	-A FORWARD -m mark --mark 0x1/0xff -m comment --comment cnt-new
	-A FORWARD -m mark --mark 0x2/0xef -m comment --comment cnt-est
	-A FORWARD -m mark --mark 0x3/0xef -m comment --comment cnt-rel
	-A FORWARD -m mark --mark 0x4/0xff -m comment --comment cnt-inv
	-A FORWARD -m mark --mark 0/0xff -m comment --comment cnt-none
	-A FORWARD -m mark --mark 0x2/0xef -j ACCEPT
	-A FORWARD -m mark --mark 0x3/0xef -j ACCEPT
	-A FORWARD -p tcp --dport 7000 -m mark --mark 0x1/0xff -j ACCEPT
	-A FORWARD -p udp --dport 7000 -m mark --mark 0x1/0xff -j ACCEPT
	-A FORWARD -p tcp --dport 21 -m mark --mark 0x1/0xff -j ACCEPT
	COMMIT
	EOF
}

# count NAME: packets the FORWARD counting rule NAME saw.
count() {
	qt_ns "$NS_FW" iptables -t filter -L FORWARD -v -x -n |
		awk -v c="/* $1 */" 'index($0, c) { print $1; exit }'
}

# round N: ask the client (whose control directory is $CTL) for round N
# and wait for its answer.
round() {
	touch "$CTL/go.$1"
	if ! qt_wait_for 120 test -e "$CTL/done.$1"; then
		echo "client gave no answer for round $1"
		return 1
	fi
	echo "$(cat "$CTL/done.$1")"
	[ "$(cat "$CTL/done.$1")" = ok ]
}

stat_of() {
	"$QTRACKCTL" -s "$QT_TMP/qtrackd.sock" stats |
		awk -v k="$1" '$1 == k { print $2; exit }'
}

restored_at_least() {
	grep "state: restored" "$QT_DAEMON_LOG" | tail -n 1 |
		awk -v n="$1" '{ exit !($3 >= n) }'
}

# check_round WHAT N FLOWS: after a restart, round N goes through, no
# packet was NEW or INVALID, and at least two per flow were ESTABLISHED.
check_round() {
	local what=$1 n=$2 flows=$3 out new inv none est
	qt_ns "$NS_FW" iptables -Z FORWARD
	out=$(round "$n")
	qt_check "$what: every flow goes on ($out)" test "$out" = ok
	new=$(count cnt-new)
	inv=$(count cnt-inv)
	none=$(count cnt-none)
	est=$(count cnt-est)
	qt_check "$what: no packet NEW ($new), INVALID ($inv), unmarked ($none)" \
		test "$new" = 0 -a "$inv" = 0 -a "$none" = 0
	qt_check "$what: packets passed as ESTABLISHED ($est)" \
		test "${est:-0}" -ge $((2 * flows))
}

# ---- 1. stop and start ----------------------------------------------------

load_rules || { qt_fail "loading rules"; exit 1; }
qt_conf "$QT_TMP/a.conf" accept "[helper]" "ftp = 21" "[table]" \
	"max = 4096"
qt_daemon_start "$QT_TMP/a.conf" || exit 1
qt_check "no state file at first start: empty table, logged" \
	grep -q "state: no $STATE, starting with an empty table" \
	"$QT_DAEMON_LOG"

qt_bg "$NS_SRV" timeout 600 /usr/bin/python3 "$QT_TMP/echod.py" $SRV4
qt_bg "$NS_SRV" timeout 600 /usr/bin/python3 "$QT_TMP/ftpd.py" $SRV4 \
	"$QT_TMP/ftp" 2>>"$QT_TMP/ftpd.log"
qt_wait_for 10 qt_listening "$NS_SRV" tcp 7000 &&
	qt_wait_for 10 qt_listening "$NS_SRV" tcp 21 ||
	{ qt_fail "servers did not start"; exit 1; }
qt_bg "$NS_CLI" timeout 600 /usr/bin/python3 "$QT_TMP/client.py" $SRV4 \
	"$CTL" "$TCP_FLOWS" "$UDP_FLOWS" "$QT_TMP/ftp/data.bin" \
	2>"$QT_TMP/client.log"
if ! qt_wait_for 120 test -e "$CTL/done.1" ||
	[ "$(cat "$CTL/done.1")" != ok ]; then
	qt_fail "client could not open its flows: $(cat "$CTL/done.1" \
		"$QT_TMP/client.log" 2>/dev/null)"
	exit 1
fi
qt_pass "$TCP_FLOWS TCP and $UDP_FLOWS UDP flows, an FTP download and a PASV open"
qt_log "table before stop: $(stat_of entries) entries," \
	"$(stat_of expectations) expectations"

qt_check "SIGTERM: qtrackd exits 0" qt_daemon_stop
qt_check "state saved on stop" grep -q "state: saved .* to $STATE" \
	"$QT_DAEMON_LOG"
# final_flag: the FINAL bit of the state file's header flags (byte 39).
final_flag() { od -An -tu1 -j39 -N1 "$STATE" | tr -d ' '; }
qt_check "the file saved on stop is FINAL" test "$(final_flag)" = 1
qt_daemon_start "$QT_TMP/a.conf" || exit 1
# Once restored it no longer describes the table exactly: a crash now
# would restore it as a snapshot.
qt_check "restored: the file is no longer FINAL" test "$(final_flag)" = 0
want=$((TCP_FLOWS + UDP_FLOWS + 3))
qt_check "restart: at least $want connections restored" \
	restored_at_least $want
qt_check "restart: the expectation restored" \
	grep -q "restored [0-9]* connections and 1 expectations" \
	"$QT_DAEMON_LOG"
qt_check "restart: restored counted in stats" \
	test "$(stat_of state_restored)" -ge $want
check_round "after SIGTERM and start" 2 $((TCP_FLOWS + UDP_FLOWS))
rel=$(count cnt-rel)
qt_check "restart: the data connection opened after it was RELATED ($rel)" \
	test "${rel:-0}" -gt 0

# `qtrackctl save` writes the same format; qtrackd accepts it.
"$QTRACKCTL" -s "$QT_TMP/qtrackd.sock" save "$QT_TMP/saved" \
	2>"$QT_TMP/save.out"
qt_check "qtrackctl save: $(cat "$QT_TMP/save.out")" \
	grep -q "connections (.*) and .* expectations saved to" \
	"$QT_TMP/save.out"

# ---- 2. a snapshot older than the flows' last packets, kill -9 --------------

# Traffic after the save: the saved TCP windows are behind the flows now.
out=$(round 3)
qt_check "a round after qtrackctl save ($out)" test "$out" = ok
qt_daemon_stop
qt_conf "$QT_TMP/b.conf" accept "[helper]" "ftp = 21" "[table]" \
	"max = 4096" "[state]" "save_interval = 1"
# Start from the file qtrackctl saved: a snapshot, taken while running.
mv "$QT_TMP/saved" "$STATE"
qt_daemon_start "$QT_TMP/b.conf" || exit 1
qt_check "qtrackctl save's file restored" \
	grep -q "restored .* (a snapshot: TCP windows relearned)" \
	"$QT_DAEMON_LOG"
qt_ns "$NS_FW" iptables -Z FORWARD
out=$(round 4)
qt_check "after a restart from qtrackctl save's file: flows go on ($out)" \
	test "$out" = ok
qt_check "  ... none NEW ($(count cnt-new)) or INVALID ($(count cnt-inv))" \
	test "$(count cnt-new)" = 0 -a "$(count cnt-inv)" = 0
# Two snapshots begun after the last round: the flows' last packets are
# in the newer one.
s0=$(stat_of state_snapshots)
snapshots_reached() {
	[ "$(stat_of state_snapshots)" -ge "$1" ]
}
qt_check "periodic snapshots are taken" \
	qt_wait_for 10 snapshots_reached $((s0 + 2))
kill -9 "$QT_DAEMON_PID"
wait "$QT_DAEMON_PID" 2>/dev/null
QT_DAEMON_PID=
qt_daemon_start "$QT_TMP/b.conf" || exit 1
qt_check "kill -9: at least $((TCP_FLOWS + UDP_FLOWS)) connections restored" \
	restored_at_least $((TCP_FLOWS + UDP_FLOWS))
check_round "after kill -9" 5 $((TCP_FLOWS + UDP_FLOWS))

# ---- 3. two queues ---------------------------------------------------------

# With --queue-balance each queue's table is saved as its own shard and
# comes back into the same queue, where the kernel's balance hash keeps
# sending its flows.  New flows from a second client.
qt_daemon_stop
load_rules "--queue-balance 0:1" || qt_fail "loading two-queue rules"
qt_conf "$QT_TMP/q2.conf" accept "[table]" "max = 4096"
sed -i 's/^num = 0$/num = 0-1/' "$QT_TMP/q2.conf"
mv "$STATE" "$QT_TMP/state.1q"
qt_daemon_start "$QT_TMP/q2.conf" || exit 1
CTL=$QT_TMP/ctl2
mkdir -p "$CTL"
srcs=
for i in 0 1 2 3 4 5 6 7; do
	qt_ns "$NS_CLI" ip addr add 10.0.1.$((100 + i))/24 dev cli0
	srcs=$srcs${srcs:+,}10.0.1.$((100 + i))
done
qt_bg "$NS_CLI" timeout 600 /usr/bin/python3 "$QT_TMP/client.py" $SRV4 \
	"$CTL" 100 50 "$QT_TMP/ftp/data.bin" noftp "$srcs" \
	2>"$QT_TMP/client2.log"
if qt_wait_for 120 test -e "$CTL/done.1" &&
	[ "$(cat "$CTL/done.1")" = ok ]; then
	qt_check "two queues: SIGTERM: qtrackd exits 0" qt_daemon_stop
	qt_daemon_start "$QT_TMP/q2.conf" || exit 1
	qt_check "two queues: at least 150 connections restored" \
		restored_at_least 150
	check_round "two queues, after SIGTERM and start" 2 150
	# Both queues carried flows, so both shards were restored.
	qt_check "two queues: both queues saw the round ($(stat_of \
		queue_received.0), $(stat_of queue_received.1) packets)" \
		test "$(stat_of queue_received.0)" -gt 0 -a \
		"$(stat_of queue_received.1)" -gt 0
else
	qt_fail "two queues: the client could not open its flows"
fi
qt_daemon_stop
mv "$QT_TMP/state.1q" "$STATE"
load_rules

# ---- 4. damaged files ------------------------------------------------------

qt_conf "$QT_TMP/c.conf" accept

# damage WHAT CMD...: CMD spoils the state file; qtrackd must refuse it.
damage() {
	local what=$1 why=$2 size
	shift 2
	cp "$STATE" "$QT_TMP/good"
	"$@"
	rm -f "$STATE.bad"
	qt_daemon_start "$QT_TMP/c.conf" || return
	qt_check "$what: refused with a clear log line" grep -q \
		"state: $STATE refused ($why.*); moved to $STATE.bad; starting with an empty table" \
		"$QT_DAEMON_LOG"
	qt_check "$what: moved aside" test -s "$STATE.bad" -a ! -e "$STATE"
	qt_check "$what: qtrackd runs with an empty table" \
		test "$(stat_of entries)" = 0
	qt_daemon_stop
	cp "$QT_TMP/good" "$STATE"
}

size=$(stat -c %s "$STATE")
damage "a flipped byte" "bad checksum" \
	sh -c "printf '\\377' | dd of='$STATE' bs=1 seek=$((size / 2)) \
		conv=notrunc status=none"
damage "a truncated file" "truncated" truncate -s $((size / 2)) "$STATE"
damage "a newer format" "unsupported format version" \
	sh -c "printf '\\002' | dd of='$STATE' bs=1 seek=9 conv=notrunc \
		status=none"
damage "another byte order" "foreign byte order" \
	sh -c "printf '\\004\\003\\002\\001' | dd of='$STATE' bs=1 seek=12 \
		conv=notrunc status=none"
damage "not a state file" "not a qtrack state file" \
	sh -c "echo hello >'$STATE'"
qt_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_ctl_hostile.sh BUILD - hostile control-socket clients: more clients
# than the daemon serves at once, half-written requests, clients that ask
# for a long listing and never read it, a huge line without a newline,
# binary garbage, and a thousand connect/close.  Meanwhile and afterwards
# packets must still be classified (ping through the firewall) and a well
# behaved client must be served; the daemon must stop cleanly (which in a
# sanitizer build also means no leak or memory error report).
. "$(dirname "$0")/lib.sh"

QTRACKCTL=$QT_BUILD/tools/qtrackctl
SOCK=$QT_TMP/qtrackd.sock

qt_require_root
qt_require_cmd iptables ping
qt_require_daemon
[ -x "$QTRACKCTL" ] || { qt_fail "$QTRACKCTL not built"; exit 1; }
qt_topo_setup

ctl() { qt_ns "$NS_FW" "$QTRACKCTL" -s "$SOCK" "$@"; }

qt_ns "$NS_FW" iptables -A FORWARD -j NFQUEUE --queue-num 0
qt_conf "$QT_TMP/h.conf" accept
qt_daemon_start "$QT_TMP/h.conf" || exit 1

# Some UDP flows, so that `list` has something to say.
qt_ns "$NS_CLI" /usr/bin/python3 -c '
import socket
for p in range(300):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("'"$SRV4"'", 7000 + p))
    s.close()
'
tracked() { [ "$(ctl count)" -ge 300 ]; }
qt_check "flows tracked" qt_wait_for 10 tracked

# The hostile clients, all at once, from one process; it holds them open
# while the checks below run, then closes everything.
cat >"$QT_TMP/hostile.py" <<'PYEOF'
import os, random, socket, sys, time

path, ready, done = sys.argv[1], sys.argv[2], sys.argv[3]
rnd = random.Random(7)
held = []

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def tryconn():
    try:
        return conn()
    except OSError:
        return None

# 1000 connect/close, some after a partial request or a reset.
for i in range(1000):
    s = tryconn()
    if not s:
        continue
    if i % 3 == 1:
        s.send(b"li")
    if i % 3 == 2:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    s.close()
# Garbage and a huge line without a newline.
for blob in (bytes(rnd.randrange(256) for _ in range(4096)),
             b"A" * (1 << 20), b"\0\n\0\n", b"\n" * 10000):
    s = tryconn()
    if s:
        try:
            s.sendall(blob)
        except OSError:
            pass
        held.append(s)
# Listings never read, with a tiny receive buffer.
for i in range(20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    try:
        s.connect(path)
        s.sendall(b"list\n" if i % 2 else b"events\n")
        held.append(s)
    except OSError:
        s.close()
# Half-written requests, more than the daemon serves at once.
for i in range(100):
    s = tryconn()
    if s:
        try:
            s.send(b"sta")
        except OSError:
            pass
        held.append(s)
open(ready, "w").close()
while not os.path.exists(done):
    time.sleep(0.1)
for s in held:
    s.close()
PYEOF
qt_ns "$NS_FW" /usr/bin/python3 "$QT_TMP/hostile.py" "$SOCK" \
	"$QT_TMP/ready" "$QT_TMP/done" &
HOSTILE=$!
qt_wait_for 60 test -e "$QT_TMP/ready" || qt_fail "hostile clients not ready"

qt_check "packets classified while hostile clients hang on" \
	qt_ping 4 "$NS_CLI" "$SRV4"
qt_check "daemon alive under the hostile clients" qt_daemon_alive

touch "$QT_TMP/done"
wait "$HOSTILE"

# Freed slots: a normal client is served again (the half-written ones
# time out after 10 s at the latest, so allow for that).
served() { [ "$(ctl count 2>/dev/null)" -ge 1 ] 2>/dev/null; }
qt_check "a normal client is served afterwards" qt_wait_for 20 served
stats_ok() { ctl stats | grep -q '^entries '; }
qt_check "stats still answer" stats_ok
qt_check "packets still classified" qt_ping 4 "$NS_CLI" "$SRV4"
qt_check "daemon stops cleanly" qt_daemon_stop
qt_finish

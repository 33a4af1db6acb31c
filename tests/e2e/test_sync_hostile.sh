#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_sync_hostile.sh BUILD - what reaches a standby's sync port that is
# not its peer's: a wrong key, garbage, a replayed datagram, a stale one
# and a flood.  Each is refused and counted (qtrackctl stats), none is
# applied, the daemon goes on; a correctly signed datagram is applied.
#
# qtrackd runs as a standby in $NS_FW with [sync] peer 10.0.9.2; the
# sender is /usr/bin/python3 in $NS_CLI at 10.0.9.2, which builds
# datagrams and records as docs/state-format.md describes them.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip timeout
qt_require_daemon
QTRACKCTL=$QT_BUILD/tools/qtrackctl

for ns in "$NS_CLI" "$NS_FW"; do
	ip netns add "$ns" || qt_skip "cannot create network namespaces"
	QT_NETNS+=("$ns")
	qt_ns "$ns" ip link set lo up
done
ip link add sy0 netns "$NS_FW" type veth peer name sy0 netns "$NS_CLI" ||
	qt_skip "no veth support"
qt_ns "$NS_FW" ip addr add 10.0.9.1/24 dev sy0
qt_ns "$NS_CLI" ip addr add 10.0.9.2/24 dev sy0
qt_ns "$NS_FW" ip link set sy0 up
qt_ns "$NS_CLI" ip link set sy0 up

KEY=0123456789abcdef0123456789abcdef
echo "$KEY" >"$QT_TMP/sync.key"
chmod 600 "$QT_TMP/sync.key"
qt_conf "$QT_TMP/qtrackd.conf" accept "[sync]" "local = 10.0.9.1" \
	"peer = 10.0.9.2" "key_file = $QT_TMP/sync.key" "role = standby"
qt_daemon_start "$QT_TMP/qtrackd.conf" || exit 1

stat_of() {
	"$QTRACKCTL" --socket "$QT_TMP/qtrackd.sock" stats |
		awk -v k="$1" '$1 == k { print $2; exit }'
}

cat >"$QT_TMP/send.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
# send.py KEY WHAT: datagrams to 10.0.9.1:3781 from 10.0.9.2:3781.
import hashlib, hmac, os, socket, struct, sys, time, zlib
key, what = sys.argv[1].encode(), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.9.2", 3781))
dst = ("10.0.9.1", 3781)
epoch = int.from_bytes(os.urandom(8), "big")
state = os.path.join(os.path.dirname(sys.argv[0]), "seq")

def conn(sport):
    # A UDP connection 10.0.1.2:sport -> 10.0.2.2:7000, 30 s left.
    t = struct.pack(">BBH16s16sHH", 4, 17, 0,
                    socket.inet_aton("10.0.1.2") + b"\0" * 12,
                    socket.inet_aton("10.0.2.2") + b"\0" * 12, sport, 7000)
    p = t + struct.pack(">BBBBIQI", 1, 0, 0, 0, 30, 25000, 0)
    p += struct.pack(">Q", 0)
    env = struct.pack(">BBH", 1, 1, len(p)) + p
    return env + struct.pack(">I", zlib.crc32(env))

def dgram(k, seq, items, wall=None, typ=1):
    wall = int(time.time() * 1000) if wall is None else wall
    b = b"QTSY" + struct.pack(">BBHQQQ", 1, typ, 0, epoch, seq, wall) + items
    return b + hmac.new(k, b, hashlib.sha256).digest()

item = lambda op, rec=b"": struct.pack(">BBH", op, 0, 0) + rec
if what == "wrongkey":
    s.sendto(dgram(b"not-the-key-at-all-0000", 1, item(1, conn(1001))), dst)
elif what == "garbage":
    for n in (0, 1, 31, 64, 100, 1400):
        s.sendto(os.urandom(n), dst)
elif what == "good+replay":
    d = dgram(key, 1, item(1, conn(2001)))
    s.sendto(d, dst)
    time.sleep(0.2)
    s.sendto(d, dst)
elif what == "stale":
    s.sendto(dgram(key, 1, item(1, conn(3001)),
                   wall=int(time.time() * 1000) - 3600 * 1000), dst)
elif what == "badrecord":
    r = bytearray(conn(4001))
    r[10] ^= 1  # the record's CRC no longer matches
    s.sendto(dgram(key, 1, item(1, bytes(r))), dst)
elif what == "flood":
    for i in range(20000):
        s.sendto(os.urandom(200), dst)
EOF

send() {
	qt_ns "$NS_CLI" /usr/bin/python3 "$QT_TMP/send.py" "$KEY" "$1"
}

stat_at_least() {
	[ "$(stat_of "$1")" -ge "$2" ]
}

has_conn() {
	"$QTRACKCTL" --socket "$QT_TMP/qtrackd.sock" -L -p udp --sport "$1" \
		2>/dev/null | grep -q "sport=$1 "
}

send wrongkey
qt_check "a wrong key is refused and counted" qt_wait_for 5 stat_at_least sync_refused 1
qt_check_not "nothing of it is applied" has_conn 1001

send garbage
qt_check "garbage is refused and counted" qt_wait_for 5 stat_at_least sync_refused 7

send badrecord
qt_check "a signed datagram with a damaged record is refused" \
	qt_wait_for 5 stat_at_least sync_refused 8
qt_check_not "nothing of it is applied" has_conn 4001

send good+replay
qt_check "a correctly signed datagram is applied" qt_wait_for 5 has_conn 2001
qt_check "its replay is refused and counted" qt_wait_for 5 stat_at_least sync_replayed 1

send stale
qt_check "a datagram an hour old is refused and counted" \
	qt_wait_for 5 stat_at_least sync_replayed 2
qt_check_not "nothing of it is applied" has_conn 3001

r0=$(stat_of sync_refused)
send flood
qt_check "a flood of 20000 datagrams is refused and counted ($(stat_of sync_refused) refused)" \
	qt_wait_for 10 stat_at_least sync_refused $((r0 + 1000))
qt_check "qtrackd still runs" qt_daemon_alive
answers() {
	"$QTRACKCTL" --socket "$QT_TMP/qtrackd.sock" stats -o json >/dev/null
}
qt_check "and answers" answers
qt_check "applied only the one good entry ($(stat_of sync_applied))" \
	test "$(stat_of sync_applied)" = 1
ctl() {
	"$QTRACKCTL" --socket "$QT_TMP/qtrackd.sock" "$@" >/dev/null 2>&1
}
qt_check "qtrackctl sync-resync answers" ctl sync-resync
qt_check "qtrackctl sync-active makes it active" \
	eval 'ctl sync-active && test "$(stat_of sync_active)" = 1'
qt_check "qtrackctl sync-standby makes it standby" \
	eval 'ctl sync-standby && test "$(stat_of sync_active)" = 0'
qt_check "qtrackd stops cleanly" qt_daemon_stop
qt_finish

# SPDX-License-Identifier: GPL-2.0-or-later
# syncsend.py KEY WHAT: sync datagrams to 10.0.9.1:3781, built as
# docs/state-format.md ("The sync stream") describes them, from
# 10.0.9.2:3781 (qtrackd's [sync] peer) unless WHAT says otherwise.  One
# run is one sender epoch, its sequence numbers from 1.
import hashlib, hmac, os, socket, struct, sys, time, zlib

key, what = sys.argv[1].encode(), sys.argv[2]
dst = ("10.0.9.1", 3781)
epoch = int.from_bytes(os.urandom(8), "big")
socks = {}


def sock(src=("10.0.9.2", 3781)):
    if src not in socks:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(src)
        socks[src] = s
    return socks[src]


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
CONN, BEGIN, END = 1, 4, 5
s = sock()
if what == "wrongkey":
    s.sendto(dgram(b"not-the-key-at-all-0000", 1, item(CONN, conn(1001))), dst)
elif what == "garbage":
    for n in (0, 1, 31, 64, 100, 1400):
        s.sendto(os.urandom(n), dst)
elif what == "good+replay":
    d = dgram(key, 1, item(CONN, conn(2001)))
    s.sendto(d, dst)
    time.sleep(0.2)
    s.sendto(d, dst)
elif what == "stale":
    s.sendto(dgram(key, 1, item(CONN, conn(3001)),
                   wall=int(time.time() * 1000) - 3600 * 1000), dst)
elif what == "badrecord":
    r = bytearray(conn(4001))
    r[10] ^= 1  # the record's CRC no longer matches
    s.sendto(dgram(key, 1, item(CONN, bytes(r))), dst)
elif what == "flood":
    for i in range(20000):
        s.sendto(os.urandom(200), dst)
elif what == "foreign":
    # Correctly signed, but from another address and from another port
    # of the peer's address.
    sock(("10.0.9.3", 3781)).sendto(dgram(key, 1, item(CONN, conn(8001))), dst)
    sock(("10.0.9.2", 3782)).sendto(dgram(key, 2, item(CONN, conn(8002))), dst)
elif what == "dump":
    # A full table of 5001 and 5002, then one without 5002.
    s.sendto(dgram(key, 1, item(BEGIN) + item(CONN, conn(5001)) +
                   item(CONN, conn(5002)) + item(END)), dst)
    time.sleep(0.3)
    s.sendto(dgram(key, 2, item(BEGIN) + item(CONN, conn(5001)) +
                   item(END)), dst)
elif what == "gapdump":
    # A full table of 6001 and 6002; then a dump that lacks 6002 but also
    # lost its datagram 3: it proves nothing.
    s.sendto(dgram(key, 1, item(BEGIN) + item(CONN, conn(6001)) +
                   item(CONN, conn(6002)) + item(END)), dst)
    time.sleep(0.3)
    s.sendto(dgram(key, 2, item(BEGIN)), dst)
    s.sendto(dgram(key, 4, item(CONN, conn(6001)) + item(END)), dst)
else:
    sys.exit("syncsend.py: unknown " + what)

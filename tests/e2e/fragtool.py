# SPDX-License-Identifier: GPL-2.0-or-later
"""fragtool.py - traffic for test_fragments.sh, run with /usr/bin/python3.

  udp-server FAMILY PORT SIZE        answer every datagram with SIZE bytes
  udp-client FAMILY ADDR PORT SIZE   one request; exit 0 if SIZE bytes came
  tcp-server FAMILY PORT FILE NBYTES accept one connection, store NBYTES
  tcp-frags FAMILY SRC DST PORT      a TCP connection made by hand whose
                                     segments are sent as IP fragments in
                                     order, reversed, duplicated and
                                     overlapping; prints "ok NAME" or
                                     "not ok NAME" per step

tcp-frags opens the connection itself (the client's kernel must not answer
the SYN/ACK with a RST: the test drops those), sends five 1400-byte
segments and watches the server's acks:
  1  in order:     fragments A B C            acked
  2  reversed:     C B A                      acked
  3  duplicated:   A B B A C                  acked (exact duplicates are
                                              dropped by the reassembly)
  4  overlapping:  A, B overlapping A's end, C: the reassembly discards the
                   whole datagram (RFC 5722; Linux does the same for IPv4)
  5  whole, after 4's place: the server has a hole and acks segment 3 again
  4  again, whole: now everything up to 5 is acked
The data of segments 1 to 5, in order, is printed to the file given by
QT_FRAG_DATA for the test to compare with what the server stored.
"""
import os
import socket
import sys
import threading
import time

SEG = 1400
PIECE = 512


def udp_server(fam, port, size):
    af = socket.AF_INET6 if fam == "6" else socket.AF_INET
    s = socket.socket(af, socket.SOCK_DGRAM)
    if af == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if af == socket.AF_INET6 else "0.0.0.0", port))
    s.settimeout(60)
    while True:
        try:
            _, peer = s.recvfrom(2048)
        except socket.timeout:
            return 0
        s.sendto(b"r" * size, peer)


def udp_client(fam, addr, port, size):
    af = socket.AF_INET6 if fam == "6" else socket.AF_INET
    s = socket.socket(af, socket.SOCK_DGRAM)
    s.settimeout(2)
    for _ in range(3):
        s.sendto(b"question", (addr, port))
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        return 0 if len(data) == size else 1
    return 1


def tcp_server(fam, port, path, nbytes):
    af = socket.AF_INET6 if fam == "6" else socket.AF_INET
    s = socket.socket(af, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if af == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if af == socket.AF_INET6 else "0.0.0.0", port))
    s.listen(1)
    s.settimeout(60)
    c, _ = s.accept()
    c.settimeout(60)
    got = b""
    with open(path, "wb") as f:
        while len(got) < nbytes:
            try:
                b = c.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            got += b
            f.write(b)
            f.flush()
    return 0


def tcp_frags(fam, src, dst, port):
    from scapy.all import (IP, IPv6, IPv6ExtHdrFragment, TCP, Raw,
                           AsyncSniffer, send, conf)

    conf.verb = 0
    v6 = fam == "6"
    sport = 41000 + os.getpid() % 900
    isn = 100000
    seen = []                 # (flags, ack) of the server's segments
    lock = threading.Condition()

    def record(p):
        if TCP in p and p[TCP].sport == port and p[TCP].dport == sport:
            with lock:
                seen.append((int(p[TCP].flags), p[TCP].seq, p[TCP].ack))
                lock.notify_all()

    ready = threading.Event()
    sn = AsyncSniffer(iface="cli0", prn=record, store=False,
                      filter="tcp and src port %d" % port,
                      started_callback=ready.set)
    sn.start()
    if not ready.wait(10):
        print("not ok sniffer did not start", flush=True)
        return 1

    def wait_for(pred, start, limit=5.0):
        end = time.time() + limit
        with lock:
            while True:
                for i in range(start, len(seen)):
                    if pred(seen[i]):
                        return seen[i]
                left = end - time.time()
                if left <= 0:
                    return None
                lock.wait(left)

    def ip(**kw):
        return IPv6(src=src, dst=dst, **kw) if v6 else IP(src=src, dst=dst,
                                                           **kw)

    def segment(seq, ack, data):
        return ip() / TCP(sport=sport, dport=port, flags="A", seq=seq,
                          ack=ack, window=65535) / Raw(data)

    def pieces(pkt, spans, ident):
        """IP fragments of pkt's layer 4 bytes, one per (start, end)."""
        whole = bytes(pkt)
        l4 = whole[40:] if v6 else whole[20:]
        out = []
        for start, end in spans:
            more = end < len(l4)
            chunk = l4[start:end]
            if v6:
                out.append(IPv6(src=src, dst=dst) /
                           IPv6ExtHdrFragment(nh=6, offset=start // 8,
                                              m=int(more), id=ident) /
                           Raw(chunk))
            else:
                out.append(IP(src=src, dst=dst, proto=6, id=ident,
                              flags="MF" if more else 0,
                              frag=start // 8) / Raw(chunk))
        return out

    results = []

    def report(name, ok):
        results.append(ok)
        print(("ok " if ok else "not ok ") + name, flush=True)

    mark = len(seen)
    send(ip() / TCP(sport=sport, dport=port, flags="S", seq=isn,
                    window=65535, options=[("MSS", 1460)]))
    synack = wait_for(lambda s: s[0] & 0x12 == 0x12, mark)
    report("handshake: SYN/ACK came back", synack is not None)
    if synack is None:
        sn.stop()
        return 1
    srv = synack[1] + 1
    seq0 = isn + 1
    send(ip() / TCP(sport=sport, dport=port, flags="A", seq=seq0, ack=srv,
                    window=65535))

    data = [bytes([0x41 + i]) * SEG for i in range(5)]
    seqs = [seq0 + i * SEG for i in range(5)]
    l4 = 20 + SEG
    span = [(0, PIECE), (PIECE, 2 * PIECE), (2 * PIECE, l4)]
    A, B, C = 0, 1, 2

    def acked(upto, start):
        return wait_for(lambda s: (s[2] - upto) % (1 << 32) < (1 << 31),
                        start)

    for i, (name, order) in enumerate([("in order", [A, B, C]),
                                       ("reversed", [C, B, A]),
                                       ("duplicated", [A, B, B, A, C])]):
        frags = pieces(segment(seqs[i], srv, data[i]), span, 0x100 + i)
        mark = len(seen)
        for k in order:
            send(frags[k])
        report("segment %d %s: acked" % (i + 1, name),
               acked(seqs[i] + SEG, mark) is not None)

    # 4: B starts 8 bytes before A ends.
    over = [(0, PIECE), (PIECE - 8, 2 * PIECE), (2 * PIECE, l4)]
    for f in pieces(segment(seqs[3], srv, data[3]), over, 0x104):
        send(f)
    mark = len(seen)
    send(segment(seqs[4], srv, data[4]))
    first = wait_for(lambda s: True, mark)
    report("segment 4 overlapping: discarded, the server acks segment 3 "
           "again", first is not None and first[2] == seqs[3])
    mark = len(seen)
    send(segment(seqs[3], srv, data[3]))
    report("segment 4 again, whole: everything acked",
           acked(seqs[4] + SEG, mark) is not None)
    sn.stop()
    path = os.environ.get("QT_FRAG_DATA")
    if path:
        with open(path, "wb") as f:
            f.write(b"".join(data))
    return 0 if all(results) else 1


def main(argv):
    cmd = argv[1]
    if cmd == "udp-server":
        return udp_server(argv[2], int(argv[3]), int(argv[4]))
    if cmd == "udp-client":
        return udp_client(argv[2], argv[3], int(argv[4]), int(argv[5]))
    if cmd == "tcp-server":
        return tcp_server(argv[2], int(argv[3]), argv[4], int(argv[5]))
    if cmd == "tcp-frags":
        return tcp_frags(argv[2], argv[3], argv[4], int(argv[5]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

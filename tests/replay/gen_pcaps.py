# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the replay test captures.

usage: /usr/bin/python3 gen_pcaps.py OUTDIR [NAME...]

Every capture has fixed timestamps and fixed contents, so the files are
byte-for-byte the same on every run and the expected outputs in expected/
stay valid.  Scapy only builds the IP packets; the pcap framing (global
header, link layer headers) is written here so the link types are exactly
the ones the test means to cover.  Each scenario states, packet by packet,
what the kernel's nf_conntrack answers: expected/<name>.txt holds that.
"""

import os
import struct
import sys

import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, UDPerror  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6MLDone,
    ICMPv6MLQuery,
    ICMPv6MLReport,
    ICMPv6MLReport2,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_Redirect,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrHopByHop,
    RouterAlert,
)
from scapy.packet import Raw  # noqa: E402

T0 = 1700000000  # 2023-11-14, any fixed second works

LT_EN10MB = 1
LT_RAW = 101
LT_SLL = 113
LT_SLL2 = 276

A4, B4, C4, D4, R4 = "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.254"
A6, B6 = "2001:db8::1", "2001:db8::2"


def ip_version(data):
    return data[0] >> 4 if data else 4


def frame(linktype, data, vlan=None):
    """Wrap an IP packet in the link layer header of @linktype."""
    etype = 0x86DD if ip_version(data) == 6 else 0x0800
    if linktype == LT_EN10MB:
        hdr = bytes.fromhex("020000000002" "020000000001")
        if vlan is not None:
            hdr += struct.pack("!HH", 0x8100, vlan)
        return hdr + struct.pack("!H", etype) + data
    if linktype == LT_SLL:
        # packet type (0 = to us), ARPHRD_ETHER, addr len, addr, protocol
        return (struct.pack("!HHH", 0, 1, 6) + bytes.fromhex("0200000000010000")
                + struct.pack("!H", etype) + data)
    if linktype == LT_SLL2:
        # protocol, reserved, ifindex, ARPHRD_ETHER, pkttype, addr len, addr
        return (struct.pack("!HHIHBB", etype, 0, 2, 1, 0, 6)
                + bytes.fromhex("0200000000010000") + data)
    return data


def write_pcap(path, linktype, packets, vlan=None):
    """@packets: list of (seconds after T0, IP packet bytes or scapy
    packet, optional original length of the IP packet)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for item in packets:
        t, pkt = item[0], item[1]
        data = bytes(pkt)
        fr = frame(linktype, data, vlan)
        origlen = len(fr) - len(data) + (item[2] if len(item) > 2 else len(data))
        ms = int(round(t * 1000))
        sec, usec = T0 + ms // 1000, (ms % 1000) * 1000
        out.append(struct.pack("<IIII", sec, usec, len(fr), origlen) + fr)
    with open(path, "wb") as f:
        f.write(b"".join(out))


# ---------------------------------------------------------------- helpers


def udp(src, dst, sport, dport, payload=b"q"):
    l3 = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
    return l3 / UDP(sport=sport, dport=dport) / Raw(payload)


def gen(src, dst, proto=253, payload=b"generic"):
    if ":" in src:
        return IPv6(src=src, dst=dst, nh=proto) / Raw(payload)
    return IP(src=src, dst=dst, proto=proto) / Raw(payload)


def echo4(src, dst, ident, seq, reply=False):
    return IP(src=src, dst=dst) / ICMP(type=0 if reply else 8, id=ident,
                                       seq=seq) / Raw(b"ping")


def echo6(src, dst, ident, seq, reply=False):
    cls = ICMPv6EchoReply if reply else ICMPv6EchoRequest
    return IPv6(src=src, dst=dst) / cls(id=ident, seq=seq, data=b"ping")


def icmp_err4(src, dst, typ, code, quoted):
    """An ICMP error quoting the first 28 bytes of @quoted, as routers do."""
    return IP(src=src, dst=dst) / ICMP(type=typ, code=code) / Raw(
        bytes(quoted)[:28])


class Tcp:
    """One TCP connection between a client and a server, with sequence
    numbers tracked so the scenarios read like the trace they produce."""

    def __init__(self, cli, srv, cport, sport, cisn=1000, sisn=5000,
                 copts=None, sopts=None, cwin=64240, swin=65160):
        self.cli, self.srv, self.cport, self.sport = cli, srv, cport, sport
        self.cseq, self.sseq = cisn, sisn
        self.cack = self.sack = 0
        self.copts = copts if copts is not None else [("MSS", 1460)]
        self.sopts = sopts if sopts is not None else [("MSS", 1460)]
        self.cwin, self.swin = cwin, swin

    def _pkt(self, from_cli, flags, seq, ack, data, win, opts):
        s, d = (self.cli, self.srv) if from_cli else (self.srv, self.cli)
        sp, dp = ((self.cport, self.sport) if from_cli
                  else (self.sport, self.cport))
        l3 = IPv6(src=s, dst=d) if ":" in s else IP(src=s, dst=d)
        p = l3 / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack,
                     window=win, options=opts or [])
        if data:
            p = p / Raw(data)
        return p

    def c(self, flags, data=b"", seq=None, ack=None, win=None, opts=None,
          advance=True):
        """A segment from the client; by default at the next sequence
        number, acknowledging everything the server sent."""
        seq = self.cseq if seq is None else seq
        ack = self.sseq if ack is None else ack
        if "A" not in flags:
            ack = 0
        p = self._pkt(True, flags, seq, ack, data,
                      self.cwin if win is None else win, opts)
        if advance:
            end = seq + len(data) + ("S" in flags) + ("F" in flags)
            if end > self.cseq:
                self.cseq = end
        return p

    def s(self, flags, data=b"", seq=None, ack=None, win=None, opts=None,
          advance=True):
        seq = self.sseq if seq is None else seq
        ack = self.cseq if ack is None else ack
        if "A" not in flags:
            ack = 0
        p = self._pkt(False, flags, seq, ack, data,
                      self.swin if win is None else win, opts)
        if advance:
            end = seq + len(data) + ("S" in flags) + ("F" in flags)
            if end > self.sseq:
                self.sseq = end
        return p

    def handshake(self):
        return [self.c("S", opts=self.copts), self.s("SA", opts=self.sopts),
                self.c("A")]

    def close_by_client(self):
        return [self.c("FA"), self.s("A"), self.s("FA"), self.c("A")]


def timed(start, step, pkts):
    return [(start + i * step, p) for i, p in enumerate(pkts)]


# -------------------------------------------------------------- scenarios


def sc_ping():
    return LT_EN10MB, [
        (0.000, echo4(A4, B4, 100, 1)),
        (0.001, echo4(B4, A4, 100, 1, reply=True)),
        (1.000, echo4(A4, B4, 100, 2)),
        (1.001, echo4(B4, A4, 100, 2, reply=True)),
        (2.000, echo6(A6, B6, 200, 1)),
        (2.001, echo6(B6, A6, 200, 1, reply=True)),
        (3.000, echo4(A4, B4, 101, 1)),
    ]


def sc_udp():
    return LT_SLL, [
        (0.000, udp(A4, B4, 5000, 53)),
        (0.010, udp(B4, A4, 53, 5000)),
        (1.000, udp(A4, B4, 5000, 53)),
        # More than 2 s after the first packet, with a reply seen: ASSURED.
        (3.000, udp(A4, B4, 5000, 53)),
        (3.010, udp(B4, A4, 53, 5000)),
        # The first reply comes late, but SEEN_REPLY is set only after it:
        # no ASSURED yet.
        (4.000, udp(A4, C4, 5001, 53)),
        (6.500, udp(C4, A4, 53, 5001)),
        (7.000, udp(A4, D4, 5002, 123)),
    ]


def sc_icmp_related():
    probe = udp(A4, B4, 40000, 33434)
    probe2 = udp(A4, C4, 40001, 33435)
    ping = echo4(A4, "10.0.0.9", 301, 1)
    probe6 = udp(A6, B6, 40002, 33436)
    back = udp(B4, A4, 33434, 40000)
    return LT_EN10MB, [
        (0.000, echo4(A4, B4, 300, 1)),
        (0.001, echo4(B4, A4, 300, 1, reply=True)),
        (1.000, probe),
        (1.001, back),
        (2.000, icmp_err4(B4, A4, 3, 3, probe)),  # port unreachable
        (3.000, probe2),
        (3.001, icmp_err4(R4, A4, 3, 1, probe2)),  # host unreachable
        (4.000, ping),
        (4.001, icmp_err4(R4, A4, 11, 0, ping)),  # TTL exceeded
        (5.000, probe6),
        (5.001, IPv6(src=B6, dst=A6) / ICMPv6DestUnreach(code=4) /
         Raw(bytes(probe6))),
        # An error about a reply-direction packet is RELATED, orig.
        (6.000, icmp_err4(A4, B4, 3, 3, back)),
    ]


def sc_icmp_unsolicited():
    return LT_RAW, [
        (0.000, echo4(B4, A4, 400, 1, reply=True)),
        (1.000, icmp_err4(B4, A4, 3, 3, udp(A4, B4, 1234, 53))),
        (2.000, echo6(B6, A6, 401, 1, reply=True)),
        (3.000, IP(src=B4, dst=A4) / ICMP(type=14, id=402, ts_ori=0, ts_rx=0,
                                           ts_tx=0)),  # ts reply
        (4.000, IP(src=R4, dst=A4) / ICMP(type=9, code=0)),  # router adv
        (5.000, icmp_err4(R4, A4, 11, 0, echo4(A4, B4, 403, 1))),
    ]


def sc_icmpv6_nd():
    ll, ll2 = "fe80::1", "fe80::2"
    return LT_EN10MB, [
        (0.0, IPv6(src=A6, dst="ff02::1:ff00:2", hlim=255) /
         ICMPv6ND_NS(tgt=B6)),
        (0.1, IPv6(src=B6, dst=A6, hlim=255) / ICMPv6ND_NA(tgt=B6)),
        (0.2, IPv6(src=ll, dst="ff02::2", hlim=255) / ICMPv6ND_RS()),
        (0.3, IPv6(src=ll2, dst="ff02::1", hlim=255) / ICMPv6ND_RA()),
        (0.4, IPv6(src=ll2, dst="ff02::1", hlim=1) /
         IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLQuery()),
        (0.5, IPv6(src=ll, dst="ff02::1:3", hlim=1) /
         IPv6ExtHdrHopByHop(options=[RouterAlert()]) /
         ICMPv6MLReport(mladdr="ff02::1:3")),
        (0.6, IPv6(src=ll, dst="ff02::2", hlim=1) /
         IPv6ExtHdrHopByHop(options=[RouterAlert()]) /
         ICMPv6MLDone(mladdr="ff02::1:3")),
        (0.7, IPv6(src=ll, dst="ff02::16", hlim=1) /
         IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLReport2()),
        # A redirect is neither neighbour discovery nor trackable.
        (0.8, IPv6(src=ll2, dst=A6, hlim=255) /
         ICMPv6ND_Redirect(tgt=ll2, dst=B6)),
        (0.9, echo6(A6, B6, 7, 1)),
    ]


def sc_generic():
    return LT_SLL2, [
        (0.0, gen(A4, B4)),
        (0.5, gen(B4, A4)),
        (1.0, gen(A4, B4)),
        (2.0, gen(A6, B6)),
        (2.5, gen(B6, A6)),
    ]


def sctp(src, dst, sport, dport, vtag, *chunks):
    from scapy.layers import sctp as s
    l3 = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
    p = s.SCTP(sport=sport, dport=dport, tag=vtag)
    for c in chunks:
        p = p / c
    return l3 / p


def sc_sctp():
    """An association through its life: four-way handshake, data,
    heartbeat, a packet with a wrong tag, graceful shutdown; then a DATA
    out of the blue and an aborted IPv6 association."""
    from scapy.layers import sctp as s

    def init(tag):
        return s.SCTPChunkInit(init_tag=tag, a_rwnd=65535, n_out_streams=1,
                               n_in_streams=1, init_tsn=1)

    def init_ack(tag):
        return s.SCTPChunkInitAck(
            init_tag=tag, a_rwnd=65535, n_out_streams=1, n_in_streams=1,
            init_tsn=1, params=[s.SCTPChunkParamStateCookie(cookie=b"c" * 8)])

    c, v = (A4, 40000), (B4, 3868)
    o = lambda tag, *ch: sctp(c[0], v[0], c[1], v[1], tag, *ch)
    r = lambda tag, *ch: sctp(v[0], c[0], v[1], c[1], tag, *ch)
    data = s.SCTPChunkData(tsn=1, data=b"diameter")
    pk = [
        o(0, init(0x4000)),
        r(0x4000, init_ack(0x5000)),
        o(0x5000, s.SCTPChunkCookieEcho(cookie=b"c" * 8), data),
        r(0x4000, s.SCTPChunkCookieAck(), s.SCTPChunkSACK(cumul_tsn_ack=1)),
        o(0x5000, data),
        o(0x4000, data),
        r(0x4000, s.SCTPChunkHeartbeatReq()),
        o(0x5000, s.SCTPChunkHeartbeatAck()),
        o(0x5000, s.SCTPChunkShutdown(cumul_tsn_ack=1)),
        r(0x4000, s.SCTPChunkShutdownAck()),
        o(0x5000, s.SCTPChunkShutdownComplete()),
        sctp(A4, B4, 40001, 3868, 0x5000, data),
        sctp(A6, B6, 40002, 2905, 0, init(0x4001)),
        sctp(B6, A6, 2905, 40002, 0x4001, init_ack(0x5001)),
        sctp(B6, A6, 2905, 40002, 0x4001, s.SCTPChunkAbort()),
    ]
    return LT_RAW, timed(0.0, 0.1, pk)


def sc_gre():
    """GRE version 0 both ways (ASSURED), two PPTP calls between the same
    hosts (one entry per call and direction), version 1 without PPP."""
    def gre(src, dst, hdr):
        return IP(src=src, dst=dst, proto=47) / Raw(hdr + b"payload!")

    v0 = bytes.fromhex("00000800")

    def pptp(call, proto="880b"):
        return bytes.fromhex("2001" + proto + "0008") + \
            call.to_bytes(2, "big")

    pk = [
        gre(A4, B4, v0), gre(B4, A4, v0), gre(A4, B4, v0),
        gre(A4, C4, pptp(0x100)), gre(A4, C4, pptp(0x101)),
        gre(C4, A4, pptp(0x200)), gre(A4, C4, pptp(0x100)),
        gre(A4, C4, pptp(0x102, "0800")),
    ]
    return LT_RAW, timed(0.0, 0.1, pk)


def sc_malformed():
    good = bytes(udp(A4, B4, 1111, 2222))
    bad_ihl = bytearray(good)
    bad_ihl[0] = 0x43
    tcp_doff = bytearray(bytes(IP(src=A4, dst=B4) /
                               TCP(sport=1234, dport=80, flags="S")))
    tcp_doff[20 + 12] = 0x30  # data offset 3 words
    long_tot = bytearray(good)
    long_tot[2:4] = struct.pack("!H", 100)
    udp_len = bytearray(good)
    udp_len[24:26] = struct.pack("!H", 200)
    v6 = bytes(udp(A6, B6, 1111, 2222))
    v6_long = bytearray(v6)
    v6_long[4:6] = struct.pack("!H", 500)
    bad_ver = bytearray(good)
    bad_ver[0] = 0x55
    return LT_EN10MB, [
        (0.0, good[:12]),
        (1.0, bytes(bad_ihl)),
        (2.0, bytes(tcp_doff)),
        (3.0, bytes(long_tot)),
        (4.0, bytes(udp_len)),
        (5.0, v6[:30]),
        (6.0, bytes(v6_long)),
        (7.0, bytes(bad_ver)),
        (8.0, IP(src=A4, dst=B4) / TCP(sport=1234, dport=80, flags="SF")),
        (9.0, good),
    ]


def sc_expiry():
    return LT_EN10MB, [
        (0.0, udp(A4, B4, 6000, 7000)),
        (0.0, echo4(A4, B4, 500, 1)),
        (0.0, gen(A4, B4)),
        (1.0, udp(A4, B4, 6001, 7001)),
        (1.1, udp(B4, A4, 7001, 6001)),
        (4.0, udp(A4, B4, 6001, 7001)),  # ASSURED: stream timeout now
        (31.0, udp(A4, B4, 6000, 7000)),  # the 30 s entry is gone: NEW
        (31.0, echo4(B4, A4, 500, 1, reply=True)),  # request expired
        (100.0, udp(A4, B4, 6001, 7001)),  # alive on the stream timeout
        (601.0, gen(B4, A4)),  # generic 600 s gone: NEW, reversed
    ]


def sc_ipv6_ext():
    def ext(src, dst, l4):
        return (IPv6(src=src, dst=dst) /
                IPv6ExtHdrHopByHop(options=[RouterAlert()]) /
                IPv6ExtHdrDestOpt() / l4)
    return LT_RAW, [
        (0.0, ext(A6, B6, UDP(sport=1111, dport=2222) / Raw(b"x"))),
        (0.1, ext(B6, A6, UDP(sport=2222, dport=1111) / Raw(b"y"))),
        (0.2, ext(A6, B6, ICMPv6EchoRequest(id=9, seq=1))),
        (0.3, ext(B6, A6, ICMPv6EchoReply(id=9, seq=1))),
    ]


def sc_tcp_handshake_close():
    t = Tcp(A4, B4, 40000, 80,
            copts=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)],
            sopts=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)])
    pkts = t.handshake()
    pkts += [t.c("PA", b"G" * 100), t.s("PA", b"H" * 200), t.c("A")]
    pkts += t.close_by_client()
    return LT_EN10MB, timed(0, 0.01, pkts)


def sc_tcp_rst():
    a = Tcp(A4, B4, 40001, 80)
    b = Tcp(A4, B4, 40002, 81)
    c = Tcp(A4, B4, 40003, 82)
    pkts = a.handshake() + [a.c("PA", b"x" * 10), a.s("A"), a.c("R")]
    # A refused connection: the only reply is a RST (kills the entry).
    pkts += [b.c("S"), b.s("RA", seq=0)]
    pkts += c.handshake() + [c.c("PA", b"y" * 100), c.s("PA", b"z" * 50),
                             c.c("A")]
    # RST below what the server acknowledged: invalid.  Then a RST from
    # the server at exactly the sequence the client acknowledged.
    pkts += [c.c("R", seq=c.cseq - 50, advance=False), c.s("R")]
    return LT_EN10MB, timed(0, 0.1, pkts)


def sc_tcp_halfclose():
    t = Tcp(A4, B4, 40010, 80)
    pkts = t.handshake() + [t.c("PA", b"req")]
    pkts += [t.c("FA"), t.s("A"), t.s("PA", b"more data"), t.c("A"),
             t.s("FA"), t.c("A")]
    return LT_EN10MB, timed(0, 0.01, pkts)


def sc_tcp_simopen():
    t = Tcp(A4, B4, 5000, 6000)
    pkts = [t.c("S", opts=t.copts), t.s("S", opts=t.sopts)]
    # Each side answers the other's SYN with a SYN/ACK on its own ISN.
    pkts += [t.c("SA", seq=t.cseq - 1, opts=t.copts, advance=False),
             t.s("SA", seq=t.sseq - 1, opts=t.sopts, advance=False),
             t.c("A"), t.s("A")]
    return LT_EN10MB, timed(0, 0.01, pkts)


def sc_tcp_reuse():
    t = Tcp(A4, B4, 40020, 80)
    pkts = t.handshake() + [t.c("PA", b"x" * 10)] + t.close_by_client()
    # Same ports again from TIME_WAIT, a higher ISN: a new connection.
    t2 = Tcp(A4, B4, 40020, 80, cisn=900000, sisn=700000)
    pkts += t2.handshake()
    # Reopen after the client reset the connection (CLOSE).
    u = Tcp(A4, B4, 40021, 80)
    pkts += u.handshake() + [u.c("R")]
    u2 = Tcp(A4, B4, 40021, 80, cisn=800000, sisn=600000)
    pkts += u2.handshake()
    return LT_EN10MB, timed(0, 0.1, pkts)


def sc_tcp_midstream():
    t = Tcp(A4, B4, 40030, 22, cisn=123456, sisn=654321)
    pkts = [t.c("PA", b"a" * 20), t.s("PA", b"b" * 30), t.c("A")]
    return LT_EN10MB, timed(0, 0.05, pkts)


def sc_tcp_oow():
    t = Tcp(A4, B4, 40040, 80, cwin=65535, swin=65535)
    pkts = t.handshake() + [t.c("PA", b"d" * 100)]
    # Far beyond what the server's window allows: invalid.
    pkts.append(t.c("PA", b"e" * 100, seq=t.cseq + 1000000, advance=False))
    # Acknowledging data the client never sent: invalid.
    pkts.append(t.s("A", ack=t.cseq + 5000))
    pkts += [t.s("A"), t.c("PA", b"f" * 100)]
    return LT_EN10MB, timed(0, 0.01, pkts)


def sc_tcp_wscale():
    ws = [("MSS", 1460), ("WScale", 7)]
    t = Tcp(A4, B4, 40050, 80, copts=ws, sopts=ws, cwin=64240, swin=65160)
    pkts = t.handshake()
    # From now on windows are scaled by 2^7: 2000 means 256000 bytes.
    t.cwin, t.swin = 502, 2000
    pkts[2] = t.c("A", seq=t.cseq, advance=False)
    pkts += [t.s("PA", b"s" * 10), t.c("PA", b"1" * 1000)]
    start = t.cseq
    # 100000 bytes ahead: only inside the window because of the scale.
    pkts.append(t.c("PA", b"2" * 1000, seq=start + 99000))
    pkts.append(t.s("A", ack=start))
    # 400000 bytes ahead: beyond even the scaled window.
    pkts.append(t.c("PA", b"3" * 1000, seq=start + 400000, advance=False))
    pkts.append(t.c("PA", b"4" * 1000, seq=start))
    return LT_EN10MB, timed(0, 0.01, pkts)


def sc_tcp_retrans():
    t = Tcp(A4, B4, 40060, 80)
    syn = t.c("S", opts=t.copts)
    synack = t.s("SA", opts=t.sopts)
    pkts = [syn, syn, synack, synack, t.c("A")]
    seg = t.c("PA", b"r" * 100)
    pkts += [seg, seg, t.s("A"), seg]
    return LT_EN10MB, timed(0, 0.2, pkts)


def sc_tcp_sack():
    opts = [("MSS", 1000), ("SAckOK", b"")]
    t = Tcp(A4, B4, 40070, 80, copts=opts, sopts=opts)
    pkts = t.handshake()
    base = t.cseq
    pkts += [t.c("PA", b"1" * 1000), t.c("PA", b"2" * 1000),
             t.c("PA", b"3" * 1000)]
    # Segment 2 was lost: ACK segment 1, SACK segment 3.
    pkts.append(t.s("A", ack=base + 1000,
                    opts=[("NOP", None), ("NOP", None),
                          ("SAck", (base + 2000, base + 3000))]))
    pkts.append(t.c("PA", b"2" * 1000, seq=base + 1000))
    # A SACK block for data never sent: invalid.
    pkts.append(t.s("A", ack=base + 3000,
                    opts=[("NOP", None), ("NOP", None),
                          ("SAck", (base + 4000, base + 5000))]))
    pkts.append(t.s("A", ack=base + 3000))
    return LT_EN10MB, timed(0, 0.01, pkts)


def telnet():
    """The seeds' telnet session: 192.168.1.5:1031 -> 192.168.1.35:23."""
    t = Tcp("192.168.1.5", "192.168.1.35", 1031, 23)
    return t.handshake()


def sc_telnet_seed_1():
    return LT_EN10MB, timed(0, 0.5, telnet()[:1])


def sc_telnet_seed_2():
    return LT_EN10MB, timed(0, 0.5, telnet()[:2])


def sc_telnet_seed_3():
    return LT_EN10MB, timed(0, 0.5, telnet())


def sc_demo():
    probe = udp(A4, B4, 40000, 53, b"query")
    t = Tcp(A4, B4, 40100, 80)
    pkts = [(0.0, echo4(A4, B4, 1, 1)),
            (0.001, echo4(B4, A4, 1, 1, reply=True)),
            (1.0, probe),
            (1.001, udp(B4, A4, 53, 40000, b"answer")),
            (1.5, probe),
            (1.501, icmp_err4(B4, A4, 3, 3, probe))]
    tcp = t.handshake() + [t.c("PA", b"GET /"), t.s("PA", b"200 OK"),
                           t.c("A")] + t.close_by_client()
    pkts += timed(2.0, 0.01, tcp)
    return LT_EN10MB, pkts


SCENARIOS = {
    "ping": sc_ping,
    "udp": sc_udp,
    "icmp_related": sc_icmp_related,
    "icmp_unsolicited": sc_icmp_unsolicited,
    "icmpv6_nd": sc_icmpv6_nd,
    "generic": sc_generic,
    "sctp": sc_sctp,
    "gre": sc_gre,
    "malformed": sc_malformed,
    "expiry": sc_expiry,
    "ipv6_ext": sc_ipv6_ext,
    "tcp_handshake_close": sc_tcp_handshake_close,
    "tcp_rst": sc_tcp_rst,
    "tcp_halfclose": sc_tcp_halfclose,
    "tcp_simopen": sc_tcp_simopen,
    "tcp_reuse": sc_tcp_reuse,
    "tcp_midstream": sc_tcp_midstream,
    "tcp_oow": sc_tcp_oow,
    "tcp_wscale": sc_tcp_wscale,
    "tcp_retrans": sc_tcp_retrans,
    "tcp_sack": sc_tcp_sack,
    "telnet_seed_1": sc_telnet_seed_1,
    "telnet_seed_2": sc_telnet_seed_2,
    "telnet_seed_3": sc_telnet_seed_3,
    "demo": sc_demo,
}

# Captures written with a VLAN tag on every frame (802.1Q parsing).
VLAN = {"icmp_related": 42}


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    outdir = argv[1]
    names = argv[2:] or sorted(SCENARIOS)
    os.makedirs(outdir, exist_ok=True)
    for name in names:
        if name not in SCENARIOS:
            sys.stderr.write("unknown scenario %s\n" % name)
            return 2
        linktype, pkts = SCENARIOS[name]()
        write_pcap(os.path.join(outdir, name + ".pcap"), linktype, pkts,
                   VLAN.get(name))
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

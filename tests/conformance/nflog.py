# SPDX-License-Identifier: GPL-2.0-or-later
"""Minimal nfnetlink_log (NFLOG) listener: no dependencies beyond the stdlib.

The conformance harness puts NFLOG rules in the firewall namespace and reads
every logged packet together with its mark (NFULA_MARK), which carries both
the kernel's conntrack verdict and qtrackd's.  The socket must be created
while the process is inside the firewall's network namespace.
"""

import errno
import select
import socket
import struct

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET = 0
NFULNL_MSG_CONFIG = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NLMSG_DONE = 3

NFULA_CFG_CMD = 1
NFULA_CFG_MODE = 2
NFULA_CFG_TIMEOUT = 4
NFULA_CFG_QTHRESH = 5
NFULNL_CFG_CMD_BIND = 1
NFULNL_COPY_PACKET = 2

NFULA_MARK = 2
NFULA_PAYLOAD = 9


def _attr(atype, payload):
    alen = 4 + len(payload)
    pad = (4 - alen % 4) % 4
    return struct.pack("=HH", alen, atype) + payload + b"\0" * pad


class Record:
    """One logged packet: NFLOG group, mark and the IP packet bytes."""

    __slots__ = ("group", "family", "mark", "payload")

    def __init__(self, group, family, mark, payload):
        self.group = group
        self.family = family
        self.mark = mark
        self.payload = payload

    def tag(self):
        """The harness's per-packet tag: IPv4 ID or IPv6 flow label."""
        p = self.payload
        if len(p) >= 20 and p[0] >> 4 == 4:
            return struct.unpack("!H", p[4:6])[0]
        if len(p) >= 40 and p[0] >> 4 == 6:
            return struct.unpack("!I", p[0:4])[0] & 0xFFFFF
        return None


class Listener:
    def __init__(self, groups):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                  NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind((0, 0))
        self.seq = 0
        self.pending = []
        for g in groups:
            self._config(g, _attr(NFULA_CFG_CMD,
                                  struct.pack("B", NFULNL_CFG_CMD_BIND)))
            self._config(g, _attr(NFULA_CFG_MODE,
                                  struct.pack("!IBB", 0xFFFF,
                                              NFULNL_COPY_PACKET, 0)) +
                         _attr(NFULA_CFG_QTHRESH, struct.pack("!I", 1)) +
                         _attr(NFULA_CFG_TIMEOUT, struct.pack("!I", 1)))

    def _config(self, group, attrs):
        self.seq += 1
        body = struct.pack("!BBH", socket.AF_UNSPEC, 0, group) + attrs
        hdr = struct.pack("=IHHII", 16 + len(body),
                          (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG,
                          NLM_F_REQUEST | NLM_F_ACK, self.seq, 0)
        self.sock.send(hdr + body)
        while True:
            data = self.sock.recv(65536)
            for mtype, payload, seq in self._split(data):
                if mtype == NLMSG_ERROR and seq == self.seq:
                    err = struct.unpack("=i", payload[:4])[0]
                    if err:
                        raise OSError(-err, "NFLOG config of group %d: %s"
                                      % (group, errno.errorcode.get(-err)))
                    return
                self._parse(mtype, payload)

    @staticmethod
    def _split(data):
        off = 0
        while off + 16 <= len(data):
            mlen, mtype, _flags, seq, _pid = struct.unpack_from("=IHHII",
                                                                data, off)
            if mlen < 16:
                break
            yield mtype, data[off + 16:off + mlen], seq
            off += (mlen + 3) & ~3

    def _parse(self, mtype, payload):
        if mtype != (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET:
            return
        family, _ver, group = struct.unpack_from("!BBH", payload, 0)
        off = 4
        mark = 0
        pkt = b""
        while off + 4 <= len(payload):
            alen, atype = struct.unpack_from("=HH", payload, off)
            if alen < 4:
                break
            val = payload[off + 4:off + alen]
            atype &= 0x3FFF
            if atype == NFULA_MARK:
                mark = struct.unpack("!I", val[:4])[0]
            elif atype == NFULA_PAYLOAD:
                pkt = bytes(val)
            off += (alen + 3) & ~3
        self.pending.append(Record(group, family, mark, pkt))

    def poll(self, timeout):
        """Read whatever arrives within @timeout seconds (at least one
        select); returns and clears the records gathered so far."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        while r:
            try:
                data = self.sock.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            for mtype, payload, _seq in self._split(data):
                self._parse(mtype, payload)
            r, _, _ = select.select([self.sock], [], [], 0)
        out, self.pending = self.pending, []
        return out

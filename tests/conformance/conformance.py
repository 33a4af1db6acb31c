#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""qtrackd against the kernel's conntrack, packet by packet.

Topology: client -- fw -- server network namespaces.  In fw the kernel tracks
every forwarded packet and writes its verdict into mark bits 0xf00 (state)
and 0x2000 (reply direction); then NFQUEUE hands the packet to qtrackd,
which writes its own verdict into 0xff and keeps every other bit.  Two NFLOG
rules record each packet before the queue (kernel verdict) and after it
(both verdicts).  Packets are crafted with scapy and sent one at a time on
AF_PACKET sockets in the client and server namespaces (so they bypass the
hosts' netfilter), and the harness waits for each packet's record before
sending the next one.  Real traffic (socat, ping, FTP) is recorded the same
way.  After every scenario both connection tables are compared.

The scenarios are data (scenarios.data); the kernel is the oracle.  Known,
deliberate differences are read from the allow-list table in
docs/conformance.md.  Exit status: 0 agreement, 1 disagreement, 4 skip.
"""

import argparse
import ast
import ctypes
import fnmatch
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nflog  # noqa: E402

# Mark layout.  qtrackd's defaults (DESIGN.md) and the kernel's bits, chosen
# outside qtrackd's mask and outside the notrack input bit.
Q_MASK, Q_REPLY = 0xFF, 0x10
K_SHIFT, K_MASK, K_REPLY = 8, 0xF00, 0x2000
NOTRACK = 0x1000
STATES = ["none", "NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"]
QUEUE = 7
# QT_CONFORMANCE_QUEUES=2: qtrackd serves queues 7-8 (one worker thread and
# shard each) behind --queue-balance 7:8.
NQUEUES = max(1, int(os.environ.get("QT_CONFORMANCE_QUEUES", "1")))
QUEUE_LAST = QUEUE + NQUEUES - 1
QUEUE_ARGS = (["--queue-num", str(QUEUE)] if NQUEUES == 1 else
              ["--queue-balance", "%d:%d" % (QUEUE, QUEUE_LAST)])
# QT_CONFORMANCE_BYPASS=1: qtrackd runs with [bypass] enable = yes and the
# queue rule skips packets that already carry a state, as the shipped
# accept-mode rules do: offloaded packets take the nftables fast path.
# The differences that brings are the bypass allow-list of
# docs/conformance.md, on top of the common one.
BYPASS = os.environ.get("QT_CONFORMANCE_BYPASS") == "1"
G_PRE, G_POST = 71, 72
# The end of the path (mangle POSTROUTING, after the confirm rules in
# security FORWARD): a crafted packet is sent only once the one before it
# has left fw, so that the kernel has confirmed its entry, which it does
# only after qtrackd's confirm verdict.
G_DONE = 73
WAIT = 0.6          # seconds to wait for a packet that may never arrive

ADDR = {
    4: {"c": "10.77.1.3", "s": "10.77.2.3", "creal": "10.77.1.2",
        "sreal": "10.77.2.2", "fc": "10.77.1.1", "fs": "10.77.2.1",
        "c3": "10.77.1.4", "s3": "10.77.2.4", "plen": 24},
    6: {"c": "fd77:1::3", "s": "fd77:2::3", "creal": "fd77:1::2",
        "sreal": "fd77:2::2", "fc": "fd77:1::1", "fs": "fd77:2::1",
        "c3": "fd77:1::4", "s3": "fd77:2::4", "plen": 64},
}

# Scenario config keys: one name, the fw sysctl and qtrackd's [section] key.
KNOBS = {}
for _k in ("loose", "be_liberal", "ignore_invalid_rst", "max_retrans"):
    KNOBS["tcp." + _k] = ("nf_conntrack_tcp_" + _k, "tcp", _k)
for _k in ("syn_sent", "syn_recv", "established", "fin_wait", "close_wait",
           "last_ack", "time_wait", "close", "max_retrans", "unacknowledged"):
    KNOBS["tcp.timeout_" + _k] = ("nf_conntrack_tcp_timeout_" + _k, "tcp",
                                  "timeout_" + _k)
KNOBS["udp.timeout"] = ("nf_conntrack_udp_timeout", "udp", "timeout")
KNOBS["udp.timeout_stream"] = ("nf_conntrack_udp_timeout_stream", "udp",
                               "timeout_stream")
for _p in ("icmp", "icmpv6", "generic", "gre"):
    KNOBS[_p + ".timeout"] = ("nf_conntrack_%s_timeout" % _p, _p, "timeout")
KNOBS["gre.timeout_stream"] = ("nf_conntrack_gre_timeout_stream", "gre",
                               "timeout_stream")
for _k in ("closed", "cookie_wait", "cookie_echoed", "established",
           "shutdown_sent", "shutdown_recd", "shutdown_ack_sent",
           "heartbeat_sent"):
    KNOBS["sctp.timeout_" + _k] = ("nf_conntrack_sctp_timeout_" + _k, "sctp",
                                   "timeout_" + _k)

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def log(msg):
    print(msg, flush=True)


def sh(cmd, ns=None, check=True, capture=True, timeout=60, **kw):
    """Run @cmd (a list) in namespace @ns; returns stdout text."""
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE, text=True, timeout=timeout,
                       **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                                r.stderr.strip()))
    return r.stdout if capture else ""


class Netns:
    """The three namespaces, their links, addresses and rules."""

    def __init__(self):
        tag = "%06x" % random.randrange(1 << 24)
        self.c, self.fw, self.s = ("qtc-%s-%s" % (tag, n)
                                   for n in ("cl", "fw", "sv"))
        self.made = []
        self.root = os.open("/proc/self/ns/net", os.O_RDONLY)

    def enter(self, ns):
        fd = os.open("/run/netns/" + ns, os.O_RDONLY) if ns else self.root
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "setns %s: %s" % (ns, os.strerror(err)))
        finally:
            if ns:
                os.close(fd)

    def setup(self):
        for ns in (self.c, self.fw, self.s):
            sh(["ip", "netns", "add", ns])
            self.made.append(ns)
            sh(["ip", "link", "set", "lo", "up"], ns)
        sh(["ip", "link", "add", "vc", "netns", self.fw, "type", "veth",
            "peer", "name", "eth0", "netns", self.c])
        sh(["ip", "link", "add", "vs", "netns", self.fw, "type", "veth",
            "peer", "name", "eth0", "netns", self.s])
        for key in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                    "net.ipv4.conf.all.rp_filter=0",
                    "net.ipv4.conf.default.rp_filter=0",
                    "net.ipv4.conf.vc.rp_filter=0",
                    "net.ipv4.conf.vs.rp_filter=0",
                    "net.ipv4.conf.all.send_redirects=0",
                    "net.ipv4.conf.vc.send_redirects=0",
                    "net.ipv4.conf.vs.send_redirects=0"):
            sh(["sysctl", "-qw", key], self.fw)
        for ns in (self.c, self.s):
            sh(["sysctl", "-qw", "net.ipv6.conf.all.accept_ra=0"], ns)
            sh(["sysctl", "-qw", "net.ipv6.conf.eth0.accept_ra=0"], ns)
        for af in (4, 6):
            a = ADDR[af]
            p = "/%d" % a["plen"]
            fam = "-%d" % af
            sh(["ip", fam, "addr", "add", a["fc"] + p, "dev", "vc"]
               + (["nodad"] if af == 6 else []), self.fw)
            sh(["ip", fam, "addr", "add", a["fs"] + p, "dev", "vs"]
               + (["nodad"] if af == 6 else []), self.fw)
            for ns, real, craft, gw in ((self.c, "creal", "c", "fc"),
                                        (self.s, "sreal", "s", "fs")):
                sh(["ip", fam, "addr", "add", a[real] + p, "dev", "eth0"]
                   + (["nodad"] if af == 6 else []), ns)
                # The crafted address is never chosen as a source for real
                # traffic: secondary in IPv4, deprecated in IPv6.
                sh(["ip", fam, "addr", "add", a[craft] + p, "dev", "eth0"]
                   + (["nodad", "preferred_lft", "0"] if af == 6 else []), ns)
        for ns in (self.fw, self.c, self.s):
            for dev in (("vc", "vs") if ns == self.fw else ("eth0",)):
                sh(["ip", "link", "set", dev, "up"], ns)
        for af in (4, 6):
            a = ADDR[af]
            sh(["ip", "-%d" % af, "route", "add", "default", "via", a["fc"]],
               self.c)
            sh(["ip", "-%d" % af, "route", "add", "default", "via", a["fs"]],
               self.s)
        self.mac = {
            "c": self._mac(self.c, "eth0"), "s": self._mac(self.s, "eth0"),
            "fc": self._mac(self.fw, "vc"), "fs": self._mac(self.fw, "vs")}
        # fw reaches the crafted addresses without neighbour discovery, so
        # the hosts' replies to discovery never matter.
        for af in (4, 6):
            for craft, dev, mac in (("c", "vc", "c"), ("s", "vs", "s")):
                sh(["ip", "-%d" % af, "neigh", "replace", ADDR[af][craft],
                    "lladdr", self.mac[mac], "dev", dev, "nud", "permanent"],
                   self.fw)
        self._host_rules()
        self._fw_rules()

    @staticmethod
    def _mac(ns, dev):
        return json.loads(sh(["ip", "-j", "link", "show", dev],
                             ns))[0]["address"]

    def _host_rules(self):
        """The hosts' own stacks must not answer crafted packets (RST,
        port unreachable, echo reply): drop all they send from the crafted
        addresses.  Crafted packets leave on AF_PACKET and skip these."""
        for ns, craft in ((self.c, "c"), (self.s, "s")):
            sh(["iptables", "-A", "OUTPUT", "-s", ADDR[4][craft], "-j",
                "DROP"], ns)
            sh(["ip6tables", "-A", "OUTPUT", "-s", ADDR[6][craft], "-j",
                "DROP"], ns)

    def _fw_rules(self):
        marks = [("NEW", 0x100), ("ESTABLISHED", 0x200), ("RELATED", 0x300),
                 ("INVALID", 0x400), ("UNTRACKED", 0x500)]
        for ipt in ("iptables", "ip6tables"):
            rules = []
            for st, val in marks:
                rules.append(["-t", "mangle", "-A", "FORWARD", "-m",
                              "conntrack", "--ctstate", st, "-j", "MARK",
                              "--set-xmark", "0x%x/0x%x" % (val, K_MASK)])
            rules += [
                ["-t", "mangle", "-A", "FORWARD", "-m", "conntrack",
                 "--ctdir", "REPLY", "-j", "MARK", "--or-mark",
                 "0x%x" % K_REPLY],
                # The same packets the kernel leaves untracked carry
                # qtrackd's notrack input bit.
                ["-t", "mangle", "-A", "FORWARD", "-m", "conntrack",
                 "--ctstate", "UNTRACKED", "-j", "MARK", "--or-mark",
                 "0x%x" % NOTRACK],
                ["-t", "mangle", "-A", "FORWARD", "-j", "NFLOG",
                 "--nflog-group", str(G_PRE)],
                ["-t", "mangle", "-A", "FORWARD"] +
                (["-m", "mark", "--mark", "0/0x%x" % Q_MASK] if BYPASS
                 else []) +
                ["-j", "NFQUEUE"] + QUEUE_ARGS + ["--queue-bypass"],
                ["-t", "filter", "-A", "FORWARD", "-j", "NFLOG",
                 "--nflog-group", str(G_POST)],
            ]
            # qtrackd's confirm rules, as in the shipped rule sets: the
            # packets that passed marked NEW or RELATED (original
            # direction) come back once more, so that a connection whose
            # first packet a rule drops (scenarios with "drop") leaves no
            # entry, as in the kernel.
            for code in ("0x1", "0x3"):
                rules.append(["-t", "security", "-A", "FORWARD", "-m",
                              "mark", "--mark", code + "/0xff", "-j",
                              "NFQUEUE"] + QUEUE_ARGS + ["--queue-bypass"])
            rules.append(["-t", "mangle", "-A", "POSTROUTING", "-j", "NFLOG",
                          "--nflog-group", str(G_DONE)])
            # Notrack scenarios use ports 9000-9099 and protocol 254.
            for proto in ("tcp", "udp"):
                rules.append(["-t", "raw", "-A", "PREROUTING", "-p", proto,
                              "-m", "multiport", "--ports", "9000:9099",
                              "-j", "CT", "--notrack"])
            rules.append(["-t", "raw", "-A", "PREROUTING", "-p", "254", "-j",
                          "CT", "--notrack"])
            for r in rules:
                sh([ipt] + r, self.fw)

    def cleanup(self):
        for ns in self.made:
            subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
            pids = subprocess.run(["ip", "netns", "pids", ns],
                                  capture_output=True, text=True).stdout
            for pid in pids.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []


class Daemon:
    """qtrackd in the fw namespace, with a config generated from the
    kernel's sysctls so both start from identical knobs."""

    def __init__(self, net, binary, ctl, workdir):
        self.net, self.binary, self.ctl = net, binary, ctl
        self.workdir = workdir
        self.proc = None
        self.sock = os.path.join(workdir, "qtrackd.sock")
        self.conf = os.path.join(workdir, "qtrackd.conf")
        self.logf = os.path.join(workdir, "qtrackd.log")
        self.key = None
        self.restarts = 0

    def config_text(self, knobs, ftp_ports):
        sec = {}
        for name, (_sysctl, section, key) in KNOBS.items():
            if name in knobs:
                sec.setdefault(section, []).append("%s = %s" %
                                                   (key, knobs[name]))
        num = "%d" % QUEUE if NQUEUES == 1 else "%d-%d" % (QUEUE, QUEUE_LAST)
        out = ["[queue]", "num = %s" % num, "mode = accept", "",
               "[control]", "socket = %s" % self.sock, "",
               # The fw has confirm rules from the start (_fw_rules).
               "[table]", "confirm = yes", "",
               "[state]", "file = %s.state" % self.sock, "",
               "[helper]", "ftp = %s" % ",".join(map(str, ftp_ports)), ""]
        if BYPASS:
            out += ["[bypass]", "enable = yes", ""]
        for s in ("tcp", "udp", "icmp", "icmpv6", "generic", "sctp", "gre"):
            out += ["[%s]" % s] + sec.get(s, []) + [""]
        return "\n".join(out)

    def start(self, knobs, ftp_ports):
        self.stop()
        with open(self.conf, "w") as f:
            f.write(self.config_text(knobs, ftp_ports))
        self.key = (tuple(sorted(knobs.items())), tuple(ftp_ports))
        if not self.binary:
            return
        self.restarts += 1
        logf = open(self.logf, "a")
        logf.write("=== start %d\n" % self.restarts)
        logf.flush()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.net.fw, self.binary, "-c", self.conf,
             "-d"], stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("qtrackd exited with %d, see %s" %
                                   (self.proc.returncode, self.logf))
            q = sh(["cat", "/proc/net/netfilter/nfnetlink_queue"],
                   self.net.fw, check=False)
            if any(line.split()[:1] == [str(QUEUE_LAST)]
                   for line in q.splitlines()):
                return
            time.sleep(0.02)
        raise RuntimeError("qtrackd did not bind queue %d" % QUEUE)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def ctl_ok(self):
        return bool(self.ctl) and self.alive() and os.path.exists(self.sock)

    def flush(self):
        """Empty qtrackd's table: qtrackctl flush, else a fresh daemon."""
        if not self.binary:
            return
        if self.ctl_ok():
            r = subprocess.run([self.ctl, "-s", self.sock, "flush"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return
        knobs, ports = self.key
        self.start(dict(knobs), list(ports))

    def table(self):
        if not self.ctl_ok():
            return None
        r = subprocess.run([self.ctl, "-s", self.sock, "list"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None
        return r.stdout


# --------------------------------------------------------------------------
# Connection table lines (conntrack -L format) reduced to what must agree.

_CT_KEYS = ("src", "dst", "sport", "dport", "type", "code", "id", "srckey",
            "dstkey")


def ct_normalise(text):
    out = []
    for line in (text or "").splitlines():
        tok = line.split()
        if len(tok) < 3 or "=" in tok[0]:
            continue
        if tok[0] in ("ipv4", "ipv6"):
            tok = tok[2:]
        proto, num = tok[0], tok[1]
        rest = tok[3:]          # skip the timeout
        state = ""
        if rest and "=" not in rest[0] and not rest[0].startswith("["):
            state, rest = rest[0], rest[1:]
        tuples, cur, flags = [], [], set()
        for t in rest:
            if t.startswith("[") and t.endswith("]"):
                if t[1:-1] in ("UNREPLIED", "ASSURED"):
                    flags.add(t[1:-1])
                elif t == "[OFFLOAD]":
                    # Offloaded entries are assured; qtrackd's bypass
                    # lists them as conntrack does flowtable entries.
                    flags.add("ASSURED")
                continue
            if "=" not in t:
                continue
            k, v = t.split("=", 1)
            if k not in _CT_KEYS:
                continue
            if k == "src" and cur:
                tuples.append(cur)
                cur = []
            if k in ("src", "dst"):
                try:
                    v = str(ipaddress.ip_address(v))
                except ValueError:
                    pass
            cur.append("%s=%s" % (k, v))
        if cur:
            tuples.append(cur)
        out.append(" ".join([num, state] + [" ".join(t) for t in tuples[:2]]
                            + sorted("[%s]" % f for f in flags)))
    return sorted(out)


# --------------------------------------------------------------------------
# Scenario data.

def parse_packet(text):
    """"o SA len=10 seq=0" -> dict.  The first word is the direction (o:
    client to server, r: server to client); a second word without '=' is
    the TCP flags ("0" for none); the rest are key=value."""
    words = text.split()
    spec = {"dir": words[0], "text": text}
    if spec["dir"] not in ("o", "r"):
        raise ValueError("bad direction in %r" % text)
    for w in words[1:]:
        if "=" in w:
            k, v = w.split("=", 1)
            if k in ("opthex", "sackr", "ext", "ch"):
                spec[k] = v
                continue
            try:
                spec[k] = int(v, 0)
            except ValueError:
                try:
                    spec[k] = float(v)
                except ValueError:
                    spec[k] = v
        else:
            spec["flags"] = "" if w == "0" else w
    return spec


def load_scenarios(path):
    with open(path) as f:
        data = ast.literal_eval(f.read())
    out = []
    for item in data:
        if "matrix" in item:
            for sname, prefix in item["states"]:
                for probe in item["probes"]:
                    sc = {k: v for k, v in item.items()
                          if k not in ("matrix", "states", "probes")}
                    sc["name"] = "%s/%s/%s" % (item["matrix"], sname,
                                               probe.replace(" ", ":"))
                    sc["packets"] = list(prefix) + [probe]
                    out.append(sc)
        else:
            out.append(dict(item))
    names = set()
    for i, sc in enumerate(out):
        if sc["name"] in names:
            raise ValueError("duplicate scenario %s" % sc["name"])
        names.add(sc["name"])
        sc.setdefault("af", 4)
        sc.setdefault("proto", "tcp")
        sc.setdefault("config", {})
        for k in sc["config"]:
            if k not in KNOBS:
                raise ValueError("%s: unknown config key %s" % (sc["name"], k))
        sc["index"] = i
        sc["pkts"] = [parse_packet(p) for p in sc.get("packets", [])]
    return out


# --------------------------------------------------------------------------
# Packet construction (scapy).

PROTO_NUM = {"tcp": 6, "udp": 17, "icmp": 1, "icmp6": 58, "sctp": 132,
             "udplite": 136, "dccp": 33, "gre": 47}
DCCP_TYPE = {"request": 0, "response": 1, "data": 2, "ack": 3, "dataack": 4,
             "closereq": 5, "close": 6, "reset": 7, "sync": 8}
ICMP_BODY = {13: 12, 14: 12, 17: 4, 18: 4, 133: 0, 134: 8, 135: 16, 136: 16,
             137: 32, 130: 16, 131: 16, 132: 16, 139: 8, 140: 8}


class Crafter:
    def __init__(self, sc):
        from scapy.all import conf
        conf.verb = 0
        self.sc = sc
        self.af = sc["af"]
        i = sc["index"]
        notrack = sc.get("notrack")
        self.sport = sc.get("sport", 9000 + i % 50 if notrack
                            else 20000 + i)
        self.dport = sc.get("dport", 9050 + i % 50 if notrack
                            else 40000 + i)
        self.isn = {}
        self.nxt = {}
        self.sent = {}

    def _ip(self, d, proto, tag, spec):
        from scapy.all import IP, IPv6
        a = ADDR[self.af]
        src, dst = (a["c"], a["s"]) if d == "o" else (a["s"], a["c"])
        if spec.get("from") == 3:
            # A third host (a router) on the sender's side of fw.
            src = a["c3"] if d == "o" else a["s3"]
        if self.af == 4:
            return IP(src=src, dst=dst, proto=proto, id=tag,
                      ttl=spec.get("ttl", 64), flags=0)
        return IPv6(src=src, dst=dst, nh=proto, fl=tag,
                    hlim=spec.get("ttl", 64))

    def _tcp(self, spec):
        from scapy.all import TCP, Raw
        d = spec["dir"]
        other = "r" if d == "o" else "o"
        c = spec.get("c", 0)
        key, okey = (c, d), (c, other)
        if key not in self.isn:
            self.isn[key] = {"o": 0x10000000, "r": 0x20000000}[d] + c * 4096
            self.nxt[key] = 0
        if okey not in self.isn:
            self.isn[okey] = {"o": 0x10000000, "r": 0x20000000}[other] + \
                c * 4096
            self.nxt[okey] = 0
        if "isn" in spec:
            self.isn[key] = spec["isn"]
            self.nxt[key] = 0
        flags = spec.get("flags", "A")
        plen = spec.get("len", 0)
        explicit = "seq" in spec or "so" in spec
        rel = spec.get("seq", self.nxt[key]) + spec.get("so", 0)
        if "A" in flags:
            arel = spec.get("ack", self.nxt[okey]) + spec.get("ao", 0)
            ack = (self.isn[okey] + arel) & 0xFFFFFFFF
        else:
            ack = spec.get("ack", 0) & 0xFFFFFFFF
        if not explicit or spec.get("adv"):
            used = plen + ("S" in flags) + ("F" in flags)
            self.nxt[key] = max(self.nxt[key], rel + used)
        opts = []
        if "S" in flags and not spec.get("nomss"):
            opts.append(("MSS", spec.get("mss", 1460)))
        if "ws" in spec:
            opts.append(("WScale", spec["ws"]))
        if spec.get("sack"):
            opts.append(("SAckOK", b""))
        if "ts" in spec:
            opts.append(("Timestamp", (spec["ts"], spec.get("tsecr", 0))))
        if "sackr" in spec:
            # SACK blocks "L:R[,L:R]" relative to the peer's ISN.
            blk = []
            for b in spec["sackr"].split(","):
                lo, hi = (int(x, 0) for x in b.split(":"))
                blk += [(self.isn[okey] + lo) & 0xFFFFFFFF,
                        (self.isn[okey] + hi) & 0xFFFFFFFF]
            opts.append(("SAck", tuple(blk)))
        sport, dport = self.sport + c, self.dport
        if d == "r":
            sport, dport = dport, sport
        sport, dport = spec.get("sp", sport), spec.get("dp", dport)
        seg = TCP(sport=sport, dport=dport, flags=flags or 0,
                  seq=(self.isn[key] + rel) & 0xFFFFFFFF, ack=ack,
                  window=spec.get("win", 64240), options=opts)
        if "doff" in spec:
            seg.dataofs = spec["doff"]
        if plen:
            seg = seg / Raw(b"x" * plen)
        if "opthex" in spec:
            # Raw option bytes (malformed options): the header is rebuilt
            # by hand and build() fills in the checksum.
            o = bytes.fromhex(spec["opthex"])
            o += bytes(-len(o) % 4)
            seg.options = []
            seg.chksum = 0
            b = bytearray(bytes(seg))
            b[12] = ((20 + len(o)) // 4) << 4 | (b[12] & 0xF)
            seg = Raw(bytes(b[:20] + o + b[20:]))
            spec["_fixck"] = 16
        return seg

    def _udp(self, spec):
        from scapy.all import UDP, Raw
        c = spec.get("c", 0)
        sport, dport = self.sport + c, self.dport
        if spec["dir"] == "r":
            sport, dport = dport, sport
        sport, dport = spec.get("sp", sport), spec.get("dp", dport)
        seg = UDP(sport=sport, dport=dport) / Raw(b"u" * spec.get("len", 8))
        if "udplen" in spec:
            seg.len = spec["udplen"]
        return seg

    def _ports(self, spec):
        sport, dport = self.sport + spec.get("c", 0), self.dport
        if spec["dir"] == "r":
            sport, dport = dport, sport
        return spec.get("sp", sport), spec.get("dp", dport)

    def _sctp(self, spec):
        """SCTP chunks (ch=init|initack|cookie|cookieack|data|sack|abort|
        shutdown|shutdownack|shutdowncomplete|hb|hback|error, several
        joined with '+'); the client's tag is 0x4000, the server's 0x5000
        (itag= another initiate tag in INIT/INIT_ACK, vt= the packet's
        tag, tf=1 the T flag of ABORT/SHUTDOWN_COMPLETE)."""
        from scapy.layers import sctp as s
        sport, dport = self._ports(spec)
        d = spec["dir"]
        own, peer = (0x4000, 0x5000) if d == "o" else (0x5000, 0x4000)
        vtag = peer
        chunks = []
        for ch in spec.get("ch", "data").split("+"):
            if ch == "init":
                vtag = 0
                chunks.append(s.SCTPChunkInit(
                    init_tag=spec.get("itag", own), a_rwnd=65535,
                    n_out_streams=1, n_in_streams=1, init_tsn=1))
            elif ch == "initack":
                chunks.append(s.SCTPChunkInitAck(
                    init_tag=spec.get("itag", own), a_rwnd=65535,
                    n_out_streams=1, n_in_streams=1, init_tsn=1,
                    params=[s.SCTPChunkParamStateCookie(cookie=b"c" * 8)]))
            elif ch == "cookie":
                chunks.append(s.SCTPChunkCookieEcho(cookie=b"c" * 8))
            elif ch == "cookieack":
                chunks.append(s.SCTPChunkCookieAck())
            elif ch == "abort":
                chunks.append(s.SCTPChunkAbort(TCB=spec.get("tf", 0)))
            elif ch == "shutdown":
                chunks.append(s.SCTPChunkShutdown(cumul_tsn_ack=1))
            elif ch == "shutdownack":
                chunks.append(s.SCTPChunkShutdownAck())
            elif ch == "shutdowncomplete":
                chunks.append(s.SCTPChunkShutdownComplete(
                    TCB=spec.get("tf", 0)))
            elif ch == "hb":
                chunks.append(s.SCTPChunkHeartbeatReq())
            elif ch == "hback":
                chunks.append(s.SCTPChunkHeartbeatAck())
            elif ch == "error":
                chunks.append(s.SCTPChunkError())
            elif ch == "sack":
                chunks.append(s.SCTPChunkSACK(cumul_tsn_ack=1))
            else:
                chunks.append(s.SCTPChunkData(tsn=spec.get("tsn", 1),
                                              data=b"d" * 8))
        pkt = s.SCTP(sport=sport, dport=dport, tag=spec.get("vt", vtag))
        for c in chunks:
            pkt = pkt / c
        return pkt

    def _gre(self, spec):
        """GRE: gv=0 (default; gp= protocol, default 0x0800, gkey= a key,
        inner=1 an IPv4 UDP packet inside) or gv=1, PPTP's enhanced GRE
        (call= the call ID, default 0x100 from the client and 0x200 from
        the server, plus c; gp default 0x880b)."""
        from scapy.all import Raw
        d = spec["dir"]
        c = spec.get("c", 0)
        if spec.get("gv", 0) == 1:
            body = b"p" * spec.get("len", 8)
            call = spec.get("call", (0x100 if d == "o" else 0x200) + c)
            hdr = (0x2001).to_bytes(2, "big") + \
                spec.get("gp", 0x880B).to_bytes(2, "big") + \
                len(body).to_bytes(2, "big") + call.to_bytes(2, "big")
            return Raw(hdr + body)
        flags = 0x2000 if "gkey" in spec else 0
        hdr = flags.to_bytes(2, "big") + \
            spec.get("gp", 0x0800).to_bytes(2, "big")
        if "gkey" in spec:
            hdr += spec["gkey"].to_bytes(4, "big")
        if spec.get("ginner"):
            from scapy.all import IP, UDP
            a = ADDR[4]
            src, dst = (a["c"], a["s"]) if d == "o" else (a["s"], a["c"])
            body = bytes(IP(src=src, dst=dst) / UDP(sport=5353, dport=5353)
                         / Raw(b"i" * 8))
        else:
            body = b"g" * spec.get("len", 8)
        return Raw(hdr + body)

    def _udplite(self, spec):
        """UDP-Lite header (cscov=N, default 0: the whole datagram) and
        payload; build() fills in the checksum."""
        from scapy.all import Raw
        sport, dport = self._ports(spec)
        body = b"l" * spec.get("len", 8)
        spec["_fixck"] = 6
        return Raw(sport.to_bytes(2, "big") + dport.to_bytes(2, "big") +
                   spec.get("cscov", 0).to_bytes(2, "big") + b"\0\0" + body)

    def _dccp(self, spec):
        """DCCP with 48-bit sequence numbers (ch=request|response|ack|
        data|...); client numbers from 1, server from 100."""
        from scapy.all import Raw
        sport, dport = self._ports(spec)
        ch = spec.get("ch", "request")
        typ = DCCP_TYPE[ch]
        d = spec["dir"]
        seqs = self.__dict__.setdefault("dccp_seq", {"o": 0, "r": 99})
        seqs[d] += 1
        other = "r" if d == "o" else "o"
        hdr = bytes([typ << 1 | 1, 0]) + spec.get(
            "dseq", seqs[d]).to_bytes(6, "big")
        if typ not in (0, 2):
            hdr += bytes(2) + spec.get("dack", seqs[other]).to_bytes(6, "big")
        if typ in (0, 1):
            hdr += bytes(4)                 # service code
        if typ == 7:
            hdr += bytes([2, 0, 0, 0])      # reset code, data
        doff = (8 + len(hdr)) // 4
        spec["_fixck"] = 6
        return Raw(sport.to_bytes(2, "big") + dport.to_bytes(2, "big") +
                   bytes([doff, 0]) + b"\0\0" + hdr +
                   b"q" * spec.get("len", 0))

    def _icmp(self, spec, tag):
        """ICMP or ICMPv6 as raw bytes: type, code, checksum, 4 bytes of
        rest (id/seq for queries), then a body or the quoted packet."""
        t = spec.get("t", 8 if self.af == 4 else 128)
        code = spec.get("code", 0)
        if "inner" in spec:
            quoted = self._quote(spec)
            rest = spec.get("rest", spec.get("mtu", 0)).to_bytes(4, "big")
            body = quoted
        else:
            ident = spec.get("id", 0x4000 + self.sc["index"])
            rest = ident.to_bytes(2, "big") + \
                spec.get("sq", 1).to_bytes(2, "big")
            body = bytes(ICMP_BODY.get(t, 0)) + b"p" * spec.get("len", 0)
        return bytes([t, code, 0, 0]) + rest + body

    def _quote(self, spec):
        k = spec["inner"]
        if k not in self.sent:
            raise ValueError("inner=%d names no earlier packet" % k)
        pkt = bytearray(self.sent[k])
        # innermod=1 changes the quoted source port (or ICMP id) so the
        # quoted packet belongs to no connection.
        if spec.get("innermod"):
            hl = (pkt[0] & 0xF) * 4 if self.af == 4 else 40
            pkt[hl] ^= 0x5A
        if self.af == 4:
            hl = (pkt[0] & 0xF) * 4
            return bytes(pkt[:hl + spec.get("qlen", 8)])
        return bytes(pkt[:spec.get("qlen", 1000)])

    def build(self, spec, tag):
        """Frames (bytes, Ethernet) for @spec, and the IP packet sent."""
        from scapy.all import (Ether, Raw, IPv6ExtHdrHopByHop,
                               IPv6ExtHdrDestOpt, IPv6ExtHdrRouting,
                               IPv6ExtHdrFragment, fragment, fragment6)
        from scapy.layers.inet6 import in6_chksum
        from scapy.utils import checksum
        proto = spec.get("p", self.sc["proto"])
        d = spec["dir"]
        if proto == "icmp" and self.af == 6:
            proto = "icmp6"
        if proto == "tcp":
            l4 = self._tcp(spec)
        elif proto == "udp":
            l4 = self._udp(spec)
        elif proto in ("icmp", "icmp6"):
            l4 = None
        elif proto == "sctp":
            l4 = self._sctp(spec)
        elif proto == "gre":
            l4 = self._gre(spec)
        elif proto == "udplite":
            l4 = self._udplite(spec)
        elif proto == "dccp":
            l4 = self._dccp(spec)
        else:
            l4 = Raw(b"g" * spec.get("len", 16))
        pnum = PROTO_NUM.get(proto, spec.get("n", self.sc.get("n", 253)))
        ip = self._ip(d, pnum, tag, spec)
        if l4 is None:
            icmp = bytearray(self._icmp(spec, tag))
            if self.af == 4:
                cs = checksum(bytes(icmp))
            else:
                cs = in6_chksum(58, ip, bytes(icmp))
            icmp[2:4] = cs.to_bytes(2, "big")
            l4 = Raw(bytes(icmp))
        if self.af == 6 and spec.get("ext"):
            hdrs = [{"hbh": IPv6ExtHdrHopByHop, "dst": IPv6ExtHdrDestOpt,
                     "rt": lambda: IPv6ExtHdrRouting(type=2, segleft=0,
                                                     addresses=["fd77::9"]),
                     "frag0": lambda: IPv6ExtHdrFragment(id=tag)}[e]()
                    for e in spec["ext"].split(",")]
            # scapy cannot infer the upper protocol of a Raw payload (ICMPv6
            # is built as raw bytes): name it in the last header.
            hdrs[-1].nh = pnum
            ip.nh = None
            pkt = ip
            for h in hdrs:
                pkt = pkt / h
            pkt = pkt / l4
        else:
            pkt = ip / l4
        raw = bytearray(bytes(pkt))
        hl = (raw[0] & 0xF) * 4 if self.af == 4 else 40
        if self.af == 6 and spec.get("ext"):
            hl = len(raw) - len(bytes(l4))
        if spec.get("_fixck") is not None:
            from scapy.layers.inet import in4_chksum
            off = hl + spec["_fixck"]
            raw[off:off + 2] = b"\0\0"
            seg = bytes(raw[hl:])
            if self.af == 4:
                from scapy.all import IP
                cs = in4_chksum(spec.get("ckp", pnum), IP(bytes(raw[:hl])),
                                 seg)
            else:
                cs = in6_chksum(spec.get("ckp", pnum), ip, seg)
            raw[off:off + 2] = cs.to_bytes(2, "big")
        if spec.get("bad") == "l4":
            off = {"tcp": 16, "udp": 6, "udplite": 6, "dccp": 6,
                   "sctp": 8}.get(proto, 2)
            raw[hl + off] ^= 0xFF
        if spec.get("ck0") and proto == "udp":
            raw[hl + 6:hl + 8] = b"\0\0"
        if "trunc" in spec:
            raw = raw[:hl + spec["trunc"]]
            if self.af == 4:
                raw[2:4] = len(raw).to_bytes(2, "big")
                raw[10:12] = b"\0\0"
                raw[10:12] = checksum(bytes(raw[:hl])).to_bytes(2, "big")
            else:
                raw[4:6] = (len(raw) - 40).to_bytes(2, "big")
        ipbytes = bytes(raw)
        self.sent[spec["idx"]] = ipbytes
        if "frag" in spec:
            from scapy.all import IP, IPv6
            if self.af == 4:
                frags = fragment(IP(ipbytes), fragsize=spec["frag"])
            else:
                p6 = IPv6(ipbytes)
                nh, payload = p6.nh, p6.payload
                p6.remove_payload()
                p6.nh = 44
                frags = fragment6(p6 / IPv6ExtHdrFragment(nh=nh, id=tag)
                                  / payload, spec["frag"])
            ips = [bytes(f) for f in frags]
        else:
            ips = [ipbytes]
        src, dst = ("c", "fc") if d == "o" else ("s", "fs")
        return [bytes(Ether(src=self.net_mac[src], dst=self.net_mac[dst],
                            type=0x800 if self.af == 4 else 0x86DD)
                      / Raw(b)) for b in ips], ipbytes


# --------------------------------------------------------------------------
# Running scenarios.

def label(state, reply):
    name = STATES[state] if 0 <= state < len(STATES) else "code%d" % state
    return name + ("/r" if reply else "")


class Runner:
    def __init__(self, net, daemon, listener, socks, args):
        self.net, self.daemon, self.nfl = net, daemon, listener
        self.socks, self.args = socks, args
        self.tag = {4: 0, 6: 0}
        self.results = []

    def next_tag(self, af):
        self.tag[af] = self.tag[af] % (0xFFFF if af == 4 else 0xFFFFF) + 1
        return self.tag[af]

    @staticmethod
    def pair(records):
        """Pair each pre-queue record with its post-queue twin (same
        bytes), in arrival order.  Returns [(pre, post or None)]."""
        pres = [r for r in records if r.group == G_PRE]
        posts = [r for r in records if r.group == G_POST]
        out = []
        for p in pres:
            twin = None
            for j, q in enumerate(posts):
                if q.payload == p.payload:
                    twin = posts.pop(j)
                    break
            out.append((p, twin))
        return out

    @staticmethod
    def verdicts(pre, post):
        k = label((pre.mark & K_MASK) >> K_SHIFT, pre.mark & K_REPLY)
        note = ""
        if post is None:
            q = "dropped"
        else:
            q = label(post.mark & Q_MASK & ~Q_REPLY, post.mark & Q_REPLY)
            if (post.mark & ~Q_MASK) != (pre.mark & ~Q_MASK):
                note = "mark bits outside 0xff changed: 0x%x -> 0x%x" % (
                    pre.mark, post.mark)
        return k, q, note

    def wait_tag(self, tag, nfrag):
        """Gather records until the post-queue record of @tag arrives, or
        until a pre-queue one has arrived and its post never does."""
        got, strays = [], []
        deadline = time.time() + WAIT
        seen_pre = seen_post = False
        while True:
            left = deadline - time.time()
            if left <= 0:
                break
            for r in self.nfl.poll(left):
                (got if r.tag() == tag else strays).append(r)
                if r.tag() == tag and r.group == G_PRE and not seen_pre:
                    seen_pre = True
                    deadline = time.time() + 3 * WAIT
                # After the verdicts, the packet may still be dropped by
                # a scenario's rule: wait for it to leave, not forever.
                if r.tag() == tag and r.group == G_POST and not seen_post:
                    seen_post = True
                    deadline = min(deadline, time.time() + WAIT / 2)
            if any(r.group == G_DONE for r in got):
                break
        return got, strays

    def run_crafted(self, sc):
        cr = Crafter(sc)
        cr.net_mac = self.net.mac
        rows = []
        strays = []
        for i, spec in enumerate(sc["pkts"]):
            spec["idx"] = i
            if spec.get("delay"):
                time.sleep(spec["delay"])
            tag = self.next_tag(sc["af"])
            frames, _ = cr.build(spec, tag)
            sock = self.socks[spec["dir"]]
            for f in frames:
                sock.send(f)
            got, st = self.wait_tag(tag, len(frames))
            strays += st
            pairs = self.pair(got)
            if not pairs:
                rows.append({"pkt": i + 1, "spec": spec["text"],
                             "kernel": "not-forwarded",
                             "qtrackd": "not-forwarded", "note": ""})
                continue
            k, q, note = self.verdicts(*pairs[0])
            rows.append({"pkt": i + 1, "spec": spec["text"], "kernel": k,
                         "qtrackd": q, "note": note})
        strays += self.nfl.poll(0)
        for n, (pre, post) in enumerate(self.pair(strays)):
            k, q, note = self.verdicts(pre, post)
            rows.append({"pkt": "stray%d" % (n + 1), "spec": "unsent packet",
                         "kernel": k, "qtrackd": q, "note": note})
        return rows

    def run_real(self, sc):
        kind = sc["real"]
        af = sc["af"]
        a = ADDR[af]
        br = (lambda x: "[%s]" % x) if af == 6 else (lambda x: x)
        net = self.net
        procs = []
        tmp = self.args.workdir
        port = sc.get("port", 5001)
        if kind == "tcp":
            listen = "TCP%s-LISTEN:%d,bind=%s,reuseaddr" % (
                "6" if af == 6 else "", port, br(a["sreal"]))
            srv = ["socat", "-u", listen, "OPEN:/dev/null"]
            cli = ["sh", "-c", "head -c %d /dev/zero | socat -u STDIN "
                   "TCP%s:%s:%d,bind=%s" % (sc.get("bytes", 1 << 20),
                                            "6" if af == 6 else "",
                                            br(a["sreal"]), port,
                                            br(a["creal"]))]
            ready = ("tcp", port)
        elif kind == "udp":
            srv = ["socat", "-T", "2", "UDP%s-LISTEN:%d,bind=%s" % (
                "6" if af == 6 else "", port, br(a["sreal"])), "EXEC:cat"]
            cli = ["sh", "-c", "printf 'one\\ntwo\\nthree\\n' | socat -t 1 "
                   "- UDP%s:%s:%d,bind=%s" % ("6" if af == 6 else "",
                                              br(a["sreal"]), port,
                                              br(a["creal"]))]
            ready = ("udp", port)
        elif kind == "ping":
            srv = None
            cli = ["ping", "-%d" % af, "-n", "-q", "-c", "3", "-i", "0.2",
                   "-W", "1", "-I", a["creal"], a["sreal"]]
            ready = None
        elif kind == "ftp":
            d = os.path.join(tmp, "ftproot")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "f"), "wb") as f:
                f.write(b"x" * 200000)
            srv = ["/usr/bin/python3", "-m", "pyftpdlib", "-p", str(port),
                   "-i", a["sreal"], "-d", d, "-r", "60000-60009"]
            passive = "on" if sc.get("passive", True) else "off"
            cli = ["lftp", "-c",
                   "set ftp:passive-mode %s; set net:max-retries 1; "
                   "set net:timeout 5; set ftp:prefer-epsv no; "
                   "set ftp:port-range 61000-61009; "
                   "open -u anonymous,x -p %d %s; get f -o /dev/null; "
                   "ls; bye" % (passive, port, a["sreal"])]
            ready = ("tcp", port)
        else:
            raise ValueError("unknown real traffic %s" % kind)
        rows = []
        try:
            if srv:
                procs.append(subprocess.Popen(
                    ["ip", "netns", "exec", net.s] + srv,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                deadline = time.time() + 10
                while time.time() < deadline:
                    out = sh(["ss", "-Hln" + ready[0][0]], net.s,
                             check=False)
                    if re.search(r":%d\s" % ready[1], out + " "):
                        break
                    time.sleep(0.05)
            r = subprocess.run(["ip", "netns", "exec", net.c] + cli,
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                rows.append({"pkt": "client", "spec": " ".join(cli),
                             "kernel": "-", "qtrackd": "-",
                             "note": "client failed: exit %d %s" % (
                                 r.returncode, r.stderr.strip()[-200:])})
        finally:
            for p in procs:
                p.terminate()
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    p.kill()
        records = []
        while True:
            got = self.nfl.poll(0.4)
            if not got:
                break
            records += got
        for n, (pre, post) in enumerate(self.pair(records)):
            k, q, note = self.verdicts(pre, post)
            rows.append({"pkt": n + 1, "spec": describe(pre.payload),
                         "kernel": k, "qtrackd": q, "note": note})
        if not any(isinstance(x["pkt"], int) for x in rows):
            rows.append({"pkt": "none", "spec": "no packets recorded",
                         "kernel": "-", "qtrackd": "-", "note": "no traffic"})
        return rows

    def kernel_table(self):
        out = ""
        for fam in ("ipv4", "ipv6"):
            out += sh(["conntrack", "-L", "-f", fam], self.net.fw,
                      check=False)
        return out

    def flush(self):
        sh(["conntrack", "-F"], self.net.fw, check=False)
        sh(["conntrack", "-F", "-f", "ipv6"], self.net.fw, check=False)
        sh(["conntrack", "-F", "expect"], self.net.fw, check=False)
        self.daemon.flush()

    def apply_config(self, sc, base):
        knobs = dict(base)
        knobs.update({k: v for k, v in sc["config"].items()})
        ftp = sc.get("ftp_helper", [])
        key = (tuple(sorted(knobs.items())), tuple(ftp))
        if self.daemon.key == key and (self.daemon.alive()
                                       or not self.daemon.binary):
            return
        for name, val in knobs.items():
            sh(["sysctl", "-qw", "net.netfilter.%s=%s" % (KNOBS[name][0],
                                                          val)], self.net.fw)
        # The kernel's FTP helper is attached by rule, never by default.
        for ipt in ("iptables", "ip6tables"):
            sh([ipt, "-t", "raw", "-D", "PREROUTING", "-p", "tcp",
                "--dport", "2121", "-j", "CT", "--helper", "ftp"],
               self.net.fw, check=False)
            if ftp:
                sh([ipt, "-t", "raw", "-I", "PREROUTING", "-p", "tcp",
                    "--dport", "2121", "-j", "CT", "--helper", "ftp"],
                   self.net.fw)
        self.daemon.start(knobs, ftp)

    @staticmethod
    def drop_rule(sc):
        """The filter rule of a scenario with "drop": after both verdicts
        are logged, drop what qtrackd marks NEW ("new"), or only NEW
        packets to one port (a number)."""
        drop = sc.get("drop")
        if not drop:
            return None
        rule = ["-t", "filter", "-A", "FORWARD", "-m", "mark", "--mark",
                "0x1/0xff"]
        if drop != "new":
            rule += ["-p", sc["proto"], "--dport", str(drop)]
        return rule + ["-j", "DROP"]

    def run(self, sc, base):
        self.apply_config(sc, base)
        self.flush()
        self.nfl.poll(0)
        ipt = "ip6tables" if sc["af"] == 6 else "iptables"
        drop = self.drop_rule(sc)
        if drop:
            sh([ipt] + drop, self.net.fw)
        try:
            if sc.get("real"):
                rows = self.run_real(sc)
            else:
                rows = self.run_crafted(sc)
        finally:
            if drop:
                drop[2] = "-D"
                sh([ipt] + drop, self.net.fw, check=False)
        ktab = ct_normalise(self.kernel_table())
        qraw = self.daemon.table()
        table = None
        if qraw is not None:
            qtab = ct_normalise(qraw)
            table = {"kernel_only": [x for x in ktab if x not in qtab],
                     "qtrackd_only": [x for x in qtab if x not in ktab]}
        if self.daemon.binary and not self.daemon.alive():
            rows.append({"pkt": "daemon", "spec": "qtrackd", "kernel": "-",
                         "qtrackd": "exited", "note": "qtrackd died"})
        return {"name": sc["name"], "rows": rows, "table": table,
                "kernel_table": ktab}


def describe(p):
    """A short description of a logged IP packet for real-traffic rows."""
    try:
        from scapy.all import IP, IPv6, TCP
        pkt = IP(p) if p[0] >> 4 == 4 else IPv6(p)
        s = pkt.summary()
        if TCP in pkt:
            s += " seq=%d ack=%d" % (pkt[TCP].seq, pkt[TCP].ack)
        return s
    except Exception:   # a description must never stop the run
        return "%d bytes" % len(p)


# --------------------------------------------------------------------------
# Allow-list and report.

def load_allow(path, marker="allow-list"):
    """Rows of the machine-readable table between the @marker begin and end
    lines in docs/conformance.md: scenario glob, packet, kernel, qtrackd."""
    rows = []
    if not os.path.exists(path):
        return rows
    inside = False
    for line in open(path):
        if marker + " begin" in line:
            inside = True
            continue
        if marker + " end" in line:
            break
        if not inside or not line.startswith("|"):
            continue
        cells = [c.strip().strip("`") for c in line.strip().strip("|")
                 .split("|")]
        if len(cells) < 5 or cells[0] in ("scenario", "") or \
                set(cells[0]) <= set("-: "):
            continue
        rows.append(cells[:5])
    return rows


def allowed(allow, scen, pkt, kernel, qtrackd):
    for s, p, k, q, _reason in allow:
        if fnmatch.fnmatchcase(scen, s) and p in ("*", str(pkt)) and \
                k in ("*", kernel) and q in ("*", qtrackd):
            return True
    return False


def report(results, allow, out):
    order = [label(s, r) for s in range(len(STATES)) for r in (0, 1)]
    matrix = {}
    lines = []
    failures = []
    for res in results:
        bad = []
        for row in res["rows"]:
            k, q = row["kernel"], row["qtrackd"]
            matrix[(k, q)] = matrix.get((k, q), 0) + 1
            if k != q or row["note"]:
                ok = allowed(allow, res["name"], row["pkt"], k, q)
                bad.append((row, ok))
        t = res["table"]
        if t and (t["kernel_only"] or t["qtrackd_only"]):
            for x in t["kernel_only"]:
                bad.append(({"pkt": "table", "spec": x, "kernel": "entry",
                             "qtrackd": "missing", "note": ""},
                            allowed(allow, res["name"], "table", "entry",
                                    "missing")))
            for x in t["qtrackd_only"]:
                bad.append(({"pkt": "table", "spec": x, "kernel": "missing",
                             "qtrackd": "entry", "note": ""},
                            allowed(allow, res["name"], "table", "missing",
                                    "entry")))
        if not bad:
            verdict = "agree"
        elif all(ok for _, ok in bad):
            verdict = "allowed"
        else:
            verdict = "DISAGREE"
        n = sum(1 for r in res["rows"] if isinstance(r["pkt"], int))
        lines.append("%-8s %-48s %3d packets%s" % (
            verdict, res["name"], n, "" if t is not None else
            " (table not compared)"))
        for row, ok in bad:
            lines.append("         #%s %-28s kernel=%-14s qtrackd=%-14s%s%s"
                         % (row["pkt"], row["spec"][:28], row["kernel"],
                            row["qtrackd"], " (allowed)" if ok else "",
                            " " + row["note"] if row["note"] else ""))
            if not ok:
                failures.append((res["name"], row))
    cols = sorted({q for (_, q) in matrix},
                  key=lambda x: order.index(x) if x in order else 99)
    rows = sorted({k for (k, _) in matrix},
                  key=lambda x: order.index(x) if x in order else 99)
    mat = ["| kernel \\ qtrackd | " + " | ".join(cols) + " |",
           "|---|" + "---|" * len(cols)]
    for k in rows:
        mat.append("| %s | " % k + " | ".join(
            str(matrix.get((k, q), "")) for q in cols) + " |")
    npk = sum(matrix.values())
    agree = sum(v for (k, q), v in matrix.items() if k == q)
    summary = ("%d scenarios, %d packets, %d agree, %d disagreements "
               "not allowed" % (len(results), npk, agree, len(failures)))
    text = "\n".join(["# per scenario"] + lines + ["", "# confusion matrix "
                     "(rows: kernel, columns: qtrackd; /r = reply "
                     "direction)"] + mat + ["", summary])
    with open(os.path.join(out, "report.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    return text, failures


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="build directory")
    ap.add_argument("--src", default=os.path.dirname(os.path.dirname(HERE)))
    ap.add_argument("--scenarios", default=os.path.join(HERE,
                                                        "scenarios.data"))
    ap.add_argument("--only", action="append", default=[],
                    help="run only scenarios matching this glob")
    ap.add_argument("--skip", action="append", default=[],
                    help="leave out scenarios matching this glob")
    ap.add_argument("--kernel-only", action="store_true",
                    help="no qtrackd: record the kernel side only")
    ap.add_argument("--qtrackd", help="qtrackd binary")
    ap.add_argument("--out", help="directory for report.txt, results.json")
    args = ap.parse_args()

    scen = load_scenarios(args.scenarios)
    if args.only:
        scen = [s for s in scen
                if any(fnmatch.fnmatchcase(s["name"], g) for g in args.only)]
    if args.skip:
        scen = [s for s in scen
                if not any(fnmatch.fnmatchcase(s["name"], g)
                           for g in args.skip)]
    binary = None
    ctl = None
    if not args.kernel_only:
        binary = args.qtrackd or os.path.join(args.build, "daemon", "qtrackd")
        if not os.access(binary, os.X_OK):
            log("FAIL: qtrackd not found at %s (use --kernel-only to record "
                "the kernel alone)" % binary)
            return 1
        ctl = os.path.join(args.build, "tools", "qtrackctl")
        if not os.access(ctl, os.X_OK):
            log("note: %s missing: tables not compared, qtrackd restarted "
                "to flush" % ctl)
            ctl = None
    out = args.out or os.path.join(args.build, "conformance-bypass"
                                   if BYPASS else "conformance")
    os.makedirs(out, exist_ok=True)
    args.workdir = tempfile.mkdtemp(prefix="qtconf.")
    doc = os.path.join(args.src, "docs", "conformance.md")
    allow = load_allow(doc)
    if BYPASS:
        allow += load_allow(doc, "bypass-allow")

    # A killed run (ctest timeout, ^C) must still remove its namespaces.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda n, f: sys.exit(128 + n))
    net = Netns()
    daemon = Daemon(net, binary, ctl, args.workdir)
    try:
        net.setup()
        socks = {}
        for d, ns in (("o", net.c), ("r", net.s)):
            net.enter(ns)
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            s.bind(("eth0", 0))
            socks[d] = s
        net.enter(net.fw)
        listener = nflog.Listener([G_PRE, G_POST, G_DONE])
        net.enter(None)
        base = {}
        for name, (sysctl, _s, _k) in KNOBS.items():
            base[name] = int(sh(["sysctl", "-n", "net.netfilter." + sysctl],
                                net.fw).strip())
        runner = Runner(net, daemon, listener, socks, args)
        # Group scenarios by configuration so qtrackd restarts rarely.
        scen.sort(key=lambda s: (json.dumps(s["config"], sort_keys=True),
                                 s.get("ftp_helper", []), s["index"]))
        results = []
        t0 = time.time()
        for sc in scen:
            results.append(runner.run(sc, base))
        log("ran %d scenarios in %.1fs (%d qtrackd starts)" % (
            len(scen), time.time() - t0, daemon.restarts))
    finally:
        daemon.stop()
        net.cleanup()
        if os.path.exists(daemon.logf):
            shutil.copy(daemon.logf, os.path.join(out, "qtrackd.log"))
        shutil.rmtree(args.workdir, ignore_errors=True)
    results.sort(key=lambda r: r["name"])
    text, failures = report(results, allow, out)
    log(text)
    log("report: %s" % os.path.join(out, "report.txt"))
    if args.kernel_only:
        return 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

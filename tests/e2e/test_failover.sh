#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_failover.sh BUILD - a firewall pair: two qtrackd, the table
# replicated over a dedicated sync link ([sync]), keepalived (VRRP) moving
# the gateway addresses; every connection survives two failovers and a
# failback.
#
#   client --- [bridge brc] ---+--- lan0  fwa (qtrackd, keepalived) wan0 ---+--- [bridge brs] --- server
#   10.0.1.2                   |    .11  sy0 10.0.3.1                .11   |                    10.0.2.2
#                              +--- lan0  fwb (qtrackd, keepalived) wan0 ---+
#                                   .12  sy0 10.0.3.2                .12
#
# VRRP moves 10.0.1.1 (the client's gateway) and 10.0.2.1 (the server's)
# as one sync group; its notify script (conf/qtrack-notify.sh) tells
# qtrackd its role.  Each firewall's FORWARD chain accepts ESTABLISHED and
# RELATED by qtrackd's mark and NEW only to TCP port 7000; counting rules
# count INVALID packets and NEW packets that are not a SYN.
#
# The client holds FLOWS TCP connections, UDP_FLOWS UDP flows and
# V6_FLOWS IPv6 TCP connections (fd00:1::2 to fd00:2::2, gateways
# fd00:1::1 and fd00:2::1 moved with the IPv4 ones) to the server's echo
# port, each sending a chunk every 100 ms and checking what
# comes back; on the firewall taking over, no UDP packet may be NEW
# either (its flows were ESTABLISHED from the first packet).
# 1. fwa is master; fwb's table holds every flow (replicated), and the
#    data connection of an FTP download (helper on, RELATED by mark),
#    paced so that it is in progress across step 2 and must complete
#    intact.
# 2. keepalived on fwa gets SIGTERM: fwb takes over; every flow echoes
#    again, fwb saw no INVALID and no NEW-without-SYN packet.
# 3. keepalived on fwa starts again and preempts (failback): the same on
#    fwa.
# 4. fwa's LAN and WAN links go down: fwb takes over: the same.
# How long the longest flow paused around each event is printed
# (measured, not asserted).
. "$(dirname "$0")/lib.sh"

FLOWS=${FLOWS:-200}
UDP_FLOWS=${UDP_FLOWS:-50}
V6_FLOWS=${V6_FLOWS:-40}
# FILL=N adds N one-packet UDP flows (qtrack-flowfill) to the table before
# the failovers: the pauses printed show whether failover time grows with
# the table (a measurement, not a check).
FILL=${FILL:-0}
# SYNC=0 runs the same without replication ([sync] peer empty): the
# baseline, in which the flows must not survive.
SYNC=${SYNC:-1}
# QUEUES=N (2 or more) spreads the flows over N queues (--queue-balance,
# [queue] num = 0-N-1, a worker thread and a table each): every record
# then goes to its queue's table on the standby, and each queue of the
# node taking over must have passed packets of the surviving flows.
QUEUES=${QUEUES:-1}
if [ "$QUEUES" -gt 1 ]; then
	QTARGET="--queue-balance 0:$((QUEUES - 1))"
	QNUM="0-$((QUEUES - 1))"
else
	QTARGET="--queue-num 0"
	QNUM=0
fi

qt_require_root
qt_require_cmd ip iptables ip6tables iptables-restore ss timeout keepalived
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pyftpdlib' \
	2>/dev/null || qt_skip "needs /usr/bin/python3 with pyftpdlib"
qt_require_daemon
QTRACKCTL=$QT_BUILD/tools/qtrackctl

NS_BRC=qtbc-$QT_RND
NS_BRS=qtbs-$QT_RND
NS_FWA=qtfa-$QT_RND
NS_FWB=qtfb-$QT_RND
CTL=$QT_TMP/ctl
mkdir -p "$CTL"

# ---- topology --------------------------------------------------------------

for ns in "$NS_CLI" "$NS_SRV" "$NS_BRC" "$NS_BRS" "$NS_FWA" "$NS_FWB"; do
	ip netns add "$ns" || qt_skip "cannot create network namespaces"
	QT_NETNS+=("$ns")
	qt_ns "$ns" ip link set lo up
done
for br in "$NS_BRC" "$NS_BRS"; do
	qt_ns "$br" ip link add br0 type bridge stp_state 0 forward_delay 0 \
		mcast_snooping 0 || qt_skip "no bridge support"
	qt_ns "$br" ip link set br0 up
done
# link NS_A IF_A NS_BR PORT: a veth from NS_A into bridge NS_BR.
link() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" ||
		qt_skip "no veth support"
	qt_ns "$3" ip link set "$4" master br0 up
	qt_ns "$1" ip link set "$2" up
}
link "$NS_CLI" cli0 "$NS_BRC" p_cli
link "$NS_FWA" lan0 "$NS_BRC" p_a
link "$NS_FWB" lan0 "$NS_BRC" p_b
link "$NS_SRV" srv0 "$NS_BRS" p_srv
link "$NS_FWA" wan0 "$NS_BRS" p_a
link "$NS_FWB" wan0 "$NS_BRS" p_b
ip link add sy0 netns "$NS_FWA" type veth peer name sy0 netns "$NS_FWB"
qt_ns "$NS_CLI" ip addr add 10.0.1.2/24 dev cli0
qt_ns "$NS_SRV" ip addr add 10.0.2.2/24 dev srv0
qt_ns "$NS_CLI" ip route add default via 10.0.1.1
qt_ns "$NS_SRV" ip route add default via 10.0.2.1
qt_ns "$NS_CLI" ip addr add fd00:1::2/64 dev cli0 nodad
# The kernel balances queues by addresses and protocol, not ports: with
# several queues the IPv4 flows come from 16 addresses, so that every
# queue has some.
CLI_SRCS=10.0.1.2
if [ "$QUEUES" -gt 1 ]; then
	for ((i = 100; i < 116; i++)); do
		qt_ns "$NS_CLI" ip addr add 10.0.1.$i/24 dev cli0
		CLI_SRCS+=",10.0.1.$i"
	done
fi
qt_ns "$NS_SRV" ip addr add fd00:2::2/64 dev srv0 nodad
qt_ns "$NS_CLI" ip -6 route add default via fd00:1::1
qt_ns "$NS_SRV" ip -6 route add default via fd00:2::1
n=1
for fw in "$NS_FWA" "$NS_FWB"; do
	qt_ns "$fw" ip addr add 10.0.1.1$n/24 dev lan0
	qt_ns "$fw" ip addr add 10.0.2.1$n/24 dev wan0
	qt_ns "$fw" ip addr add 10.0.3.$n/24 dev sy0
	qt_ns "$fw" ip link set sy0 up
	qt_ns "$fw" sysctl -qw net.ipv4.ip_forward=1
	qt_ns "$fw" sysctl -qw net.ipv6.conf.all.forwarding=1
	qt_ns "$fw" ip addr add fd00:1::1$n/64 dev lan0 nodad
	qt_ns "$fw" ip addr add fd00:2::1$n/64 dev wan0 nodad
	n=$((n + 1))
done

# ---- firewalls -------------------------------------------------------------

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$QT_TMP/sync.key"
chmod 600 "$QT_TMP/sync.key"

# Forwarded traffic only goes through qtrackd: VRRP and the sync link do
# not.
load_rules() {
	local t
	for t in iptables ip6tables; do
		load_rules_with "$1" $t-restore
	done
}

load_rules_with() {
	qt_ns "$1" "$2" <<-EOF
	*mangle
	:PREROUTING ACCEPT [0:0]
	:INPUT ACCEPT [0:0]
	:FORWARD ACCEPT [0:0]
	:OUTPUT ACCEPT [0:0]
	:POSTROUTING ACCEPT [0:0]
	-A PREROUTING -i lan0 -p tcp -j NFQUEUE $QTARGET
	-A PREROUTING -i wan0 -p tcp -j NFQUEUE $QTARGET
	-A PREROUTING -i lan0 -p udp -j NFQUEUE $QTARGET
	-A PREROUTING -i wan0 -p udp -j NFQUEUE $QTARGET
	COMMIT
	*filter
	:INPUT ACCEPT [0:0]
	:FORWARD DROP [0:0]
	:OUTPUT ACCEPT [0:0]
	-A FORWARD -m mark --mark 0x4/0xff -m comment --comment cnt-inv
	-A FORWARD -p tcp ! --syn -m mark --mark 0x1/0xff -m comment --comment cnt-newack
	-A FORWARD -p udp -m mark --mark 0x1/0xff -m comment --comment cnt-newudp
	-A FORWARD -m mark --mark 0/0xff -m comment --comment cnt-none
	-A FORWARD -m mark --mark 0x2/0xef -m comment --comment cnt-est
	-A FORWARD -m mark --mark 0x2/0xef -j ACCEPT
	-A FORWARD -m mark --mark 0x3/0xef -j ACCEPT
	-A FORWARD -p tcp --syn --dport 7000 -m mark --mark 0x1/0xff -j ACCEPT
	-A FORWARD -p udp --dport 7000 -m mark --mark 0x1/0xff -j ACCEPT
	-A FORWARD -p tcp --syn --dport 21 -m mark --mark 0x1/0xff -j ACCEPT
	COMMIT
	EOF
}

# count NS NAME: packets FORWARD's counting rule NAME saw in NS.
count() {
	local t n=0 c
	for t in iptables ip6tables; do
		c=$(qt_ns "$1" $t -t filter -L FORWARD -v -x -n |
			awk -v c="/* $2 */" 'index($0, c) { print $1; exit }')
		n=$((n + ${c:-0}))
	done
	echo $n
}

# zero NS: FORWARD's counters in NS, both families, and what each queue
# of the qtrackd in NS has received so far.
zero() {
	local q name=fwa
	qt_ns "$1" iptables -Z FORWARD
	qt_ns "$1" ip6tables -Z FORWARD
	[ "$1" = "$NS_FWB" ] && name=fwb
	for ((q = 0; q < QUEUES; q++)); do
		echo "$(qrecv $name $q)" >"$QT_TMP/$name.q$q"
	done
}

# qrecv NAME Q: packets queue Q of qtrackd NAME has received.
qrecv() {
	"$QTRACKCTL" --socket "$QT_TMP/$1.sock" stats 2>/dev/null |
		awk -v k="queue_received.$2" '$1 == k { print $2; exit }'
}

# start_qtrackd NAME NS LOCAL PEER ROLE
start_qtrackd() {
	local name=$1 ns=$2
	cat >"$QT_TMP/$name.conf" <<-EOF
	[queue]
	num = $QNUM
	[state]
	file = $QT_TMP/$name.state
	[control]
	socket = $QT_TMP/$name.sock
	[udp]
	timeout = 600
	[helper]
	ftp = 21
	[sync]
	local = $3
	peer = $([ "$SYNC" = 0 ] || echo "$4")
	key_file = $QT_TMP/sync.key
	role = $5
	EOF
	: >"$QT_TMP/$name.log"
	ip netns exec "$ns" "$QTRACKD" -d -c "$QT_TMP/$name.conf" \
		>>"$QT_TMP/$name.log" 2>&1 &
	echo $! >"$QT_TMP/$name.pid"
	QT_PIDS+=($!)
	qt_wait_for 10 grep -q "started:" "$QT_TMP/$name.log" || {
		qt_fail "qtrackd $name did not start"
		cat "$QT_TMP/$name.log"
		exit 1
	}
}

# conns NAME: connections in qtrackd NAME's table.
conns() {
	"$QTRACKCTL" --socket "$QT_TMP/$1.sock" count 2>/dev/null
}

conns_at_least() {
	[ "$(conns "$1")" -ge "$2" ]
}

load_rules "$NS_FWA"
load_rules "$NS_FWB"
start_qtrackd fwa "$NS_FWA" 10.0.3.1 10.0.3.2 active
start_qtrackd fwb "$NS_FWB" 10.0.3.2 10.0.3.1 standby

# ---- keepalived ------------------------------------------------------------

# start_keepalived NAME NS PRIORITY
start_keepalived() {
	local name=$1 ns=$2 prio=$3
	cat >"$QT_TMP/$name.ka.conf" <<-EOF
	global_defs {
	    router_id $name
	    script_user root
	    enable_script_security
	}
	vrrp_sync_group FW {
	    group {
	        LAN
	        WAN
	    }
	    notify "$QT_SRC/conf/qtrack-notify.sh $QT_TMP/$name.pid"
	}
	vrrp_instance LAN {
	    state BACKUP
	    interface lan0
	    virtual_router_id 51
	    priority $prio
	    advert_int 1
	    virtual_ipaddress {
	        10.0.1.1/24 dev lan0
	    }
	    virtual_ipaddress_excluded {
	        fd00:1::1/64 dev lan0
	    }
	}
	vrrp_instance WAN {
	    state BACKUP
	    interface wan0
	    virtual_router_id 52
	    priority $prio
	    advert_int 1
	    virtual_ipaddress {
	        10.0.2.1/24 dev wan0
	    }
	    virtual_ipaddress_excluded {
	        fd00:2::1/64 dev wan0
	    }
	}
	EOF
	ip netns exec "$ns" keepalived -n -l -D -P -f "$QT_TMP/$name.ka.conf" \
		-p "$QT_TMP/$name.ka.pid" -r "$QT_TMP/$name.vrrp.pid" \
		-c "$QT_TMP/$name.chk.pid" >>"$QT_TMP/$name.ka.log" 2>&1 &
	KA_PID=$!
	QT_PIDS+=($KA_PID)
}

# has_vip NS: NS holds both gateway addresses.
has_vip() {
	qt_ns "$1" ip -4 addr show dev lan0 | grep -q "10.0.1.1/" &&
		qt_ns "$1" ip -4 addr show dev wan0 | grep -q "10.0.2.1/" &&
		qt_ns "$1" ip -6 addr show dev lan0 | grep -q "fd00:1::1/" &&
		qt_ns "$1" ip -6 addr show dev wan0 | grep -q "fd00:2::1/"
}

start_keepalived fwa "$NS_FWA" 150
KA_A=$KA_PID
start_keepalived fwb "$NS_FWB" 100
KA_B=$KA_PID
qt_wait_for 10 kill -0 $KA_A ||
	qt_skip "keepalived cannot run here"
if ! qt_wait_for 20 has_vip "$NS_FWA"; then
	cat "$QT_TMP/fwa.ka.log"
	kill -0 $KA_A 2>/dev/null || qt_skip "keepalived cannot run here"
	qt_fail "fwa became VRRP master"
	exit 1
fi
qt_pass "fwa is VRRP master"
qt_wait_for 10 grep -q "sync: now active\|sync: peer .*, active" \
	"$QT_TMP/fwa.log"
qt_wait_for 10 grep -q "standby has the peer's table" "$QT_TMP/fwb.log"

# ---- the flows -------------------------------------------------------------

cat >"$QT_TMP/echod.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
# TCP and UDP echo on ADDR:7000.
import selectors, socket, sys
sel = selectors.DefaultSelector()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((sys.argv[1], 7000))
u.setblocking(False)
sel.register(u, selectors.EVENT_READ, None)
listeners = []
for fam, addr in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    lt = socket.socket(fam, socket.SOCK_STREAM)
    lt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lt.bind((addr, 7000))
    lt.listen(1024)
    lt.setblocking(False)
    sel.register(lt, selectors.EVENT_READ, None)
    listeners.append(lt)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if s is u:
            try:
                data, peer = u.recvfrom(2048)
                u.sendto(data, peer)
            except OSError:
                pass
            continue
        if s in listeners:
            c, _ = s.accept()
            sel.register(c, selectors.EVENT_READ, None)
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            s.close()
        else:
            s.sendall(data)
EOF

# The client: FLOWS connections, a chunk on each every 100 ms, every echo
# checked against what was sent.  CTL/mark.N starts event N (the longest
# pause of any flow is measured from then on); after CTL/check.N it
# answers in CTL/done.N once every flow has echoed after the check (or
# 60 s passed): "ok MAXPAUSE" or what failed.
cat >"$QT_TMP/client.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
import os, selectors, socket, sys, time
srv, ctl, ntcp, nudp = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
srv6, n6 = sys.argv[5], int(sys.argv[6])
srcs = sys.argv[7].split(",")
n = ntcp + nudp + n6
sel = selectors.DefaultSelector()
flows = []
for i in range(n):
    src = (srcs[i % len(srcs)], 0)
    if i < ntcp:
        s = socket.create_connection((srv, 7000), timeout=5,
                                     source_address=src)
    elif i >= ntcp + nudp:
        s = socket.create_connection((srv6, 7000), timeout=5)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(src)
        s.connect((srv, 7000))
    s.setblocking(False)
    # UDP: "sent" holds the datagrams not echoed yet; a lost one is no
    # error, a flow without echoes is.
    f = {"s": s, "i": i, "udp": ntcp <= i < ntcp + nudp, "sent": b"", "out": [],
         "seq": 0, "last": time.time(), "gap": 0.0, "err": None}
    flows.append(f)
    sel.register(s, selectors.EVENT_READ, f)

def answer(k, msg):
    p = os.path.join(ctl, "done.%d" % k)
    with open(p + ".tmp", "w") as fh:
        fh.write(msg + "\n")
    os.rename(p + ".tmp", p)

k = 1
mark = None
marked = False
next_send = 0.0
while True:
    now = time.time()
    if now >= next_send:
        next_send = now + 0.1
        for f in flows:
            if f["err"] or len(f["sent"]) > 32768:
                continue
            f["seq"] += 1
            msg = b"flow %d chunk %d " % (f["i"], f["seq"])
            msg += b"." * (64 - len(msg))
            try:
                f["s"].send(msg)
                if f["udp"]:
                    f["out"] = (f["out"] + [msg])[-100:]
                else:
                    f["sent"] += msg
            except BlockingIOError:
                pass
            except OSError as e:
                f["err"] = "send: %s" % e
    for key, _ in sel.select(0.02):
        f = key.data
        try:
            d = f["s"].recv(65536)
        except BlockingIOError:
            continue
        except OSError as e:
            if f["udp"]:
                continue  # an ICMP error while the path moved
            f["err"] = "recv: %s" % e
            sel.unregister(f["s"])
            continue
        if f["udp"]:
            if d not in f["out"]:
                f["err"] = "udp echo differs"
                continue
            f["out"].remove(d)
        elif not d:
            f["err"] = "closed by peer"
            sel.unregister(f["s"])
            continue
        elif not f["sent"].startswith(d):
            f["err"] = "echo differs"
            continue
        else:
            f["sent"] = f["sent"][len(d):]
        t = time.time()
        f["gap"] = max(f["gap"], t - f["last"])
        f["last"] = t
    if not marked and os.path.exists(os.path.join(ctl, "mark.%d" % k)):
        marked = True
        for f in flows:
            f["gap"] = 0.0
        open(os.path.join(ctl, "marked.%d" % k), "w").close()
    if marked and mark is None and \
            os.path.exists(os.path.join(ctl, "check.%d" % k)):
        mark = time.time()
    if mark is not None:
        errs = [f for f in flows if f["err"]]
        late = [f for f in flows if not f["err"] and f["last"] <= mark]
        if (not late and mark + 2 < time.time()) or errs or \
                time.time() > mark + 60:
            alive = n - len(errs) - len(late)
            if errs or late:
                why = ["flow %d: %s" % (f["i"], f["err"]) for f in errs[:3]]
                why += ["flow %d: no echo since" % f["i"] for f in late[:3]]
                answer(k, "%d of %d alive; %s" % (alive, n, "; ".join(why)))
            else:
                gap = max(max(f["gap"], time.time() - f["last"])
                          for f in flows)
                answer(k, "ok %.2f" % gap)
            mark = None
            marked = False
            k += 1
EOF

cat >"$QT_TMP/ftpd.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
# Anonymous read-only FTP on ADDR:21, passive ports 50000-50099.
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
auth = DummyAuthorizer()
auth.add_anonymous(sys.argv[2])
FTPHandler.authorizer = auth
FTPHandler.passive_ports = range(50000, 50100)
FTPServer((sys.argv[1], 21), FTPHandler).serve_forever()
EOF

# A download paced at about 320 kB/s, so that it is in progress across
# the first failover; "ok" in RESULT when the file arrived intact.
cat >"$QT_TMP/ftpget.py" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-or-later
import ftplib, sys, time
srv, want, result, started = sys.argv[1:5]
want = open(want, "rb").read()
try:
    ftp = ftplib.FTP(srv, timeout=30)
    ftp.login()
    ftp.voidcmd("TYPE I")
    data = ftp.transfercmd("RETR data.bin")
    data.settimeout(30)
    got = b""
    open(started, "w").close()
    while True:
        d = data.recv(32768)
        if not d:
            break
        got += d
        time.sleep(0.1)
    data.close()
    ftp.voidresp()
    ftp.quit()
    msg = "ok" if got == want else "differs: %d of %d bytes" % (len(got),
                                                              len(want))
except Exception as e:
    msg = "error: %s" % e
open(result, "w").write(msg + "\n")
EOF
mkdir -p "$QT_TMP/ftp"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$QT_TMP/ftp/data.bin"
qt_bg "$NS_SRV" /usr/bin/python3 "$QT_TMP/ftpd.py" 10.0.2.2 "$QT_TMP/ftp" \
	2>"$QT_TMP/ftpd.log"
qt_wait_for 10 qt_listening "$NS_SRV" tcp 21
qt_bg "$NS_SRV" /usr/bin/python3 "$QT_TMP/echod.py" 10.0.2.2 fd00:2::2
qt_wait_for 5 qt_listening "$NS_SRV" tcp 7000
qt_bg "$NS_CLI" /usr/bin/python3 "$QT_TMP/client.py" 10.0.2.2 "$CTL" \
	"$FLOWS" "$UDP_FLOWS" fd00:2::2 "$V6_FLOWS" "$CLI_SRCS"
CLIENT_PID=${QT_PIDS[-1]}

# mark N: event N is about to happen.
mark() {
	touch "$CTL/mark.$1"
	qt_wait_for 10 test -e "$CTL/marked.$1"
}

# round N: event N happened; wait for the client's verdict.
round() {
	[ -e "$CTL/mark.$1" ] || mark "$1"
	touch "$CTL/check.$1"
	if ! qt_wait_for 90 test -e "$CTL/done.$1"; then
		echo "client gave no answer for round $1"
		return 1
	fi
	cat "$CTL/done.$1"
}

if [ "$FILL" -gt 0 ]; then
	t0=$SECONDS
	qt_ns "$NS_CLI" "$QT_BUILD/bench/qtrack-flowfill" -d 10.0.2.2 \
		-n "$FILL" -S 64 -b 20000 -r 50000 -t 120 >/dev/null
	# Until both tables stop growing.
	prev=-1
	while [ "$(conns fwb)" != "$prev" ]; do
		prev=$(conns fwb)
		qt_wait_for 2 false
	done
	qt_log "filled in $((SECONDS - t0)) s: fwa $(conns fwa), fwb $(conns fwb)"
fi
qt_check "the standby holds every flow (replicated)" \
	qt_wait_for 30 conns_at_least fwb $((FLOWS + UDP_FLOWS + V6_FLOWS))
qt_log "fwa has $(conns fwa), fwb has $(conns fwb) connections"
out=$(round 1)
qt_check "every flow echoes through fwa ($out)" test "${out%% *}" = ok

# check_takeover WHAT N NS: round N passes and NS saw no INVALID, no NEW
# packet that is not a SYN and no unmarked packet since its counters were
# zeroed.
check_takeover() {
	local what=$1 n=$2 ns=$3 out inv newack newudp none est
	out=$(round "$n")
	qt_check "$what: every one of $FLOWS TCP, $UDP_FLOWS UDP and $V6_FLOWS IPv6 TCP flows goes on ($out)" \
		test "${out%% *}" = ok
	[ "${out%% *}" = ok ] && qt_log "$what: longest pause of a flow ${out#ok } s"
	inv=$(count "$ns" cnt-inv)
	newack=$(count "$ns" cnt-newack)
	newudp=$(count "$ns" cnt-newudp)
	none=$(count "$ns" cnt-none)
	est=$(count "$ns" cnt-est)
	qt_check "$what: no INVALID ($inv), no NEW without SYN ($newack), no NEW UDP ($newudp), none unmarked ($none)" \
		test "$inv" = 0 -a "$newack" = 0 -a "$newudp" = 0 -a "$none" = 0
	qt_check "$what: the flows passed as ESTABLISHED ($est)" \
		test "${est:-0}" -ge "$FLOWS"
	[ "$QUEUES" -gt 1 ] || return 0
	local q name=fwa was now
	[ "$ns" = "$NS_FWB" ] && name=fwb
	for ((q = 0; q < QUEUES; q++)); do
		was=$(cat "$QT_TMP/$name.q$q")
		now=$(qrecv $name $q)
		qt_check "$what: queue $q of $name passed packets ($((now - was)))" \
			test "$((now - was))" -gt 0
	done
}

# An FTP download in progress across the first failover.
qt_bg "$NS_CLI" /usr/bin/python3 "$QT_TMP/ftpget.py" 10.0.2.2 \
	"$QT_TMP/ftp/data.bin" "$QT_TMP/ftp.result" "$QT_TMP/ftp.started"
qt_wait_for 20 test -e "$QT_TMP/ftp.started"
ftp_data_on_fwb() {
	"$QTRACKCTL" --socket "$QT_TMP/fwb.sock" -L -p tcp --sport 50000 \
		2>/dev/null | grep -q . ||
		"$QTRACKCTL" --socket "$QT_TMP/fwb.sock" -L -p tcp \
			2>/dev/null | grep -q "dport=500[0-9][0-9] "
}
qt_check "the standby holds the FTP data connection" \
	qt_wait_for 10 ftp_data_on_fwb

# 2. SIGTERM to fwa's keepalived: fwb takes over.
zero "$NS_FWB"
mark 2
kill -TERM $KA_A
qt_check "fwb takes the gateway addresses" qt_wait_for 20 has_vip "$NS_FWB"
wait $KA_A
check_takeover "failover (keepalived stopped)" 2 "$NS_FWB"
qt_check "the FTP download in progress completes intact" \
	qt_wait_for 60 grep -q "^ok" "$QT_TMP/ftp.result"
[ -e "$QT_TMP/ftp.result" ] && qt_log "ftp: $(cat "$QT_TMP/ftp.result")"
qt_check "fwb's qtrackd is active" \
	qt_wait_for 10 grep -q "sync: now active" "$QT_TMP/fwb.log"
qt_check "fwa's qtrackd went standby and has fwb's table" \
	qt_wait_for 20 grep -q "standby has the peer's table" "$QT_TMP/fwa.log"

# 3. fwa's keepalived again: it preempts.
zero "$NS_FWA"
mark 3
start_keepalived fwa "$NS_FWA" 150
KA_A=$KA_PID
qt_check "fwa takes the addresses back (preemption)" \
	qt_wait_for 30 has_vip "$NS_FWA"
check_takeover "failback" 3 "$NS_FWA"

# 4. fwa's links go down.
zero "$NS_FWB"
qt_wait_for 20 grep -q "standby has the peer's table" "$QT_TMP/fwb.log"
mark 4
qt_ns "$NS_FWA" ip link set lan0 down
qt_ns "$NS_FWA" ip link set wan0 down
qt_check "fwb takes the addresses after fwa's links went down" \
	qt_wait_for 30 has_vip "$NS_FWB"
check_takeover "failover (links down)" 4 "$NS_FWB"

for fw in fwa fwb; do
	qt_check "qtrackd $fw still runs" kill -0 "$(cat "$QT_TMP/$fw.pid")"
	grep "sync:" "$QT_TMP/$fw.log" | sed "s/^/# $fw: /" | tail -n 8
done
kill "$CLIENT_PID" 2>/dev/null
for fw in fwa fwb; do
	kill -TERM "$(cat "$QT_TMP/$fw.pid")"
	wait "$(cat "$QT_TMP/$fw.pid")" 2>/dev/null
	grep "sync: .* messages" "$QT_TMP/$fw.log" | sed "s/^/# $fw: /"
done
qt_finish

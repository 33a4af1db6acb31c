#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_ftp.sh BUILD - RELATED FTP data connections through qtrackd.
#
# Topology of tests/e2e/lib.sh: client -- fw -- server.  The server runs
# pyftpdlib on port 21 (IPv4 and IPv6); qtrackd runs in fw in accept mode
# with `[helper] ftp = 21`, and fw's FORWARD chain lets through only NEW
# connections to port 21 and ESTABLISHED/RELATED packets, all decided by
# qtrackd's mark; everything else, NEW data connections included, is
# dropped.  curl fetches a file in each mode (PASV, EPSV, PORT, EPRT; EPSV
# and EPRT over IPv6) and the content is compared.
#
# In the same run the kernel's own conntrack tracks the very packets with
# its FTP helper (raw: -j CT --helper ftp) and writes its --ctstate and
# --ctdir into mark bits 0xf00/0x800 before the packet is queued; FORWARD
# counts every packet and those where the kernel's state and direction
# equal qtrackd's: the difference must be zero.
#
# Then again with the helper off in qtrackd: every transfer fails, the
# listing shows no expectation, and the comparison now counts mismatches
# (the kernel still says RELATED), which shows the counting can fail.
. "$(dirname "$0")/lib.sh"

qt_require_root
qt_require_cmd ip iptables ip6tables iptables-restore ip6tables-restore \
	curl socat ss timeout cmp conntrack
qt_require_daemon
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pyftpdlib' \
	2>/dev/null || qt_skip "needs /usr/bin/python3 with pyftpdlib"
QTRACKCTL=$QT_BUILD/tools/qtrackctl
qt_topo_setup

# ---- FTP server ----------------------------------------------------------

FTP_DIR=$QT_TMP/ftp
mkdir -p "$FTP_DIR"
head -c $((300 * 1024)) /dev/urandom >"$FTP_DIR/data.bin"

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
server = FTPServer((addr, 21), FTPHandler)
server.serve_forever()
EOF

qt_bg "$NS_SRV" timeout 900 /usr/bin/python3 "$QT_TMP/ftpd.py" $SRV4 \
	"$FTP_DIR" 2>>"$QT_TMP/ftpd.log"
qt_bg "$NS_SRV" timeout 900 /usr/bin/python3 "$QT_TMP/ftpd.py" $SRV6 \
	"$FTP_DIR" 2>>"$QT_TMP/ftpd.log"
qt_wait_for 10 qt_listening "$NS_SRV" tcp 21 ||
	{ qt_fail "FTP server did not start"; exit 1; }

# ---- rules ---------------------------------------------------------------

# Kernel state -> bits 0xf00 (NEW 0x100 ... UNTRACKED 0x500), reply 0x800;
# qtrackd's own bits (mask 0xff) are 0x1..0x5 and reply 0x10.
rules() {
	local helper=$1 s k
	local states=(NEW ESTABLISHED RELATED INVALID UNTRACKED)
	echo "*raw"
	echo ":PREROUTING ACCEPT [0:0]"
	echo ":OUTPUT ACCEPT [0:0]"
	[ "$helper" = 1 ] &&
		echo "-A PREROUTING -p tcp --dport 21 -j CT --helper ftp"
	echo "COMMIT"
	echo "*mangle"
	echo ":PREROUTING ACCEPT [0:0]"
	echo ":INPUT ACCEPT [0:0]"
	echo ":FORWARD ACCEPT [0:0]"
	echo ":OUTPUT ACCEPT [0:0]"
	echo ":POSTROUTING ACCEPT [0:0]"
	for k in 1 2 3 4 5; do
		echo "-A PREROUTING -m conntrack --ctstate ${states[k - 1]}" \
			"-j MARK --set-xmark 0x${k}00/0xf00"
	done
	echo "-A PREROUTING -m conntrack --ctdir REPLY" \
		"-j MARK --set-xmark 0x800/0x800"
	echo "-A PREROUTING ! -i lo -j NFQUEUE --queue-num 0"
	echo "COMMIT"
	echo "*filter"
	echo ":INPUT ACCEPT [0:0]"
	echo ":FORWARD DROP [0:0]"
	echo ":OUTPUT ACCEPT [0:0]"
	echo ":qt-cmp - [0:0]"
	# qt-cmp: the first rule counts all, each other rule one agreement:
	# kernel state s (0xs00) and qtrackd state s (0x0s), and both say
	# reply (0x800 and 0x10) or neither does.
	echo "-A qt-cmp -m comment --comment all"
	for s in 1 2 3 4 5; do
		printf -- '-A qt-cmp -m mark --mark 0x%x/0xf1f %s\n' \
			$((s << 8 | s)) "-m comment --comment agree-orig-$s" \
			$((0x800 | s << 8 | 0x10 | s)) \
			"-m comment --comment agree-reply-$s"
	done
	echo "-A FORWARD -j qt-cmp"
	echo "-A FORWARD -m mark --mark 0x3/0xef -m comment" \
		"--comment qt-related -j ACCEPT"
	echo "-A FORWARD -m mark --mark 0x2/0xef -j ACCEPT"
	echo "-A FORWARD -p tcp --dport 21 -m mark --mark 0x1/0xff -j ACCEPT"
	echo "COMMIT"
}

load_rules() {
	local ipt
	for ipt in iptables ip6tables; do
		rules 1 | qt_ns "$NS_FW" $ipt-restore ||
			{ qt_fail "loading $ipt rules"; return 1; }
	done
}

# counter FAMILY COMMENT: packets of the qt-cmp/FORWARD rule so labelled.
counter() {
	local ipt=iptables
	[ "$1" = 6 ] && ipt=ip6tables
	qt_ns "$NS_FW" $ipt -t filter -L "${3:-qt-cmp}" -v -x -n |
		awk -v c="/* $2 */" 'index($0, c) { print $1; exit }'
}

# mismatches FAMILY: packets where the kernel and qtrackd disagree.
mismatches() {
	local all agree=0 n s d
	all=$(counter "$1" all)
	for s in 1 2 3 4 5; do
		for d in orig reply; do
			n=$(counter "$1" "agree-$d-$s")
			agree=$((agree + ${n:-0}))
		done
	done
	echo $((${all:-0} - agree))
}

# ---- transfers -----------------------------------------------------------

# fetch FAMILY MODE: get data.bin with curl in MODE; succeeds only if the
# file arrived intact.
fetch() {
	local fam=$1 mode=$2 host opts=() out=$QT_TMP/got.$1.$2
	host=$(qt_addr "$fam" srv)
	case $mode in
	PASV) opts=(--ftp-pasv --disable-epsv) ;;
	EPSV) opts=(--ftp-pasv) ;;
	PORT) opts=(--ftp-port - --disable-eprt) ;;
	EPRT) opts=(--ftp-port -) ;;
	esac
	rm -f "$out"
	qt_ns "$NS_CLI" timeout 20 curl -s -"$fam" --connect-timeout 4 \
		--max-time 12 "${opts[@]}" -o "$out" \
		"ftp://$host/data.bin" || return 1
	cmp -s "$FTP_DIR/data.bin" "$out"
}

CASES="4:PASV 4:EPSV 4:PORT 4:EPRT 6:EPSV 6:EPRT"

expect_lines() {
	"$QTRACKCTL" -s "$QT_TMP/qtrackd.sock" expect 2>/dev/null
}

# expectation_listed FAMILY: a control connection made by hand logs in
# and sends EPSV, then waits; meanwhile `qtrackctl expect` must list the
# expectation exactly as the kernel's /proc/net/nf_conntrack_expect in fw
# lists its own (the timeout aside).
expectation_listed() {
	local fam=$1 l3=2 port line kline
	[ "$fam" = 6 ] && l3=10
	{
		printf 'USER anonymous\r\n'
		sleep 0.5
		printf 'PASS x\r\n'
		sleep 0.5
		printf 'EPSV\r\n'
		sleep 2
		printf 'QUIT\r\n'
	} | qt_ns "$NS_CLI" timeout 10 socat - \
		"TCP$fam:$(qt_addr "$fam" srv):21" >"$QT_TMP/ctl.$fam" 2>/dev/null &
	local pid=$!
	qt_wait_for 5 grep -q '^229 ' "$QT_TMP/ctl.$fam"
	port=$(sed -n 's/^229 .*(|||\([0-9]*\)|).*/\1/p' "$QT_TMP/ctl.$fam")
	line=$(expect_lines | grep " dport=${port:-none} ")
	# The kernel's FTP helper tracks the same session in fw.
	kline=$(qt_ns "$NS_FW" grep " dport=${port:-none} " \
		/proc/net/nf_conntrack_expect 2>/dev/null)
	wait $pid 2>/dev/null
	echo "$line" >"$QT_TMP/expect.$fam"
	echo "$kline" >"$QT_TMP/kexpect.$fam"
	# Equal to the kernel's own line but for the seconds left.
	[ "${line#* }" = "${kline#* }" ] || return 1
	# e.g. "299 l3proto = 2 proto=6 src=10.0.1.2 dst=10.0.2.2 sport=0
	# dport=50007 ftp"; IPv6 addresses in full, as the kernel's %pI6.
	[ -n "$port" ] && echo "$line" | grep -Eqx "[0-9]+ l3proto = $l3 proto=6 src=[0-9a-f.:]+ dst=[0-9a-f.:]+ sport=0 dport=$port ftp"
}

run() {
	local helper=$1 label fam mode c mm rel
	label="helper $([ "$helper" = 1 ] && echo on || echo off)"
	if [ "$helper" = 1 ]; then
		qt_conf "$QT_TMP/ftp.conf" accept "[helper]" "ftp = 21"
	else
		qt_conf "$QT_TMP/ftp.conf" accept
	fi
	load_rules 1 || return
	# Each run starts from an empty table: the first run's state file
	# would bring back its expectations.
	rm -f "$QT_TMP/state"
	qt_daemon_start "$QT_TMP/ftp.conf" || return

	for c in $CASES; do
		fam=${c%%:*}
		mode=${c#*:}
		if [ "$helper" = 1 ]; then
			qt_check "$label: IPv$fam $mode transfer, content intact" \
				fetch "$fam" "$mode"
		else
			qt_check_not "$label: IPv$fam $mode transfer is blocked" \
				fetch "$fam" "$mode"
		fi
	done

	if [ "$helper" = 1 ]; then
		for fam in 4 6; do
			c="$label: IPv$fam qtrackctl expect lists the EPSV"
			if expectation_listed $fam; then
				qt_pass "$c expectation: $(cat "$QT_TMP/expect.$fam")"
			else
				qt_fail "$c expectation: got '$(cat "$QT_TMP/expect.$fam")', kernel '$(cat "$QT_TMP/kexpect.$fam")'"
				tr -d '\r' <"$QT_TMP/ctl.$fam" | sed 's/^/# ftp: /'
			fi
		done
		qt_check "$label: conntrack listing shows helper=ftp" \
			sh -c "'$QTRACKCTL' -s '$QT_TMP/qtrackd.sock' list 2>/dev/null | grep -q 'dport=21 .*helper=ftp'"
	else
		qt_check "$label: qtrackctl expect lists nothing" \
			test -z "$(expect_lines)"
	fi

	for fam in 4 6; do
		mm=$(mismatches $fam)
		rel=$(counter $fam qt-related FORWARD)
		if [ "$helper" = 1 ]; then
			qt_check "$label: IPv$fam RELATED packets passed (${rel:-0})" \
				test "${rel:-0}" -gt 0
			qt_check "$label: IPv$fam all $(counter $fam all) packets: kernel state == qtrackd state (mismatches $mm)" \
				test "$mm" -eq 0
		else
			qt_check "$label: IPv$fam no RELATED packets" \
				test "${rel:-0}" -eq 0
			qt_check "$label: IPv$fam the comparison sees the difference (mismatches $mm)" \
				test "$mm" -gt 0
		fi
	done
	qt_check "$label: qtrackd still running" qt_daemon_alive
	qt_check "$label: qtrackd exits 0 on SIGTERM" qt_daemon_stop
	for ipt in iptables ip6tables; do
		qt_ns "$NS_FW" $ipt -t raw -F
		qt_ns "$NS_FW" $ipt -t mangle -F
		qt_ns "$NS_FW" $ipt -t filter -F
		qt_ns "$NS_FW" $ipt -t filter -X
	done
	qt_ns "$NS_FW" conntrack -F >/dev/null 2>&1
}

run 1
run 0
qt_finish

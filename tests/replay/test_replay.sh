#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_replay.sh BUILD_DIR - golden tests for qtrack-replay.
#
# Generates the captures (fixed timestamps: byte-identical every run), runs
# qtrack-replay on each case of tests/replay/cases, replaces the timeout
# column of the final table with '*' and diffs against expected/<case>.txt.
# Also checks the JSON output against the text output, the link types not
# covered by the generated files, and the error exits.
set -u

BUILD=${1:?usage: test_replay.sh BUILD_DIR}
SRC=${QT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$SRC/tests/replay
REPLAY=$BUILD/tools/qtrack-replay
PY=/usr/bin/python3
KSFT_SKIP=4

if [ ! -x "$REPLAY" ]; then
	echo "FAIL: $REPLAY not built"
	exit 1
fi
if ! "$PY" -c 'import scapy' 2>/dev/null; then
	echo "SKIP: $PY with scapy (python3-scapy) not available"
	exit $KSFT_SKIP
fi

TMP=$(mktemp -d)
cleanup() {
	rm -rf "$TMP"
}
trap cleanup EXIT

"$PY" "$HERE/gen_pcaps.py" "$TMP" >/dev/null || {
	echo "FAIL: gen_pcaps.py"
	exit 1
}

pass=0
fail=0
ok() {
	echo "PASS: $1"
	pass=$((pass + 1))
}
ko() {
	echo "FAIL: $1"
	fail=$((fail + 1))
}

# The timeout left depends on nothing but the capture, yet the golden
# files say what state each entry is in, not how many seconds it has.
normalise() {
	sed -E 's/^([a-z0-9]+ +[0-9]+ )[0-9]+ /\1* /'
}

while read -r name pcap conf; do
	case $name in '' | '#'*) continue ;; esac
	args=()
	[ -n "${conf:-}" ] && args=(-c "$HERE/$conf")
	"$REPLAY" "${args[@]}" "$TMP/$pcap.pcap" >"$TMP/$name.raw" \
		2>"$TMP/$name.err"
	rc=$?
	# Anything on stderr (a sanitizer report) is a failure too.
	if [ $rc -ne 0 ] || [ -s "$TMP/$name.err" ]; then
		ko "$name (qtrack-replay exited $rc: $(cat "$TMP/$name.err"))"
		continue
	fi
	normalise <"$TMP/$name.raw" >"$TMP/$name.out"
	if diff -u "$HERE/expected/$name.txt" "$TMP/$name.out" \
		>"$TMP/$name.diff"; then
		ok "$name"
	else
		ko "$name"
		cat "$TMP/$name.diff"
	fi

	# -o json: one object per line, the same states, directions and
	# connections as the text output.
	if "$REPLAY" "${args[@]}" -o json "$TMP/$pcap.pcap" >"$TMP/$name.json" &&
		"$PY" - "$TMP/$name.json" "$TMP/$name.raw" <<'PYEOF'; then
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
text = open(sys.argv[2]).read().split("\n\n", 1)
plines = [l.split() for l in text[0].splitlines() if l]
tlines = [l for l in text[1].splitlines() if l]
pk = [o for o in objs if o["type"] == "packet"]
cs = [o for o in objs if o["type"] == "conn"]
assert len(pk) == len(plines), "packet count"
for o, l in zip(pk, plines):
    assert str(o["n"]) == l[0] and o["state"] == l[2] and o["dir"] == l[3], l
assert len(cs) == len(tlines), "table size"
for o, l in zip(cs, tlines):
    assert "src=%s" % o["conn"]["orig"]["src"] in l, l
PYEOF
		ok "$name -o json"
	else
		ko "$name -o json"
	fi
done <"$HERE/cases"

# Link types the generated files do not use: DLT_IPV6 (229) and DLT_IPV4
# (228) carry the same bytes as LINKTYPE_RAW, so the answers must not change.
for lt in 228 229; do
	"$PY" - "$TMP/ipv6_ext.pcap" "$TMP/lt$lt.pcap" "$lt" <<'PYEOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
d[20:24] = struct.pack("<I", int(sys.argv[3]))
open(sys.argv[2], "wb").write(d)
PYEOF
	if "$REPLAY" "$TMP/lt$lt.pcap" | normalise |
		diff -u "$HERE/expected/ipv6_ext.txt" - >/dev/null; then
		ok "link type $lt"
	else
		ko "link type $lt"
	fi
done

# -C verifies checksums as qtrackd does for received packets: the
# generated captures are correct, so the answers must not change; the same
# handshake with the SYN/ACK's TCP checksum broken gives bad-checksum for
# it, and only with -C.
if "$REPLAY" -C "$TMP/tcp_handshake_close.pcap" | normalise |
	diff -u "$HERE/expected/tcp_handshake_close.txt" - >/dev/null; then
	ok "-C on correct checksums"
else
	ko "-C on correct checksums"
fi
"$PY" - "$TMP/tcp_handshake_close.pcap" "$TMP/badsum.pcap" <<'PYEOF'
import sys
from scapy.all import rdpcap, wrpcap, TCP
pkts = rdpcap(sys.argv[1])
for p in pkts:
    if TCP in p and p[TCP].flags == "SA":
        p[TCP].chksum ^= 0x1234
        break
wrpcap(sys.argv[2], pkts)
PYEOF
if "$REPLAY" -C "$TMP/badsum.pcap" | grep -q "INVALID.*reason=bad-checksum" &&
	! "$REPLAY" "$TMP/badsum.pcap" | grep -q "bad-checksum"; then
	ok "-C finds a wrong checksum"
else
	ko "-C finds a wrong checksum"
fi

# Errors: exit 1 with a clear message.
"$PY" - "$TMP/ping.pcap" "$TMP/lt147.pcap" <<'PYEOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
d[20:24] = struct.pack("<I", 147)
open(sys.argv[2], "wb").write(d)
PYEOF
"$REPLAY" "$TMP/lt147.pcap" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "unsupported link type 147" "$TMP/err"; then
	ok "unsupported link type"
else
	ko "unsupported link type (exit $rc: $(cat "$TMP/err"))"
fi

"$REPLAY" "$TMP/does-not-exist.pcap" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "does-not-exist.pcap" "$TMP/err"; then
	ok "missing capture"
else
	ko "missing capture (exit $rc)"
fi

printf '[udp]\ntimeout = 30\n\n[tcp]\nloose = maybe\n' >"$TMP/bad.conf"
"$REPLAY" -c "$TMP/bad.conf" "$TMP/ping.pcap" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "^$TMP/bad.conf:5: \[tcp\] loose: " "$TMP/err"; then
	ok "bad config"
else
	ko "bad config (exit $rc: $(cat "$TMP/err"))"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

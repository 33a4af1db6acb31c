#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_badconf.sh BUILD - `qtrackd -n` checks configurations.
#
# Every tests/conf/bad/*.conf is rejected with exit status 1 and exactly the
# message listed for it in tests/conf/bad/expected.txt; good files pass,
# `-n -v` prints a normalised configuration that checks again and prints
# the same; a missing -c file is an error naming the file.  Started for
# real (no -n), qtrackd says why it cannot start on standard error, with
# no syslog involved: that is what a container or the journal shows.
# Needs neither root nor namespaces.
. "$(dirname "$0")/lib.sh"

qt_require_daemon
bad=$QT_SRC/tests/conf/bad
[ -f "$bad/expected.txt" ] || { qt_fail "$bad/expected.txt missing"; exit 1; }

n=0
for f in "$bad"/*.conf; do
	name=$(basename "$f")
	want=$(awk -v p="$name:" 'index($0, p) == 1 { print; exit }' \
		"$bad/expected.txt")
	if [ -z "$want" ]; then
		qt_fail "$name: no line in expected.txt"
		continue
	fi
	# Run from the directory so messages carry the bare file name.
	got=$(cd "$bad" && "$QTRACKD" -n -c "$name" 2>&1 >/dev/null)
	rc=$?
	n=$((n + 1))
	if [ $rc -eq 1 ] && [ "$got" = "$want" ]; then
		qt_pass "$name: exit 1, '$got'"
	else
		qt_fail "$name: exit $rc, got '$got', want '$want'"
	fi
done
qt_check "checked at least one bad file ($n)" test $n -gt 0

printf '[udp]\ntimeout = 2m\n[queue]\nmode = repeat\n' >"$QT_TMP/good.conf"
qt_check "a good file: -n exits 0 silently" \
	test -z "$("$QTRACKD" -n -c "$QT_TMP/good.conf" 2>&1)"
"$QTRACKD" -n -v -c "$QT_TMP/good.conf" >"$QT_TMP/norm1.conf"
qt_check "-n -v: exit 0" test $? -eq 0
qt_check "-n -v: durations normalised to seconds" \
	grep -qx "timeout = 120" "$QT_TMP/norm1.conf"
qt_check "-n -v: the mode is kept" grep -qx "mode = repeat" "$QT_TMP/norm1.conf"
"$QTRACKD" -n -v -c "$QT_TMP/norm1.conf" >"$QT_TMP/norm2.conf"
qt_check "-n -v output checks and prints itself again" \
	cmp -s "$QT_TMP/norm1.conf" "$QT_TMP/norm2.conf"
if [ -f "$QT_SRC/conf/qtrackd.conf" ]; then
	qt_check "the shipped conf/qtrackd.conf checks" \
		"$QTRACKD" -n -c "$QT_SRC/conf/qtrackd.conf"
fi

got=$("$QTRACKD" -n -c "$QT_TMP/nonexistent.conf" 2>&1)
rc=$?
qt_check "missing -c file: exit 1" test $rc -eq 1
qt_check "missing -c file: 'cannot read FILE: reason'" test \
	"$got" = "cannot read $QT_TMP/nonexistent.conf: No such file or directory"
if [ ! -e /etc/qtrack/qtrackd.conf ]; then
	qt_check "missing default file: defaults, exit 0" "$QTRACKD" -n
fi
# The daemon itself, not the checker: the error reaches standard error
# (journal-less containers, a terminal) and the status is 1.
got=$("$QTRACKD" -c "$QT_TMP/nonexistent.conf" 2>&1 >/dev/null)
rc=$?
qt_check "daemon, missing -c file: exit 1" test $rc -eq 1
qt_check "daemon, missing -c file: the reason on stderr ('$got')" test \
	"$got" = "qtrackd: cannot read $QT_TMP/nonexistent.conf: No such file or directory"
printf '[queue]\nbogus = 1\n' >"$QT_TMP/badkey.conf"
got=$("$QTRACKD" -c "$QT_TMP/badkey.conf" 2>&1 >/dev/null)
rc=$?
qt_check "daemon, unknown key: exit 1" test $rc -eq 1
qt_check "daemon, unknown key: file, line and key on stderr ('$got')" test \
	"$got" = "qtrackd: $QT_TMP/badkey.conf:2: [queue] bogus: unknown key"
# Under systemd stderr is the journal's stream: the line carries its
# syslog priority (2, LOG_CRIT, for a fatal error) instead of the name.
: >"$QT_TMP/journal"
JOURNAL_STREAM=$(stat -c '%d:%i' "$QT_TMP/journal") \
	"$QTRACKD" -c "$QT_TMP/badkey.conf" 2>"$QT_TMP/journal"
got=$(cat "$QT_TMP/journal")
qt_check "daemon, stderr is the journal: '<2>' priority prefix ('$got')" \
	test "$got" = "<2>$QT_TMP/badkey.conf:2: [queue] bogus: unknown key"

"$QTRACKD" -x >/dev/null 2>&1
qt_check "unknown option: exit 1" test $? -eq 1
got=$("$QTRACKD" -h 2>/dev/null)
rc=$?
qt_check "-h: exit 0" test $rc -eq 0
qt_check "-h: usage on stdout" test \
	"$got" = "usage: qtrackd [-c FILE] [-d] [-n [-v]] [-h]"
qt_finish

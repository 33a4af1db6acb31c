#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test_valgrind.sh BUILD - run test_stateful.sh with qtrackd under valgrind
# memcheck: any memory error (uninitialised bytes handed to the kernel,
# invalid reads) or definitely/indirectly lost memory makes valgrind exit
# 9, which test_stateful.sh sees as an unclean SIGTERM exit.  Skipped
# (exit 4) without valgrind or in a sanitizer build (ASan and valgrind do
# not mix).
set -u

BUILD=${1:?usage: test_valgrind.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
SRC=${QT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
KSFT_SKIP=4

if ! command -v valgrind >/dev/null; then
	echo "SKIP: valgrind not installed"
	exit $KSFT_SKIP
fi
if [ ! -x "$BUILD/daemon/qtrackd" ]; then
	echo "SKIP: qtrackd not built"
	exit $KSFT_SKIP
fi
if nm "$BUILD/daemon/qtrackd" 2>/dev/null | grep -q '__asan_init\|__tsan_init'; then
	echo "SKIP: sanitizer build"
	exit $KSFT_SKIP
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/build/daemon"
ln -s "$BUILD/tools" "$TMP/build/tools"
cat >"$TMP/build/daemon/qtrackd" <<WRAP
#!/bin/sh
exec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
	--log-file=$TMP/vg.%p.log "$BUILD/daemon/qtrackd" "\$@"
WRAP
chmod +x "$TMP/build/daemon/qtrackd"

QT_SRC=$SRC bash "$SRC/tests/e2e/test_stateful.sh" "$TMP/build"
rc=$?
for f in "$TMP"/vg.*.log; do
	[ -s "$f" ] || continue
	echo "FAIL: valgrind report $f:"
	cat "$f"
	[ $rc -eq 0 ] && rc=1
done
exit $rc

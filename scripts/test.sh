#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test.sh - build qtrack and run every test stage:
#   1. build/       gcc, -Werror, ctest (unit, replay, e2e, conformance)
#   2. build-san/   clang ASan+UBSan, ctest -L 'unit|replay'
#   3. build-fuzz/  clang libFuzzer, ctest -L fuzz
#   4. qtrack-bench -c 1000 smoke runs, IPv4 and IPv6 (-6), and a short
#      qtrack-memprobe run
# Knobs: QT_FUZZ_SECONDS (default 30), QT_SKIP_SAN=1, QT_SKIP_FUZZ=1.
set -u

cd "$(dirname "$(readlink -f "$0")")/.." || exit 1
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

qt_need_root "$@"
qt_install_deps

JOBS=$(nproc 2>/dev/null || echo 2)
STAGES=()
RESULTS=()

summary() {
	local i p=0 f=0 s=0

	echo
	echo "==== test.sh summary ===="
	for i in "${!STAGES[@]}"; do
		printf '  %-28s %s\n' "${STAGES[$i]}" "${RESULTS[$i]}"
		case ${RESULTS[$i]} in
		PASS) p=$((p + 1)) ;;
		FAIL) f=$((f + 1)) ;;
		*) s=$((s + 1)) ;;
		esac
	done
	echo "stages: $p passed, $f failed, $s skipped"
}

# run_stage NAME CMD...: run one stage; on failure print the summary and
# stop, so the first broken stage is the last thing on the screen.
run_stage() {
	local name=$1
	shift
	qt_log "stage: $name"
	if "$@"; then
		STAGES+=("$name")
		RESULTS+=("PASS")
	else
		STAGES+=("$name")
		RESULTS+=("FAIL")
		summary
		echo
		echo "FAILED at stage '$name'"
		exit 1
	fi
}

skip_stage() {
	STAGES+=("$1")
	RESULTS+=("SKIP ($2)")
	qt_log "stage: $1 skipped ($2)"
}

stage_build() {
	rm -rf build &&
		cmake -S . -B build -DQT_WERROR=ON \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo &&
		cmake --build build -j"$JOBS"
}

stage_ctest() {
	ctest --test-dir build --output-on-failure
}

stage_san_build() {
	rm -rf build-san &&
		CC=clang cmake -S . -B build-san -DQT_SANITIZE=ON -DQT_WERROR=ON \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo &&
		cmake --build build-san -j"$JOBS"
}

stage_san_ctest() {
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir build-san --output-on-failure -L 'unit|replay'
}

stage_fuzz_build() {
	rm -rf build-fuzz &&
		CC=clang cmake -S . -B build-fuzz -DQT_FUZZ=ON -DQT_SANITIZE=ON \
			-DQT_FUZZ_SECONDS="${QT_FUZZ_SECONDS:-30}" \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo &&
		cmake --build build-fuzz -j"$JOBS"
}

stage_fuzz_ctest() {
	ctest --test-dir build-fuzz --output-on-failure -L fuzz
}

stage_bench() {
	build/tools/qtrack-bench -c 1000 &&
		build/tools/qtrack-bench -6 -c 1000 &&
		build/bench/qtrack-memprobe -s 1,4 -n 65536 &&
		build/bench/qtrack-memprobe -l pages -s 1,4 -n 65536 &&
		build/bench/qtrack-memprobe -l none -m -s 1,4 -n 65536 &&
		build/bench/qtrack-memprobe -a 16 -w 5 -s 1,4 -n 65536
}

run_stage "build (gcc, -Werror)" stage_build
run_stage "ctest (all labels)" stage_ctest

if [ "${QT_SKIP_SAN:-0}" = 1 ]; then
	skip_stage "sanitizer build" "QT_SKIP_SAN=1"
else
	run_stage "sanitizer build (clang)" stage_san_build
	run_stage "sanitizer ctest unit|replay" stage_san_ctest
fi

if [ "${QT_SKIP_FUZZ:-0}" = 1 ]; then
	skip_stage "fuzz" "QT_SKIP_FUZZ=1"
elif ! ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
	skip_stage "fuzz" "no fuzz targets yet"
else
	run_stage "fuzz build (libFuzzer)" stage_fuzz_build
	run_stage "fuzz ctest (${QT_FUZZ_SECONDS:-30}s each)" stage_fuzz_ctest
fi

if [ -x build/tools/qtrack-bench ]; then
	run_stage "bench smoke (-c 1000, IPv4 and -6; memprobe)" stage_bench
else
	skip_stage "bench smoke" "qtrack-bench not built yet"
fi

summary
echo
echo "all stages passed"

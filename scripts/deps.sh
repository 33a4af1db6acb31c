# SPDX-License-Identifier: GPL-2.0-or-later
# deps.sh - shared helpers for demo.sh and test.sh; source it, do not run it.
#
# qt_need_root "$@"   re-exec the calling script as root (via sudo)
# qt_install_deps     install the Debian 12 packages qtrack needs, only those
#                     that are missing

# Everything qtrack builds against or its tests drive.  All exist in
# Debian 12 (bookworm); libclang-rt-14-dev holds clang's ASan/UBSan and
# libFuzzer runtimes.
QT_DEPS="build-essential cmake pkg-config clang libclang-rt-14-dev
libnetfilter-queue-dev libmnl-dev libnfnetlink-dev libev-dev libinih-dev
libpcap-dev libsystemd-dev libcmocka-dev iptables conntrack iproute2 socat
iputils-ping python3-scapy python3-pyftpdlib lftp procps kmod tcpdump valgrind
systemd-container keepalived nftables libnftnl-dev iperf3"

qt_log() {
	printf '==> %s\n' "$*"
}

qt_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Tests create network namespaces and iptables rules and install packages,
# so the scripts need root.  Started by someone else they ask sudo once.
qt_need_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	if command -v sudo >/dev/null 2>&1; then
		qt_log "root needed: re-running under sudo"
		exec sudo -- "$0" "$@"
	fi
	qt_die "this script needs root and sudo is not installed; run it as root, e.g. su -c '$0'"
}

qt_pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
		grep -q 'install ok installed'
}

qt_install_deps() {
	missing=""
	for p in $QT_DEPS; do
		qt_pkg_installed "$p" || missing="$missing $p"
	done
	if [ -z "$missing" ]; then
		qt_log "all Debian packages present"
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 ||
		qt_die "missing packages:$missing (and no apt-get to install them)"
	qt_log "installing:$missing"
	apt-get update || qt_die "apt-get update failed"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends $missing ||
		qt_die "apt-get install failed for:$missing"
}

# SPDX-License-Identifier: GPL-2.0-or-later
# container.sh - boot the host's own systemd in a throwaway container with
# qtrack installed as a package would install it, to test the shipped unit
# under a real service manager.  Source it after lib.sh.
#
# The host's / is bind-mounted (not recursively) onto an empty directory in
# a private mount namespace and booted with systemd-nspawn
# --volatile=overlay: a tmpfs takes every write, so nothing reaches the
# host.  The build is installed with prefix /usr into a staging root whose
# files are bound in; /etc/qtrack is a writable copy the test edits from
# outside ($QT_CT_ETC).  --private-network gives the container its own
# network namespace, so rule sets and traffic stay inside it.
#
#   qt_ct_boot            boot; skips (exit 4) where a container cannot boot
#   qt_ct CMD...          run CMD inside (all namespaces, clean environment)
#   qt_ct_poweroff        stop it (also done by the EXIT trap)

QT_CT_NAME=qtrack-$QT_RND
QT_CT_ROOT=$QT_TMP/ctroot
QT_CT_STAGE=$QT_TMP/stage
QT_CT_ETC=$QT_TMP/etc-qtrack
QT_CT_NSPAWN=
QT_CT_PID1=
QT_CT_CGROUPS=()

# The container's PID 1: the child of the nspawn process named systemd.
qt_ct_find_pid1() {
	local p
	for p in $(pgrep -P "$QT_CT_NSPAWN" 2>/dev/null); do
		if [ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd ]; then
			QT_CT_PID1=$p
			return 0
		fi
	done
	return 1
}

qt_ct() {
	nsenter -t "$QT_CT_PID1" -m -u -i -n -p -C -- \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

qt_ct_booted() {
	qt_ct test -S /run/systemd/private
}

qt_ct_cleanup() {
	local cg
	if [ -n "$QT_CT_NSPAWN" ] && kill -0 "$QT_CT_NSPAWN" 2>/dev/null; then
		[ -n "$QT_CT_PID1" ] && qt_ct systemctl poweroff 2>/dev/null
		qt_wait_for 20 sh -c "! kill -0 $QT_CT_NSPAWN" ||
			kill -KILL "$QT_CT_NSPAWN" 2>/dev/null
		wait "$QT_CT_NSPAWN" 2>/dev/null
	fi
	QT_CT_NSPAWN=
	# Depth first: the container's own cgroups, then ours.
	for cg in "${QT_CT_CGROUPS[@]}"; do
		[ -d "$cg" ] || continue
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	done
}

qt_ct_poweroff() {
	qt_ct_cleanup
}

# Stage the installed files and boot.  Extra arguments go to nspawn.
qt_ct_boot() {
	local hier cg rc ctl
	qt_require_cmd systemd-nspawn nsenter unshare cmake pgrep
	DESTDIR=$QT_CT_STAGE cmake --install "$QT_BUILD" --prefix /usr \
		>/dev/null || { qt_fail "cmake --install"; exit 1; }
	ctl=usr/bin/qtrackctl
	[ -e "$QT_CT_STAGE/$ctl" ] || ctl=usr/sbin/qtrackctl
	mkdir -p "$QT_CT_ROOT" "$QT_CT_ETC"
	cp "$QT_CT_STAGE"/etc/qtrack/* "$QT_CT_ETC"/ 2>/dev/null
	chmod 755 "$QT_TMP" "$QT_CT_ETC"
	chmod 644 "$QT_CT_ETC"/* 2>/dev/null
	trap 'qt_ct_cleanup; qt_cleanup' EXIT

	# A cgroup of our own in each hierarchy the host has (no systemd on
	# the host to give nspawn one).
	for hier in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
		[ -d "$hier" ] || continue
		cg=$hier/$QT_CT_NAME
		mkdir "$cg" 2>/dev/null || continue
		QT_CT_CGROUPS+=("$cg")
	done
	(
		for cg in "${QT_CT_CGROUPS[@]}"; do
			echo "$BASHPID" >"$cg/cgroup.procs"
		done
		exec unshare -m --propagation private sh -c \
			'mount --bind / "$1" && shift && exec "$@"' sh \
			"$QT_CT_ROOT" \
			systemd-nspawn -q -D "$QT_CT_ROOT" --volatile=overlay \
			--register=no --keep-unit --private-network \
			-M "$QT_CT_NAME" \
			--bind-ro="$QT_CT_STAGE/usr/sbin/qtrackd:/usr/sbin/qtrackd" \
			--bind-ro="$QT_CT_STAGE/$ctl:/$ctl" \
			--bind-ro="$QT_CT_STAGE/usr/lib/systemd/system/qtrackd.service:/usr/lib/systemd/system/qtrackd.service" \
			--bind-ro="$QT_CT_STAGE/usr/lib/sysusers.d/qtrack.conf:/usr/lib/sysusers.d/qtrack.conf" \
			--bind="$QT_CT_ETC:/etc/qtrack" \
			"$@" \
			-b -- systemd.mask=console-getty.service \
			systemd.mask=postgresql.service \
			systemd.mask=e2scrub_reap.service \
			systemd.mask=systemd-timesyncd.service \
			systemd.mask=apt-daily.timer \
			systemd.mask=apt-daily-upgrade.timer \
			systemd.mask=man-db.timer \
			systemd.mask=getty@tty1.service
	) >"$QT_TMP/nspawn.log" 2>&1 </dev/null &
	QT_CT_NSPAWN=$!
	if ! qt_wait_for 30 qt_ct_find_pid1; then
		cat "$QT_TMP/nspawn.log" | sed 's/^/# nspawn: /'
		qt_skip "the container does not boot here"
	fi
	qt_wait_for 30 qt_ct_booted ||
		qt_skip "the container's systemd does not come up"
	rc=$(qt_ct systemctl is-system-running --wait 2>/dev/null)
	qt_log "container $QT_CT_NAME booted: $rc"
}

# SPDX-License-Identifier: GPL-2.0-or-later
# bench/lib.sh - shared by the benchmark scripts (sourced): the
# cli -- fw -- srv topology, in the namespaces named by $CLI, $FW, $SRV
# (background processes to stop at exit are collected in $pids):
#   cli 10.9.1.2 -- 10.9.1.1 fw 10.9.2.1 -- 10.9.2.2 srv

# cleanup: stop the background processes in $pids and remove the
# namespaces.
cleanup() {
	local p ns
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pids=()
	for ns in $CLI $FW $SRV; do ip netns del "$ns" 2>/dev/null; done
}

# ns NAME CMD...: run CMD in namespace NAME.
ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

# topo: make the three namespaces, the veth pairs, addresses and routes;
# forwarding on in fw.  Exits 4 (skip) if namespaces cannot be made.
topo() {
	local n
	for n in $CLI $FW $SRV; do
		ip netns add $n || exit 4
		ns $n ip link set lo up
	done
	ip link add c0 netns $CLI type veth peer name f0 netns $FW
	ip link add s0 netns $SRV type veth peer name f1 netns $FW
	ns $CLI ip addr add 10.9.1.2/24 dev c0
	ns $SRV ip addr add 10.9.2.2/24 dev s0
	ns $FW ip addr add 10.9.1.1/24 dev f0
	ns $FW ip addr add 10.9.2.1/24 dev f1
	for n in "$CLI c0" "$SRV s0" "$FW f0" "$FW f1"; do
		set -- $n
		ns $1 ip link set $2 up
	done
	ns $CLI ip route add default via 10.9.1.1
	ns $SRV ip route add default via 10.9.2.1
	ns $FW sysctl -qw net.ipv4.ip_forward=1
}

# shellcheck shell=bash
# The lab's topology, sourced by tests/lab/lab: `lab up` builds the
# namespaces, links and addresses (docs/lab.md) and starts the daemons;
# `lab down` removes everything of a prefix.

# ---------------------------------------------------------------- up

build_netns() {
	local ns=$1
	ip netns add "$ns"
	# DAD off before any link exists, so link-local addresses are usable at once too.
	in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n "$ns" link set lo up
}

# veth NS_A NAME_A NS_B NAME_B: created directly inside the namespaces, so
# nothing ever appears in the root namespace.
veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
}

# Offloads on the switch-side end of a gateway link: it receives
# XDP-redirected frames, so it needs an XDP program or GRO (MACHINE-NOTES);
# with GRO alone those frames sat ~50 ms before delivery, with a pass-only
# XDP program ~0.1 ms, so the program is used when built. Reflected frames
# need tx checksums done in software (an XDP rewrite breaks partial ones).
peer_offloads() {
	in_ns "$1" ethtool -K "$2" tx off gro on >/dev/null
	if [[ -r $ROOT/build/lab/xdp_pass.bpf.o ]]; then
		ip -n "$1" link set dev "$2" xdpdrv obj "$ROOT/build/lab/xdp_pass.bpf.o" sec xdp
	fi
}

build_site() {
	local k=$1 s n sw gw h ns o
	s=$(letter_of "$k")
	n=$(net_of "$k")
	sw=$P-$s-sw
	gw=$P-$s-gw

	ip -n "$sw" link add br0 type bridge mcast_snooping 0
	ip -n "$sw" link set br0 up

	veth "$gw" int0 "$sw" gw-int0
	veth "$gw" ext0 "$P-wan" "$s-ext0"
	ip -n "$sw" link set gw-int0 master br0 up
	ip -n "$P-wan" link set "$s-ext0" master br0 up
	peer_offloads "$sw" gw-int0
	peer_offloads "$P-wan" "$s-ext0"

	ip -n "$gw" addr add "10.$n.0.1/24" dev int0
	ip -n "$gw" addr add "fd00:$n::1/64" dev int0 nodad
	ip -n "$gw" addr add "10.255.0.$k/24" dev ext0
	in_ns "$gw" ethtool -K int0 tx off >/dev/null
	in_ns "$gw" ethtool -K ext0 tx off >/dev/null
	in_ns "$gw" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.int0.rp_filter=0 net.ipv4.conf.ext0.rp_filter=0 \
		net.ipv4.conf.all.accept_local=1 net.ipv4.conf.int0.accept_local=1 \
		net.ipv4.conf.ext0.accept_local=1
	ip -n "$gw" link set int0 up
	ip -n "$gw" link set ext0 up

	for h in client backend1 backend2; do
		ns=$P-$s-$h
		o=$(host_octet "$h")
		veth "$ns" eth0 "$sw" "$h"
		ip -n "$sw" link set "$h" master br0 up
		in_ns "$ns" ethtool -K eth0 tx off >/dev/null
		ip -n "$ns" addr add "10.$n.0.$o/24" dev eth0
		ip -n "$ns" addr add "fd00:$n::$o/64" dev eth0 nodad
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via "10.$n.0.1"
		ip -n "$ns" -6 route add default via "fd00:$n::1"
	done
}

build_etcd_ns() {
	local i=$1 ns=$P-etcd$1
	veth "$ns" eth0 "$P-wan" "etcd$i"
	ip -n "$P-wan" link set "etcd$i" master br0 up
	ip -n "$ns" addr add "$(etcd_ip "$i")/24" dev eth0
	ip -n "$ns" link set eth0 up
}

# EXIT trap of `lab up`: any failure or signal before the end, even while the
# summary is printed, undoes everything, so `lab up` either succeeds with the
# whole lab up or leaves nothing. Further signals cannot cut the teardown short.
up_cleanup() {
	local rc=$?
	trap '' INT TERM
	trap - EXIT
	if ((rc != 0)); then
		set +e
		note "lab up failed (status $rc): tearing down $P"
		do_down >&2
	fi
	exit "$rc"
}

cmd_up() {
	local sites=$1 prefix=$2 k s h i t t0 notes=() why
	[[ $sites =~ ^[1-9]$ ]] || die "--sites must be 1..9, got '$sites'"
	for t in ip nsenter setsid ethtool nginx etcd etcdctl curl jq; do
		command -v "$t" >/dev/null || die "missing tool: $t (make deps)"
	done
	if [[ -n $prefix ]]; then
		valid_prefix "$prefix" || die "bad prefix '$prefix': 1-12 characters [a-z0-9], starting with a letter"
	else
		prefix=$(new_prefix)
	fi
	P=$prefix
	RUN=$STATE_BASE/$P
	# mkdir claims the prefix atomically against a concurrent `lab up`.
	if [[ -n $(prefix_netns "$P") ]] || ! mkdir "$RUN" 2>/dev/null; then
		die "prefix $P is in use (run: lab down --prefix $P)"
	fi
	t0=$(now_ms)
	trap up_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	mkdir -p "$RUN/pids" "$RUN/logs"
	echo "$sites" >"$RUN/sites"

	build_netns "$P-wan"
	ip -n "$P-wan" link add br0 type bridge mcast_snooping 0
	ip -n "$P-wan" link set br0 up
	for ((i = 1; i <= ETCD_COUNT; i++)); do
		build_netns "$P-etcd$i"
		build_etcd_ns "$i"
	done
	for ((k = 1; k <= sites; k++)); do
		s=$(letter_of "$k")
		for h in "${SITE_HOSTS[@]}"; do
			build_netns "$P-$s-$h"
		done
		build_site "$k"
	done

	# Daemons: etcd first (its election takes longest), then the backends.
	for ((i = 1; i <= ETCD_COUNT; i++)); do
		start_etcd "$i"
	done
	for ((k = 1; k <= sites; k++)); do
		s=$(letter_of "$k")
		start_nginx "$s" backend1
		start_nginx "$s" backend2
	done
	for ((k = 1; k <= sites; k++)); do
		s=$(letter_of "$k")
		wait_nginx "$s" backend1
		wait_nginx "$s" backend2
	done
	wait_etcd

	for ((k = 1; k <= sites; k++)); do
		s=$(letter_of "$k")
		why=$(gw_missing gatewayd "$s")
		if [[ -n $why ]]; then
			notes+=("site-$s: gatewayd not started ($why)")
			continue
		fi
		start_gatewayd "$s"
		why=$(gw_missing cluster-syncd "$s")
		if [[ -n $why ]]; then
			notes+=("site-$s: cluster-syncd not started ($why)")
			continue
		fi
		start_syncd "$s"
	done

	status_text
	for why in "${notes[@]}"; do
		echo "note: $why"
	done
	# Tests set LAB_NO_LAST so that they do not change a developer's default lab.
	if [[ -z ${LAB_NO_LAST:-} ]]; then
		echo "$P" >"$STATE_BASE/last.$$"
		mv -f "$STATE_BASE/last.$$" "$STATE_BASE/last"
	fi
	# The point of no return: from here on signals are ignored, the closing
	# line is printed, and up_cleanup (EXIT, status 0) keeps the lab.
	trap '' INT TERM
	t0=$(($(now_ms) - t0))
	printf 'lab %s up in %d.%d s\n' "$P" $((t0 / 1000)) $((t0 % 1000 / 100))
}

# ---------------------------------------------------------------- down

do_down() {
	local nss=() pids=() pid f ns _
	mapfile -t nss < <(prefix_netns "$P")
	for _ in 1 2 3; do
		pids=()
		for f in "$RUN"/pids/*; do
			pid=$(<"$f") || continue
			alive "$pid" && ours "$pid" && pids+=("$pid")
		done
		# Sweep: anything else left running inside the run's namespaces.
		for ns in "${nss[@]}"; do
			while read -r pid; do
				[[ -n $pid && $pid != "$$" && $pid != "$BASHPID" ]] && pids+=("$pid")
			done < <(ip netns pids "$ns" 2>/dev/null)
		done
		((${#pids[@]} == 0)) && break
		kill -KILL "${pids[@]}" 2>/dev/null || true
		wait_gone "${pids[@]}" || true
	done
	for ns in "${nss[@]}"; do
		ip netns del "$ns" 2>/dev/null || note "could not delete namespace $ns"
	done
	rm -rf "${PIN_BASE:?}/$P-"*
	rm -f "$SOCK_DIR/$P-"*
	rm -rf "${RUN:?}"
	if [[ -r $STATE_BASE/last && $(<"$STATE_BASE/last") == "$P" ]]; then
		rm -f "$STATE_BASE/last"
	fi
	echo "lab $P down"
}

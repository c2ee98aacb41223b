#!/usr/bin/env bash
# Two gateways in one site (active-active): site-b gets a second gateway,
# gw2, on the same internal network and WAN. A flow lands on the same
# backend whichever of the two receives it (their Maglev tables agree), ECMP
# spreads the client's flows over both, a flow of site-b's client that
# moves from gw1 to gw2 gets its replies through gw2 (a UDP flow, and a TCP
# stream that must go on without a reset or a lost byte), and when gw1 dies
# the other sites reach site-b through gw2.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
require_root

for b in gatewayd cluster-syncd gwctl; do
	[[ -x $REPO/build/$b ]] || {
		echo "build/$b is missing: run make first"
		exit 1
	}
done

P=$(new_prefix)
RUN=/run/isthmus-lab/$P
lab_up "$P" --sites 3

NS2=$P-b-gw2
SOCK2=/run/isthmus/$P-b-gw2.sock
PIN2=/sys/fs/bpf/gw/$P-b-gw2
CONF2=$RUN/site-b-gw2.conf

in2() { ip netns exec "$NS2" "$@"; }
gwctl2() { "$REPO/build/gwctl" --socket "$SOCK2" "$@"; }
gwctl_b1() { "$LAB" exec --prefix "$P" b gw -- gwctl "$@"; }
gwctl_a() { "$LAB" exec --prefix "$P" a gw -- gwctl "$@"; }
counter() { # SOCKET-CMD... NAME: a data-plane counter
	local name=${*: -1}
	"${@:1:$#-1}" -o json stats | jq -r ".counters[] | select(.name == \"$name\") | .packets"
}

# gw2: the same site config as gw1 but its own name and addresses; the lab
# tears it down with everything of the prefix (namespace, processes, pins).
build_gw2() {
	ip netns add "$NS2"
	in2 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip -n "$NS2" link set lo up
	ip link add int0 netns "$NS2" type veth peer name gw2-int0 netns "$P-b-sw"
	ip link add ext0 netns "$NS2" type veth peer name b2-ext0 netns "$P-wan"
	ip -n "$P-b-sw" link set gw2-int0 master br0 up
	ip -n "$P-wan" link set b2-ext0 master br0 up
	# the switch-side ends take XDP-redirected frames (see peer_offloads in lab)
	ip netns exec "$P-b-sw" ethtool -K gw2-int0 tx off gro on >/dev/null
	ip netns exec "$P-wan" ethtool -K b2-ext0 tx off gro on >/dev/null
	ip -n "$P-b-sw" link set dev gw2-int0 xdpdrv obj "$REPO/build/lab/xdp_pass.bpf.o" sec xdp
	ip -n "$P-wan" link set dev b2-ext0 xdpdrv obj "$REPO/build/lab/xdp_pass.bpf.o" sec xdp
	ip -n "$NS2" addr add 10.2.0.2/24 dev int0
	ip -n "$NS2" addr add fd00:2::2/64 dev int0 nodad
	ip -n "$NS2" addr add 10.255.0.12/24 dev ext0
	ip -n "$NS2" link set int0 up
	ip -n "$NS2" link set ext0 up
	in2 ethtool -K int0 tx off >/dev/null
	in2 ethtool -K ext0 tx off >/dev/null
	sed -e 's/^\(\t*\)name = "gw1";/\1name = "gw2";/' \
		-e 's/address = "10.2.0.1";/address = "10.2.0.2";/' \
		-e 's/address6 = "fd00:2::1";/address6 = "fd00:2::2";/' \
		-e 's/address = "10.255.0.2";/address = "10.255.0.12";/' \
		"$REPO/conf/site-b.conf" >"$CONF2"
	if ! grep -q 'name = "gw2"' "$CONF2" || ! grep -q '"10.255.0.12"' "$CONF2"; then
		echo "could not derive gw2's config"
		return 1
	fi
	"$REPO/build/gatewayd" --check-config "$CONF2" >/dev/null || return 1
	(cd "$REPO" && exec nsenter --net="/run/netns/$NS2" build/gatewayd -c "$CONF2" \
		--pin-dir "$PIN2" --socket "$SOCK2" >"$RUN/logs/b-gw2-gatewayd.log" 2>&1) &
	wait_until 10 test -S "$SOCK2" || {
		tail "$RUN/logs/b-gw2-gatewayd.log"
		return 1
	}
	(cd "$REPO" && exec nsenter --net="/run/netns/$NS2" build/cluster-syncd -c "$CONF2" \
		--gateway-socket "$SOCK2" >"$RUN/logs/b-gw2-syncd.log" 2>&1) &
	echo "gw2 of site-b up: int0 10.2.0.2, ext0 10.255.0.12"
}
check "a second gateway for site-b, gw2, from site-b's config with its own addresses" build_gw2

site_b_gateways() { # SITE: how many of site-b's gateways SITE's gateway sees up
	"$LAB" exec --prefix "$P" "$1" gw -- gwctl -o json sites |
		jq -r '.sites[] | select(.name == "site-b") | .gateways_up'
}
check "site-a learns gw2 through etcd: two gateways of site-b up" \
	wait_until 15 bash -c "[[ \$('$LAB' exec --prefix $P a gw -- gwctl -o json sites | jq -r '.sites[] | select(.name == \"site-b\") | .gateways_up') == 2 ]]"

# The same flow (same source port) through gw1, then through gw2: the
# backend must be the same. Connection: close makes nginx close first, so the
# client's port is normally free again at once for the second pass.
same_backend() {
	local port ip out1 out2 differ=0 n=0
	for ip in 10.2.0.1 10.2.0.2; do
		# a connection the client happened to close first would hold its
		# port in TIME_WAIT: drop those, they are this test's own
		"$LAB" exec --prefix "$P" b client -- ss -K -t state time-wait >/dev/null
		"$LAB" exec --prefix "$P" b client -- ip route replace 10.100.0.0/16 via "$ip"
		for ((port = 42000; port < 42024; port++)); do
			"$LAB" exec --prefix "$P" b client -- curl -sS --max-time 2 --local-port "$port" \
				-H 'Connection: close' http://10.100.0.11/ || echo FAIL
		done >"$RUN/aa-$ip"
	done
	"$LAB" exec --prefix "$P" b client -- ip route del 10.100.0.0/16
	while read -r out1 && read -r out2 <&3; do
		n=$((n + 1))
		[[ $out1 == site=* && $out1 == "$out2" ]] || differ=$((differ + 1))
	done <"$RUN/aa-10.2.0.1" 3<"$RUN/aa-10.2.0.2"
	echo "$n flows through gw1 and through gw2: $differ landed on different backends"
	sort -u "$RUN/aa-10.2.0.1" | tr '\n' ' '
	echo
	((n == 24 && differ == 0)) && [[ $(sort -u "$RUN/aa-10.2.0.1" | wc -l) == 2 ]]
}
check "the same flow lands on the same backend through gw1 and through gw2 (24 flows, both backends used)" same_backend

ecmp() {
	local a1 a2 b1 b2 i fails
	a1=$(counter gwctl_b1 fwd_local)
	a2=$(counter gwctl2 fwd_local)
	"$LAB" exec --prefix "$P" b client -- sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	"$LAB" exec --prefix "$P" b client -- ip route replace 10.100.0.0/16 \
		nexthop via 10.2.0.1 nexthop via 10.2.0.2
	fails=$(for ((i = 0; i < 30; i++)); do
		"$LAB" exec --prefix "$P" b client -- curl -sS --max-time 2 -o /dev/null http://10.100.0.11/ || echo FAIL
	done | grep -c FAIL || true)
	"$LAB" exec --prefix "$P" b client -- ip route del 10.100.0.0/16
	b1=$(counter gwctl_b1 fwd_local)
	b2=$(counter gwctl2 fwd_local)
	echo "30 requests over ECMP: $fails failed; packets forwarded by gw1 +$((b1 - a1)), by gw2 +$((b2 - a2))"
	((fails == 0 && b1 > a1 && b2 > a2))
}
check "ECMP from site-b's client spreads flows over both gateways, all answered" ecmp

# The client's side of active-active: a flow of site-b's client to a
# backend in site-a goes through gw1, then gw1 dies and the client's router
# sends the flow through gw2. Site-a's gateway must send the flow's replies
# to gw2 from then on (they named gw1). Web's 9/udp goes to its backends'
# port 80 (their port), where site-a's backends answer UDP with their name;
# a source port that Maglev gives to one of them is found first.
client_side_failover() {
	local h port out t0 lp r=0 pids=()
	for h in backend1 backend2; do
		"$LAB" exec --prefix "$P" a "$h" -- timeout 60 socat UDP4-RECVFROM:80,fork \
			SYSTEM:"echo site-a-$h" &
		pids+=($!)
	done
	"$LAB" exec --prefix "$P" b client -- ip route replace 10.100.0.10/32 via 10.2.0.1
	for ((port = 44000; port < 44064; port++)); do
		out=$("$LAB" exec --prefix "$P" b client -- sh -c \
			"echo x | socat -t 0.3 - UDP4:10.100.0.10:9,sourceport=$port" 2>/dev/null) || true
		[[ $out == site-a-* ]] && break
	done
	echo "source port $port answered by ${out:-nobody}"
	if [[ $out == site-a-* ]]; then
		# shellcheck disable=SC2016 # expanded by the client's shell
		"$LAB" exec --prefix "$P" b client -- bash -c '
			end=$((${EPOCHREALTIME/./} / 1000 + 7000))
			while (( ${EPOCHREALTIME/./} / 1000 < end )); do
				t=$((${EPOCHREALTIME/./} / 1000))
				if out=$(echo x | socat -t 0.5 - UDP4:10.100.0.10:9,sourceport='"$port"' 2>/dev/null) &&
					[[ -n $out ]]; then echo "$t ok $out"; else echo "$t fail"; fi
			done' >"$RUN/cs-fail" &
		lp=$!
		wait_until 5 test -s "$RUN/cs-fail" || r=1
		t0=$(now_ms)
		"$LAB" exec --prefix "$P" b client -- ip route replace 10.100.0.10/32 via 10.2.0.2
		ip -n "$P-b-gw" link set ext0 down
		wait "$lp"
		# probes sent 1 s or more after the move: the flow's replies
		# must reach the client through gw2 again (on a loaded machine
		# many probes miss their 0.5 s; without the fix all of them do)
		awk -v c="$t0" '$1 >= c + 1000' "$RUN/cs-fail" >"$RUN/cs-after"
		echo "$(grep -c ' ok ' "$RUN/cs-fail") answered, $(grep -c fail "$RUN/cs-fail") not;" \
			"from 1 s after the move: $(grep -c ' ok ' "$RUN/cs-after") of $(wc -l <"$RUN/cs-after")"
		# one backend answered throughout
		(($(grep ' ok ' "$RUN/cs-fail" | sort -u -k3 | wc -l) == 1)) &&
			(($(grep -c ' ok ' "$RUN/cs-after") >= 3)) || r=1
		ip -n "$P-b-gw" link set ext0 up
	else
		r=1
	fi
	"$LAB" exec --prefix "$P" b client -- ip route del 10.100.0.10/32
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	# both of site-b's gateways up again for what follows
	wait_until 15 both_b_gateways_up || r=1
	return "$r"
}
both_b_gateways_up() { [[ $(site_b_gateways a) == 2 ]]; }
check "a site-b client's flow to site-a moves from gw1 to gw2 when gw1 dies: the replies follow" \
	client_side_failover

# The same move for a TCP stream. Site-b's client sends 10 MiB of random
# bytes, paced over a few seconds, to stream-a (10.100.0.17:5001, served by
# site-a's backend1 only), which keeps what it gets and echoes it back. Once
# echoed bytes come back through gw1, the flow moves to gw2 and gw1's link
# goes down. While it stays down, 1 MiB more must come back (none of it can
# have passed gw1), the stream must end without a reset, and both ends must
# hold every byte sent, unchanged. Without the replies following gw2 the
# backend's data and ACKs go to gw1 and the stream stalls.
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
grew_to() { (($(size_of "$1") >= $2)); }
site_a_up_at() { # GWCTL-CMD...: that gateway of site-b probes site-a's gateway up
	[[ $("$@" -o json sites | jq -r '.sites[] | select(.name == "site-a") | .gateways_up') == 1 ]]
}
client_side_tcp_failover() {
	local chunks=160 total s0=0 s1=0 t0 t1="" srv cli rc_srv=0 rc_cli=0 r=0 a2 b2 na nb
	local moved="" intact=yes
	total=$((chunks * 65536))
	rm -f "$RUN"/tcp-*
	head -c "$total" /dev/urandom >"$RUN/tcp-blob"
	# both of site-b's gateways reach site-a again after the check above
	if ! wait_until 15 site_a_up_at gwctl_b1 || ! wait_until 15 site_a_up_at gwctl2; then
		echo "site-b's gateways do not both see site-a's gateway up"
		return 1
	fi
	"$LAB" exec --prefix "$P" a backend1 -- timeout 120 socat -t 30 TCP-LISTEN:5001,reuseaddr \
		SYSTEM:"tee $RUN/tcp-srv" 2>"$RUN/tcp-srv.err" &
	srv=$!
	wait_until 5 "$LAB" exec --prefix "$P" a backend1 -- sh -c 'ss -ltn | grep -q ":5001 "' || r=1
	"$LAB" exec --prefix "$P" b client -- ip route replace 10.100.0.17/32 via 10.2.0.1
	"$LAB" exec --prefix "$P" b client -- timeout 120 socat -t 30 - TCP:10.100.0.17:5001 \
		< <(for ((i = 0; i < chunks; i++)); do
			dd if="$RUN/tcp-blob" bs=65536 skip="$i" count=1 status=none || break
			sleep 0.02
		done) >"$RUN/tcp-cli" 2>"$RUN/tcp-cli.err" &
	cli=$!
	if ((r == 0)) && wait_until 10 grew_to "$RUN/tcp-cli" 1; then
		a2=$(counter gwctl2 reply_local)
		na=$(counter gwctl_a drop_no_peer)
		"$LAB" exec --prefix "$P" b client -- ip route replace 10.100.0.17/32 via 10.2.0.2
		ip -n "$P-b-gw" link set ext0 down
		t0=$(now_ms)
		s0=$(size_of "$RUN/tcp-cli")
		if wait_until 20 grew_to "$RUN/tcp-cli" $((s0 + 1048576)); then
			t1=$(now_ms)
			# the rest of the stream, still with gw1's link down
			wait_until 60 not kill -0 "$cli" || r=1
		else
			r=1
		fi
		b2=$(counter gwctl2 reply_local)
		nb=$(counter gwctl_a drop_no_peer)
		s1=$(size_of "$RUN/tcp-cli")
		moved="$s0 bytes echoed before gw1's link went down, $((s1 - s0)) after"
		moved+="${t1:+ (the first MiB $((t1 - t0)) ms after)}; gw2 delivered $((b2 - a2))"
		moved+=" replies; site-a dropped $((nb - na)) for want of a peer"
		ip -n "$P-b-gw" link set ext0 up
	else
		echo "no echoed bytes through gw1 within 10 s"
		r=1
	fi
	# the server ends when the client's half of the stream has: a stream
	# that failed, or a server still running, is cut here
	if ((r != 0)) || ! wait_until 10 not kill -0 "$srv"; then
		r=1
		kill "$cli" "$srv" 2>/dev/null || true
	fi
	wait "$cli" || rc_cli=$?
	wait "$srv" || rc_srv=$?
	"$LAB" exec --prefix "$P" b client -- ip route del 10.100.0.17/32
	cat "$RUN/tcp-cli.err" "$RUN/tcp-srv.err"
	grep -qi reset "$RUN/tcp-cli.err" "$RUN/tcp-srv.err" && r=1
	cmp -s "$RUN/tcp-blob" "$RUN/tcp-srv" || intact=no
	cmp -s "$RUN/tcp-blob" "$RUN/tcp-cli" || intact=no
	[[ $intact == yes ]] && ((rc_cli == 0 && rc_srv == 0)) || r=1
	wait_until 15 both_b_gateways_up || r=1
	echo "${moved:+$moved; }of $total bytes sent the backend got $(size_of "$RUN/tcp-srv")" \
		"and echoed $(size_of "$RUN/tcp-cli") back, byte for byte: $intact;" \
		"client exit $rc_cli, server exit $rc_srv"
	return "$r"
}
check "a site-b client's TCP stream to site-a moves from gw1 to gw2 when gw1 dies: 0 bytes lost, no reset" \
	client_side_tcp_failover

# gw1 dies: site-a's flows to site-b go to gw2 instead (not to another site).
gw1_dies() {
	local t0 t1
	# shellcheck disable=SC2016 # expanded by the client's shell
	"$LAB" exec --prefix "$P" a client -- bash -c '
		end=$((${EPOCHREALTIME/./} / 1000 + 4000))
		while (( ${EPOCHREALTIME/./} / 1000 < end )); do
			t=$((${EPOCHREALTIME/./} / 1000))
			if out=$(curl -s --max-time 0.2 http://10.100.0.13/); then echo "$t ok $out"; else echo "$t fail"; fi
		done' >"$RUN/aa-fail" &
	local lp=$!
	wait_until 5 test -s "$RUN/aa-fail"
	"$LAB" kill --prefix "$P" b syncd >/dev/null
	"$LAB" kill --prefix "$P" b gw >/dev/null
	t0=$(now_ms)
	ip -n "$P-b-gw" link set ext0 down
	wait "$lp"
	t1=$(awk -v c="$t0" '$1 >= c && $2 == "fail" { lf = $1 } END { printf "%.0f\n", lf + 0 }' "$RUN/aa-fail")
	echo "web-b (site-b only) from site-a: $(grep -c ok "$RUN/aa-fail") ok, $(grep -c fail "$RUN/aa-fail") failed; last failure $((t1 > 0 ? t1 - t0 : 0)) ms after gw1's link went down"
	# every answer still comes from site-b, and the tail of the loop is all ok
	! grep ' ok ' "$RUN/aa-fail" | grep -qv 'site=site-b' &&
		(($(tail -n 20 "$RUN/aa-fail" | grep -c ' ok ') == 20)) &&
		((t1 == 0 || t1 - t0 <= 1000))
}
check "site-b's gw1 dies: site-a reaches site-b's backends through gw2 within 1 s" gw1_dies
check "... site-a sees one of site-b's two gateways up" bash -c "[[ \$('$LAB' exec --prefix $P a gw -- gwctl -o json sites | jq -r '.sites[] | select(.name == \"site-b\") | .gateways_up') == 1 ]]"

lab_down "$P"
check "nothing of $P left (gw2 included)" lab_leftovers "$P"
finish

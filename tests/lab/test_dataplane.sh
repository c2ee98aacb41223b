#!/usr/bin/env bash
# Data-plane acceptance in the 3-site lab with real traffic: VIPs answered by
# local and remote backends, affinity, drain, graded spillover, overlapping
# client CIDRs, IPv6, Geneve on the WAN (tshark), a TCP stream that survives
# kill -9 of both gateways, 1500-byte MTU transfers across the tunnel and
# over a narrower underlay link, path MTU discovery through a narrower local
# link, and an ICMP error from the client's side relayed to the backend.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
require_root

if [[ ! -x $REPO/build/gatewayd ]]; then
	echo "build/gatewayd is missing: run make first"
	exit 1
fi

P=$(new_prefix)
RUN=/run/isthmus-lab/$P
t0=$(now_ms)
lab_up "$P" --sites 3
note "3-site lab $P with gateways up in $(elapsed_s "$t0") s"

gwctl() { "$LAB" exec --prefix "$P" "$1" gw -- gwctl "${@:2}"; }
get() { "$LAB" exec --prefix "$P" "$1" client -- curl -sS --max-time 3 -g "$2"; }

# who SITE URL N: the distinct answers ("site=… host=…") of N requests, one
# per line, sorted; a failed request prints FAIL. Each curl is a new TCP
# connection with a new source port, so Maglev sees N different flows.
who() {
	local i
	for ((i = 0; i < $3; i++)); do
		get "$1" "$2" || echo FAIL
	done | sort -u
}

# only_sites SITE URL N SITES...: every answer comes from one of SITES and
# every one of SITES answers at least once.
only_sites() {
	local s=$1 url=$2 n=$3 out want
	shift 3
	out=$(who "$s" "$url" "$n")
	echo "$out"
	grep -q FAIL <<<"$out" && return 1
	for want in "$@"; do
		grep -q "site=$want " <<<"$out" || return 1
	done
	! grep -v -E "site=($(
		IFS='|'
		echo "$*"
	)) " <<<"$out" | grep -q .
}

counter() { # SITE NAME: a data-plane counter of SITE's gateway
	gwctl "$1" -o json stats | jq -r ".counters[] | select(.name == \"$2\") | .packets"
}

# ------------------------------------------------------------- control API
check "gwctl status: every gateway attached on int0 and ext0" bash -c "
	for s in a b c; do
		'$LAB' exec --prefix $P \$s gw -- gwctl -o json status |
			jq -e '[.interfaces[].ifindex > 0] == [true, true] and .abi_version == 1' >/dev/null || exit 1
	done"
check "gwctl status: probes answered and health checks running on every gateway" wait_until 10 bash -c "
	for s in a b c; do
		'$LAB' exec --prefix $P \$s gw -- gwctl -o json status |
			jq -e '.probes.answered > 0 and .health_checks.running > 0 and .health_checks.checks > 0' >/dev/null || exit 1
	done"
check "gwctl services list names the example services" \
	bash -c "gwctl_out=\$('$LAB' exec --prefix $P a gw -- gwctl services list) &&
		for s in web web-local web-spill web-b stream; do grep -qw \$s <<<\"\$gwctl_out\" || exit 1; done"
check "gwctl: unknown service is an error with exit code 1" \
	bash -c "'$LAB' exec --prefix $P a gw -- gwctl services show nosuch; [[ \$? == 1 ]]"

bad_requests() {
	local sock=/run/isthmus/$P-a-gw1.sock code path body want
	while IFS='|' read -r want path body; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X POST \
			--data-binary "$body" "http://gw$path")
		echo "$path $body -> $code"
		[[ $code == "$want" ]] || return 1
	done <<'EOT'
400|/v1/backends/weight|{"service":"web","backend":"10.1.0.11:80","weight":70000}
400|/v1/backends/drain|{"service":"web"}
400|/v1/backends/drain|not json
400|/v1/backends/drain|{"service":"web","backend":"10.1.0.11:80","site":7}
404|/v1/backends/drain|{"service":"web","backend":"10.1.0.11:80","site":"site-b"}
404|/v1/backends/drain|{"service":"nosuch","backend":"10.1.0.11:80"}
404|/v1/backends/drain|{"service":"web","backend":"10.9.9.9:80"}
EOT
	# and nothing was drained by them
	"$LAB" exec --prefix "$P" a gw -- gwctl -o json backends list --service web |
		jq -e '[.backends[] | .state] | all(. == "active")' >/dev/null
}
check "control API: bad drain/weight requests answer 400/404 and change nothing" bad_requests

# Sites may use the same addresses (site-a and site-c both have 10.1.0.11):
# --site names one; without it this site's backend is meant, and a gateway
# that only has other sites' copies refuses to guess.
state_of() { # SITE-GW ADDR SITE: the backend's state in web at SITE-GW
	gwctl "$1" -o json backends list --service web |
		jq -r ".backends[] | select(.address == \"$2\" and .site == \"$3\") | .state"
}
drain_by_site() {
	gwctl a backends drain web 10.1.0.11:80 --site site-c || return 1
	echo "site-c's: $(state_of a 10.1.0.11 site-c), site-a's: $(state_of a 10.1.0.11 site-a)"
	[[ $(state_of a 10.1.0.11 site-c) == draining && $(state_of a 10.1.0.11 site-a) == active ]] ||
		return 1
	gwctl a backends undrain web 10.1.0.11:80 --site site-c &&
		[[ $(state_of a 10.1.0.11 site-c) == active ]]
}
check "gwctl backends drain --site: site-c's 10.1.0.11 drains at site-a, site-a's does not" \
	drain_by_site
ambiguous_drain() {
	local out rc=0
	out=$(gwctl b backends drain web 10.1.0.11:80 2>&1) || rc=$?
	echo "exit $rc: $out"
	((rc != 0)) && grep -q 'more than one other site' <<<"$out" &&
		[[ $(state_of b 10.1.0.11 site-a) == active && $(state_of b 10.1.0.11 site-c) == active ]]
}
check "... at site-b, which has site-a's and site-c's 10.1.0.11, a drain without --site is refused" \
	ambiguous_drain

# ------------------------------------------------------------- balancing
check "web (affinity none) from site-a: answered by site-a, site-b and site-c" \
	only_sites a http://10.100.0.10/ 40 site-a site-b site-c
check "web-local (affinity local) from site-a: only site-a answers" \
	only_sites a http://10.100.0.11/ 20 site-a
check "web-local from site-b: only site-b answers" \
	only_sites b http://10.100.0.11/ 20 site-b
check "web-b (backends only in site-b) from site-a: site-b answers" \
	only_sites a http://10.100.0.13/ 10 site-b
check "web over IPv6 (fd00:100::10) from site-a: IPv6 backends of all sites answer" \
	only_sites a "http://[fd00:100::10]/" 40 site-a site-b site-c

# Overlapping CIDRs: site-a's and site-c's clients are both 10.1.0.10. Run
# both at once so their flows share site-b's gateway at the same moment.
overlap() {
	local i ok=0
	for ((i = 0; i < 10; i++)); do
		get a http://10.100.0.13/ >"$RUN/ovl-a" &
		get c http://10.100.0.13/ >"$RUN/ovl-c" &
		wait
		grep -q "site=site-b" "$RUN/ovl-a" && grep -q "site=site-b" "$RUN/ovl-c" && ok=$((ok + 1))
	done
	((ok == 10))
}
check "overlap: site-a and site-c clients (both 10.1.0.10) reach web-b at the same time, 10/10" overlap

# ------------------------------------------------------------- drain, spillover
drain() { gwctl a backends "$1" "$2" "$3"; }
check "web-spill with 2 healthy local backends (min_local_healthy 2): only site-a" \
	only_sites a http://10.100.0.12/ 20 site-a
check "drain one of site-a's backends of web-spill" drain drain web-spill 10.1.0.11:80
check "... gwctl shows it draining" \
	bash -c "'$LAB' exec --prefix $P a gw -- gwctl -o json backends list --service web-spill |
		jq -e '.backends[] | select(.address == \"10.1.0.11\" and .site == \"site-a\") | .state == \"draining\"' >/dev/null"
check "... 1 local backend < 2: web-spill spills to site-b and site-c too" \
	only_sites a http://10.100.0.12/ 40 site-a site-b site-c
check "undrain it: only site-a again" \
	bash -c "'$LAB' exec --prefix $P a gw -- gwctl backends undrain web-spill 10.1.0.11:80"
check "... web-spill answered by site-a only" only_sites a http://10.100.0.12/ 20 site-a

check "drain both of site-a's backends of web" \
	bash -c "'$LAB' exec --prefix $P a gw -- gwctl backends drain web 10.1.0.11:80 &&
		'$LAB' exec --prefix $P a gw -- gwctl backends drain web 10.1.0.12:80"
check "... web from site-a answered only by site-b and site-c" \
	only_sites a http://10.100.0.10/ 30 site-b site-c
# (Other sites learn of a drain through cluster-syncd; until it runs, their
# flows to site-a would find no backend there, so undrain before going on.)
check "undrain them" bash -c "'$LAB' exec --prefix $P a gw -- gwctl backends undrain web 10.1.0.11:80 &&
		'$LAB' exec --prefix $P a gw -- gwctl backends undrain web 10.1.0.12:80"

# web's 9/udp has no listener on any backend: each backend answers ICMP
# (ICMPv6) port unreachable to the gateway's SNAT address, and the client's
# connected socket must see it as "connection refused": the error was
# rewritten from the VIP, quoting the client's own packet, and came back
# through the tunnel when the backend was in another site.
refused() { # ADDR: 8 datagrams from new source ports, every one refused
	local i out ok=0
	for ((i = 0; i < 8; i++)); do
		out=$("$LAB" exec --prefix "$P" a client -- bash -c \
			"echo x | timeout 3 socat -T1 - '$1' 2>&1")
		grep -q "Connection refused" <<<"$out" && ok=$((ok + 1))
	done
	echo "$ok/8 refused"
	((ok == 8))
}
check "UDP to web's closed port (IPv4): the backends' port unreachable reaches the client, 8/8" \
	refused UDP4:10.100.0.10:9
check "... over IPv6: ICMPv6 port unreachable reaches the client, 8/8" \
	refused "UDP6:[fd00:100::10]:9"
via_tunnel() { (($(counter b reply_remote) + $(counter c reply_remote) > 0)); }
check "... some of them came back through the tunnel (reply_remote at site-b or site-c)" via_tunnel

# A flow opened before a drain stays on its backend: one keep-alive
# connection asks, its backend is drained, and it asks again.
drain_keeps_flow() {
	rm -f "$RUN/go" "$RUN/k1" "$RUN/k2"
	"$LAB" exec --prefix "$P" a client -- bash -c "
		exec 3<>/dev/tcp/10.100.0.11/80
		printf 'GET / HTTP/1.1\r\nHost: vip\r\n\r\n' >&3
		timeout 5 grep -m1 '^site=' <&3 >$RUN/k1
		for ((i = 0; i < 100; i++)); do [[ -e $RUN/go ]] && break; sleep 0.05; done
		printf 'GET / HTTP/1.1\r\nHost: vip\r\n\r\n' >&3
		timeout 5 grep -m1 '^site=' <&3 >$RUN/k2" &
	local cli=$! host ip
	wait_until 5 test -s "$RUN/k1" || return 1
	host=$(sed 's/.*host=//' "$RUN/k1")
	ip=10.1.0.$([[ $host == backend1 ]] && echo 11 || echo 12)
	gwctl a backends drain web-local "$ip:80" || return 1
	touch "$RUN/go"
	wait "$cli" || true
	gwctl a backends undrain web-local "$ip:80"
	echo "before drain: $(cat "$RUN/k1"); after: $(cat "$RUN/k2")"
	[[ -s $RUN/k2 && $(cat "$RUN/k1") == "$(cat "$RUN/k2")" ]]
}
check "a connection opened before its backend is drained stays on it" drain_keeps_flow

# The flow cache keeps next hops: a route change in the gateway's namespace,
# announced by rtnetlink, must move its epoch on (and nothing else counts
# as a network change: map writes move the epoch but not net_changes).
flowc() { gwctl a -o json status | jq -r ".flow_cache.$1"; }
route_moves_epoch() {
	local n0 e0
	n0=$(flowc net_changes) && e0=$(flowc epoch) || return 1
	[[ $(flowc entries_per_cpu) == 65536 && $(flowc ipv6_entries_per_cpu) == 32768 ]] ||
		return 1
	"$LAB" exec --prefix "$P" a gw -- ip route add blackhole 203.0.113.0/24 || return 1
	wait_until 5 bash -c "(( \$('$LAB' exec --prefix $P a gw -- gwctl -o json status |
		jq '.flow_cache.net_changes') > $n0 ))"
	local r=$?
	"$LAB" exec --prefix "$P" a gw -- ip route del blackhole 203.0.113.0/24
	echo "net_changes $n0 -> $(flowc net_changes), epoch $e0 -> $(flowc epoch)"
	((r == 0)) && (($(flowc epoch) > e0))
}
check "a route added in site-a's gateway namespace moves the flow cache epoch on" route_moves_epoch
check "... and web-local still answers from site-a, 10/10" only_sites a http://10.100.0.11/ 10 site-a

# ------------------------------------------------------------- the WAN sees Geneve only
capture() {
	local pcap=$RUN/wan.pcap
	"$LAB" exec --prefix "$P" wan -- tcpdump -i br0 -U -s 256 -w "$pcap" \
		'not (tcp port 2379 or tcp port 2380) and not arp' >/dev/null 2>"$RUN/tcpdump.err" &
	local cap=$!
	wait_until 10 grep -q "listening on" "$RUN/tcpdump.err" || return 1
	who a http://10.100.0.13/ 5 >/dev/null
	who c http://10.100.0.10/ 10 >/dev/null
	get a "http://[fd00:100::10]/" >/dev/null || true
	# tcpdump -U writes each packet as it comes: wait until they are on disk.
	wait_until 10 bash -c "(( \$(tshark -r $pcap -Y geneve 2>/dev/null | wc -l) > 10 ))" || true
	pkill -INT -f "tcpdump -i br0 -U -s 256 -w $pcap" || true
	wait "$cap" 2>/dev/null || true
}
check "tcpdump captures on the WAN bridge" capture
check "WAN capture has Geneve packets" bash -c "(( \$(tshark -r $RUN/wan.pcap -Y geneve 2>/dev/null | wc -l) > 10 ))"
check "every Geneve packet carries the identity option (class 0xfff1)" bash -c "
	all=\$(tshark -r $RUN/wan.pcap -Y geneve 2>/dev/null | wc -l)
	opt=\$(tshark -r $RUN/wan.pcap -Y 'geneve.option.class == 0xfff1' 2>/dev/null | wc -l)
	echo \"geneve \$all with option \$opt\"; (( all > 0 && all == opt ))"
check "nothing crosses the WAN unencapsulated (no bare TCP/UDP to a VIP or backend)" bash -c "
	n=\$(tshark -r $RUN/wan.pcap -Y '!geneve && (tcp || (udp && !(udp.port == 6082)))' 2>/dev/null | wc -l)
	echo \"bare packets: \$n\"; (( n == 0 ))"

# ------------------------------------------------------------- a stream survives kill -9
stream() {
	local total=$((200 * 65536)) rc=0
	rm -f "$RUN/recv"
	"$LAB" exec --prefix "$P" b backend1 -- timeout 120 socat -u TCP-LISTEN:5001,reuseaddr \
		OPEN:"$RUN/recv",creat,trunc &
	local srv=$!
	wait_until 5 "$LAB" exec --prefix "$P" b backend1 -- sh -c 'ss -ltn | grep -q ":5001 "' || return 1
	# The generator paces itself (200 x 64 KiB over ~4 s) so that the kills
	# below land in the middle of the transfer.
	(for ((i = 0; i < 200; i++)); do
		head -c 65536 /dev/zero
		sleep 0.02
	done | "$LAB" exec --prefix "$P" a client -- socat -u - TCP:10.100.0.14:5001) &
	local cli=$!
	wait_until 10 test -s "$RUN/recv" || return 1
	"$LAB" kill --prefix "$P" a gw
	"$LAB" kill --prefix "$P" b gw
	"$LAB" start --prefix "$P" a gw
	"$LAB" start --prefix "$P" b gw
	wait "$cli" || rc=$?
	wait "$srv" || true
	local got
	got=$(stat -c %s "$RUN/recv")
	echo "client exit $rc, received $got of $total bytes"
	((rc == 0 && got == total))
}
check "TCP stream site-a → site-b survives kill -9 + restart of both gateways: 0 bytes lost, no reset" stream
check "... the restarted gateways took the data plane over" bash -c "
	for s in a b; do
		'$LAB' exec --prefix $P \$s gw -- gwctl -o json status |
			jq -e '[.interfaces[].taken_over] == [true, true]' >/dev/null || exit 1
	done"

# 1500-byte MTU on every link: full-size segments only fit the tunnel after
# the MSS clamp; a 4 MB transfer across it must succeed both ways.
# blob_to SITE FILE: site-b's backend1 sends $RUN/blob through the stream
# VIP (10.100.0.14:5001) to SITE's client, which writes it to FILE; both
# ends give up after 30 s. Fails when the transfer does not complete.
blob_to() {
	local srv r=0
	"$LAB" exec --prefix "$P" b backend1 -- timeout 30 socat -u OPEN:"$RUN/blob" \
		TCP-LISTEN:5001,reuseaddr &
	srv=$!
	wait_until 5 "$LAB" exec --prefix "$P" b backend1 -- sh -c 'ss -ltn | grep -q ":5001 "' || r=1
	((r == 0)) && "$LAB" exec --prefix "$P" "$1" client -- timeout 30 \
		socat -u TCP:10.100.0.14:5001 OPEN:"$2",creat,trunc || r=1
	wait "$srv" || true
	echo "received $(stat -c %s "$2" 2>/dev/null) bytes"
	return "$r"
}
mtu_transfer() {
	"$LAB" exec --prefix "$P" b backend1 -- sh -c 'ip link show eth0 | grep -q "mtu 1500"' || return 1
	head -c 4000000 /dev/urandom >"$RUN/blob"
	blob_to a "$RUN/blob.got" && cmp "$RUN/blob" "$RUN/blob.got"
}
check "4 MB from site-b's backend to site-a's client with 1500-byte MTU everywhere, byte for byte" mtu_transfer
check "... no packet was too big for the tunnel" bash -c "
	[[ \$('$LAB' exec --prefix $P a gw -- gwctl -o json stats | jq '.counters[] | select(.name==\"drop_too_big\") | .packets') == 0 &&
	   \$('$LAB' exec --prefix $P b gw -- gwctl -o json stats | jq '.counters[] | select(.name==\"drop_too_big\") | .packets') == 0 ]]"

# A narrower underlay: site-a's external link drops to a 1400-byte MTU.
# gatewayd follows the interface's MTU (no reload), so site-a's gateway
# clamps its client's SYN to fit 1400-byte tunnel packets, and site-b's
# backend sends segments whose tunnel packets pass that link; with the
# tunnel MTU left at 1500 they are 1500 bytes long and the link drops them.
tunnel_mtu_a() {
	"$LAB" exec --prefix "$P" a gw -- gwctl -o json status | jq -e ".tunnel_mtu == $1" >/dev/null
}
narrow_wan() {
	local r=0
	ip -n "$P-a-gw" link set ext0 mtu 1400 || return 1
	wait_until 5 tunnel_mtu_a 1400 || r=1
	((r == 0)) && blob_to a "$RUN/blob.narrow" || r=1
	ip -n "$P-a-gw" link set ext0 mtu 1500 || r=1
	wait_until 5 tunnel_mtu_a 1500 || r=1
	((r == 0)) && cmp "$RUN/blob" "$RUN/blob.narrow"
}
check "site-a's underlay link at MTU 1400: the tunnel MTU follows it, and 4 MB arrive byte for byte" \
	narrow_wan

# A link narrower than the packets for it: site-b's gateway routes to its
# client over a 1200-byte MTU. The backend's full-size replies must draw
# ICMP "fragmentation needed" from the gateway's XDP program (quoting the
# backend's own packet, to the SNAT address), its kernel lower the path MTU,
# and a 4 MB transfer through the local service complete byte for byte.
counter_b() {
	"$LAB" exec --prefix "$P" b gw -- gwctl -o json stats |
		jq ".counters[] | select(.name==\"$1\") | .packets"
}
pmtu_local_link() {
	local before after r=0
	before=$(counter_b icmp_too_big) || return 1
	"$LAB" exec --prefix "$P" b gw -- ip route replace 10.2.0.10/32 dev int0 mtu lock 1200 ||
		return 1
	blob_to b "$RUN/blob.pmtu" || r=1
	"$LAB" exec --prefix "$P" b gw -- ip route del 10.2.0.10/32 dev int0 || r=1
	after=$(counter_b icmp_too_big) || return 1
	echo "icmp_too_big at site-b $before -> $after"
	((r == 0 && after > before)) && cmp "$RUN/blob" "$RUN/blob.pmtu"
}
check "4 MB to site-b's client over a 1200-byte link: ICMP frag-needed from XDP, then byte for byte" \
	pmtu_local_link
check "... the stats count those answers as a verdict, not a drop" bash -c "
	[[ \$('$LAB' exec --prefix $P b gw -- gwctl -o json stats |
		jq -r '.counters[] | select(.name==\"icmp_too_big\") | .kind') == verdict ]]"

# An ICMP error from the client's side: a router near site-b's client (here
# the client itself) cannot forward the backend's segments and says so to
# their source, the VIP. The gateway must relay the error to the backend,
# translated (to the backend's address, quoting the packet as the backend
# sent it, to the SNAT address), and the backend's kernel must lower its
# path MTU. Linux only takes a frag-needed error quoting a segment it has in
# flight, so the client drops the data segments (they stay unacknowledged)
# and one of them, captured as it reached the client, is quoted. 1100 bytes,
# so that what the check above taught the backend (1200) cannot pass it.
icmp_sum() { # HEX-BYTES...: the Internet checksum over them, 4 hex digits
	local s=0 i b=("$@")
	for ((i = 0; i < ${#b[@]}; i += 2)); do
		s=$((s + 16#${b[i]}${b[i + 1]:-00}))
	done
	while ((s >> 16)); do s=$(((s & 0xffff) + (s >> 16))); done
	printf '%04x' $((~s & 0xffff))
}
frag_needed_from_client() {
	local r=0 q msg snat sum esc b
	"$LAB" exec --prefix "$P" b client -- nft -f - <<-'EOF' || return 1
		table ip lab_hold {
			chain in {
				type filter hook input priority 0;
				ip saddr 10.100.0.14 tcp sport 5001 meta length > 200 drop
			}
		}
	EOF
	"$LAB" exec --prefix "$P" b client -- timeout 10 tcpdump -i eth0 -c 1 -w "$RUN/seg.pcap" \
		"src host 10.100.0.14 and tcp src port 5001 and greater 500" 2>"$RUN/seg.log" &
	local cap=$!
	wait_until 5 grep -q "listening on" "$RUN/seg.log" || r=1
	"$LAB" exec --prefix "$P" b backend1 -- timeout 20 socat -u OPEN:"$RUN/blob" \
		TCP-LISTEN:5001,reuseaddr &
	local srv=$!
	wait_until 5 "$LAB" exec --prefix "$P" b backend1 -- sh -c 'ss -ltn | grep -q ":5001 "' || r=1
	"$LAB" exec --prefix "$P" b client -- timeout 15 socat -u TCP:10.100.0.14:5001 /dev/null &
	local cli=$!
	wait "$cap" || r=1
	# the quote: the captured segment's IP header and 8 bytes of TCP
	read -ra q < <(od -An -v -tx1 -j 54 -N 28 "$RUN/seg.pcap" | tr -s ' \n' ' ')
	snat=$("$LAB" exec --prefix "$P" b backend1 -- ss -Htn state established '( sport = :5001 )' |
		awk '{ split($4, a, ":"); print a[1]; exit }')
	echo "quote ${q[*]}; backend's peer (the SNAT address) $snat"
	if ((r == 0 && ${#q[@]} == 28)) && [[ -n $snat ]]; then
		msg=(03 04 00 00 00 00 04 4c "${q[@]}") # type 3 code 4, next-hop MTU 1100
		sum=$(icmp_sum "${msg[@]}")
		msg[2]=${sum:0:2}
		msg[3]=${sum:2:2}
		esc= # octal escapes: sh may be dash, whose printf knows no \x
		for b in "${msg[@]}"; do esc+=$(printf '\\%03o' "$((16#$b))"); done
		"$LAB" exec --prefix "$P" b client -- sh -c \
			"printf '$esc' | socat -u STDIN IP4-SENDTO:10.100.0.14:1" || r=1
		wait_until 5 "$LAB" exec --prefix "$P" b backend1 -- sh -c \
			"ip route get $snat | grep -q 'mtu 1100'" || r=1
		"$LAB" exec --prefix "$P" b backend1 -- ip route get "$snat"
	else
		r=1
	fi
	kill "$cli" "$srv" 2>/dev/null || true
	wait "$cli" "$srv" 2>/dev/null || true
	"$LAB" exec --prefix "$P" b client -- nft delete table ip lab_hold || r=1
	return "$r"
}
check "ICMP frag-needed from site-b's client side reaches the backend, translated: its path MTU drops to 1100" \
	frag_needed_from_client

# ------------------------------------------------------------- detach
# (from the root mount namespace, where the pins are: see docs/lab.md)
check "gatewayd --detach removes the data plane of site-c" bash -c "
	'$LAB' kill --prefix $P c gw &&
	'$REPO/build/gatewayd' --detach -c $REPO/conf/site-c.conf --pin-dir /sys/fs/bpf/gw/$P-c-gw1 &&
	[[ ! -e /sys/fs/bpf/gw/$P-c-gw1 ]] &&
	! '$LAB' exec --prefix $P c gw -- ip link show int0 | grep -q xdp"

# A gatewayd that cannot probe its peers would never notice one fail: with
# the probe port taken, it must refuse to start, and say why.
probe_port_taken() {
	local holder r=0 pin=/sys/fs/bpf/gw/$P-c-taken
	# nsenter execs socat in place: $! is socat's pid
	nsenter --net="/run/netns/$P-c-gw" socat -u UDP4-RECV:6082,bind=10.255.0.3 /dev/null &
	holder=$!
	wait_until 5 "$LAB" exec --prefix "$P" c gw -- sh -c 'ss -lun | grep -q "10.255.0.3:6082 "' || r=1
	if ((r == 0)); then
		"$LAB" exec --prefix "$P" c gw -- timeout 20 "$REPO/build/gatewayd" \
			-c "$REPO/conf/site-c.conf" --pin-dir "$pin" --socket "$RUN/c-taken.sock" \
			>"$RUN/c-taken.log" 2>&1 && r=1
		grep "cannot probe peers" "$RUN/c-taken.log" || r=1
	fi
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	"$REPO/build/gatewayd" --detach -c "$REPO/conf/site-c.conf" --pin-dir "$pin" >/dev/null 2>&1
	[[ ! -e $pin ]] || r=1
	return "$r"
}
check "gatewayd refuses to start when its probe port is taken" probe_port_taken

lab_down "$P"
check "nothing of $P left" lab_leftovers "$P"
finish

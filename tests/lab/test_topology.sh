#!/usr/bin/env bash
# Foundation acceptance test of the lab (docs/lab.md): the 3-site topology,
# the etcd cluster, the backends, the overlapping CIDR, `lab status`, an etcd
# member restart, two more labs side by side, and a teardown that leaves nothing.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
require_root

EPS=http://10.255.0.101:2379,http://10.255.0.102:2379,http://10.255.0.103:2379
SITES=(a b c)
declare -A NET=([a]=1 [b]=2 [c]=1)
declare -A OCTET=([backend1]=11 [backend2]=12)

# etcdctl_in P TARGET... -- ARGS: etcdctl inside one of lab P's namespaces.
etcdctl_in() {
	local p=$1
	shift
	local target=()
	while [[ $1 != -- ]]; do
		target+=("$1")
		shift
	done
	shift
	"$LAB" exec --prefix "$p" "${target[@]}" -- \
		etcdctl --dial-timeout=1s --command-timeout=3s "$@"
}

etcd_health() { etcdctl_in "$1" site-a gw -- --endpoints="$EPS" endpoint health; }

# body P SITE URL: what lab P's client of SITE gets from URL.
body() { "$LAB" exec --prefix "$1" "$2" client -- curl -sS --max-time 3 -g "$3"; }

backend_answers() { # P SITE HOST FAMILY(4|6)
	local p=$1 s=$2 h=$3 url
	if [[ $4 == 4 ]]; then
		url="http://10.${NET[$s]}.0.${OCTET[$h]}/any/path?x=1"
	else
		url=http://[fd00:${NET[$s]}::${OCTET[$h]}]/
	fi
	expect_output "site=site-$s host=$h" body "$p" "$s" "$url"
}

status_json() { "$LAB" status --prefix "$1" -o json; }

jq_status() { # P FILTER: FILTER must be true on lab P's status
	status_json "$1" | jq -e "$2" >/dev/null
}

pids_of_run() { cat /run/isthmus-lab/"$1"/pids/* 2>/dev/null || true; }

all_dead() {
	local pid st
	for pid in "$@"; do
		st=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		st=${st##*) }
		[[ ${st%% *} == Z ]] || {
			echo "pid $pid still alive"
			return 1
		}
	done
}

# ---------------------------------------------------------------- 3 sites

P=$(new_prefix)
t0=$(now_ms)
lab_up "$P" --sites 3
note "3-site lab $P up in $(elapsed_s "$t0") s"

check "etcd: all 3 members healthy, asked from site-a's gateway over the WAN" etcd_health "$P"
check "etcd: a put through member 3 from site-c's gateway is read back through member 1" \
	bash -c "'$LAB' exec --prefix $P site-c gw -- etcdctl --endpoints=http://10.255.0.103:2379 put /lab-test/hello world >/dev/null &&
		[[ \$('$LAB' exec --prefix $P etcd 1 -- etcdctl --endpoints=http://127.0.0.1:2379 get /lab-test/hello --print-value-only) == world ]]"

for s in "${SITES[@]}"; do
	for h in backend1 backend2; do
		check "site-$s: client reaches $h over IPv4 and it names site and host" backend_answers "$P" "$s" "$h" 4
		check "site-$s: client reaches $h over IPv6 and it names site and host" backend_answers "$P" "$s" "$h" 6
	done
done

# shellcheck disable=SC2016 # expanded inside the gateway's namespace
check "gateways: forwarding on, rp_filter off" \
	expect_output "1 1 0 0" "$LAB" exec --prefix "$P" b gw -- sh -c \
	'echo $(sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv4.conf.all.rp_filter net.ipv4.conf.int0.rp_filter)'
check "sites are separate: site-a's client cannot reach site-b's backend directly" \
	not body "$P" a http://10.2.0.11/

# The overlap: site-a and site-c use the same internal CIDR and the same
# host addresses, yet each site's client reaches its own backends.
check "overlap: site-a and site-c both have 10.1.0.0/24 and fd00:1::/64" \
	jq_status "$P" '[.sites[] | select(.name == "site-a" or .name == "site-c") | .net, .net6] == ["10.1.0.0/24", "fd00:1::/64", "10.1.0.0/24", "fd00:1::/64"]'
check "overlap: both clients hold 10.1.0.10/24, both gateways 10.1.0.1/24 on int0" \
	jq_status "$P" '[.sites[] | select(.name == "site-a" or .name == "site-c") | .hosts[]
		| select(.name == "client" or .name == "gw") | .links[] | select(.ifname == "eth0" or .ifname == "int0")
		| .addrs | index("10.1.0.10/24") != null or index("10.1.0.1/24") != null] == [true, true, true, true]'
check "overlap: 10.1.0.11 is site-a's backend1 from site-a and site-c's from site-c" \
	bash -c "[[ \$('$LAB' exec --prefix $P a client -- curl -sS http://10.1.0.11/) == 'site=site-a host=backend1' &&
		\$('$LAB' exec --prefix $P c client -- curl -sS http://10.1.0.11/) == 'site=site-c host=backend1' ]]"

check "status -o json parses and lists 3 sites" \
	jq_status "$P" '(.sites | map(.name)) == ["site-a", "site-b", "site-c"] and .site_count == 3'
check "status -o json: 3 etcd members running, 6 nginx backends running" \
	jq_status "$P" '([.etcd.members[] | select(.process.running)] | length) == 3
		and ([.sites[].hosts[] | select(.server.running)] | length) == 6'
check "status (text) names every namespace" \
	bash -c "out=\$('$LAB' status --prefix $P) && for n in wan etcd1 a-gw b-client c-backend2; do grep -q -- '$P-'\$n <<<\"\$out\" || exit 1; done"

if [[ -x $REPO/build/gatewayd ]]; then
	for s in "${SITES[@]}"; do
		if [[ -r $REPO/conf/site-$s.conf ]]; then
			check "site-$s: gatewayd runs and serves its socket" \
				jq_status "$P" ".gateways[] | select(.site == \"site-$s\") | .gatewayd.running and .socket_present"
		fi
	done
else
	note "skip: gateway checks (build/gatewayd not built)"
fi

check "lab up refuses a prefix that is in use" not "$LAB" up --prefix "$P"
check "... and leaves that lab running" etcd_health "$P"

# A backend's server dies and comes back.
check "kill site-b backend2: its nginx is gone" "$LAB" kill --prefix "$P" b backend2
check "... site-b's client gets no answer from it" not body "$P" b http://10.2.0.12/
check "start site-b backend2: answers again" \
	bash -c "'$LAB' start --prefix $P b backend2 && [[ \$('$LAB' exec --prefix $P b client -- curl -sS http://10.2.0.12/) == 'site=site-b host=backend2' ]]"

# An etcd member crashes and rejoins with its data.
check "kill etcd 2" "$LAB" kill --prefix "$P" etcd 2
check "... status shows etcd2 not running" \
	jq_status "$P" '.etcd.members[] | select(.name == "etcd2") | .process.running | not'
check "... endpoint health reports the cluster unhealthy" not etcd_health "$P"
check "... the 2 others still take writes (within 15 s)" \
	wait_until 15 etcdctl_in "$P" etcd 1 -- --endpoints=http://10.255.0.101:2379 put /lab-test/while-down yes
t0=$(now_ms)
check "start etcd 2 again (existing data dir)" "$LAB" start --prefix "$P" etcd 2
check "... all 3 members healthy again within 20 s" wait_until 20 etcd_health "$P"
note "etcd2 healthy again $(elapsed_s "$t0") s after start"
check "... etcd2 has caught up with the write it missed (within 10 s)" \
	wait_until 10 expect_output yes etcdctl_in "$P" etcd 2 -- --endpoints=http://127.0.0.1:2379 \
	get /lab-test/while-down --print-value-only --consistency=s

# ---------------------------------------------------------------- 2 more labs at once

Q1=$(new_prefix)
Q2=$(new_prefix)
while [[ $Q2 == "$Q1" ]]; do Q2=$(new_prefix); done
lab_register "$Q1"
lab_register "$Q2"
t0=$(now_ms)
"$LAB" up --prefix "$Q1" --sites 1 >"/tmp/lab-up-$Q1.log" 2>&1 &
pid1=$!
"$LAB" up --prefix "$Q2" --sites 1 >"/tmp/lab-up-$Q2.log" 2>&1 &
pid2=$!
rc1=0 rc2=0
wait "$pid1" || rc1=$?
wait "$pid2" || rc2=$?
note "labs $Q1 and $Q2 (1 site each) up side by side in $(elapsed_s "$t0") s"
check "concurrent up of $Q1 (1 site) succeeds" bash -c "(($rc1 == 0)) || { cat /tmp/lab-up-$Q1.log; exit 1; }"
check "concurrent up of $Q2 (1 site) succeeds" bash -c "(($rc2 == 0)) || { cat /tmp/lab-up-$Q2.log; exit 1; }"
rm -f "/tmp/lab-up-$Q1.log" "/tmp/lab-up-$Q2.log"
for q in "$Q1" "$Q2"; do
	check "$q: 1 site, 9 namespaces of its own" \
		bash -c "[[ \$(ip netns list | grep -c '^$q-') == 9 ]] && '$LAB' status --prefix $q -o json | jq -e '.site_count == 1 and .prefix == \"$q\"' >/dev/null"
	check "$q: etcd healthy" etcd_health "$q"
	check "$q: backends answer" bash -c "
		[[ \$('$LAB' exec --prefix $q a client -- curl -sS http://10.1.0.11/) == 'site=site-a host=backend1' ]] &&
		[[ \$('$LAB' exec --prefix $q a client -- curl -sS http://10.1.0.12/) == 'site=site-a host=backend2' ]]"
done
check "the three labs hold different etcd clusters" bash -c "
	ids=\$(for p in $P $Q1 $Q2; do '$LAB' exec --prefix \$p etcd 1 -- etcdctl --endpoints=http://127.0.0.1:2379 -w json endpoint status | jq -r '.[0].Status.header.cluster_id'; done | sort -u | wc -l)
	[[ \$ids == 3 ]]"
check "$P still healthy with the others up" etcd_health "$P"

q1_pids=$(pids_of_run "$Q1")
q2_pids=$(pids_of_run "$Q2")
"$LAB" down --prefix "$Q1" >/dev/null &
pid1=$!
"$LAB" down --prefix "$Q2" >/dev/null &
pid2=$!
rc1=0 rc2=0
wait "$pid1" || rc1=$?
wait "$pid2" || rc2=$?
lab_unregister "$Q1"
lab_unregister "$Q2"
check "concurrent down of $Q1 and $Q2 succeeds" bash -c "(($rc1 == 0 && $rc2 == 0))"
# shellcheck disable=SC2086 # word splitting of the pid lists is intended
check "$Q1 and $Q2: their daemons are gone" all_dead $q1_pids $q2_pids
check "$Q1: nothing left" lab_leftovers "$Q1"
check "$Q2: nothing left" lab_leftovers "$Q2"
check "$P untouched by their teardown: etcd healthy" etcd_health "$P"
check "$P untouched by their teardown: backends answer" backend_answers "$P" c backend2 4

# ---------------------------------------------------------------- teardown

p_pids=$(pids_of_run "$P")
t0=$(now_ms)
check "lab down $P" "$LAB" down --prefix "$P"
lab_unregister "$P"
note "lab $P down in $(elapsed_s "$t0") s"
# shellcheck disable=SC2086
check "$P: every daemon it started is gone" all_dead $p_pids
check "$P: no namespace, link, process, pin, socket or state dir left" lab_leftovers "$P"
check "lab down is idempotent" "$LAB" down --prefix "$P"

finish

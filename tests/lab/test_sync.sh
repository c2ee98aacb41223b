#!/usr/bin/env bash
# cluster-syncd acceptance in the 3-site lab with the real etcd cluster:
# discovery of a service only one site defines, failover when a site's
# gateway dies, etcd member loss, a whole-etcd outage (fail static), and
# bad records written by hand.
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

EPS=http://10.255.0.101:2379,http://10.255.0.102:2379,http://10.255.0.103:2379
ETCD_DOWN_S=${ETCD_DOWN_S:-60}

P=$(new_prefix)
RUN=/run/isthmus-lab/$P
lab_up "$P" --sites 3

gwctl() { "$LAB" exec --prefix "$P" "$1" gw -- gwctl "${@:2}"; }
etcdctl_() { "$LAB" exec --prefix "$P" etcd 1 -- etcdctl --endpoints="$EPS" --command-timeout=3s "$@"; }
get() { "$LAB" exec --prefix "$P" "$1" client -- curl -sS --max-time 1 -g "$2"; }
knows_service() { gwctl "$1" -o json services list | jq -e ".services[] | select(.name == \"$2\")" >/dev/null; }

# loop SITE URL SECONDS FILE [TIMEOUT_S]: requests from SITE's client, one
# after the other for SECONDS, each "MS ok|fail" (wall clock ms) into FILE.
# Runs in the client's namespace so nothing but curl sits between two
# requests. TIMEOUT_S (default 0.1, for timing a failover) bounds each one;
# checks that only count failures use 1 s, so a loaded machine's slow
# request is not taken for a lost one.
loop() {
	# shellcheck disable=SC2016 # the loop's own variables expand in the client's shell
	"$LAB" exec --prefix "$P" "$1" client -- bash -c '
		end=$((${EPOCHREALTIME/./} / 1000 + '"$3"' * 1000))
		while :; do
			t=$((${EPOCHREALTIME/./} / 1000))
			((t < end)) || break
			if curl -s -o /dev/null --max-time '"${5:-0.1}"' '"$2"'; then echo "$t ok"; else echo "$t fail"; fi
		done' >"$4"
}
fails() { grep -c fail "$1" || true; }

check "site-a learns web-bc (defined by site-b and site-c only) within 10 s" \
	wait_until 10 knows_service a web-bc
check "site-a learns only-b (defined by site-b only) within 10 s" wait_until 10 knows_service a only-b
check "site-a's client reaches only-b: site-b answers" \
	bash -c "[[ \$('$LAB' exec --prefix $P a client -- curl -sS --max-time 2 http://10.100.0.16/) == site=site-b* ]]"
check "gwctl sites on site-a: site-b and site-c learned from etcd and up" bash -c "
	'$LAB' exec --prefix $P a gw -- gwctl -o json sites |
		jq -e '[.sites[] | select(.learned and .state == \"up\") | .name] | sort == [\"site-b\", \"site-c\"]' >/dev/null"
check "gwctl sync status on site-a: watching, no error" bash -c "
	'$LAB' exec --prefix $P a gw -- gwctl -o json sync status | jq -e '.watching and .last_error == \"none\"' >/dev/null"

# gatewayd checks what is pushed into it, too: every bad body answers 400 and
# changes nothing.
bad_pushes() {
	local sock=/run/isthmus/$P-a-gw1.sock code body before after
	before=$("$REPO/build/gwctl" --socket "$sock" -o json sites | jq -c '[.sites[] | [.name, .backends]]')
	while IFS='|' read -r path body; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PUT \
			--data-binary "$body" "http://gw$path")
		echo "$path $body -> $code"
		[[ $code == 400 ]] || return 1
	done <<'EOT'
/v1/remote/sites/Bad_Site|{"site_id":2,"gateways":[],"services":[]}
/v1/remote/sites/site-x|not json
/v1/remote/sites/site-x|{"site_id":0,"gateways":[],"services":[]}
/v1/remote/sites/site-x|{"site_id":9,"gateways":{},"services":[]}
/v1/remote/sites/site-x|{"site_id":9,"gateways":[{"name":"gw1","address":"nowhere"}],"services":[]}
/v1/remote/sites/site-x|{"site_id":9,"gateways":[],"services":[{"name":"s","vips":["10.100.0.99"],"ports":["80/tcp"],"backends":[{"address":"10.9.0.1","port":70000,"weight":1,"healthy":true}]}]}
/v1/remote/sites/site-a|{"site_id":1,"gateways":[],"services":[]}
EOT
	after=$("$REPO/build/gwctl" --socket "$sock" -o json sites | jq -c '[.sites[] | [.name, .backends]]')
	[[ $before == "$after" ]]
}
check "gatewayd refuses malformed pushes (400) and keeps its state" bad_pushes

# ------------------------------------------------------------- discovery time
withdrawn() { ! knows_service a only-b; }
discovery() {
	"$LAB" kill --prefix "$P" b syncd >/dev/null
	etcdctl_ del --prefix /isthmus/v1/services/site-b/ >/dev/null
	etcdctl_ del --prefix /isthmus/v1/gateways/site-b/ >/dev/null
	wait_until 10 withdrawn || {
		echo "site-a did not withdraw only-b"
		return 1
	}
	get a http://10.100.0.16/ >/dev/null 2>&1 && {
		echo "only-b still answers after withdrawal"
		return 1
	}
	local t0 t1
	t0=$(now_ms)
	"$LAB" start --prefix "$P" b syncd >/dev/null
	wait_until 5 "$LAB" exec --prefix "$P" a client -- curl -s --max-time 0.2 -o /dev/null http://10.100.0.16/ ||
		return 1
	t1=$(now_ms)
	echo "only-b reachable from site-a $((t1 - t0)) ms after site-b's cluster-syncd started"
	((t1 - t0 <= 1000))
}
check "a service only site-b defines is reachable from site-a within 1 s of site-b's cluster-syncd starting" discovery

# ------------------------------------------------------------- a site's gateway dies
# A gateway dies: its daemons go (the XDP data plane would keep forwarding
# without them, by design), then its link: from then on it answers nothing.
kill_b_daemons() {
	"$LAB" kill --prefix "$P" b syncd >/dev/null
	"$LAB" kill --prefix "$P" b gw >/dev/null
}
failover() {
	local t_cut rec
	loop a http://10.100.0.15/ 4 "$RUN/failover" &
	local lp=$!
	wait_until 5 test -s "$RUN/failover"
	kill_b_daemons
	t_cut=$(now_ms)
	ip -n "$P-b-gw" link set ext0 down
	wait "$lp"
	# recovery: the first success after the last failure, counted from the cut
	rec=$(awk -v c="$t_cut" '$1 >= c && $2 == "fail" { lf = $1 } END { printf "%.0f\n", lf + 0 }' "$RUN/failover")
	if ((rec == 0)); then
		echo "no request failed after the cut"
		return 0
	fi
	rec=$(awk -v l="$rec" -v c="$t_cut" '$1 > l && $2 == "ok" { printf "%.0f\n", $1 - c; exit }' "$RUN/failover")
	echo "requests to web-bc succeed again $rec ms after site-b's gateway died ($(fails "$RUN/failover") failed)"
	[[ -n $rec ]] && ((rec <= 500))
}
check "kill site-b's gateway (daemons killed, link cut) under a request loop to web-bc: success again within 500 ms" failover
check "... site-a sees site-b down" bash -c "
	'$LAB' exec --prefix $P a gw -- gwctl -o json peers list | jq -e '.peers[] | select(.site == \"site-b\") | .state == \"down\"' >/dev/null"
check "... web-bc is answered by site-c only" bash -c "
	for i in 1 2 3 4 5 6; do '$LAB' exec --prefix $P a client -- curl -sS --max-time 1 http://10.100.0.15/ | grep -q site=site-c || exit 1; done"
restore_b() {
	ip -n "$P-b-gw" link set ext0 up
	"$LAB" start --prefix "$P" b gw >/dev/null
	"$LAB" start --prefix "$P" b syncd >/dev/null
	wait_until 10 bash -c "'$LAB' exec --prefix $P a gw -- gwctl -o json peers list |
		jq -e '.peers[] | select(.site == \"site-b\") | .state == \"up\"' >/dev/null"
}
check "site-b back: site-a sees it up again within 10 s" restore_b
check "... and web-bc is answered by site-b again" wait_until 10 bash -c "
	for i in 1 2 3 4 5 6 7 8; do '$LAB' exec --prefix $P a client -- curl -sS --max-time 1 http://10.100.0.15/; done | grep -q site=site-b"

# ------------------------------------------------------------- a stalled gatewayd
# site-a's gatewayd is stopped for 300 ms (twelve fast intervals) while
# site-b is healthy, five times at whatever phase of the probe cycle: the
# deadlines of its probes pass while it cannot read their answers, which are
# queued by the time it runs again. It must read them before it judges, and
# count deadlines from when its probes left, so site-b is never taken down.
probes_a() { gwctl a -o json status | jq -r ".probes.$1"; }
answered_since() { (($(probes_a answered) >= $1 + 2)); }
stopped() { [[ $(awk '{ print $3 }' "/proc/$1/stat") == [tT] ]]; }
stall_a() {
	local pid downs missed answered i
	pid=$(<"$RUN/pids/a-gatewayd")
	downs=$(probes_a downs)
	missed=$(probes_a missed)
	for i in 1 2 3 4 5; do
		answered=$(probes_a answered)
		kill -STOP "$pid"
		wait_until 2 stopped "$pid" || {
			kill -CONT "$pid"
			echo "gatewayd $pid did not stop"
			return 1
		}
		sleep 0.3 # the stall itself
		kill -CONT "$pid"
		# both peers answered probes sent after the stall
		wait_until 5 answered_since "$answered" || return 1
	done
	echo "5 stalls of 300 ms: site-b $(gwctl a -o json peers list | jq -r '.peers[] | select(.site == "site-b") | .state'), $(($(probes_a downs) - downs)) peers taken down, $(($(probes_a missed) - missed)) probes missed"
	(($(probes_a downs) == downs)) &&
		gwctl a -o json peers list | jq -e '.peers[] | select(.site == "site-b") | .state == "up"' >/dev/null
}
check "site-a's gatewayd stopped 5 times for 300 ms (SIGSTOP/SIGCONT): site-b is never taken down" stall_a

# ------------------------------------------------------------- a hung gatewayd
# site-b's gatewayd hangs (SIGSTOP) for longer than the lease TTL (10 s):
# its socket accepts but nobody answers. Its XDP data plane still works, so
# nothing may be withdrawn: site-b's cluster-syncd must keep its lease alive
# while its calls to gatewayd time out, and site-a keeps reaching only-b.
hung_b() {
	local pid i fails=0 n=0 t_end
	pid=$(<"$RUN/pids/b-gatewayd")
	kill -STOP "$pid"
	t_end=$((SECONDS + 15)) # the hang itself: past the 10 s lease TTL
	while ((SECONDS < t_end)); do
		n=$((n + 1))
		"$LAB" exec --prefix "$P" a client -- curl -sS --max-time 1 http://10.100.0.16/ \
			>/dev/null 2>&1 || fails=$((fails + 1))
		knows_service a only-b || fails=$((fails + 1))
		sleep 0.5
	done
	kill -CONT "$pid"
	echo "site-b's gatewayd hung 15 s: $n rounds, $fails failures (request or only-b withdrawn)"
	((fails == 0))
}
check "site-b's gatewayd hung 15 s (SIGSTOP): nothing withdrawn, site-a keeps reaching only-b" hung_b
check "... site-b's gatewayd answers again after SIGCONT" wait_until 10 \
	"$LAB" exec --prefix "$P" b gw -- gwctl status
check "... and site-b's cluster-syncd counted the calls that timed out (gw_timeouts)" wait_until 10 \
	bash -c "'$LAB' exec --prefix $P b gw -- gwctl -o json sync status | jq -e '.counters.gw_timeouts >= 1' >/dev/null"

# ------------------------------------------------------------- etcd member loss
leader() { # the member number (1..3) of the current leader
	etcdctl_ endpoint status -w json | jq -r '.[] | select(.Status.leader == .Status.header.member_id) | .Endpoint' |
		sed 's|.*10.255.0.10\([0-9]\):.*|\1|'
}
kill_leader() {
	local n
	n=$(leader)
	[[ $n =~ ^[1-3]$ ]] || {
		echo "no leader found"
		return 1
	}
	loop a http://10.100.0.15/ 3 "$RUN/etcdkill" 1 &
	local lp=$!
	wait_until 5 test -s "$RUN/etcdkill"
	"$LAB" kill --prefix "$P" etcd "$n" >/dev/null
	wait "$lp"
	echo "killed etcd$n (the leader); $(wc -l <"$RUN/etcdkill") requests, $(fails "$RUN/etcdkill") failed"
	"$LAB" start --prefix "$P" etcd "$n" >/dev/null
	(($(fails "$RUN/etcdkill") == 0))
}
check "kill -9 the etcd leader under the request loop: no failed request" kill_leader
check "... cluster healthy again within 20 s" wait_until 20 etcdctl_ endpoint health

# ------------------------------------------------------------- all of etcd away
keys() { etcdctl_ get --prefix --keys-only /isthmus/v1/ | sed '/^$/d' | sort; }
keys_equal() { [[ $(keys) == "$1" ]]; }
etcd_outage() {
	local before after n
	before=$(keys)
	for n in 1 2 3; do "$LAB" kill --prefix "$P" etcd "$n" >/dev/null; done
	# only-b is known to site-a through etcd alone: it must stay reachable
	loop a http://10.100.0.16/ "$ETCD_DOWN_S" "$RUN/outage" 1 &
	local lp=$! forgot=0
	wait "$lp"
	knows_service a web-bc || forgot=1
	for n in 1 2 3; do "$LAB" start --prefix "$P" etcd "$n" >/dev/null; done
	echo "etcd down ${ETCD_DOWN_S} s: $(wc -l <"$RUN/outage") requests to only-b, $(fails "$RUN/outage") failed"
	(($(fails "$RUN/outage") == 0)) || return 1
	((forgot == 0)) || {
		echo "site-a forgot web-bc while etcd was away"
		return 1
	}
	wait_until 30 etcdctl_ endpoint health || return 1
	wait_until 20 keys_equal "$before" || {
		after=$(keys)
		echo "keys before:"
		echo "$before"
		echo "keys after:"
		echo "$after"
		return 1
	}
	echo "$(wc -l <<<"$before") keys, the same before and after"
}
check "all etcd members down ${ETCD_DOWN_S} s: traffic to an etcd-learned service continues; keys converge after restart" etcd_outage
check "... site-a has each web-bc backend once (no duplicates)" wait_until 10 bash -c "
	'$LAB' exec --prefix $P a gw -- gwctl -o json backends list --service web-bc |
		jq -e '[.backends[] | .site + \"/\" + .address] | (length == 4 and (unique | length) == 4)' >/dev/null"
check "... cluster-syncd watching again with no error after the outage" wait_until 20 bash -c "
	'$LAB' exec --prefix $P a gw -- gwctl -o json sync status | jq -e '.watching and .lag_ms < 5000' >/dev/null"

# ------------------------------------------------------------- bad records by hand
refused() { gwctl a -o json sync status | jq -r ".refused.$1"; }
bad_records() {
	local big=$RUN/big.json
	etcdctl_ put /isthmus/v1/services/site-b/bad-json 'this is not json' >/dev/null
	etcdctl_ put /isthmus/v1/services/site-b/bad-version '{"version":99,"site":"site-b","site_id":2,"name":"bad-version","vips":["10.100.0.99"],"ports":["80/tcp"],"backends":[]}' >/dev/null
	etcdctl_ put /isthmus/v1/services/site-b/evil '{"version":1,"site":"site-c","site_id":3,"name":"evil","vips":["10.100.0.10"],"ports":["80/tcp"],"backends":[{"address":"10.9.9.9","port":80,"weight":1,"healthy":true}]}' >/dev/null
	etcdctl_ put /isthmus/v1/nonsense/key '{"version":1}' >/dev/null
	{
		printf '{"version":1,"site":"site-c","site_id":3,"name":"huge","pad":"'
		head -c 1048576 /dev/zero | tr '\0' x
		printf '"}'
	} >"$big"
	"$LAB" exec --prefix "$P" etcd 1 -- sh -c "etcdctl --endpoints=$EPS put /isthmus/v1/services/site-c/huge < $big" >/dev/null
	wait_until 10 bash -c "[[ \$('$LAB' exec --prefix $P a gw -- gwctl -o json sync status | jq '[.refused.bad_json, .refused.bad_version, .refused.foreign_site, .refused.bad_key, .refused.too_large] | all(. >= 1)') == true ]]" || {
		gwctl a -o json sync status | jq -c .refused
		return 1
	}
	gwctl a -o json sync status | jq -c .refused
}
check "bad JSON, wrong version, another site's record, a key outside the schema and a 1 MiB value are refused and counted" bad_records
check "... no service was created from them" bash -c "
	! '$LAB' exec --prefix $P a gw -- gwctl -o json services list | jq -e '.services[] | select(.name == \"evil\" or .name == \"bad-version\" or .name == \"huge\")' >/dev/null"
check "... every gatewayd and cluster-syncd still runs" bash -c "
	'$LAB' status --prefix $P -o json | jq -e '[.gateways[] | .gatewayd.running and .cluster_syncd.running] | all' >/dev/null"
check "... other sites' state is unaffected: web-bc and only-b answer" bash -c "
	'$LAB' exec --prefix $P a client -- curl -sS --max-time 2 http://10.100.0.15/ | grep -q site= &&
	'$LAB' exec --prefix $P a client -- curl -sS --max-time 2 http://10.100.0.16/ | grep -q site=site-b"

# ------------------------------------------------------------- identities
# Three sites allocate the same 40 label sets at the same moment, 3 rounds:
# every site must get the same id for a set, and no two sets one id.
alloc_race() {
	local round s i sets=() out
	for round in 1 2 3; do
		sets=()
		for ((i = 0; i < 40; i++)); do sets+=(--allocate "app=race,round=$round,n=$i"); done
		for s in a b c; do
			nsenter --net="/run/netns/$P-$s-gw" "$REPO/build/cluster-syncd" \
				-c "$REPO/conf/site-$s.conf" "${sets[@]}" >"$RUN/alloc-$s" 2>&1 &
		done
		wait
		for s in b c; do
			cmp -s "$RUN/alloc-a" "$RUN/alloc-$s" || {
				echo "round $round: site-a and site-$s got different ids"
				diff "$RUN/alloc-a" "$RUN/alloc-$s" | head
				return 1
			}
		done
		out=$(awk '{ print $2 }' "$RUN/alloc-a" | sort -u | wc -l)
		((out == 40)) || {
			echo "round $round: $out distinct ids for 40 label sets"
			return 1
		}
		cat "$RUN/alloc-a" >>"$RUN/alloc-all"
	done
	out=$(awk '{ print $2 }' "$RUN/alloc-all" | sort -u | wc -l)
	echo "120 label sets allocated by 3 sites at once: one id each, $out distinct ids"
	((out == 120))
}
check "three sites allocating the same label sets at once always get one id per set" alloc_race

# Nobody uses those 120: collected. The sites' own identities (in use under
# their leases) stay.
gc_unused() {
	local out used
	out=$(nsenter --net="/run/netns/$P-a-gw" "$REPO/build/cluster-syncd" -c "$REPO/conf/site-a.conf" \
		--gc-identities 0) || return 1
	echo "$out"
	[[ $out == "collected 120 unused identities" ]] || return 1
	used=$(etcdctl_ get --prefix --keys-only /isthmus/v1/identities/id/ | sed '/^$/d' | wc -l)
	echo "$used ids left"
	((used == 3)) && bash -c "'$LAB' exec --prefix $P a gw -- gwctl -o json identities |
		jq -e '.identities[0].etcd_id >= 256' >/dev/null"
}
check "identities nobody uses are collected; the three sites' own stay" gc_unused

lab_down "$P"
check "nothing of $P left" lab_leftovers "$P"
finish

#!/usr/bin/env bash
# Re-records the etcd 3.4 JSON gateway answers under this directory from a
# throwaway local etcd (and, for the no-leader stream error, a 3-member one).
set -euo pipefail
cd "$(dirname "$0")"
out=$PWD
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
b() { printf %s "$1" | base64 -w0; }
wait_healthy() { # url
	for _ in $(seq 100); do
		curl -sf -X POST "$1/v3/kv/range" -d '{"key":"AA=="}' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "etcd at $1 did not come up" >&2
	exit 1
}

cp=$(free_port) pp=$(free_port)
E=http://127.0.0.1:$cp
etcd --name t --data-dir "$tmp/d" --listen-client-urls "$E" --advertise-client-urls "$E" \
	--listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
	--initial-cluster "t=http://127.0.0.1:$pp" \
	--experimental-watch-progress-notify-interval 1s >"$tmp/etcd.log" 2>&1 &
pids+=($!)
wait_healthy "$E"

p() { curl -s -X POST "$E$1" -d "$2"; }
rec() { p "$2" "$3" >"$out/$1"; echo >>"$out/$1"; }

# A watch over /w/ recording the whole stream, started before any write.
curl -sN -X POST "$E/v3/watch" -d "{\"create_request\":{\"key\":\"$(b /w/)\",\"range_end\":\"$(b /w0)\",\"progress_notify\":true,\"prev_kv\":true}}" >"$tmp/watch" &
wpid=$!
pids+=($wpid)
until [ -s "$tmp/watch" ]; do sleep 0.05; done

rec put.json /v3/kv/put "{\"key\":\"$(b /w/a)\",\"value\":\"$(b v1)\"}"
rec put_prev_kv.json /v3/kv/put "{\"key\":\"$(b /w/a)\",\"value\":\"$(b v2)\",\"prev_kv\":true}"
rec delete_prev_kvs.json /v3/kv/deleterange "{\"key\":\"$(b /w/a)\",\"prev_kv\":true}"
rec txn_succeeded.json /v3/kv/txn "{\"compare\":[{\"key\":\"$(b /w/b)\",\"target\":\"CREATE\",\"create_revision\":\"0\"}],\"success\":[{\"request_put\":{\"key\":\"$(b /w/b)\",\"value\":\"$(b x)\"}},{\"request_put\":{\"key\":\"$(b /w/c)\",\"value\":\"\"}}],\"failure\":[{\"request_range\":{\"key\":\"$(b /w/b)\"}}]}"
rec txn_failed.json /v3/kv/txn "{\"compare\":[{\"key\":\"$(b /w/b)\",\"target\":\"CREATE\",\"create_revision\":\"0\"}],\"success\":[{\"request_put\":{\"key\":\"$(b /w/b)\",\"value\":\"$(b y)\"}}],\"failure\":[{\"request_range\":{\"key\":\"$(b /w/b)\"}}]}"
rec txn_failed_empty.json /v3/kv/txn "{\"compare\":[{\"key\":\"$(b /w/b)\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"$(b nope)\"}],\"success\":[{\"request_put\":{\"key\":\"$(b /w/b)\",\"value\":\"$(b z)\"}}]}"
rec txn_cas.json /v3/kv/txn "{\"compare\":[{\"key\":\"$(b /w/b)\",\"target\":\"MOD\",\"mod_revision\":\"5\"}],\"success\":[{\"request_put\":{\"key\":\"$(b /w/b)\",\"value\":\"$(b y)\",\"prev_kv\":true}},{\"request_delete_range\":{\"key\":\"$(b /w/c)\"}}]}"
sleep 3 # one progress notification (--experimental-watch-progress-notify-interval 1s)
kill "$wpid"
p /v3/kv/put "{\"key\":\"$(b /w/d)\",\"value\":\"$(b dd)\"}" >/dev/null
rec range_kvs.json /v3/kv/range "{\"key\":\"$(b /w/)\",\"range_end\":\"$(b /w0)\"}"
rec range_page.json /v3/kv/range "{\"key\":\"$(b /w/)\",\"range_end\":\"$(b /w0)\",\"limit\":\"1\"}"
rec range_empty.json /v3/kv/range "{\"key\":\"$(b /nothing/)\",\"range_end\":\"$(b /nothing0)\"}"
rec range_count_only.json /v3/kv/range "{\"key\":\"$(b /w/)\",\"range_end\":\"$(b /w0)\",\"count_only\":true}"
rec delete.json /v3/kv/deleterange "{\"key\":\"$(b /w/)\",\"range_end\":\"$(b /w0)\"}"
rec lease_grant.json /v3/lease/grant '{"TTL":"30"}'
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ID"])' "$out/lease_grant.json")
rec lease_keepalive.json /v3/lease/keepalive "{\"ID\":\"$id\"}"
rec lease_revoke.json /v3/lease/revoke "{\"ID\":\"$id\"}"
rec lease_keepalive_gone.json /v3/lease/keepalive "{\"ID\":\"$id\"}"
rec error_lease_not_found.json /v3/lease/revoke "{\"ID\":\"$id\"}"
rec error_duplicate_key.json /v3/kv/txn "{\"success\":[{\"request_put\":{\"key\":\"$(b /x)\"}},{\"request_put\":{\"key\":\"$(b /x)\"}}]}"
rec error_future_rev.json /v3/kv/range "{\"key\":\"$(b /w/)\",\"revision\":\"1000000\"}"
p /v3/kv/compaction '{"revision":"6","physical":true}' >/dev/null
rec error_compacted.json /v3/kv/range "{\"key\":\"$(b /w/)\",\"revision\":\"2\"}"
timeout 2 curl -sN -X POST "$E/v3/watch" -d "{\"create_request\":{\"key\":\"$(b /w/)\",\"range_end\":\"$(b /w0)\",\"start_revision\":\"2\"}}" >"$tmp/compacted" || true
timeout 2 curl -sN -X POST "$E/v3/watch" -d '{"create_request":{"key":123}}' >"$out/watch_error_request.json" || true
echo >>"$out/watch_error_request.json"

# One line per kind of watch answer.
sed -n 1p "$tmp/watch" >"$out/watch_created.json"
sed -n 2p "$tmp/watch" >"$out/watch_put.json"
sed -n 3p "$tmp/watch" >"$out/watch_put_prev_kv.json"
sed -n 4p "$tmp/watch" >"$out/watch_delete.json"
sed -n 5p "$tmp/watch" >"$out/watch_txn.json"
grep -v '"events"\|"created"' "$tmp/watch" | head -1 >"$out/watch_progress.json"
sed -n 2p "$tmp/compacted" >"$out/watch_compacted.json"
cp "$tmp/watch" "$out/watch_stream.txt"

# The error that ends a stream when its member loses the leader (3 members, 2 killed).
if [ "${1:-}" = "--no-leader" ]; then
	declare -a cps pps
	ic=""
	for i in 1 2 3; do
		cps[$i]=$(free_port) pps[$i]=$(free_port)
		ic+="${ic:+,}m$i=http://127.0.0.1:${pps[$i]}"
	done
	for i in 1 2 3; do
		etcd --name m$i --data-dir "$tmp/m$i" --listen-client-urls "http://127.0.0.1:${cps[$i]}" \
			--advertise-client-urls "http://127.0.0.1:${cps[$i]}" \
			--listen-peer-urls "http://127.0.0.1:${pps[$i]}" \
			--initial-advertise-peer-urls "http://127.0.0.1:${pps[$i]}" \
			--initial-cluster "$ic" >"$tmp/m$i.log" 2>&1 &
		pids+=($!)
		eval "mpid$i=$!"
	done
	wait_healthy "http://127.0.0.1:${cps[1]}"
	curl -sN -H 'Grpc-Metadata-hasleader: true' -X POST "http://127.0.0.1:${cps[1]}/v3/watch" \
		-d "{\"create_request\":{\"key\":\"$(b /w/)\"}}" >"$tmp/noleader" &
	npid=$!
	until [ -s "$tmp/noleader" ]; do sleep 0.05; done
	kill -9 "$mpid2" "$mpid3"
	timeout 30 tail --pid=$npid -f /dev/null || true
	sed -n 2p "$tmp/noleader" >"$out/watch_error_no_leader.json"
	echo >>"$out/watch_error_no_leader.json"
fi
echo "recorded into $out"

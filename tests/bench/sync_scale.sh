#!/usr/bin/env bash
# cluster-syncd at scale (docs/benchmarks.md, "cluster-syncd and failover"):
# SITES other sites x SERVICES services x BACKENDS backends in etcd; how
# long cluster-syncd takes from its start until every site was pushed into
# "gatewayd", its peak RSS, and what it asks of etcd at steady state.
#
#   1. a single etcd on 127.0.0.1 (random ports, temporary data dir, stopped
#      and removed on exit), --max-txn-ops raised for the loader;
#   2. build/bench/sync_load writes the records in the schema of
#      cluster-sync/records.c (PREFIX/services/SITE/SERVICE and
#      PREFIX/gateways/SITE/gw1, sites site-x01.., one VIP per service) in
#      txn batches through etcd's JSON gateway;
#   3. build/bench/sync_standin stands in for gatewayd on a unix socket: it
#      serves GET /v1/export (site-a, no services of its own) and answers
#      200 to every PUT /v1/remote/sites/SITE, logging when each site
#      arrives; it does nothing else, so cluster-syncd is measured alone (a
#      real gatewayd would build SITES x SERVICES Maglev tables on the same
#      2 cores);
#   4. cluster-syncd (site-a) is started: initial sync = its start -> the
#      last of the SITES sites pushed; peak RSS = VmHWM of /proc/PID/status;
#   5. steady state for STEADY seconds: etcd's own /metrics counters
#      (grpc_server_started_total and grpc_server_msg_received_total by
#      method, etcd_mvcc_*_total) before and after, cluster-syncd's counters
#      (its status push) and CPU time, the stand-in's request counts;
#   6. gatewayd's request limit: cluster-syncd restarted against a second
#      stand-in with the API server's default request limit (64 KiB, what
#      gatewayd uses: gateway/main.c passes no limits to gw_api_new) for
#      LIMIT_S seconds: how many sites get through, push errors, CPU.
#
# Environment: SYNC_SCALE_SITES (10), SYNC_SCALE_SERVICES (1000),
# SYNC_SCALE_BACKENDS (10), SYNC_SCALE_STEADY_S (30), SYNC_SCALE_LIMIT_S (5;
# 0 skips step 6), BUILD (build), BENCH_KEEP=1 keeps the temp dir (logs,
# etcd data). Prints numbers; asserts nothing. Needs no root (loopback only).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build}
SITES=${SYNC_SCALE_SITES:-10}
SERVICES=${SYNC_SCALE_SERVICES:-1000}
BACKENDS=${SYNC_SCALE_BACKENDS:-10}
STEADY=${SYNC_SCALE_STEADY_S:-30}
LIMIT_S=${SYNC_SCALE_LIMIT_S:-5}

for b in cluster-syncd bench/sync_load bench/sync_standin; do
	[[ -x $BUILD/$b ]] || {
		echo "sync_scale.sh: $BUILD/$b is missing: run make first" >&2
		exit 1
	}
done
for c in etcd etcdctl curl jq; do
	command -v "$c" >/dev/null || {
		echo "sync_scale.sh: $c is needed (make deps)" >&2
		exit 1
	}
done

TMP=$(mktemp -d /tmp/isthmus-sync-scale.XXXXXX)
PIDS=() # etcd, stand-ins, cluster-syncd: ours, ended by pid
cleanup() {
	local pid
	trap - EXIT
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		echo "# kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

us() { echo "${EPOCHREALTIME/./}"; }
ms_since() { awk -v a="$1" -v b="$(us)" 'BEGIN { printf "%.0f\n", (b - a) / 1000 }'; }
# wait_for TIMEOUT_S CMD...: poll CMD every 10 ms
wait_for() {
	local end=$(($(us) + $1 * 1000000))
	shift
	until "$@" >/dev/null 2>&1; do
		(($(us) < end)) || return 1
		sleep 0.01
	done
}
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		[[ -z $(ss -Hltn "sport = :$p" 2>/dev/null) ]] && [[ -z $(ss -Hltn "sport = :$((p + 1))" 2>/dev/null) ]] && break
	done
	echo "$p"
}
kb() { awk -v k="$1" '/^Vm(HWM|RSS):/ { if ($1 == k ":") print $2 }' "/proc/$2/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
metrics() {
	curl -sf "http://127.0.0.1:$PC/metrics" |
		awk '/^(grpc_server_started_total|grpc_server_msg_received_total|etcd_mvcc_(range|put|txn|delete)_total)/ { print $1, $2 }'
}

PC=$(free_port)
PP=$((PC + 1))
EP=127.0.0.1:$PC

echo "=== cluster-syncd scale: $SITES sites x $SERVICES services x $BACKENDS backends"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'); kernel $(uname -r); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- cluster-sync gateway include 2>/dev/null || echo ' (+ uncommitted changes)')"
echo "etcd:    $(etcd --version 2>/dev/null | head -1 | sed 's/etcd Version: //'), one member on $EP"

etcd --name bench --data-dir "$TMP/etcd" \
	--listen-client-urls "http://$EP" --advertise-client-urls "http://$EP" \
	--listen-peer-urls "http://127.0.0.1:$PP" --initial-advertise-peer-urls "http://127.0.0.1:$PP" \
	--initial-cluster "bench=http://127.0.0.1:$PP" --initial-cluster-token "isxb-scale-$$" \
	--max-txn-ops 1000 --max-request-bytes 8388608 >"$TMP/etcd.log" 2>&1 &
PIDS+=($!)
wait_for 30 etcdctl --endpoints="http://$EP" --command-timeout=1s endpoint health || {
	tail -n 20 "$TMP/etcd.log" >&2
	echo "sync_scale.sh: etcd did not start" >&2
	exit 1
}
echo "load:    $("$BUILD/bench/sync_load" -e "$EP" -s "$SITES" -n "$SERVICES" -b "$BACKENDS" -B 500)"

cat >"$TMP/site-a.conf" <<EOF
# cluster-syncd's side of the scale benchmark (generated by tests/bench/sync_scale.sh)
site = { name = "site-a"; id = 1; trust_domain = "isthmus.bench"; };
gateway = {
	name = "gw1";
	internal = { interface = "int0"; address = "10.1.0.1"; };
	external = { interface = "ext0"; address = "10.255.0.1"; };
	datapath = "xdp";
	xdp_mode = "auto";
};
etcd = {
	endpoints = [ "http://$EP" ];
	prefix = "/isthmus/v1";
	lease_ttl = 10;
	dial_timeout_ms = 1000;
	request_timeout_ms = 5000;
};
services = ();
# what a real gatewayd would need for this load
limits = { services = 16384; backends = 131072; peers = 64; maglev_table_size = 1021; };
EOF
if [[ -x $BUILD/gatewayd ]]; then
	"$BUILD/gatewayd" --check-config "$TMP/site-a.conf" >"$TMP/check.log" 2>&1 || {
		cat "$TMP/check.log" >&2
		echo "sync_scale.sh: the generated config does not pass gatewayd --check-config" >&2
		exit 1
	}
fi

# ---------------------------------------------------------------- initial sync
"$BUILD/bench/sync_standin" -s "$TMP/gw.sock" -S site-a -I 1 -n "$SITES" -f "$TMP/status.json" >"$TMP/standin.log" 2>&1 &
PIDS+=($!)
wait_for 5 grep -q ready "$TMP/standin.log"
t0=$(us)
"$BUILD/cluster-syncd" -c "$TMP/site-a.conf" --gateway-socket "$TMP/gw.sock" >"$TMP/syncd.log" 2>&1 &
SYNCD=$!
PIDS+=("$SYNCD")
if wait_for 120 grep -q ' all ' "$TMP/standin.log"; then
	t_all=$(awk '$2 == "all" { print $1; exit }' "$TMP/standin.log")
	t_first=$(awk '$2 == "put" { print $1; exit }' "$TMP/standin.log")
	sync_ms=$(awk -v a="$t0" -v b="$t_all" 'BEGIN { printf "%.0f\n", (b - a) / 1000 }')
	first_ms=$(awk -v a="$t0" -v b="$t_first" 'BEGIN { printf "%.0f\n", (b - a) / 1000 }')
	echo "initial sync: ${sync_ms} ms from cluster-syncd's start to the last of $SITES sites pushed (first push at ${first_ms} ms)"
	awk -v a="$t0" -v n="$SITES" '$2 == "put" && k++ < n { printf "  %8.1f ms  %s  %d bytes, %d services, %d backends\n", ($1 - a) / 1000, $3, $5, $7, $9 }' "$TMP/standin.log"
else
	sync_ms=
	echo "initial sync: NOT done within 120 s: $(grep -c ' put ' "$TMP/standin.log") pushes, sites: $(awk '$2 == "put" { print $3 }' "$TMP/standin.log" | sort -u | wc -l)/$SITES"
	tail -n 5 "$TMP/syncd.log" | sed 's/^/  syncd: /'
fi
hwm_sync=$(kb VmHWM "$SYNCD")
echo "peak RSS after the initial sync: $((hwm_sync / 1024)) MiB (VmHWM ${hwm_sync} kB; VmRSS $(kb VmRSS "$SYNCD") kB)"

# ---------------------------------------------------------------- steady state
sleep 2
metrics >"$TMP/m1"
st1=$(cat "$TMP/status.json")
sb1=$(curl -sf --unix-socket "$TMP/gw.sock" http://standin/v1/stats)
c1=$(cpu_ticks "$SYNCD")
ts1=$(us)
sleep "$STEADY"
metrics >"$TMP/m2"
st2=$(cat "$TMP/status.json")
sb2=$(curl -sf --unix-socket "$TMP/gw.sock" http://standin/v1/stats)
c2=$(cpu_ticks "$SYNCD")
dt=$(awk -v a="$ts1" -v b="$(us)" 'BEGIN { printf "%.2f\n", (b - a) / 1e6 }')
hwm=$(kb VmHWM "$SYNCD")
echo "steady state, ${dt} s:"
echo "  etcd requests (counter deltas, per second; the metrics scrape itself is not among them):"
join -a 2 -e 0 -o 0,1.2,2.2 <(sort "$TMP/m1") <(sort "$TMP/m2") |
	awk -v dt="$dt" '{ d = $3 - $2; if (d > 0) { n = $1; gsub(/grpc_service="[^"]*",?|grpc_type="[^"]*",?/, "", n); printf "    %-70s %8d  %7.2f/s\n", n, d, d / dt; tot += (n ~ /^grpc_server_started_total/) ? d : 0 } }
		END { printf "    %-70s %8d  %7.2f/s\n", "gRPC calls started, all methods", tot, tot / dt }'
echo "  cluster-syncd counters (delta): $(jq -cn --argjson a "$st1" --argjson b "$st2" '$b.counters | with_entries(.value -= ($a.counters[.key] // 0))')"
echo "  requests to the stand-in (delta): $(jq -cn --argjson a "$sb1" --argjson b "$sb2" '$b | with_entries(.value -= ($a[.key] // 0))')"
echo "  cluster-syncd CPU: $(awk -v a="$c1" -v b="$c2" -v t="$(getconf CLK_TCK)" -v dt="$dt" 'BEGIN { printf "%.1f %% of one core", (b - a) / t / dt * 100 }')"
echo "peak RSS after the steady state: $((hwm / 1024)) MiB (VmHWM ${hwm} kB; VmRSS $(kb VmRSS "$SYNCD") kB)"
kill "$SYNCD" 2>/dev/null || true
wait "$SYNCD" 2>/dev/null || true

# ---------------------------------------------------------------- gatewayd's request limit
if ((LIMIT_S > 0)); then
	"$BUILD/bench/sync_standin" -s "$TMP/gw64.sock" -S site-a -I 1 -n "$SITES" -m 65536 -f "$TMP/status64.json" >"$TMP/standin64.log" 2>&1 &
	PIDS+=($!)
	wait_for 5 grep -q ready "$TMP/standin64.log"
	"$BUILD/cluster-syncd" -c "$TMP/site-a.conf" --gateway-socket "$TMP/gw64.sock" >"$TMP/syncd64.log" 2>&1 &
	SYNCD=$!
	PIDS+=("$SYNCD")
	sleep 1
	c1=$(cpu_ticks "$SYNCD")
	sleep "$LIMIT_S"
	c2=$(cpu_ticks "$SYNCD")
	echo "with gatewayd's request limit (64 KiB), after $((LIMIT_S + 1)) s: $(awk '$2 == "put" { print $3 }' "$TMP/standin64.log" | sort -u | wc -l)/$SITES sites pushed;" \
		"cluster-syncd: $(jq -c '{pushes: .counters.pushes, push_errors: .counters.push_errors, last_error}' "$TMP/status64.json" 2>/dev/null || echo 'no status'),"
	echo "  CPU $(awk -v a="$c1" -v b="$c2" -v t="$(getconf CLK_TCK)" -v dt="$LIMIT_S" 'BEGIN { printf "%.0f %% of one core", (b - a) / t / dt * 100 }') (every failed site is serialized and sent again at each 50 ms tick)"
	kill "$SYNCD" 2>/dev/null || true
	wait "$SYNCD" 2>/dev/null || true
fi

echo "targets: initial sync <= 2 s: $([[ -n $sync_ms ]] && ((sync_ms <= 2000)) && echo met || echo 'NOT met');" \
	"peak RSS <= 64 MiB: $( ((hwm <= 65536)) && echo met || echo 'NOT met') ($((hwm / 1024)) MiB)"

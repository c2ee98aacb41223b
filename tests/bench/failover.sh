#!/usr/bin/env bash
# Failover benchmark (docs/benchmarks.md, "cluster-syncd and failover"):
# how long site-a's clients see failures of the service web-bc (VIP
# 10.100.0.15, backends in site-b and site-c) when site-b's gateway dies.
#
# One 3-site lab with its own prefix (isxb + 4 hex digits), torn down on
# exit, Ctrl-C or failure. Each trial:
#   1. site-b's cluster-syncd and gatewayd are killed (the XDP data plane
#      keeps forwarding and answering probes without them, by design);
#   2. build/bench/failover_client runs in site-a's client namespace:
#      one HTTP GET per new TCP connection, each with a 100 ms deadline for
#      the whole exchange, logging start, end and result of every attempt;
#      by default (paced) an attempt starts every 10 ms whatever is still in
#      flight, so the first success after recovery is seen within ~10 ms;
#      sequential (one at a time) makes that up to one deadline late;
#   3. t0: site-b's ext0 is set down (the link cut): from then on site-b's
#      gateway answers nothing;
#   4. the client keeps going FAILOVER_AFTER_MS after t0, then stops;
#   5. site-b is restored (ext0 up, gatewayd and cluster-syncd started) and
#      the next trial waits until site-a sees site-b up again and site-a's
#      web-bc table holds site-b's backends.
# Recorded per trial, all relative to t0 (the moment before `ip link set
# ext0 down` ran; the command itself takes 1-3 ms):
#   recovery  end of the first successful request that started after the
#             last failed one started (0 when no request failed)
#   detect    site-a's gw_peers entry of site-b loses GW_PEER_F_UP (read from
#             the pinned map every 0.5 ms by build/bench/failover_watch: the
#             moment gatewayd declared site-b down and wrote it)
#   swap      site-a's Maglev table of web-bc is replaced by one without
#             site-b's backends (same watcher)
#   age       how old site-b's last probe answer to site-a was at t0
#             (tcpdump on site-a's WAN switch port): detection happens at
#             the latest when the probe it answered left 175 ms ago
#
# Environment: FAILOVER_TRIALS (20), FAILOVER_TIMEOUT_MS (per request, 100),
# FAILOVER_CLIENT_MODE (paced or sequential; paced), FAILOVER_GAP_MS (paced:
# time between two request starts, 10; sequential: least time between them,
# 5; see the SNAT note in docs/benchmarks.md before lowering it),
# FAILOVER_AFTER_MS (1000),
# BUILD (build), BENCH_KEEP=1 keeps the raw logs (path printed).
# Prints numbers; asserts nothing. Needs root and `make` done.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source-path=SCRIPTDIR source=../lab/lib.sh
. tests/lab/lib.sh
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
require_root

BUILD=${BUILD:-build}
TRIALS=${FAILOVER_TRIALS:-20}
TIMEOUT_MS=${FAILOVER_TIMEOUT_MS:-100}
MODE=${FAILOVER_CLIENT_MODE:-paced}
case $MODE in
paced) GAP_MS=${FAILOVER_GAP_MS:-10} ;;
sequential) GAP_MS=${FAILOVER_GAP_MS:-5} ;;
*)
	echo "failover.sh: FAILOVER_CLIENT_MODE is paced or sequential, not $MODE" >&2
	exit 2
	;;
esac
AFTER_MS=${FAILOVER_AFTER_MS:-1000}
VIP=10.100.0.15

for b in gatewayd cluster-syncd gwctl bench/failover_client bench/failover_watch; do
	[[ -x $BUILD/$b ]] || {
		echo "failover.sh: $BUILD/$b is missing: run make first" >&2
		exit 1
	}
done
command -v tcpdump >/dev/null || {
	echo "failover.sh: tcpdump is needed (apt-get install tcpdump)" >&2
	exit 1
}

P=$(new_bench_prefix)
TMP=$(mktemp -d /tmp/isthmus-failover.XXXXXX)
BG_PIDS=()
lab_at_exit() { bench_cleanup; }
lab_register "$P"

gwctl_a() { "$LAB" exec --prefix "$P" a gw -- gwctl "$@"; }
peer_b_up() {
	gwctl_a -o json peers list | jq -e '.peers[] | select(.site == "site-b") | .state == "up"' >/dev/null
}
# site-a's web-bc table (as the watcher last saw it) holds site-b's backends
table_has_b() { grep ' table ' "$TMP/watch.log" | tail -n 1 | grep -q ' s2='; }
table_has_bc() { grep ' table ' "$TMP/watch.log" | tail -n 1 | grep ' s2=' | grep -q ' s3='; }

echo "=== failover: site-b's gateway dies under a request loop to web-bc ($VIP) from site-a"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'); kernel $(uname -r); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- gateway cluster-sync bpf include 2>/dev/null || echo ' (+ uncommitted changes)')"
if [[ $MODE == paced ]]; then
	client_how="paced: a request starts every ${GAP_MS} ms, several in flight"
else
	client_how="sequential: one request at a time, >= ${GAP_MS} ms between starts"
fi
echo "lab:     $P; $TRIALS trials; request deadline ${TIMEOUT_MS} ms; client $client_how"

t_up=$(now_ms)
"$LAB" up --prefix "$P" --sites 3 >"$TMP/lab-up.log" 2>&1 || {
	cat "$TMP/lab-up.log" >&2
	echo "failover.sh: lab up failed" >&2
	exit 1
}
echo "lab up:  $(elapsed_s "$t_up") s"

# One watcher on site-a's pins and one capture of site-b's probe answers to
# site-a for the whole run.
"$BUILD/bench/failover_watch" -d "/sys/fs/bpf/gw/$P-a-gw1" -v "$VIP" -s 2 -i 500 >"$TMP/watch.log" 2>"$TMP/watch.err" &
BG_PIDS+=($!)
# (on site-a's switch port: it stays up when site-b's link is cut)
ip netns exec "$P-wan" tcpdump -i a-ext0 -n -tt -l \
	'udp and src host 10.255.0.2 and dst host 10.255.0.1 and src port 6082' >"$TMP/probes.log" 2>"$TMP/tcpdump.err" &
BG_PIDS+=($!)

wait_until 20 peer_b_up || {
	echo "failover.sh: site-a never saw site-b up" >&2
	exit 1
}
wait_until 20 table_has_bc || {
	echo "failover.sh: site-a's web-bc table never held both site-b and site-c:" >&2
	tail -n 3 "$TMP/watch.log" >&2
	exit 1
}
sleep 1

restore_b() {
	ip -n "$P-b-gw" link set ext0 up
	"$LAB" start --prefix "$P" b gw >/dev/null
	"$LAB" start --prefix "$P" b syncd >/dev/null
	wait_until 15 peer_b_up || return 1
	wait_until 15 table_has_b || return 1
}

: >"$TMP/trials"
for ((i = 1; i <= TRIALS; i++)); do
	"$LAB" kill --prefix "$P" b syncd >/dev/null
	"$LAB" kill --prefix "$P" b gw >/dev/null
	ip netns exec "$P-a-client" "$ROOT/$BUILD/bench/failover_client" -a "$VIP" -T "$TIMEOUT_MS" \
		-m "$MODE" -g "$GAP_MS" -o "$TMP/client.$i" 2>"$TMP/client.$i.err" &
	cpid=$!
	wait_until 5 test -e "$TMP/client.$i"
	# a random phase against the 100 ms probe period
	sleep "0.2$((RANDOM % 10))"
	tb=$(us)
	ip -n "$P-b-gw" link set ext0 down
	ta=$(us)
	rest_ms=$(((tb + AFTER_MS * 1000 - $(us)) / 1000))
	((rest_ms > 0)) && sleep "$((rest_ms / 1000)).$(printf "%03d" $((rest_ms % 1000)))"
	kill -TERM "$cpid"
	wait "$cpid" || true
	echo "$i $tb $ta" >>"$TMP/trials"
	restore_b || {
		echo "failover.sh: trial $i: site-b did not come back (peer up and in site-a's web-bc table) within 15 s" >&2
		exit 1
	}
	sleep "0.$((5 + RANDOM % 5))"
	printf '.' >&2
done
echo >&2
kill "${BG_PIDS[@]}" 2>/dev/null || true
wait "${BG_PIDS[@]}" 2>/dev/null || true
BG_PIDS=()

# ---------------------------------------------------------------- analysis
# Per trial, all in ms after t0 (tb): recovery, detect, swap, age of site-b's
# last probe answer at t0, requests, failed requests, failures before t0.
echo
printf '%5s %9s %8s %8s %12s %8s %12s %10s %9s %7s %7s\n' trial recovery detect swap "swap-detect" "age@t0" "detect-last" "rec-swap" requests failed "cut_ms"
while read -r i tb ta; do
	rec=$(awk -v t0="$tb" '
		$3 == "fail" { if ($1 > lf) lf = $1; nf++ }
		{ n++; st[n] = $1; en[n] = $2; ok[n] = ($3 == "ok") }
		END {
			if (!nf) { print "0 " n " 0 0"; exit }
			best = -1
			for (k = 1; k <= n; k++) if (ok[k] && st[k] > lf && (best < 0 || st[k] < st[best])) best = k
			before = 0
			for (k = 1; k <= n; k++) if (!ok[k] && st[k] < t0 - 100000) before++
			if (best < 0) print "none " n " " nf " " before
			else printf "%.1f %d %d %d\n", (en[best] - t0) / 1000, n, nf, before
		}' "$TMP/client.$i")
	read -r recovery nreq nfail nbefore <<<"$rec"
	detect=$(awk -v t0="$tb" '$2 == "peer" && $6 == "down" && $1 >= t0 { printf "%.1f\n", ($1 - t0) / 1000; exit }' "$TMP/watch.log")
	swap=$(awk -v t0="$tb" '$2 == "table" && $1 >= t0 && $0 !~ / s2=/ { printf "%.1f\n", ($1 - t0) / 1000; exit }' "$TMP/watch.log")
	last=$(awk -v ta="$ta" '$1 ~ /^[0-9]+\.[0-9]+$/ { s = $1; sub(/\./, "", s); if (s + 0 <= ta) l = s + 0 } END { printf "%.0f\n", l }' "$TMP/probes.log")
	age=$(awk -v t0="$tb" -v l="$last" 'BEGIN { if (l > 0) printf "%.1f\n", (t0 - l) / 1000; else print "?" }')
	dl=$(awk -v d="${detect:-}" -v a="$age" 'BEGIN { if (d != "" && a != "?") printf "%.1f\n", d + a; else print "?" }')
	rs=$(awk -v r="$recovery" -v s="${swap:-}" 'BEGIN { if (r != "none" && s != "") printf "%.1f\n", r - s; else print "?" }')
	sd=$(awk -v d="${detect:-}" -v s="${swap:-}" 'BEGIN { if (d != "" && s != "") printf "%.1f\n", s - d; else print "?" }')
	cut=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.1f\n", (a - b) / 1000 }')
	printf '%5s %9s %8s %8s %12s %8s %12s %10s %9s %7s %7s\n' "$i" "$recovery" "${detect:-?}" "${swap:-?}" "$sd" "$age" "$dl" "$rs" "$nreq" "$nfail" "$cut"
	echo "$recovery ${detect:-?} ${swap:-?} $age $dl $rs $nbefore $sd" >>"$TMP/results"
done <"$TMP/trials"

# nearest-rank percentiles over the trials of one column
pct() { pct_line "$TMP/results" "$1" 50 95 99; }
echo
echo "ms after t0 (nearest-rank percentiles over the trials):"
echo "  recovery (client sees success again): $(pct 1)"
echo "  detect (site-b peer flag cleared):     $(pct 2)"
echo "  swap (web-bc table without site-b):    $(pct 3)"
echo "  age of last probe answer at t0:        $(pct 4)"
echo "  detect - last answer (<= 175 ms):      $(pct 5)"
echo "  swap - detect (table rewrite):         $(pct 8)"
echo "  recovery - swap (client's retry wait): $(pct 6)"
norec=$(awk '$1 == "none"' "$TMP/results" | wc -l)
before=$(awk '{ s += $7 } END { print s + 0 }' "$TMP/results")
((norec == 0)) || echo "  $norec trial(s) did not recover within ${AFTER_MS} ms of t0"
((before == 0)) || echo "  note: $before request(s) failed more than 100 ms before t0 (not caused by the cut)"
skipped=$(cat "$TMP"/client.*.err 2>/dev/null | awk '/starts skipped/ { s += $2 } END { print s + 0 }')
((skipped == 0)) || echo "  note: the client skipped $skipped start(s): too many requests in flight"
p99=$(nearest_rank "$TMP/results" 1 99)
echo "target: recovery p99 <= 300 ms: $(awk -v x="$p99" 'BEGIN { print (x != "?" && x <= 300) ? "met" : "NOT met" }')"
echo "snat drops (site-b/site-c gateways, drop_snat_exhausted): $(for s in b c; do
	"$LAB" exec --prefix "$P" "$s" gw -- gwctl -o json stats 2>/dev/null |
		jq -r '[.. | objects | select(.name? == "drop_snat_exhausted") | .packets] | add // 0'
done | paste -sd/)"

lab_down "$P" >/dev/null 2>&1 || true

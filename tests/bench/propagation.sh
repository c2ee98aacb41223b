#!/usr/bin/env bash
# Propagation benchmark (docs/benchmarks.md, "cluster-syncd and failover"):
# how long a change made in site-b takes to reach site-a's data plane.
#
# One 3-site lab with its own prefix (isxb + 4 hex digits), torn down on
# exit, Ctrl-C or failure. Two phases, PROP_CHANGES changes each:
#
#  A. drain/undrain through the whole path: `gwctl backends drain|undrain
#     web-bc 10.2.0.11:80` on site-b's gatewayd (alternately) -> site-b's
#     export version changes -> site-b's cluster-syncd sees it at its next
#     export poll (every 50 ms) and puts site-b's web-bc record -> etcd ->
#     site-a's cluster-syncd gets the watch event and PUTs site-b's view into
#     site-a's gatewayd -> site-a rebuilds web-bc's Maglev table without (or
#     with) 10.2.0.11.
#  B. etcd -> site-a only: the record of a service "bench-prop" (VIP
#     10.100.0.99, backends 10.2.0.11 and 10.2.0.12) is written under site-b's
#     prefix directly with etcdctl, alternately with 10.2.0.12 at weight 0
#     (draining: out of the table) and 100.
#
# Timestamps (wall clock, microseconds):
#   gwctl   just before gwctl runs (phase A; gwctl talks to site-b's socket
#           directly, no `lab exec` in between)
#   etcd    an `etcdctl watch` on the services prefix, run in the namespace
#           of the etcd member site-a's cluster-syncd talks to, prints the
#           new value (build/bench/sync_stamp stamps its lines): the moment
#           etcd delivered the write to watchers, give or take the
#           observer's own ~1 ms
#   table   site-a's data plane holds the new table: build/bench/failover_watch
#           polls site-a's pinned maps (gw_svcs -> gw_maglev slot -> inner
#           table) every 0.5 ms. Not `gwctl backends list`: that is
#           gatewayd's control-plane state, which can be ahead of the maps,
#           and each gwctl run would add its own ~5 ms to the poll period.
#
# Environment: PROP_CHANGES (50 per phase), BUILD (build), BENCH_KEEP=1 keeps
# the raw logs. Prints numbers; asserts nothing. Needs root and `make` done.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source-path=SCRIPTDIR source=../lab/lib.sh
. tests/lab/lib.sh
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
require_root

BUILD=${BUILD:-build}
N=${PROP_CHANGES:-50}
# shellcheck disable=SC2034 # read by wait_until (tests/lab/lib.sh)
LAB_POLL_S=0.01

for b in gatewayd cluster-syncd gwctl bench/failover_watch bench/sync_stamp; do
	[[ -x $BUILD/$b ]] || {
		echo "propagation.sh: $BUILD/$b is missing: run make first" >&2
		exit 1
	}
done

P=$(new_bench_prefix)
TMP=$(mktemp -d /tmp/isthmus-propagation.XXXXXX)
BG_PIDS=()
lab_at_exit() {
	[[ -s $TMP/obs.pid ]] && kill "$(cat "$TMP/obs.pid")" 2>/dev/null
	bench_cleanup
}
lab_register "$P"

SOCK_B=/run/isthmus/$P-b-gw1.sock
PFX=/isthmus/v1/services/site-b
etcdctl_() { ip netns exec "$P-etcd1" etcdctl --endpoints=http://127.0.0.1:2379 --command-timeout=3s "$@"; }
# the last table the watcher W saw holds (want=1) or lacks (want=0) ADDR
table_is() {
	local w=$1 addr=$2 want=$3 last
	last=$(grep ' table ' "$TMP/$w.log" | tail -n 1) || return 1
	if ((want)); then [[ $last == *" $addr:80/"* ]]; else [[ -n $last && $last != *" $addr:80/"* ]]; fi
}
# the etcd observer has seen VALUE (exactly) after line SKIP
etcd_seen() { awk -v skip="$2" 'NR > skip' "$TMP/etcd.log" | cut -d' ' -f2- | grep -qxF -- "$1"; }

echo "=== propagation: a change in site-b -> site-a's data plane"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'); kernel $(uname -r); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- gateway cluster-sync bpf include 2>/dev/null || echo ' (+ uncommitted changes)')"
echo "lab:     $P; $N changes per phase"

t_up=$(now_ms)
"$LAB" up --prefix "$P" --sites 3 >"$TMP/lab-up.log" 2>&1 || {
	cat "$TMP/lab-up.log" >&2
	echo "propagation.sh: lab up failed" >&2
	exit 1
}
echo "lab up:  $(elapsed_s "$t_up") s"

"$BUILD/bench/failover_watch" -d "/sys/fs/bpf/gw/$P-a-gw1" -v 10.100.0.15 -i 500 >"$TMP/wbc.log" 2>"$TMP/wbc.err" &
BG_PIDS+=($!)
"$BUILD/bench/failover_watch" -d "/sys/fs/bpf/gw/$P-a-gw1" -v 10.100.0.99 -i 500 >"$TMP/wprop.log" 2>"$TMP/wprop.err" &
BG_PIDS+=($!)
# The observer watches through the member site-a's cluster-syncd uses.
wait_until 10 bash -c "'$BUILD/gwctl' -s /run/isthmus/$P-a-gw1.sock -o json sync status | jq -e '.watching' >/dev/null" || true
member=$("$BUILD/gwctl" -s "/run/isthmus/$P-a-gw1.sock" -o json sync status 2>/dev/null |
	jq -r '.endpoint // ""' | sed -n 's|.*10\.255\.0\.10\([1-3]\):.*|\1|p')
member=${member:-1}
echo "etcd:    observer on etcd$member (the member site-a's cluster-syncd talks to)"
{
	ip netns exec "$P-etcd$member" etcdctl --endpoints=http://127.0.0.1:2379 watch --prefix "$PFX/" &
	echo $! >"$TMP/obs.pid"
	wait
} 2>/dev/null | "$BUILD/bench/sync_stamp" >"$TMP/etcd.log" &

wait_until 20 table_is wbc 10.2.0.11 1 || {
	echo "propagation.sh: site-a's web-bc table never held 10.2.0.11 (site-b)" >&2
	exit 1
}
sleep 1
"$BUILD/gwctl" -s "$SOCK_B" -o json sync status >/dev/null 2>&1 || true

# ---------------------------------------------------------------- phase A
: >"$TMP/a.changes"
for ((i = 1; i <= N; i++)); do
	if ((i % 2)); then op=drain want=0; else op=undrain want=1; fi
	skip=$(wc -l <"$TMP/etcd.log")
	tg=$(us)
	"$BUILD/gwctl" -s "$SOCK_B" backends "$op" web-bc 10.2.0.11:80 >/dev/null
	tr=$(us)
	wait_until 5 table_is wbc 10.2.0.11 "$want" || {
		echo "propagation.sh: change $i ($op) never reached site-a's table" >&2
		exit 1
	}
	echo "$i $op $want $tg $tr $skip" >>"$TMP/a.changes"
	# a random phase against site-b's 50 ms export poll
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	printf '.' >&2
done
echo >&2

# ---------------------------------------------------------------- phase B
rec() { # rec WEIGHT_OF_10.2.0.12
	printf '{"version":1,"site":"site-b","site_id":2,"name":"bench-prop","vips":["10.100.0.99"],"ports":["80/tcp"],"backends":[{"address":"10.2.0.11","port":80,"weight":100,"healthy":true},{"address":"10.2.0.12","port":80,"weight":%d,"healthy":true}]}' "$1"
}
etcdctl_ put "$PFX/bench-prop" "$(rec 100)" >/dev/null
wait_until 10 table_is wprop 10.2.0.12 1 || {
	echo "propagation.sh: site-a never built a table for bench-prop (10.100.0.99)" >&2
	exit 1
}
sleep 0.5
: >"$TMP/b.changes"
for ((i = 1; i <= N; i++)); do
	if ((i % 2)); then w=0 want=0; else w=100 want=1; fi
	v=$(rec "$w")
	skip=$(wc -l <"$TMP/etcd.log")
	tp=$(us)
	etcdctl_ put "$PFX/bench-prop" "$v" >/dev/null
	tr=$(us)
	wait_until 5 table_is wprop 10.2.0.12 "$want" || {
		echo "propagation.sh: etcd write $i never reached site-a's table" >&2
		exit 1
	}
	wait_until 5 etcd_seen "$v" "$skip" || true
	echo "$i w$w $want $tp $tr $skip" >>"$TMP/b.changes"
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	printf '.' >&2
done
echo >&2
etcdctl_ del "$PFX/bench-prop" >/dev/null || true
sleep 0.2
kill "${BG_PIDS[@]}" 2>/dev/null || true
kill "$(cat "$TMP/obs.pid")" 2>/dev/null || true
wait "${BG_PIDS[@]}" 2>/dev/null || true
BG_PIDS=()

# ---------------------------------------------------------------- analysis
# first_table LOG T ADDR WANT: first table line at or after T that holds
# (WANT=1) or lacks (0) ADDR; prints its time
first_table() {
	awk -v t="$2" -v a=" $3:80/" -v want="$4" '
		$2 == "table" && $1 >= t { has = index($0, a) > 0; if (has == want) { print $1; exit } }' "$TMP/$1.log"
}
# first_etcd SKIP MATCH: time of the first observer line after line SKIP
# that is a web-bc (phase A) or bench-prop (phase B) value with MATCH in it
first_etcd() {
	awk -v skip="$1" -v m="$2" -v n="$3" 'NR > skip && index($0, n) && index($0, m) { print $1; exit }' "$TMP/etcd.log"
}
ms() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%.1f\n", (b - a) / 1000 }'; }

: >"$TMP/a.res"
while read -r i op want tg tr skip; do
	if ((want)); then m='"address":"10.2.0.11","healthy":true,"port":80,"weight":100'; else m='"address":"10.2.0.11","healthy":true,"port":80,"weight":0'; fi
	te=$(first_etcd "$skip" "$m" '"name":"web-bc"')
	tt=$(first_table wbc "$tg" 10.2.0.11 "$want")
	echo "$(ms "$tg" "$tt") $(ms "$tg" "$te") $(ms "$te" "$tt") $(ms "$tg" "$tr")" >>"$TMP/a.res"
done <"$TMP/a.changes"
: >"$TMP/b.res"
while read -r i w want tp tr skip; do
	te=$(first_etcd "$skip" "\"weight\":${w#w},\"healthy\":true}]}" '"name":"bench-prop"')
	tt=$(first_table wprop "$tp" 10.2.0.12 "$want")
	echo "$(ms "$te" "$tt") $(ms "$tp" "$tt") $(ms "$tp" "$te") $(ms "$tp" "$tr")" >>"$TMP/b.res"
done <"$TMP/b.changes"

pct() { pct_line "$1" "$2" 50 90 99; } # pct FILE COLUMN
p99() { nearest_rank "$1" "$2" 99; }
echo
echo "A. gwctl drain/undrain on site-b -> site-a's web-bc table (ms, nearest-rank):"
echo "  gwctl -> site-a table (end to end):  $(pct "$TMP/a.res" 1)"
echo "  gwctl -> etcd watchers:             $(pct "$TMP/a.res" 2)"
echo "  etcd -> site-a table:               $(pct "$TMP/a.res" 3)"
echo "  (gwctl itself, until site-b applied: $(pct "$TMP/a.res" 4))"
echo "B. record written with etcdctl -> site-a's bench-prop table (ms, nearest-rank):"
echo "  etcd -> site-a table:               $(pct "$TMP/b.res" 1)"
echo "  etcdctl start -> site-a table:      $(pct "$TMP/b.res" 2)"
echo "  (etcdctl start -> etcd watchers:     $(pct "$TMP/b.res" 3))"
echo "all changes (ms): A: end-to-end gwctl->etcd etcd->table gwctl-run | B: etcd->table etcdctl->table etcdctl->etcd etcdctl-run"
paste -d'|' "$TMP/a.res" "$TMP/b.res" | awk -F'|' '{ printf "  %3d  A %-30s  B %s\n", NR, $1, $2 }'
a=$(p99 "$TMP/a.res" 1)
b=$(p99 "$TMP/b.res" 1)
echo "target: p99 <= 100 ms: gwctl->site-a table $(awk -v x="$a" 'BEGIN { print (x != "?" && x <= 100) ? "met" : "NOT met" }') (p99 $a ms); etcd->site-a table $(awk -v x="$b" 'BEGIN { print (x != "?" && x <= 100) ? "met" : "NOT met" }') (p99 $b ms)"
echo "site-a cluster-syncd: $("$BUILD/gwctl" -s "/run/isthmus/$P-a-gw1.sock" -o json sync status 2>/dev/null | jq -c '{pushes: .counters.pushes, push_errors: .counters.push_errors, events: .counters.events, last_error}')"

lab_down "$P" >/dev/null 2>&1 || true

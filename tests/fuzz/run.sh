#!/usr/bin/env bash
# Runs libFuzzer targets for SECONDS each, each on a temporary copy of its
# seeds (tests/fuzz/seeds/<name without fuzz_>/), and prints one closing line
# "N passed, N failed". Crash artifacts and logs stay in a temporary
# directory whose path is printed; it is removed when every target passes
# (set FUZZ_KEEP=1 to keep it). Exit status is non-zero on any failure.
set -u

usage() {
	echo "usage: $0 SECONDS FUZZ_BINARY..." >&2
	exit 2
}

[ $# -ge 1 ] || usage
secs=$1
shift
case "$secs" in
'' | *[!0-9]*) usage ;;
esac
cd "$(dirname "$0")/../.." || exit 2

if [ $# -eq 0 ]; then
	echo "no fuzz targets"
	echo "0 passed, 0 failed"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/isthmus-fuzz.XXXXXX") || exit 2
# Undefined behaviour is a finding, not a warning.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

passed=0 failed=0 failed_names=()
for bin in "$@"; do
	name=$(basename "$bin")
	dir="$work/$name"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	seeds="tests/fuzz/seeds/${name#fuzz_}"
	nseeds=0
	if [ -d "$seeds" ]; then
		cp -R "$seeds/." "$dir/corpus/"
		nseeds=$(find "$dir/corpus" -type f | wc -l)
	fi
	echo "=== $name: ${secs}s, $nseeds seeds"
	if [ ! -x "$bin" ]; then
		echo "$name: FAILED (no executable $bin)"
		failed=$((failed + 1))
		failed_names+=("$name")
		continue
	fi
	# -timeout is per input; the outer timeout guards against a hung run.
	timeout --kill-after=10 $((secs + 120)) "$bin" -max_total_time="$secs" \
		-rss_limit_mb=1024 -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
	stats="${runs:-?} runs, ${eps:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
	artifacts=$(find "$dir/artifacts" -type f 2>/dev/null)
	if [ "$rc" -eq 0 ] && [ -z "$artifacts" ]; then
		echo "$name: ok ($stats)"
		passed=$((passed + 1))
	else
		echo "$name: FAILED (exit $rc; $stats)"
		grep -E 'ERROR: |runtime error|invariant failed|SUMMARY' "$dir/log" | head -n 5 | sed 's/^/    /'
		for a in $artifacts; do
			echo "    artifact: $a (reproduce: $bin $a)"
		done
		echo "    log: $dir/log"
		failed=$((failed + 1))
		failed_names+=("$name")
	fi
done

[ "$failed" -eq 0 ] || echo "failed: ${failed_names[*]}"
if [ "$failed" -eq 0 ] && [ -z "${FUZZ_KEEP:-}" ]; then
	rm -rf "$work"
else
	echo "fuzz work directory: $work"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

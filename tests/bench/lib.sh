# shellcheck shell=bash
# Shared by the lab benchmarks (failover.sh, propagation.sh): a prefix of
# their own, their clean-up, a clock and nearest-rank percentiles. Sourced
# after tests/lab/lib.sh; expects TMP and BG_PIDS to be set by the caller.

# A lab prefix no other run uses: isxb + 4 random hex digits.
new_bench_prefix() {
	local p
	while :; do
		p=isxb$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
		[[ -e /run/isthmus-lab/$p ]] || ip netns list 2>/dev/null | grep -q "^$p-" || break
	done
	echo "$p"
}

# The benchmark's own processes and raw logs (kept with BENCH_KEEP=1).
bench_cleanup() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		echo "# raw logs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
}

us() { echo "${EPOCHREALTIME/./}"; }

# nearest_rank FILE COLUMN PCT...: the PCTs of a column (values "?" and
# "none" skipped), one per line; "?" when there is no value.
nearest_rank() {
	local file=$1 col=$2
	shift 2
	awk -v c="$col" -v ps="$*" '$c != "?" && $c != "none" { v[++n] = $c + 0 }
		END {
			for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
			k = split(ps, p, " ")
			for (i = 1; i <= k; i++) {
				r = int((p[i] * n + 99) / 100); if (r < 1) r = 1
				if (n) print v[r]; else print "?"
			}
		}' "$file"
}

# pct_line FILE COLUMN PCT...: "pA x  pB y  ...  max m  min n  (n=N)".
pct_line() {
	local file=$1 col=$2 p vals line="" n
	shift 2
	n=$(awk -v c="$col" '$c != "?" && $c != "none"' "$file" | wc -l)
	if ((n == 0)); then
		echo "no data"
		return
	fi
	mapfile -t vals < <(nearest_rank "$file" "$col" "$@" 100 0)
	for p in "$@"; do
		line+=$(printf 'p%s %6.1f  ' "$p" "${vals[0]}")
		vals=("${vals[@]:1}")
	done
	printf '%smax %6.1f  min %6.1f  (n=%d)\n' "$line" "${vals[0]}" "${vals[1]}" "$n"
}

# shellcheck shell=bash
# Shared helpers for the lab tests (tests/lab/test_*.sh): polling with a
# deadline, counted checks, and labs with a per-test prefix that are always
# torn down. Source it after `set -euo pipefail`.

LAB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
LAB=$LAB_DIR/lab
# shellcheck disable=SC2034 # REPO is for the tests
REPO=${LAB_REPO:-$(cd -- "$LAB_DIR/../.." && pwd)}
LAB_POLL_S=${LAB_POLL_S:-0.1}
# Test labs never become the default lab of `lab` (/run/isthmus-lab/last).
export LAB_NO_LAST=1
LAB_PASSED=0
LAB_FAILED=0
LAB_PREFIXES=() # labs this test brought up and must tear down

now_ms() {
	local t=${EPOCHREALTIME//[!0-9]/}
	echo $((10#$t / 1000))
}

# elapsed_s START_MS: seconds since START_MS, one decimal.
elapsed_s() {
	local d=$(($(now_ms) - $1))
	printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

# wait_until TIMEOUT_S CMD...: run CMD every LAB_POLL_S seconds until it
# succeeds (status 0) or TIMEOUT_S seconds have passed (status 1). CMD's
# output is discarded. This is the only way tests wait for something.
wait_until() {
	local end
	end=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(($(now_ms) < end)) || return 1
		sleep "$LAB_POLL_S"
	done
}

# check NAME CMD...: one counted assertion. Prints "ok - NAME", or
# "FAIL - NAME" and the tail of CMD's output. Never exits the test.
check() {
	local name=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if ((rc == 0)); then
		LAB_PASSED=$((LAB_PASSED + 1))
		echo "ok - $name"
		# a measurement the check printed last is worth seeing
		[[ -n $out ]] && printf '#   %s\n' "$(printf '%s\n' "$out" | tail -n 1)"
	else
		LAB_FAILED=$((LAB_FAILED + 1))
		echo "FAIL - $name (status $rc)"
		[[ -n $out ]] && printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'
	fi
	return 0
}

# expect_output WANT CMD...: CMD's stdout must be exactly WANT.
expect_output() {
	local want=$1 got
	shift
	got=$("$@") || {
		echo "command failed: $*"
		return 1
	}
	[[ $got == "$want" ]] && return 0
	echo "want: $want"
	echo "got:  $got"
	return 1
}

# not CMD...: succeeds when CMD fails (for use with check and wait_until).
not() { ! "$@"; }

note() { echo "# $*"; }

# finish: the closing line, exactly "N passed, N failed"; non-zero on failure.
finish() {
	echo "$LAB_PASSED passed, $LAB_FAILED failed"
	((LAB_FAILED == 0))
}

require_root() {
	if ((EUID != 0)); then
		echo "lab tests must run as root" >&2
		exit 1
	fi
}

# new_prefix: a fresh test prefix, "isxt" and four hex digits.
new_prefix() {
	local p
	while :; do
		p=isxt$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
		[[ -e /run/isthmus-lab/$p ]] || ip netns list | grep -q "^$p-" || break
	done
	echo "$p"
}

lab_cleanup() {
	local p
	for p in "${LAB_PREFIXES[@]}"; do
		"$LAB" down --prefix "$p" >/dev/null 2>&1 || echo "# lab down --prefix $p failed" >&2
	done
	LAB_PREFIXES=()
}

lab_exit_trap() {
	local rc=$?
	trap - EXIT
	lab_cleanup
	if declare -F lab_at_exit >/dev/null; then
		lab_at_exit || true
	fi
	exit "$rc"
}

# lab_traps: on exit, Ctrl-C or TERM, tear down the registered labs, then run
# the test's own lab_at_exit function if it defines one. Idempotent.
LAB_TRAPS_SET=0
lab_traps() {
	((LAB_TRAPS_SET)) && return 0
	trap lab_exit_trap EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	LAB_TRAPS_SET=1
}

# lab_register P: P will be torn down when the test exits, however it exits.
lab_register() {
	lab_traps
	LAB_PREFIXES+=("$1")
}

lab_unregister() {
	local p keep=()
	for p in "${LAB_PREFIXES[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	LAB_PREFIXES=("${keep[@]}")
}

# lab_up P [ARGS...]: bring lab P up (output to stdout); exits the test when
# that fails, since nothing else can be checked then.
lab_up() {
	local p=$1 out rc=0
	shift
	lab_register "$p"
	out=$("$LAB" up --prefix "$p" "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/#   /'
	if ((rc != 0)); then
		echo "FAIL - lab up --prefix $p $* (status $rc)"
		LAB_FAILED=$((LAB_FAILED + 1))
		finish
		exit 1
	fi
}

# lab_down P: tear lab P down now.
lab_down() {
	"$LAB" down --prefix "$1"
	lab_unregister "$1"
}

# lab_leftovers P: prints whatever of lab P still exists; fails if anything does.
lab_leftovers() {
	local p=$1 left=() f pid cmd
	while read -r f; do
		left+=("namespace $f")
	done < <(ip netns list | awk -v p="$p-" 'index($1, p) == 1 { print $1 }')
	for f in /run/netns/"$p"-* /sys/fs/bpf/gw/"$p"-* /run/isthmus/"$p"-* /run/isthmus-lab/"$p"; do
		[[ -e $f ]] && left+=("file $f")
	done
	while read -r f; do
		left+=("root-namespace link $f")
	done < <(ip -o link show | awk -F': ' '{ print $2 }' | grep -F -- "$p" || true)
	for f in /proc/[0-9]*; do
		pid=${f#/proc/}
		cmd=$({ tr '\0' ' ' <"$f/cmdline"; } 2>/dev/null) || continue
		[[ $cmd == *"/$p/"* || $cmd == *"/$p-"* || $cmd == *"token $p "* ]] &&
			left+=("process $pid: $cmd")
	done
	((${#left[@]} == 0)) && return 0
	printf '%s\n' "${left[@]}"
	return 1
}

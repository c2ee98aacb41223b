#!/usr/bin/env bash
# Runs every benchmark of tests/bench and prints one report: the machine,
# then each benchmark's table. `make bench` calls it after `make all`; it
# also runs alone (as root) once build/bench/* exist. Benchmarks print
# numbers and assert nothing; see docs/benchmarks.md for how to read them.
#
# Environment: BUILD (default build), BENCH_SECONDS (per veth row, default 5),
# BENCH_SETS (veth sets, default 4), BENCH_NICE (nice of the generator and
# the NAPI threads, default 0), BENCH_ONLY (space-separated groups, default
# "maglev xdp veth"; "sync" adds the cluster-syncd and failover scripts,
# which bring up a 3-site lab each and take minutes, hence not by default).
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
OBJ=$BUILD/bench
SECONDS_PER_ROW=${BENCH_SECONDS:-5}
SETS=${BENCH_SETS:-4}
NICE=${BENCH_NICE:-0}
ONLY=${BENCH_ONLY:-maglev xdp veth}
CLANG=${CLANG:-clang}
# Per-run prefix of the network namespaces (veth_pps also puts it in
# interface names, which are at most 15 characters).
PREFIX=ib$(($$ % 100000))
FAILED=0

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns == "$PREFIX"-* ]] && ip netns del "$ns" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

if ((EUID != 0)); then
	echo "run.sh: the data-plane benchmarks need root (namespaces, XDP); run as root" >&2
	exit 1
fi
for bin in xdp_prog_ns veth_pps; do
	if [[ ! -x $OBJ/$bin ]]; then
		echo "run.sh: $OBJ/$bin is missing: run 'make bench' (or 'make all') first" >&2
		exit 1
	fi
done

# Helper BPF objects (tests/bench/bpf/*.bpf.c; the Makefile only builds bpf/).
ARCH_INC=/usr/include/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
for src in tests/bench/bpf/*.bpf.c; do
	obj=$OBJ/$(basename "${src%.c}").o
	if [[ ! -f $obj || $src -nt $obj || bpf/gateway.bpf.c -nt $obj ||
		-n $(find include/gw bpf -newer "$obj" -name '*.h' 2>/dev/null | head -1) ]]; then
		"$CLANG" -O2 -g -target bpf -Wall -Werror -I"$ARCH_INC" -Iinclude -c "$src" -o "$obj" ||
			{ echo "run.sh: cannot build $src" >&2; exit 1; }
	fi
done

section() { printf '\n=== %s\n' "$*"; }

section "machine"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "kernel:  $(uname -r)"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- bpf include 2>/dev/null || echo ' (+ uncommitted data-plane changes)')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min); busiest other processes:"
ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && NR<=4 {printf "         %5s%% %s\n", $1, $2}'

if [[ " $ONLY " == *" maglev "* && -x $OBJ/maglev_build ]]; then
	section "Maglev table build (userspace, tests/bench/maglev_build.c)"
	"$OBJ/maglev_build" || FAILED=1
fi

if [[ " $ONLY " == *" xdp "* ]]; then
	section "XDP per-packet cost (BPF_PROG_TEST_RUN, tests/bench/xdp_prog_ns.c)"
	"$OBJ/xdp_prog_ns" -o "$OBJ" || FAILED=1
fi

if [[ " $ONLY " == *" veth "* ]]; then
	section "Packets per second on veth (tests/bench/veth_pps.c)"
	"$OBJ/veth_pps" -o "$OBJ" -p "$PREFIX" -d "$SECONDS_PER_ROW" -n "$SETS" -N "$NICE" ||
		FAILED=1
	echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

if [[ " $ONLY " == *" sync "* ]]; then
	for script in sync_scale.sh propagation.sh failover.sh; do
		[[ -x tests/bench/$script ]] || continue
		section "tests/bench/$script"
		BUILD=$BUILD "tests/bench/$script" || FAILED=1
	done
fi

exit $FAILED

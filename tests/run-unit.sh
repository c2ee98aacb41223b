#!/usr/bin/env bash
# Runs cmocka test executables (unit or BPF suites), one after another, and
# prints one closing line "N passed, N failed" counting executables.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 failed_names=()
for t in "$@"; do
	echo "=== $t"
	if "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$t")
	fi
done
[ "$failed" -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

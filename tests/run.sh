#!/usr/bin/env bash
# tests/run.sh [BUILD] [NAME...] - run every test of cgpolicy and print the summary.
#
# Each test program (unit, BPF, end-to-end script) prints "ok N - ..." /
# "not ok N - ..." lines and closes with "N passed, N failed"; exit code 77
# means skipped. This runner adds them up and closes with the same line.
# tests/e2e/*lib.sh are libraries the scripts source, not tests. A test that
# runs longer than TEST_TIMEOUT seconds (default 1800) is stopped (SIGTERM:
# its EXIT trap cleans up) and counted as failed, so a hang cannot stall
# the whole run.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
export BUILD CGP="$BUILD/cgpolicy"
TEST_TIMEOUT=${TEST_TIMEOUT:-1800}

tests=()
for t in "$BUILD"/tests/test_policy "$BUILD"/tests/test_names "$BUILD"/tests/test_hostile "$BUILD"/tests/test_util "$BUILD"/asan/*_asan tests/fuzz/fuzz.sh "$BUILD"/tests/test_enforce tests/e2e/*.sh; do
	case "$t" in *lib.sh) continue ;; esac	# sourced by the tests (lib.sh, rtlib.sh...)
	[ -e "$t" ] || continue
	if [ $# -gt 0 ]; then
		want=0
		for n in "$@"; do case "$t" in *"$n"*) want=1 ;; esac; done
		[ $want = 1 ] || continue
	fi
	tests+=("$t")
done

total_pass=0 total_fail=0 skipped=0 failed_names=()
for t in "${tests[@]}"; do
	name=$(basename "$t")
	echo "=== $name"
	log=$(mktemp)
	t0=$SECONDS
	if [ "${t%.sh}" != "$t" ]; then
		timeout --foreground -k 30 "$TEST_TIMEOUT" bash "$t" 2>&1 | tee "$log"
	else
		timeout --foreground -k 30 "$TEST_TIMEOUT" "$t" 2>&1 | tee "$log"
	fi
	rc=${PIPESTATUS[0]}
	secs=$((SECONDS - t0))
	[ "$rc" = 124 ] && echo "[$name] stopped after ${TEST_TIMEOUT}s"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	rm -f "$log"
	if [ "$rc" = 77 ]; then
		echo "[$name] SKIPPED (${secs}s)"
		skipped=$((skipped + 1))
		continue
	fi
	if [ -z "$line" ]; then
		echo "[$name] FAIL (exit $rc, no summary line, ${secs}s)"
		total_fail=$((total_fail + 1))
		failed_names+=("$name")
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		total_fail=$((total_fail + 1))	# crashed after its summary
	fi
	if [ "$rc" = 0 ] && [ "$f" = 0 ]; then
		echo "[$name] PASS ($p, ${secs}s)"
	else
		echo "[$name] FAIL ($line, exit $rc, ${secs}s)"
		failed_names+=("$name")
	fi
done

echo
echo "# total ${SECONDS}s"
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$total_pass passed, $total_fail failed, $skipped skipped"
[ "$total_fail" = 0 ]

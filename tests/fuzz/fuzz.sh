#!/usr/bin/env bash
# tests/fuzz/fuzz.sh [BUILD] - replay the fuzz regression inputs, then fuzz
# policy/ for FUZZ_SECONDS (default 30; `make fuzz` uses 300).
#
# Every file in tests/fuzz/regress/ once crashed or misled the harness: it is
# run again on every `make test`. The seed corpus is tests/fuzz/corpus/ (not
# modified: new inputs go to a scratch directory). A crash leaves its input
# in $FUZZ_ARTIFACTS (default build/fuzz/artifacts/): copy it to regress/.
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-${BUILD:-build}}
FZ="$BUILD/fuzz/fuzz_policy"
SECS=${FUZZ_SECONDS:-30}
ART=${FUZZ_ARTIFACTS:-$BUILD/fuzz/artifacts}
N=0 PASS=0 FAIL=0

ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $*"; }

if [ ! -x "$FZ" ]; then
	not_ok "$FZ not built (make $FZ)"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
mkdir -p "$ART"
WORK=$(mktemp -d /tmp/cgpolicy-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# 1. regressions, one by one (each must run clean)
for f in tests/fuzz/regress/*; do
	[ -f "$f" ] || continue
	case "$f" in *.md|*.txt) continue ;; esac
	if "$FZ" -runs=1 "$f" > "$WORK/replay.log" 2>&1; then
		ok "regression $(basename "$f")"
	else
		not_ok "regression $(basename "$f")"
		sed -n '1,40p' "$WORK/replay.log" | sed 's/^/# /'
	fi
done

# 2. the seed corpus runs clean
if "$FZ" -runs=0 tests/fuzz/corpus > "$WORK/seed.log" 2>&1; then
	ok "seed corpus ($(ls tests/fuzz/corpus | wc -l) inputs)"
else
	not_ok "seed corpus"
	tail -n 40 "$WORK/seed.log" | sed 's/^/# /'
fi

# 3. bounded fuzzing
mkdir -p "$WORK/corpus"
echo "# fuzzing policy/ for ${SECS}s"
"$FZ" -max_total_time="$SECS" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
	-dict=tests/fuzz/policy.dict -artifact_prefix="$ART/" -print_final_stats=1 \
	"$WORK/corpus" tests/fuzz/corpus > "$WORK/fuzz.log" 2>&1
rc=$?
grep -E '^stat::number_of_executed_units|^Done ' "$WORK/fuzz.log" | sed 's/^/# /'
if [ "$rc" = 0 ]; then
	ok "fuzzing parse + compile + eval for ${SECS}s: no crash, leak or mismatch"
else
	not_ok "fuzzing found a problem (exit $rc); the input is in $ART/"
	grep -E 'ERROR|SUMMARY|fuzz_policy:|#[0-9]+ 0x' "$WORK/fuzz.log" | head -n 40 | sed 's/^/# /'
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]

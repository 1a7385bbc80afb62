#!/usr/bin/env bash
# Builds the libFuzzer harnesses (preset fuzz: clang++-16, ASan+UBSan), replays each one's
# seed corpus and the bad inputs of tests/fixtures/bad-inputs, then fuzzes each target for a
# fixed time. A crash, sanitizer report, leak, timeout, an input over the memory limit or a
# broken invariant fails the run; the input is left in build/fuzz/findings/<target>/.
#
#   bash tests/fuzz/run.sh [seconds per target, default 20] [target...]
#
# The fuzzed corpus grows in build/fuzz/corpus/<target> (seeded from tests/fuzz/corpus) and is
# kept between runs. Memory: an input may take at most 64 MB plus twice the largest input
# (-rss_limit_mb, -malloc_limit_mb) above the harness's ~40 MB under ASan.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"

SECONDS_PER_TARGET="${1:-20}"
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(json safetensors idx pgm)
MAX_LEN=4096
LIMIT_MB=$((64 + 2 * MAX_LEN / 1048576 + 40))  # + the harness itself under ASan

command -v clang++-16 >/dev/null || { echo "tests/fuzz/run.sh: needs clang++-16 with libFuzzer (Debian: clang-16 libclang-rt-16-dev)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
for t in "${TARGETS[@]}"; do
  cmake --build build/fuzz -j 2 --target "fuzz_$t" >/dev/null
done

export ASAN_OPTIONS="quarantine_size_mb=4:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for t in "${TARGETS[@]}"; do
  exe="build/fuzz/tests/fuzz_$t"
  corpus="build/fuzz/corpus/$t"
  findings="build/fuzz/findings/$t"
  mkdir -p "$corpus" "$findings"
  cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true  # keeps what fuzzing added
  extra=()
  [[ -d tests/fixtures/bad-inputs/$t ]] && extra=(tests/fixtures/bad-inputs/"$t")
  log="$findings/last.log"
  printf '==== fuzz %s: replay of the seeds and bad inputs\n' "$t"
  if ! "$exe" -runs=0 -rss_limit_mb="$LIMIT_MB" -malloc_limit_mb="$LIMIT_MB" -timeout=10 \
       -artifact_prefix="$findings/" tests/fuzz/corpus/"$t" "${extra[@]}" >"$log" 2>&1; then
    tail -n 30 "$log"
    status=1
    continue
  fi
  grep -E '^#[0-9]+[[:space:]]+DONE' "$log" || true
  printf '==== fuzz %s: %ss\n' "$t" "$SECONDS_PER_TARGET"
  if ! "$exe" -max_total_time="$SECONDS_PER_TARGET" -max_len="$MAX_LEN" -rss_limit_mb="$LIMIT_MB" \
       -malloc_limit_mb="$LIMIT_MB" -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" \
       "$corpus" >"$log" 2>&1; then
    tail -n 40 "$log"
    status=1
    continue
  fi
  grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb' "$log" || true
done
exit $status

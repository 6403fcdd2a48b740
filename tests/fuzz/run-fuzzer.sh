#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time and records the result as a hardening row
# (tests/hardening/lib.sh): ctest's "hardening: fuzz <target>" (label fuzz) runs this.
#
#   tests/fuzz/run-fuzzer.sh TARGET
#
# Environment:
#   HPSWEEP_FUZZ_SECONDS    how long to fuzz (default 20; `HPSWEEP_FUZZ_SECONDS=600 ctest -L fuzz`
#                           for a longer run)
#   HPSWEEP_FUZZ_BUILD_DIR  the clang fuzz build tree (scripts/build-fuzzers.sh); default: the
#                           tree the main build was configured with (HPSWEEP_FUZZ_DEFAULT_BUILD_DIR,
#                           set by ctest), else build-fuzz next to the sources
#   HPSWEEP_FUZZ_ARTIFACTS  where crash reproducers are kept (default: $HPSWEEP_BUILD_DIR/fuzz-artifacts)
#   HPSWEEP_FUZZ_JOBS       parallel fuzzing processes (libFuzzer -fork=N; default 1)
#   HPSWEEP_FUZZ_SEED       libFuzzer's -seed: default 1 for runs of 60 s or less (CI replays
#                           the same mutations, so its result depends on the code, not on
#                           luck), random for longer runs; "random" or a number to choose
#
# The fuzzer works on a scratch copy of tests/fuzz/corpus/TARGET (the repository's corpus
# only changes by hand: docs/fuzzing.md). A crash, leak, timeout or out-of-memory is a
# failing row whose detail names the reproducer; rerun it with `BINARY REPRODUCER`.
set -uo pipefail

target=${1:?usage: run-fuzzer.sh TARGET}
here=$(cd "$(dirname "$0")" && pwd)
source_dir=${HPSWEEP_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
# shellcheck source=../hardening/lib.sh
source "$source_dir/tests/hardening/lib.sh"

build_dir=${HPSWEEP_FUZZ_BUILD_DIR:-${HPSWEEP_FUZZ_DEFAULT_BUILD_DIR:-$source_dir/build-fuzz}}
seconds=${HPSWEEP_FUZZ_SECONDS:-20}
jobs=${HPSWEEP_FUZZ_JOBS:-1}
binary="$build_dir/fuzz/$target"
corpus="$here/corpus/$target"
artifacts=${HPSWEEP_FUZZ_ARTIFACTS:-${HPSWEEP_BUILD_DIR:-$source_dir/build-fuzz}/fuzz-artifacts}/$target

fail() {
    hardening_record "$target" fuzz fail "$1" "${2:-0}" "${3:-0}"
    echo "FAIL: $1" >&2
    exit 1
}

if [[ ! -x "$binary" ]]; then
    fail "fuzz build missing: $binary; build it with: scripts/build-fuzzers.sh $build_dir"
fi
if [[ ! -d "$corpus" ]]; then
    fail "no seed corpus at $corpus"
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
    fail "HPSWEEP_FUZZ_SECONDS must be a positive number of seconds, not '$seconds'"
fi

# Scratch in memory when possible: the archive target builds a datastore per input.
scratch_base=/dev/shm
[[ -d "$scratch_base" && -w "$scratch_base" ]] || scratch_base=${TMPDIR:-/tmp}
work=$(mktemp -d "$scratch_base/hpsweep-fuzz-$target.XXXXXX")
cleanup() {
    chmod -R u+w "$work" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/corpus" "$work/tmp" "$artifacts"
cp -R "$corpus/." "$work/corpus/"
rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-* \
    "$artifacts"/slow-unit-*

seed=${HPSWEEP_FUZZ_SEED:-}
if [[ -z "$seed" ]]; then
    if ((seconds <= 60)); then seed=1; else seed=random; fi
fi
args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=60 -rss_limit_mb=2560
      -malloc_limit_mb=2048 -artifact_prefix="$artifacts/")
if [[ "$seed" != random ]]; then
    [[ "$seed" =~ ^[0-9]+$ ]] || fail "HPSWEEP_FUZZ_SEED must be a number or 'random', not '$seed'"
    args+=(-seed="$seed")
fi
[[ -f "$here/$target.dict" ]] && args+=(-dict="$here/$target.dict")
if ((jobs > 1)); then
    args+=(-fork="$jobs" -ignore_crashes=0)
fi

# Leaks are findings; third-party ones are listed in tests/lsan.supp and, for leaks only
# fuzzed inputs reach, tests/fuzz/lsan.supp.
cat "$source_dir/tests/lsan.supp" "$here/lsan.supp" >"$work/lsan.supp"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS="suppressions=$work/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log="$artifacts/fuzz.log"
echo "fuzzing $target for ${seconds}s: $binary ${args[*]} <corpus>"
# The fuzzer stops itself after max_total_time; the outer limit only catches a hang outside
# an input (a stuck exit handler).
TMPDIR="$work/tmp" timeout --kill-after=30 $((seconds + 300)) \
    "$binary" "${args[@]}" "$work/corpus" >"$log" 2>&1
rc=$?
tail -n 60 "$log"

executions=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]\+\).*/\1/p' "$log" | tail -n 1)
if [[ -z "$executions" ]]; then
    # No final stats (killed, crashed at start-up): the last status line has "#N".
    executions=$(grep -o '^#[0-9]\+' "$log" | tail -n 1 | tr -d '#')
fi
executions=${executions:-0}
mapfile -t reproducers < <(find "$artifacts" -maxdepth 1 -type f \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
crashes=${#reproducers[@]}

if ((rc == 0 && crashes == 0)); then
    corpus_size=$(find "$work/corpus" -type f | wc -l)
    hardening_record "$target" fuzz pass \
        "${seconds}s, corpus ${corpus_size} inputs, no crash" "$executions" 0
    exit 0
fi
if ((crashes == 0)); then
    fail "fuzzer exited with status $rc and no reproducer (see $log)" "$executions" 1
fi
# What went wrong, from the first report line: a sanitizer, libFuzzer (deadly signal,
# timeout, out-of-memory, leak), UBSan's "runtime error" or a property a target checks.
kind=$(grep -o 'ERROR: [A-Za-z]*Sanitizer: .*\|ERROR: libFuzzer: .*\|runtime error: .*\|FINDING: .*' "$log" \
    | head -n 1 | cut -c1-100)
fail "${kind:-crash}; reproducer ${reproducers[0]}; rerun: $binary ${reproducers[0]}" \
    "$executions" "$crashes"

#!/usr/bin/env bash
# bench_search's command line: each bad argument is refused with exit 2 and a message naming
# it, before any measurement; a valid ASHA configuration (the --divisor/--rungs/--mode a sweep
# is reproduced with) runs and prints its rungs and the early-results diagnosis per family.
set -euo pipefail
source "$(dirname "$0")/../test_lib.bash"
bench=${1:?usage: bench_search_args.sh BENCH_SEARCH}

refused() {  # expected message, then the arguments
    local expected=$1 out rc=0
    shift
    out=$("$bench" "$@" 2>&1 >/dev/null) || rc=$?
    ((rc == 2)) || fail "bench_search $*: exit $rc, expected 2"
    grep -qF -- "$expected" <<<"$out" || fail "bench_search $*: no '$expected' in: $out"
}
refused "--divisor: '1' is not an integer >= 2" --divisor 1
refused "--divisor: '3x' is not an integer >= 2" --divisor 3x
refused "--rungs needs a value" --rungs
refused "--rungs: '0' is not an integer >= 1" --rungs 0
refused "--mode: unknown adaptive_asha mode 'reckless'" --mode reckless
refused "seeds: '0' is not an integer >= 1" 0
refused "workers: 'x' is not an integer >= 1" 1 x
refused "unexpected argument '9'" 1 8 9

out=$("$bench" 1 4 --asha-only --divisor 4 --rungs 3 --mode standard)
grep -qF "ASHA rungs 5 20 81 (divisor 4, mode standard, 2 bracket(s)), 4 workers, 1 seeds" \
    <<<"$out" || fail "no schedule line for divisor 4, 3 rungs, standard in: $out"
[[ $(grep -c "noise-free at epoch 5: .*, 20: .*; one noisy observation at epoch 5:" <<<"$out") == 3 ]] ||
    fail "expected the early-results line for each of the 3 families in: $out"
if grep -q "random / bohb" <<<"$out"; then fail "--asha-only still ran bohb: $out"; fi
echo "ok: bad arguments refused, a configuration from the command line runs"

#!/usr/bin/env bash
# bench_search's command line: each bad argument, and each flaw of a measured-curves file
# (--curves), is refused with exit 2 and a message naming it (the file's line), before any
# measurement; a valid ASHA configuration (the --divisor/--rungs/--mode a sweep is reproduced
# with) runs and prints its rungs and the early-results diagnosis per family.
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
refused "--curves needs a value" --curves

# Measured-curves files, each with one flaw, built from a well-formed one: 2 seeds x 256 runs
# of 81 epochs.
make_work_dir bench-search-curves
counts=$(seq -s ' ' 90 -1 10)
for seed in 0 1; do
    for ((u = 0; u < 16; u++)); do
        for ((v = 0; v < 16; v++)); do echo "$seed $u $v $counts"; done
    done
done >"$work/runs.txt"
first_run=$(head -1 "$work/runs.txt")
{ echo "# a comment"; echo "validation_size 100"; echo "seeds 2"; cat "$work/runs.txt"; } >"$work/good.txt"
curves_refused() {  # expected message, then the file's lines replacing the good ones
    local expected=$1 file=$work/bad.txt
    shift
    printf '%s\n' "$@" >"$file"
    refused "$expected" 1 1 --asha-only --curves "$file"
}
refused "$work/missing.txt: cannot be read: No such file or directory" \
    --curves "$work/missing.txt"
curves_refused "bad.txt:1: a run before 'validation_size N' and 'seeds N'" "$first_run"
curves_refused "bad.txt:2: seeds must be an integer >= 1, before the first run" \
    "validation_size 100" "seeds 0"
curves_refused "bad.txt:3: a run has 84 fields (seed, learning-rate index, width index, an error count per epoch), not 4" \
    "validation_size 100" "seeds 2" "0 0 0 5"
curves_refused "bad.txt:3: seed must be in [0, 1] and both indexes in [0, 15]" \
    "validation_size 100" "seeds 2" "$(sed 's/^0 0 0/0 16 0/' <<<"$first_run")"
curves_refused "bad.txt:3: error count '101' after epoch 1 is not an integer in [0, validation_size 100]" \
    "validation_size 100" "seeds 2" "$(sed 's/^0 0 0 90/0 0 0 101/' <<<"$first_run")"
curves_refused "bad.txt:3: error count '8x' after epoch 2 is not an integer in [0, validation_size 100]" \
    "validation_size 100" "seeds 2" "$(sed 's/^0 0 0 90 89/0 0 0 90 8x/' <<<"$first_run")"
curves_refused "bad.txt:4: run (seed 0, 0, 0) appears twice" \
    "validation_size 100" "seeds 2" "$first_run" "$first_run"
curves_refused "bad.txt: 511 runs, expected 512 (every seed x 256 configurations)" \
    "validation_size 100" "seeds 2" "$(head -511 "$work/runs.txt")"
out=$("$bench" 1 2 --asha-only --curves "$work/good.txt") ||
    fail "bench_search refused a well-formed curves file: $out"
grep -q "^measured (MLPs trained on digits)" <<<"$out" || fail "no measured family in: $out"

out=$("$bench" 1 4 --asha-only --divisor 4 --rungs 3 --mode standard)
grep -qF "ASHA rungs 5 20 81 (divisor 4, mode standard, 2 bracket(s)), 4 workers, 1 seeds" \
    <<<"$out" || fail "no schedule line for divisor 4, 3 rungs, standard in: $out"
[[ $(grep -c "noise-free at epoch 5: .*, 20: .*; one noisy observation at epoch 5:" <<<"$out") == 4 ]] ||
    fail "expected the early-results line for each of the 4 families in: $out"
[[ $(grep -c "^  random / floor " <<<"$out") == 12 ]] ||
    fail "expected a random / floor row on both targets of the 4 families and 2 totals in: $out"
[[ $(grep -c "^  random / asha-promote " <<<"$out") == 12 ]] ||
    fail "expected a random / asha-promote row on both targets of the 4 families and 2 totals in: $out"
if grep -q "random / bohb" <<<"$out"; then fail "--asha-only still ran bohb: $out"; fi
echo "ok: bad arguments and curves files refused, a configuration from the command line runs"

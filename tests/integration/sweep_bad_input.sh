#!/usr/bin/env bash
# Scenario: user errors exit non-zero with one clear message (file:line:col for files) and
# leave nothing behind: no experiment directory (not even a hidden temporary one) and no job.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir sweep_bad
export HPSWEEP_HOME="$work/runs"
mkdir -p "$HPSWEEP_HOME"
cd "$work"
jobs_before="$(squeue -h -o %i | sort)"

expect_error() {  # expect_error CODE MESSAGE-REGEX COMMAND...
    local code="$1" pattern="$2"
    shift 2
    local rc=0 err
    err="$("$@" 2>&1 >/dev/null)" || rc=$?
    [[ "$rc" -eq "$code" ]] || fail "'$*' exited $rc, expected $code (stderr: $err)"
    [[ "$err" =~ $pattern ]] || fail "'$*' said '$err', expected /$pattern/"
    [[ -z "$(ls -A "$HPSWEEP_HOME")" ]] || fail "'$*' left $(ls -A "$HPSWEEP_HOME") behind"
    echo "ok: $* -> $err"
}

printf 'name: bad\nentrypoint: /bin/true\nresources:\n  slot_per_trial: 2\n' >typo.yaml
expect_error 3 "^hpsweep: error: typo.yaml:4:3: unknown key 'resources.slot_per_trial' in resources \(did you mean 'slots_per_trial'\?\)$" \
    hpsweep submit typo.yaml
printf 'entrypoint: /bin/true\nhyperparameters:\n  lr: "uniform(1e-5, 1e-2"\n' >expr.yaml
expect_error 3 "^hpsweep: error: expr.yaml:3:15: hyperparameter 'lr': missing '\)' to close uniform\($" \
    hpsweep submit expr.yaml
printf 'entrypoint: /bin/true\nresources:\n  nodes: two\n' >type.yaml
expect_error 3 "^hpsweep: error: type.yaml:3:10: 'resources.nodes' must be an integer, got 'two'$" \
    hpsweep submit type.yaml
expect_error 4 "missing.yaml" hpsweep submit missing.yaml
expect_error 3 "^hpsweep: error: --bs \"\[8, 16\": column 1: missing '\]'" \
    hpsweep run /bin/true --bs "[8, 16"
expect_error 2 "1000000 trials, more than 100000.*--force" \
    hpsweep run /bin/true --a "range(1000)" --b "range(1000)"
expect_error 2 "random_search needs --num_trials" hpsweep run --strategy random_search /bin/true --a "[1, 2]"
expect_error 2 "needs a SCRIPT" hpsweep run --gpus 1
expect_error 3 "slots_per_trial \(3\) must be a multiple of nodes \(2\)" hpsweep run --gpus 3 --nodes 2 /bin/true
expect_error 3 "time '1h' is not a Slurm time" hpsweep run --time 1h /bin/true
# A partition that does not exist is refused before sbatch runs (first_hour.sh has the rest
# of the submit-time checks); nothing may be left, in the directory or in the queue.
expect_error 2 "partition 'nosuchpartition' does not exist" hpsweep run --partition nosuchpartition /bin/true --a "[1, 2]"
[[ "$(squeue -h -o %i | sort)" == "$jobs_before" ]] || fail "jobs were left in the queue"
echo "PASS: bad configs, expressions and submissions exit non-zero with located messages and leave nothing"

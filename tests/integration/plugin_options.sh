#!/usr/bin/env bash
# The SPANK plugin's options on the real cluster: sbatch/salloc/srun know them, and a bad
# value is refused at submit time with a message that says what is wrong; nothing is
# queued. A wrong plugstack.conf word is logged and refuses only jobs that use hpsweep.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/plugin_lib.bash"

plugin_enable "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/cache"
cd "$plugin_work_dir"

# 1. The options are listed by every front end (registered in the allocator context too).
for front_end in sbatch salloc srun; do
    help="$($front_end --help 2>&1)" || fail "$front_end --help failed"
    for option in "--gpu-affinity=closest|none|verbose" "--datastore=NAME[:VERSION][,NAME...]" \
                  "--hpsweep-trial=EXPDIR"; do
        expect_contains "$help" "$option" "$front_end --help"
    done
done

# 2. Bad values are refused before anything is queued.
name="hpsweep-plugin-options-$$"
before="$(squeue -h -n "$name" | wc -l)"
check_refused() {
    local what=$1 needle=$2
    shift 2
    local out rc=0
    out="$("$@" 2>&1)" || rc=$?
    ((rc != 0)) || fail "$what was accepted (exit 0): $out"
    expect_contains "$out" "$needle" "$what"
    echo "ok: $what refused (exit $rc): $(grep -m1 hpsweep <<<"$out")"
}
check_refused "sbatch --gpu-affinity=nearest" "--gpu-affinity=nearest: expected closest, none or verbose" \
    sbatch -J "$name" --gpu-affinity=nearest --wrap true
check_refused "srun --gpu-affinity=fast" "--gpu-affinity=fast: expected closest, none or verbose" \
    srun -J "$name" --gpu-affinity=fast true
check_refused "sbatch --datastore=a,,b" "empty item" sbatch -J "$name" --datastore=a,,b --wrap true
check_refused "sbatch --datastore=../etc" "'../etc'" sbatch -J "$name" --datastore=../etc --wrap true
check_refused "srun --datastore=x:1,x:2" "'x' is named twice" srun -J "$name" --datastore=x:1,x:2 true
check_refused "sbatch --hpsweep-trial=missing" "is not a directory" \
    sbatch -J "$name" --hpsweep-trial=missing --wrap true
mkdir -p not-an-experiment
check_refused "sbatch --hpsweep-trial=not-an-experiment" "not an experiment directory" \
    sbatch -J "$name" --hpsweep-trial=not-an-experiment --wrap true

# The #SBATCH form goes through the same check.
cat >bad.sbatch <<'SCRIPT'
#!/bin/bash
#SBATCH --gpu-affinity=everywhere
true
SCRIPT
check_refused "#SBATCH --gpu-affinity=everywhere" "--gpu-affinity=everywhere" sbatch -J "$name" bad.sbatch

# An option given twice with different values by one source (the command line, the #SBATCH
# lines) is refused: which one was meant is not the plugin's guess.
check_refused "sbatch --gpu-affinity=closest --gpu-affinity=none" \
    "--gpu-affinity is given twice with different values ('closest' and 'none') on the command line" \
    sbatch -J "$name" --gpu-affinity=closest --gpu-affinity=none --wrap true
check_refused "srun --datastore=a --datastore=b" \
    "--datastore is given twice with different values ('a' and 'b') on the command line" \
    srun -J "$name" --datastore=a --datastore=b true
cat >twice.sbatch <<'SCRIPT'
#!/bin/bash
#SBATCH --gpu-affinity=verbose
#SBATCH --gpu-affinity=closest
true
SCRIPT
check_refused "#SBATCH --gpu-affinity twice" \
    "('verbose' and 'closest') in the batch script's #SBATCH lines" sbatch -J "$name" twice.sbatch

after="$(squeue -h -n "$name" | wc -l)"
((after == before)) || fail "a refused submission left a job in the queue"
[[ -z "$(sacct -n -X -S now-5minutes -o JobName%60 | grep -F "$name" || true)" ]] ||
    fail "a refused submission reached the controller"

# 3. A good value is accepted and the job runs; so is the same value twice, and a command
#    line that overrides the #SBATCH lines or (for srun in the job) the job's own value.
job="$(sbatch --parsable -J "$name" --gpu-affinity=none -o /dev/null --wrap true)"
state="$(wait_job "$job")"
[[ "$state" == "COMPLETED " ]] || fail "a job with --gpu-affinity=none ended $state"
cat >override.sbatch <<'SCRIPT'
#!/bin/bash
#SBATCH --gpu-affinity=verbose
srun -n1 --gpu-affinity=none true && echo "step override: ok"
srun -n1 --gpu-affinity=none --gpu-affinity=closest true || echo "step conflict: refused"
SCRIPT
job="$(sbatch --parsable -J "$name" --gpu-affinity=none --gpu-affinity=none -o override.out \
    override.sbatch)" || fail "sbatch with #SBATCH overridden on the command line was refused"
state="$(wait_job "$job")"
[[ "$state" == "COMPLETED " ]] || fail "the override job ended $state: $(cat override.out)"
out="$(cat override.out)"
expect_contains "$out" "step override: ok" "srun overriding the job's --gpu-affinity"
expect_contains "$out" "step conflict: refused" "srun with two --gpu-affinity values in a job"
expect_contains "$out" "('none' and 'closest') on the command line" "srun conflict message"

# 4. A wrong plugstack.conf word: logged, jobs that use hpsweep are refused with the
#    reason, jobs that do not are untouched.
plugin_enable "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/cache" cache_max=lots
out="$(sbatch -J "$name" --gpu-affinity=closest --wrap true 2>&1)" && fail "accepted with a broken site config: $out"
expect_contains "$out" "plugstack.conf argument 3 (cache_max=lots)" "refusal with a broken plugstack.conf"
out="$(srun -J "$name" echo plain-job-runs 2>&1)" || fail "a job without hpsweep options failed: $out"
expect_contains "$out" "plain-job-runs" "output of a job without hpsweep options"

[[ -z "$(nodes_not_idle)" ]] || fail "nodes not idle: $(nodes_not_idle)"
echo "PASS: plugin options"

#!/usr/bin/env bash
# Scenario: a job array runs to completion and accounting (slurmdbd) knows it: after
# `sbatch --array=0-3 --wait`, `sacct -j <job>` lists the four tasks COMPLETED.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir cluster_array
submitted="$(timeout 600 sbatch --parsable --wait --array=0-3 --job-name=hpsweep-array-test \
    --output="$work/task-%a.out" --wrap 'echo "task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname)"')" ||
    fail "sbatch --array=0-3 --wait exited $?"
job_id="${submitted%%;*}"
[[ "$job_id" =~ ^[0-9]+$ ]] || fail "sbatch did not print a job id: $submitted"
for task in 0 1 2 3; do
    grep -q "^task $task of job $job_id on n[0-9]*$" "$work/task-$task.out" ||
        fail "task $task output wrong: $(cat "$work/task-$task.out" 2>&1)"
done

# The controller sends job records to slurmdbd asynchronously: wait (bounded) for them.
for _ in $(seq 1 100); do
    states="$(sacct -n -X -P -j "$job_id" -o JobID,State)"
    [[ "$(grep -c '|COMPLETED$' <<<"$states")" -eq 4 ]] && break
    sleep 0.3
done
echo "$states"
[[ "$(grep -c '|COMPLETED$' <<<"$states")" -eq 4 ]] || fail "sacct does not show 4 COMPLETED tasks"
for task in 0 1 2 3; do
    grep -q "^${job_id}_${task}|COMPLETED$" <<<"$states" || fail "task ${job_id}_$task missing in sacct"
done
echo "PASS: sacct shows the 4 array tasks of job $job_id COMPLETED"

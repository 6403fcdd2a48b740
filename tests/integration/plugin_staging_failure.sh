#!/usr/bin/env bash
# A --datastore that cannot be staged (no such dataset) fails that job only: the batch
# script and the srun tasks do not start, stderr says why, exit code 1, the node stays
# IDLE (never drained), and the next job on the same node runs normally.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/plugin_lib.bash"

mkdir -p "$plugin_work_dir/store/datasets"
chmod 1777 "$plugin_work_dir/store/datasets"
plugin_enable "datastore_root=$plugin_work_dir/store" "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/plugin-test-cache"
cd "$plugin_work_dir"

# Batch step: staging runs in slurmstepd before the batch script; the script never starts.
job="$(sbatch --parsable -J hpsweep-plugin-staging -w n2 --datastore=no-such-dataset:3 -o batch.out -e batch.err \
       --wrap 'echo script-ran')"
state="$(wait_job "$job")"
[[ "$state" == "FAILED " ]] || fail "job $job with an unstageable datastore ended $state"
exit_code="$(sacct -n -X -P -j "$job" -o ExitCode)"
[[ "$exit_code" == "1:0" ]] || fail "job $job exit code $exit_code, expected 1:0"
err="$(cat batch.err)"
expect_contains "$err" "hpsweep: error: --datastore=no-such-dataset:3: " "stderr of the failed batch job"
expect_contains "$err" "no-such-dataset" "stderr of the failed batch job"
[[ ! -s batch.out ]] || fail "the batch script ran although staging failed: $(cat batch.out)"

# srun step: the tasks do not start, srun exits non-zero with the reason.
rc=0
out="$(srun -J hpsweep-plugin-staging -w n2 -n2 --datastore=no-such-dataset echo task-ran 2>&1)" || rc=$?
((rc != 0)) || fail "srun with an unstageable datastore succeeded: $out"
expect_contains "$out" "hpsweep: error: --datastore=no-such-dataset: " "srun output"
if grep -q task-ran <<<"$out"; then fail "a task ran although staging failed: $out"; fi

# The node is not drained or down (other engineers' jobs may keep it allocated), and
# serves the next job.
state="$(sinfo -h -n n2 -o '%T')"
[[ "$state" =~ ^(idle|mixed|allocated|completing)$ ]] || fail "n2 is '$state' after the failed jobs: $(sinfo -h -n n2 -o '%T %E')"
out="$(srun -J hpsweep-plugin-staging -w n2 echo next-job-runs 2>&1)" || fail "next job on n2 failed: $out"
expect_contains "$out" "next-job-runs" "the next job on n2"
[[ -z "$(nodes_not_idle)" ]] || fail "nodes not idle: $(nodes_not_idle)"
echo "PASS: plugin staging failure (n2 $state; stderr: $(grep -m1 'hpsweep: error' <<<"$err"))"

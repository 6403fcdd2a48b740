#!/usr/bin/env bash
# `#SBATCH --gpu-affinity=verbose` + srun: every task prints its placement plan on its
# stderr and gets the DDP environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
# MASTER_PORT from the site's port_range); --gpu-affinity=none on a step turns it off.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/plugin_lib.bash"

plugin_enable "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/cache" port_range=23000-23999
cd "$plugin_work_dir"

cat >affinity.sbatch <<'SCRIPT'
#!/bin/bash
#SBATCH --gpu-affinity=verbose
#SBATCH --nodes=1 --ntasks=2 --gres=gpu:2
echo "batch RANK=${RANK:-unset}"
srun --label bash -c 'echo "env RANK=$RANK WORLD_SIZE=$WORLD_SIZE LOCAL_RANK=$LOCAL_RANK LOCAL_WORLD_SIZE=$LOCAL_WORLD_SIZE NODE_RANK=$NODE_RANK MASTER_ADDR=$MASTER_ADDR MASTER_PORT=$MASTER_PORT host=$(hostname)"'
srun --label --gpu-affinity=none bash -c 'echo "none RANK=${RANK:-unset}"'
SCRIPT
job="$(sbatch --parsable -J hpsweep-plugin-affinity -o out.txt -e err.txt affinity.sbatch)"
state="$(wait_job "$job")"
out="$(cat out.txt)"
err="$(cat err.txt)"
[[ "$state" == "COMPLETED " ]] || fail "job $job ended $state; stdout: $out; stderr: $err"

# The batch script itself is not placed (its steps are).
expect_contains "$out" "batch RANK=unset" "batch step output"
# One plan line per task on stderr, from the plugin in slurmstepd.
for rank in 0 1; do
    expect_contains "$err" "rank $rank/2 local $rank/2 node 0/1: gpus " "verbose plan (stderr)"
    expect_contains "$out" "$rank: env RANK=$rank WORLD_SIZE=2 LOCAL_RANK=$rank LOCAL_WORLD_SIZE=2 NODE_RANK=0" \
        "task $rank environment"
done
host="$(grep -m1 -o 'host=[a-z0-9]*' <<<"$out" | cut -d= -f2)"
expect_contains "$out" "MASTER_ADDR=$host " "MASTER_ADDR (the step's first node)"
port="$(grep -m1 -o 'MASTER_PORT=[0-9]*' <<<"$out" | cut -d= -f2)"
((port >= 23000 && port <= 23999)) || fail "MASTER_PORT=$port is outside the site's port_range 23000-23999"
[[ "$(grep -c 'MASTER_PORT=' <<<"$out")" == 2 ]] || fail "expected two tasks with MASTER_PORT: $out"
[[ "$(grep -o 'MASTER_PORT=[0-9]*' <<<"$out" | sort -u | wc -l)" == 1 ]] ||
    fail "the ranks of one step disagree on MASTER_PORT: $out"
# --gpu-affinity=none on the step: no env, no plan.
expect_contains "$out" "0: none RANK=unset" "step with --gpu-affinity=none"
expect_contains "$out" "1: none RANK=unset" "step with --gpu-affinity=none"
[[ "$(grep -c 'rank [0-9]/2 local' <<<"$err")" == 2 ]] || fail "expected exactly 2 plan lines: $err"

[[ -z "$(nodes_not_idle)" ]] || fail "nodes not idle: $(nodes_not_idle)"
echo "PASS: plugin affinity ($(grep -m1 'rank 0/2' <<<"$err"))"

#!/usr/bin/env bash
# The plain-sbatch sweep: `sbatch --array=0-2 --hpsweep-trial=EXP` runs each array task
# with its own trial (HPSWEEP_TRIAL_ARGS, HPSWEEP_HP_*, the trial's directories), the same
# in srun steps; HPSWEEP_TRIAL_OFFSET shifts the ids; a job that is not an array fails
# alone with a clear message and the node stays up.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/plugin_lib.bash"

plugin_enable "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/cache"
cd "$plugin_work_dir"

# A small experiment directory in ExperimentDir's layout (common/experiment_dir.hpp).
mkdir -p exp
cat >exp/trials.jsonl <<'TABLE'
{"id":0,"hyperparameters":{"lr":0.1,"backbone":"resnet18"},"argv":["python3","train.py","--lr","0.1","--backbone","resnet18"]}
{"id":1,"hyperparameters":{"lr":0.01,"backbone":"resnet50"},"argv":["python3","train.py","--lr","0.01","--backbone","resnet50"]}
{"id":2,"hyperparameters":{"lr":0.001,"backbone":"vit b"},"argv":["python3","train.py","--lr","0.001","--backbone","vit b"]}
TABLE

cat >trial.sbatch <<'SCRIPT'
#!/bin/bash
#SBATCH --ntasks=1
echo "id=$HPSWEEP_TRIAL_ID lr=$HPSWEEP_HP_LR backbone=$HPSWEEP_HP_BACKBONE"
echo "dir=$HPSWEEP_TRIAL_DIR ckpt=$HPSWEEP_CHECKPOINT_DIR exp=$HPSWEEP_EXPERIMENT_DIR"
eval "/usr/bin/python3 -c 'import sys; print(\"argv\", sys.argv[1:])' $HPSWEEP_TRIAL_ARGS"
srun bash -c 'echo "step id=$HPSWEEP_TRIAL_ID args=$HPSWEEP_TRIAL_ARGS"'
[[ -d "$HPSWEEP_CHECKPOINT_DIR" ]] && echo "checkpoint dir exists"
SCRIPT

job="$(sbatch --parsable -J hpsweep-plugin-trial --array=0-2 --hpsweep-trial=exp -o 'out-%a.txt' -e 'err-%a.txt' trial.sbatch)"
state="$(wait_job "$job")"
[[ "$state" == "COMPLETED " ]] || fail "array $job ended $state: $(cat err-*.txt)"

expected_lr=(0.1 0.01 0.001)
expected_backbone=(resnet18 resnet50 "vit b")
for task in 0 1 2; do
    out="$(cat "out-$task.txt")"
    expect_contains "$out" "id=$task lr=${expected_lr[$task]} backbone=${expected_backbone[$task]}" "task $task"
    expect_contains "$out" "dir=$plugin_work_dir/exp/trials/$task ckpt=$plugin_work_dir/exp/trials/$task/checkpoints exp=$plugin_work_dir/exp" "task $task directories"
    expect_contains "$out" "argv ['--lr', '${expected_lr[$task]}', '--backbone', '${expected_backbone[$task]}']" "task $task argv"
    expect_contains "$out" "step id=$task args=--lr ${expected_lr[$task]}" "task $task srun step"
    expect_contains "$out" "checkpoint dir exists" "task $task"
done
expect_contains "$(cat out-2.txt)" "args=--lr 0.001 --backbone 'vit b'" "shell-quoted value with a space"

# HPSWEEP_TRIAL_OFFSET: array task 0 runs trial 2 (sbatch exports the submit environment).
job="$(HPSWEEP_TRIAL_OFFSET=2 sbatch --parsable -J hpsweep-plugin-trial --array=0 --hpsweep-trial="$plugin_work_dir/exp" -o offset.txt trial.sbatch)"
state="$(wait_job "$job")"
[[ "$state" == "COMPLETED " ]] || fail "offset job ended $state"
expect_contains "$(cat offset.txt)" "id=2 lr=0.001" "HPSWEEP_TRIAL_OFFSET=2, task 0"

# Not an array, and a trial id past the table: the job fails with the reason, node stays up.
job="$(sbatch --parsable -J hpsweep-plugin-trial --hpsweep-trial=exp -o plain.txt -e plain.err trial.sbatch)"
state="$(wait_job "$job")"
[[ "$state" == "FAILED " ]] || fail "a non-array job with --hpsweep-trial ended $state"
expect_contains "$(cat plain.err)" "hpsweep: error: --hpsweep-trial=exp: --hpsweep-trial needs a job array" "non-array job's stderr"
job="$(sbatch --parsable -J hpsweep-plugin-trial --array=5 --hpsweep-trial=exp -o past.txt -e past.err trial.sbatch)"
state="$(wait_job "$job")"
[[ "$state" == "FAILED " ]] || fail "an array task past the table ended $state"
expect_contains "$(cat past.err)" "trial 5 is not in" "past-the-table stderr"
[[ ! -s past.txt ]] || fail "the failed task ran its script: $(cat past.txt)"

[[ -z "$(nodes_not_idle)" ]] || fail "nodes not idle after failed jobs: $(nodes_not_idle)"
echo "PASS: plugin trial"

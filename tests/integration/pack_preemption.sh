#!/usr/bin/env bash
# Packing and preemption: 4 checkpointing trials in ONE packed task with 2 slots. The task's
# batch shell gets the preemption notice (`scancel --signal=USR2 --batch`) while trials 0 and
# 1 run: both get the signal and the grace period, checkpoint and end "preempted"; trials 2
# and 3 never start; the task is requeued exactly once, and on its restart trials 0 and 1
# resume from their checkpoints (their metrics.h5 hold the steps 1..N once) while 2 and 3
# start fresh; every trial completes with restart_count 1.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
scenario_setup pack_preemption
export HPSWEEP_STOP_GRACE_SECONDS=5
steps=32

hpsweep run --name pre --gpus 1 --pack 4 --trials-per-gpu 2 --python /usr/bin/python3 \
    "$train_py" --steps "$steps" --step-seconds 0.25 --lr "[0.1, 0.2, 0.3, 0.4]" >/dev/null ||
    fail "hpsweep run exited $?"
exp="$(experiment_dir pre)" || fail "no experiment directory"
job="$(array_job "$exp")"
scenario_jobs="$job"
wait_until 60 at_least_steps "$exp" 0 4 || fail "trial 0 reported no steps in 60 s"
wait_until 10 at_least_steps "$exp" 1 4 || fail "trial 1 did not run beside trial 0"
scancel --signal=USR2 --batch "${job}_0" || fail "scancel --signal=USR2 --batch failed"
preempted() {
    grep -q '"preempted"' "$exp/trials/0/result.json" && grep -q '"preempted"' "$exp/trials/1/result.json"
}
wait_until 30 preempted || fail "trials 0 and 1 were not both recorded preempted:" \
    "$(cat "$exp"/trials/[01]/result.json "$exp/slurm/${job}_0.out" 2>&1)"
[[ ! -e "$exp/trials/2/attempts.log" && ! -e "$exp/trials/3/attempts.log" ]] ||
    fail "a trial started after the preemption notice"
restarted() {
    start_requeued "${job}_0" || true
    grep -q '^restart=1 ' "$exp/trials/3/attempts.log" 2>/dev/null
}
wait_until 90 restarted || fail "the task did not run its trials again within 90 s"
wait_completed pre 4 90
for t in 0 1 2 3; do check_trial_file "$exp" "$t" "$steps"; done
/usr/bin/python3 - "$exp" <<'PY' || fail "restart counts or resumptions are wrong"
import json, sys
exp = sys.argv[1]
for trial in range(4):
    result = json.load(open(f"{exp}/trials/{trial}/result.json"))
    assert result["status"] == "completed" and result["restart_count"] == 1, (trial, result)
    attempts = open(f"{exp}/trials/{trial}/attempts.log").read().split("\n")[:-1]
    if trial < 2:
        assert len(attempts) == 2 and attempts[0] == "restart=0 from=0", (trial, attempts)
        assert attempts[1].startswith("restart=1 from=") and int(attempts[1].split("=")[-1]) > 0, (trial, attempts)
    else:
        assert attempts == ["restart=1 from=0"], (trial, attempts)
PY
[[ "$(grep -c "preempted; requeueing" "$exp/slurm/${job}_0.out")" -eq 1 ]] ||
    fail "the task was not requeued exactly once: $(cat "$exp/slurm/${job}_0.out")"
echo "PASS: packed trials preempted together, requeued once, resumed from their checkpoints"

#!/usr/bin/env bash
# Preemption and requeue of a trial inside the Charliecloud test image: the digits example
# gets the preemption notice (`scancel --signal=USR2 --batch`), which the batch script passes
# to the step and hpsweep-launch forwards through ch-run; train.py checkpoints and exits 0,
# result.json says preempted, the task is requeued, and the second run resumes from the
# checkpoint and completes with every epoch's metrics once in metrics.h5.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/container_lib.bash"
container_image

make_work_dir container_preempt
export HPSWEEP_HOME="$work/runs" HPSWEEP_STOP_GRACE_SECONDS=20
cd "${HPSWEEP_SOURCE_DIR:?}"
epochs=60
hpsweep run --name ctpre --container "$image" examples/digits/train.py --epochs "$epochs" \
    --lr 0.1 >/dev/null || fail "hpsweep run exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/ctpre-*)"
job="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["arrays"][0]["job_id"])' \
    "$exp/experiment.json")"
on_exit 'scancel "$job" 2>/dev/null || true'

checkpointed() { [[ -f "$exp/trials/0/checkpoints/last.pt" ]]; }
wait_until 120 checkpointed || fail "the trial never checkpointed: $(cat "$exp/trials/0/stderr.log" 2>&1)"
scancel --signal=USR2 --batch "${job}_0" || fail "scancel --signal=USR2 --batch failed"

preempted() { grep -q '"preempted"' "$exp/trials/0/result.json" 2>/dev/null; }
wait_until 60 preempted || fail "result.json never said preempted: $(cat "$exp/trials/0/result.json")"
# A requeued task waits for Slurm's requeue delay; start it now (not in the second of the
# requeue: slurmd refuses a credential of the same job created in that second).
started_again() {
    grep -q '"restart_count": 1' "$exp/trials/0/result.json" 2>/dev/null && return 0
    [[ "$(squeue -h -j "${job}_0" -o %T 2>/dev/null)" == PENDING ]] &&
        sleep 2 && scontrol update JobId="${job}_0" StartTime=now 2>/dev/null
    return 1
}
wait_until 90 started_again || fail "trial 0 was not restarted after the preemption"
completed() { grep -q '"completed"' "$exp/trials/0/result.json" 2>/dev/null; }
wait_until 180 completed || fail "the requeued trial did not complete: $(cat "$exp/trials/0/result.json")"

log="$(cat "$exp/trials/0/stdout.log")"
expect_contains "$log" "preemption notice (SIGUSR2): checkpointed after epoch" "the trial's stdout.log"
expect_contains "$log" "resumed from $exp/trials/0/checkpoints/last.pt after epoch" "the trial's stdout.log"
/usr/bin/python3 - "$exp/trials/0/metrics.h5" "$epochs" <<'PY' || fail "metrics.h5 is wrong"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    steps = [int(s) for s in f["metrics/val_loss"]["step"]]
expected = list(range(1, int(sys.argv[2]) + 1))
if steps != expected:
    print("steps:", steps, file=sys.stderr); sys.exit(1)
print("ok: steps 1..%d once each" % len(steps))
PY
echo "PASS: preempted in the container, requeued, resumed from the checkpoint"

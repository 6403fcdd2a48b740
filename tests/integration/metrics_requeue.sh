#!/usr/bin/env bash
# Requeue: a running trial is `scontrol requeue`d (no preemption notice: Slurm
# just kills it). It starts again with SLURM_RESTART_COUNT=1, resumes from its last
# checkpoint (up to two steps before the kill, which it then reports again), and its
# metrics.h5 goes on growing: exactly the steps 1..N at the end, none twice, none lost, the
# re-reported ones counted in duplicate_records, attempts 2.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
scenario_setup requeue
steps=24

hpsweep run --name requeue --python /usr/bin/python3 "$train_py" --steps "$steps" \
    --step-seconds 0.25 --checkpoint-every 4 >/dev/null || fail "hpsweep run exited $?"
exp="$(experiment_dir requeue)" || fail "no experiment directory"
job="$(array_job "$exp")"
scenario_jobs="$job"
wait_until 60 at_least_steps "$exp" 0 7 || fail "the trial reported no steps in 60 s"
before="$(reported_steps "$exp" 0)"
scontrol requeue "${job}_0" || fail "scontrol requeue ${job}_0 failed"
restarted() {
    start_requeued "${job}_0" || true
    grep -q '^restart=1 ' "$exp/trials/0/attempts.log"
}
wait_until 90 restarted ||
    fail "the trial did not start again within 90 s (squeue: $(squeue -h -j "${job}_0" -o '%T %r %S' 2>&1))"
wait_completed requeue 1 90
check_trial_file "$exp" 0 "$steps"
/usr/bin/python3 - "$exp" "$before" <<'PY' || fail "attributes after the requeue are wrong"
import json, sys, h5py
exp, before = sys.argv[1], int(sys.argv[2])
result = json.load(open(f"{exp}/trials/0/result.json"))
assert result["status"] == "completed" and result["restart_count"] == 1, result
with h5py.File(f"{exp}/trials/0/metrics.h5", "r") as f:
    attrs = {k: f.attrs[k] for k in ("attempts", "slurm_restart_count", "duplicate_records")}
    assert int(attrs["attempts"]) == 2 and int(attrs["slurm_restart_count"]) == 1, attrs
    print(f"{before} steps before the requeue, duplicates dropped: {int(attrs['duplicate_records'])}")
PY
resumed_from="$(sed -n 's/^restart=1 from=//p' "$exp/trials/0/attempts.log")"
((resumed_from > 0)) ||
    fail "resumed from step $resumed_from, expected a checkpoint after step 0"
echo "PASS: requeued trial resumed from step $resumed_from and appended steps $((resumed_from + 1))..$steps"

#!/usr/bin/env bash
# Preemption: a two-trial sweep (submitted with --signal=B:USR2@60 --requeue);
# trial 0's batch shell gets the preemption notice early with
# `scancel --signal=USR2 --batch <job>_0`. Expected: submit.sh passes USR2 to the step,
# hpsweep-launch forwards it to the training program, which checkpoints and exits within
# HPSWEEP_STOP_GRACE_SECONDS; result.json says "preempted"; only task 0 is requeued
# (scontrol requeue <job>_0) and resumes from its checkpoint; its metrics.h5 ends with exactly
# the steps 1..N (no duplicate, none lost), restart count 1 in result.json and in the HDF5
# attributes; trial 1 ran once; `hpsweep status` showed trial 0 preempted/pending, then both
# completed.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
HARDENING_SCENARIO="USR2 notice, checkpoint, requeue of one task"
HARDENING_KIND=preemption
scenario_setup preemption
export HPSWEEP_STOP_GRACE_SECONDS=5
steps=30

hpsweep run --name pre --python /usr/bin/python3 "$train_py" --steps "$steps" \
    --step-seconds 0.25 --lr "[0.1, 0.2]" >/dev/null || hardening_fail "hpsweep run exited $?"
exp="$(experiment_dir pre)" || hardening_fail "no experiment directory"
job="$(array_job "$exp")"
scenario_jobs="$job"
grep -q -- '--signal=B:USR2@60' "$exp/experiment.json" "$exp"/*.sh 2>/dev/null ||
    grep -rq 'on_preemption' "$exp" || hardening_fail "submit.sh has no preemption handling"

wait_until 60 at_least_steps "$exp" 0 6 || hardening_fail "trial 0 reported no steps in 60 s"
before="$(reported_steps "$exp" 0)"
scancel --signal=USR2 --batch "${job}_0" || hardening_fail "scancel --signal=USR2 --batch failed"
notice_at=$SECONDS

# Between the notice and the restart, status must not claim the trial is simply running on.
seen=""
preempted_result=0
bad_reason=""
pending_reason=""
requeued() {
    local state preempted_now=0
    # result.json first: once it says "preempted", a pending trial is a requeued one.
    if grep -q '"preempted"' "$exp/trials/0/result.json" 2>/dev/null; then
        preempted_now=1
        preempted_result=1
    fi
    state="$(hpsweep status --json pre 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; t=json.load(sys.stdin)["trials"][0]; print(t["state"] + "|" + t.get("reason", ""))')" || return 1
    # Pending again after the notice: the reason must say why, not just Slurm's BeginTime.
    if [[ $state == pending\|* ]] && ((preempted_now)); then
        pending_reason="${state#pending|}"
        [[ $state == *"requeued after preemption"* ]] || bad_reason="$pending_reason"
    fi
    state="${state%%|*}"
    [[ " $seen " == *" $state "* ]] || seen="$seen $state"
    start_requeued "${job}_0" || true
    grep -q '^restart=1 ' "$exp/trials/0/attempts.log" 2>/dev/null
}
wait_until 60 requeued || hardening_fail "trial 0 did not restart within 60 s (states seen:$seen)"
restart_after=$((SECONDS - notice_at))
((preempted_result)) || hardening_fail "result.json never said preempted (states seen:$seen)"
[[ -z $bad_reason ]] ||
    hardening_fail "status showed the requeued trial as pending with reason '$bad_reason'"
wait_completed pre 2 90

check_trial_file "$exp" 0 "$steps"
check_trial_file "$exp" 1 "$steps"
/usr/bin/python3 - "$exp" <<'PY' || hardening_fail "restart counts or attempts are wrong"
import json, sys, h5py
exp = sys.argv[1]
for trial, restarts in ((0, 1), (1, 0)):
    result = json.load(open(f"{exp}/trials/{trial}/result.json"))
    assert result["status"] == "completed", result
    assert result["restart_count"] == restarts, (trial, result)
    with h5py.File(f"{exp}/trials/{trial}/metrics.h5", "r") as f:
        assert int(f.attrs["slurm_restart_count"]) == restarts, (trial, dict(f.attrs))
        assert int(f.attrs["attempts"]) == restarts + 1, (trial, dict(f.attrs))
        assert f.attrs["status"] == "completed"
PY
attempts0="$(cat "$exp/trials/0/attempts.log")"
resumed_from="$(sed -n 's/^restart=1 from=//p' <<<"$attempts0")"
[[ "$(wc -l <<<"$attempts0")" -eq 2 && "$resumed_from" -ge 3 ]] ||
    hardening_fail "trial 0 did not resume from its checkpoint: $attempts0"
[[ "$(wc -l <"$exp/trials/1/attempts.log")" -eq 1 ]] ||
    hardening_fail "trial 1 was restarted too: $(cat "$exp/trials/1/attempts.log")"
grep -q "preempted; requeueing" "$exp/slurm/${job}_0.out" ||
    hardening_fail "no requeue message in slurm/${job}_0.out"
later_job_works pre
hardening_record "$HARDENING_SCENARIO" preemption pass \
    "notice at step $before, resumed from checkpoint step $resumed_from, restarted after ${restart_after}s, steps 1..$steps once, restart_count 1 (result.json+HDF5), other task untouched, status:$seen${pending_reason:+ (pending: $pending_reason)}"
echo "PASS: preemption (states seen:$seen)"

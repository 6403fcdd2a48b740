#!/usr/bin/env bash
# Fault: slurmctld is restarted (hpsweep-cluster restart-controller) while a sweep is being
# submitted. Expected: the submission either succeeds (sbatch retries while the controller
# is away) or fails with a clear error and leaves nothing half-submitted (no experiment
# directory, no hidden temporary, no held array); in both cases the sweep then completes
# (the same command again when it failed), `hpsweep status` tells completed, and the
# cluster is healthy.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
HARDENING_SCENARIO="slurmctld restarted during a sweep submission"
scenario_setup slurmctld-restart

"$cluster_script" restart-controller >"$work/restart.log" 2>&1 &
restart_pid=$!
scenario_cleanup="wait $restart_pid"
# Submit only once the controller is really gone, so the submission meets the outage.
controller_down() { ! scontrol ping 2>/dev/null | grep -q 'is UP'; }
wait_until 20 controller_down || hardening_fail "slurmctld never went down: $(cat "$work/restart.log")"
submit_start=$SECONDS
rc=0
out="$(hpsweep run --name ctl --python /usr/bin/python3 "$train_py" --steps 4 \
    --step-seconds 0 --lr "[0.1, 0.2, 0.3, 0.4]" 2>&1)" || rc=$?
submit_seconds=$((SECONDS - submit_start))
wait "$restart_pid" || hardening_fail "restart-controller failed: $(cat "$work/restart.log")"
scenario_cleanup=""
if ((rc == 0)); then
    how="submission into the outage went through (${submit_seconds}s)"
else
    how="submission into the outage failed cleanly (exit $rc after ${submit_seconds}s: ${out//$'\n'/ }), submitted again"
    [[ -n "$out" ]] || hardening_fail "the failed submission said nothing"
    shopt -s nullglob dotglob
    leftovers=("$HPSWEEP_HOME"/*)
    shopt -u nullglob dotglob
    ((${#leftovers[@]} == 0)) || hardening_fail "a failed submission left ${leftovers[*]}"
    held="$(squeue -h -n ctl -o %i)"
    [[ -z "$held" ]] || hardening_fail "a failed submission left jobs $held"
    hpsweep run --name ctl --python /usr/bin/python3 "$train_py" --steps 4 \
        --step-seconds 0 --lr "[0.1, 0.2, 0.3, 0.4]" >/dev/null || hardening_fail "second submission exited $?"
fi
exp="$(experiment_dir ctl)" || hardening_fail "no experiment directory"
scenario_jobs="$(array_job "$exp")"
wait_completed ctl 4 90
for t in 0 1 2 3; do check_trial_file "$exp" "$t" 4; done
hardening_record "$HARDENING_SCENARIO" fault pass \
    "$how; 4 trials completed with steps 1..4, status completed"
echo "PASS: slurmctld restart ($how)"

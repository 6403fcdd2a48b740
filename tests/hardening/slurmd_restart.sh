#!/usr/bin/env bash
# Fault: the slurmd of the node running a trial is restarted (hpsweep-cluster restart-node)
# while the trial runs. Expected: the step survives (slurmstepd is not slurmd's child), the
# trial completes once (restart count 0) with exactly the steps 1..N, status says completed,
# the node is idle again and a later sweep runs.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
HARDENING_SCENARIO="slurmd restarted under a running job"
scenario_setup slurmd-restart
# Long enough that the trial still runs after the recorder's first flush (every 5 s).
steps=60

hpsweep run --name sdr --python /usr/bin/python3 "$train_py" --steps "$steps" \
    --step-seconds 0.2 >/dev/null || hardening_fail "hpsweep run exited $?"
exp="$(experiment_dir sdr)" || hardening_fail "no experiment directory"
job="$(array_job "$exp")"
scenario_jobs="$job"
wait_until 60 at_least_steps "$exp" 0 4 || hardening_fail "the trial reported no steps in 60 s"
node="$(squeue -h -j "${job}_0" -o %N)"
[[ "$node" =~ ^n[0-9]+$ ]] || hardening_fail "trial 0 runs on '$node'"
launcher="$(trial_launcher "$exp" 0)"
[[ -n "$launcher" ]] || hardening_fail "no hpsweep-launch process for the trial"
old_slurmd="$(cat "$HPSWEEP_CLUSTER_DIR/run/slurmd-$node.pid")"
"$cluster_script" restart-node "$node" >/dev/null || hardening_fail "restart-node $node failed"
new_slurmd="$(cat "$HPSWEEP_CLUSTER_DIR/run/slurmd-$node.pid")"
[[ "$new_slurmd" != "$old_slurmd" ]] || hardening_fail "slurmd on $node was not restarted (pid $old_slurmd)"
# The point of the scenario: the restart happened under the running trial, which lived on.
[[ -d "/proc/$launcher" ]] || hardening_fail "the trial's launcher (pid $launcher) died with slurmd"
at_restart="$(reported_steps "$exp" 0)"
(( at_restart < steps )) || hardening_fail "the trial had already finished when slurmd restarted"
wait_completed sdr 1 90
check_trial_file "$exp" 0 "$steps"
/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "completed" and r["restart_count"] == 0, r' "$exp/trials/0/result.json" ||
    hardening_fail "result.json: $(cat "$exp/trials/0/result.json")"
[[ "$(wc -l <"$exp/trials/0/attempts.log")" -eq 1 ]] || hardening_fail "the trial ran more than once"
later_job_works sdr
hardening_record "$HARDENING_SCENARIO" fault pass \
    "slurmd on $node restarted mid-trial (pid $old_slurmd -> $new_slurmd, $at_restart of $steps steps flushed), launcher survived; trial completed in one attempt, steps 1..$steps exactly, later sweep ok"
echo "PASS: slurmd restart"

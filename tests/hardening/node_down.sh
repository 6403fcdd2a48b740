#!/usr/bin/env bash
# Fault: a node is taken down mid-array (`scontrol update nodename=nX state=down`) while it
# runs a trial of a three-trial sweep, then resumed. Expected: the task on it is killed and
# (submitted with --requeue) requeued by Slurm, or failed and finished with
# `hpsweep resubmit --failed`; the trial resumes from its checkpoint; every trial ends
# completed with exactly the steps 1..N; the other trials ran once; the node is idle
# again and a later sweep runs.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
HARDENING_SCENARIO="node taken down mid-array"
scenario_setup node-down
# Long enough that the trial still runs after the recorder's first flush (every 5 s).
steps=60

hpsweep run --name nd --python /usr/bin/python3 "$train_py" --steps "$steps" \
    --step-seconds 0.2 --lr "[0.1, 0.2, 0.3]" >/dev/null || hardening_fail "hpsweep run exited $?"
exp="$(experiment_dir nd)" || hardening_fail "no experiment directory"
job="$(array_job "$exp")"
scenario_jobs="$job"
wait_until 60 at_least_steps "$exp" 1 4 || hardening_fail "trial 1 reported no steps in 60 s"
node="$(squeue -h -j "${job}_1" -o %N)"
[[ "$node" =~ ^n[0-9]+$ ]] || hardening_fail "trial 1 runs on '$node'"
# Every task on that node is hit, not only trial 1 (a node runs two trials at once).
on_node="$(squeue -h -j "$job" -t RUNNING -o '%K %N' | awk -v n="$node" '$2 == n {print $1}' | sort -n | xargs)"
scenario_cleanup="scontrol update nodename=$node state=resume"
scontrol update nodename="$node" state=down reason="hardening node_down"
down_at=$SECONDS
# Away from the node: requeued (pending/running elsewhere) or ended (failed/cancelled).
left() { [[ "$(squeue -h -j "${job}_1" -o '%T %N')" != "RUNNING $node" ]]; }
wait_until 30 left || hardening_fail "trial 1 still runs on the down node $node"
sleep 2
# ReturnToService=2 may already have brought the node back when its slurmd re-registered.
state_before_resume="$(sinfo -h -n "$node" -o %T)"
if [[ "$state_before_resume" == down* || "$state_before_resume" == drain* ]]; then
    scontrol update nodename="$node" state=resume ||
        hardening_fail "could not resume $node (state $state_before_resume)"
fi
how="requeued by Slurm"
settled() {
    local t
    for t in $on_node; do start_requeued "${job}_$t" || true; done
    [[ "$(experiment_counts nd)" != *running* && "$(experiment_counts nd)" != *pending* ]]
}
wait_until 90 settled || hardening_fail "sweep did not settle: $(experiment_counts nd)"
if [[ "$(experiment_counts nd)" != "{'completed': 3}" ]]; then
    how="ended $(experiment_counts nd), then resubmit --failed"
    hpsweep resubmit nd --failed >/dev/null || hardening_fail "resubmit --failed exited $?"
    wait_completed nd 3 90
fi
for t in 0 1 2; do check_trial_file "$exp" "$t" "$steps"; done
for t in 0 1 2; do
    expected=1
    [[ " $on_node " == *" $t "* ]] && expected=2
    [[ "$(wc -l <"$exp/trials/$t/attempts.log")" -eq $expected ]] ||
        hardening_fail "trial $t (on $node: ${on_node// /,}) attempts: $(cat "$exp/trials/$t/attempts.log")"
    if ((expected == 2)); then
        from="$(sed -n '2s/^restart=[0-9]* from=//p' "$exp/trials/$t/attempts.log")"
        ((from > 0)) || hardening_fail "trial $t did not resume from its checkpoint"
    fi
done
wait_until 60 all_nodes_idle || hardening_fail "nodes not idle: $(sinfo -h -N -o '%N %T' | tr '\n' ' ')"
later_job_works nd
hardening_record "$HARDENING_SCENARIO" fault pass \
    "$node down under trials ${on_node// /,}: $how, they resumed from their checkpoints, 3 trials steps 1..$steps exactly, the others ran once, all nodes idle after $((SECONDS - down_at))s, later sweep ok"
echo "PASS: node down ($how)"

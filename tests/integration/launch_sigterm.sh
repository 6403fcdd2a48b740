#!/usr/bin/env bash
# `scancel --signal=TERM` on a running job reaches the training process through
# hpsweep-launch (the child traps it and leaves a marker), and the exit code seen by
# srun/the batch script is the child's own (77), recorded in result.json as "cancelled".
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
make_work_dir launch_sigterm
exp=$work
job=""
on_exit '[[ -z "$job" ]] || scancel "$job" 2>/dev/null'

child="trap 'echo TERM > \$HPSWEEP_TRIAL_DIR/got-term; exit 77' TERM; touch \$HPSWEEP_TRIAL_DIR/ready; while :; do sleep 0.1; done"
/usr/bin/python3 -c 'import json,sys; print(json.dumps({"id": 0, "hyperparameters": {}, "argv": ["/bin/bash", "-c", sys.argv[1]]}))' \
    "$child" >"$exp/trials.jsonl"
cat >"$exp/job.sh" <<SCRIPT
#!/bin/bash
srun -n1 hpsweep-launch --experiment "$exp" --trial 0
echo "\$?" > "$exp/launcher-exit"
SCRIPT
job=$(sbatch --parsable -N1 -n1 -o "$exp/slurm.out" --export=ALL "$exp/job.sh")
for i in $(seq 600); do [ -e "$exp/trials/0/ready" ] && break; sleep 0.1; done
[ -e "$exp/trials/0/ready" ] || { cat "$exp/slurm.out" >&2; fail "the child never started"; }
scancel --signal=TERM "$job"
for i in $(seq 600); do [ -s "$exp/launcher-exit" ] && break; sleep 0.1; done
cat "$exp/slurm.out"
[ -s "$exp/launcher-exit" ] || fail "srun never returned"
[ -e "$exp/trials/0/got-term" ] || fail "SIGTERM never reached the child"
code=$(cat "$exp/launcher-exit")
[ "$code" = 77 ] || fail "exit code $code, expected the child's 77"
summary=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["status"], r["exit_code"])' "$exp/trials/0/result.json")
[ "$summary" = "cancelled 77" ] || fail "result.json says '$summary'"
job=""
echo "PASS (exit code $code, result.json: $summary)"

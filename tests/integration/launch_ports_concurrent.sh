#!/usr/bin/env bash
# Two trials of one experiment running at the same time on the same node get different
# MASTER_PORTs, and each records result.json "completed" with its own job id.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
make_work_dir launch_ports_concurrent
exp=$work

# Each trial writes its port and waits (up to 60 s) until the other trial has written its
# own, so both are certainly alive at once.
for id in 0 1; do
    other=$((1 - id))
    script="echo \$MASTER_PORT > $exp/port.$id; for i in \$(seq 600); do [ -s $exp/port.$other ] && exit 0; sleep 0.1; done; echo 'other trial never started' >&2; exit 9"
    /usr/bin/python3 -c 'import json,sys; print(json.dumps({"id": int(sys.argv[1]), "hyperparameters": {}, "argv": ["/bin/bash", "-c", sys.argv[2]]}))' \
        "$id" "$script" >>"$exp/trials.jsonl"
done

pids=()
for id in 0 1; do
    timeout 120 srun -N1 -n1 -w n3 hpsweep-launch --experiment "$exp" --trial "$id" \
        >"$exp/srun.$id.out" 2>&1 &
    pids+=($!)
done
for id in 0 1; do
    rc=0
    wait "${pids[$id]}" || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$exp/srun.$id.out" >&2; fail "trial $id exited with $rc"
    fi
done
p0=$(cat "$exp/port.0"); p1=$(cat "$exp/port.1")
echo "trial 0 MASTER_PORT=$p0, trial 1 MASTER_PORT=$p1"
[ -n "$p0" ] && [ "$p0" != "$p1" ] || fail "concurrent trials share MASTER_PORT $p0"
for id in 0 1; do
    [ "$p0" -ge 20000 ] && [ "$p0" -le 29999 ] || fail "port out of range"
    status=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["status"], r["exit_code"], r["node"], r["job_id"] is not None)' "$exp/trials/$id/result.json")
    [ "$status" = "completed 0 n3 True" ] || fail "trial $id result.json says: $status"
done
echo "PASS"

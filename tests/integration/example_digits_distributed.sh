#!/usr/bin/env bash
# examples/digits/distributed.yaml on the local cluster: each of its 2 trials is one
# DistributedDataParallel training over 2 nodes x 2 ranks (gloo: the cluster's GPUs have
# no CUDA). Checks that both complete, that train.py saw WORLD_SIZE=4 on 2 distinct nodes,
# and that the trial's metrics (reported by rank 0 only) have one value per epoch.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir example_digits_distributed
export HPSWEEP_HOME="$work/runs"
cd "${HPSWEEP_SOURCE_DIR:?}"

hpsweep submit examples/digits/distributed.yaml --wait || {
    exp="$(ls -d "$HPSWEEP_HOME"/digits-ddp-* 2>/dev/null | head -1)"
    cat "$exp"/trials/*/stderr.log "$exp"/slurm/*.out 2>/dev/null | tail -40 >&2
    fail "submit distributed.yaml exited non-zero"
}
exp="$(ls -d "$HPSWEEP_HOME"/digits-ddp-*)"
for trial in 0 1; do
    out="$(cat "$exp/trials/$trial/stdout.log")"
    grep -q "world_size=4)" <<<"$out" || fail "trial $trial did not train with 4 ranks: $out"
done
# Slurm's record of each array task: 2 nodes each.
array_job="$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arrays"][0]["job_id"])' <"$exp/experiment.json")"
nodes="$(sacct -n -X -P -j "$array_job" -o NodeList | sort -u | tr '\n' ' ')"
for list in $nodes; do
    [[ "$(scontrol show hostnames "$list" | wc -l)" -eq 2 ]] || fail "a trial ran on '$list', not 2 nodes"
done
results="$(hpsweep results digits-ddp --json)"
/usr/bin/python3 - "$results" <<'PY' || fail "results: $results"
import json, sys
r = json.loads(sys.argv[1])
assert [t["status"] for t in r["trials"]] == ["completed", "completed"], r
for t in r["trials"]:
    assert t["metrics"]["val_loss"]["count"] == 5, t  # rank 0 alone reports, once per epoch
PY
echo "PASS: 2 DDP trials x 4 ranks on nodes $nodes"

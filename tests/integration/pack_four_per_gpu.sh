#!/usr/bin/env bash
# Packing, 4 trials per GPU on a 4-GPU node: `hpsweep run --pack 16 --trials-per-gpu 4
# --pack-gpus 4` runs 16 trials as ONE array task. Every trial sees one GPU (4 trials per
# GPU), runs at the same time as the others, gets its own MASTER_PORT, result.json, logs and
# metrics file, and status/logs/results read it as they read an unpacked trial. The cores:
# the test cluster's nodes have 2 CPUs, so a second run of the same pack supervisor in a real
# Slurm step places the 16 slots on the 16-core 4-GPU topology tests/data/topologies/
# pcie-4gpu.xml: each trial gets its own GPU-local core, none shared.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir pack_four_per_gpu
export HPSWEEP_HOME="$work/runs"
cat >"$work/probe.sh" <<'SH'
#!/bin/sh
# Records what this trial was given, then waits until all 16 trials have started.
{
    echo "gpu=$CUDA_VISIBLE_DEVICES"
    echo "slot=$HPSWEEP_PACK_SLOT"
    echo "port=$MASTER_PORT"
    echo "cpus=$HPSWEEP_CPUS"
    echo "sharing=$HPSWEEP_GPU_SHARING"
    echo "allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)"
} >"$HPSWEEP_TRIAL_DIR/seen.txt"
touch "$HPSWEEP_EXPERIMENT_DIR/started.$HPSWEEP_TRIAL_ID"
i=0
while [ "$(ls "$HPSWEEP_EXPERIMENT_DIR" | grep -c '^started\.')" -lt 16 ] && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
echo "HPSWEEP_METRIC loss=$2 step=1"
echo "concurrent=$([ $i -lt 300 ] && echo yes || echo no)" >>"$HPSWEEP_TRIAL_DIR/seen.txt"
SH
chmod +x "$work/probe.sh"
cd "$work"
out="$(hpsweep run --wait --json --name four --gpus 1 --pack 16 --trials-per-gpu 4 --pack-gpus 4 \
    ./probe.sh --x "range(16)" 2>&1)" || fail "hpsweep run --wait exited $?: $out"
exp="$(ls -d "$HPSWEEP_HOME"/four-*)"
/usr/bin/python3 - "$exp" <<'PY' || fail "packed trials did not get their own slots"
import collections, json, pathlib, sys
exp = pathlib.Path(sys.argv[1])
meta = json.loads((exp / "experiment.json").read_text())
arrays = meta["arrays"]
assert len(arrays) == 1 and arrays[0]["array"] == "0" and arrays[0]["pack"] == 16, arrays
seen = {}
for t in range(16):
    seen[t] = dict(l.split("=", 1) for l in (exp / "trials" / str(t) / "seen.txt").read_text().split("\n") if l)
    result = json.loads((exp / "trials" / str(t) / "result.json").read_text())
    assert result["status"] == "completed", (t, result)
    assert (exp / "trials" / str(t) / "metrics.h5").exists(), t
per_gpu = collections.Counter(s["gpu"] for s in seen.values())
assert sorted(per_gpu.values()) == [4, 4, 4, 4] and len(per_gpu) == 4, per_gpu
assert all("," not in s["gpu"] for s in seen.values()), "a trial sees more than one GPU"
assert len({s["slot"] for s in seen.values()}) == 16, "slots reused while all 16 run at once"
assert len({s["port"] for s in seen.values()}) == 16, [s["port"] for s in seen.values()]
assert all(s["concurrent"] == "yes" for s in seen.values()), "the 16 trials did not all run at once"
assert all(s["sharing"] == "time-sharing" for s in seen.values())
# Bound to the CPUs the launcher planned for it (the task's CPUs, shared: 2-CPU nodes).
assert all(s["allowed"] == s["cpus"] for s in seen.values()), [(s["allowed"], s["cpus"]) for s in seen.values()]
print("GPUs:", dict(per_gpu), "ports:", sorted(s["port"] for s in seen.values())[:3], "...")
PY
status="$(hpsweep status --json four)" || fail "status exited $?: $status"
expect_contains "$status" '"completed": 16' "status of the packed sweep"
expect_contains "$(hpsweep logs four 5)" "HPSWEEP_METRIC loss=5 step=1" "logs of packed trial 5"
results="$(hpsweep results four --json 2>&1)" || fail "results exited $?: $results"
expect_contains "$results" '"loss"' "results of the packed sweep"

# The cores, on a 16-core 4-GPU machine: the same pack supervisor in a real step, given the
# topology file and that machine's CPUs (binding is skipped for a topology that is not this
# machine's; the plan reaches the trial as HPSWEEP_CPUS).
rm -f "$exp"/started.*
out="$(srun -N1 -n1 --gres=gpu:4 "$HPSWEEP_BUILD_DIR/bin/hpsweep-launch" --experiment "$exp" \
    --pack-first 0 --pack-count 16 --topology "$HPSWEEP_SOURCE_DIR/tests/data/topologies/pcie-4gpu.xml" \
    --gpus 0-3 --cpuset 0-15 2>&1)" || fail "packed step on the topology exited $?: $out"
/usr/bin/python3 - "$exp" <<'PY' || fail "slots overlap on the 16-core topology"
import json, pathlib, sys
exp = pathlib.Path(sys.argv[1])
cpus = {}
for t in range(16):
    seen = dict(l.split("=", 1) for l in (exp / "trials" / str(t) / "seen.txt").read_text().split("\n") if l)
    cpus[t] = seen["cpus"]
    gpu = int(seen["gpu"])
    core = int(seen["cpus"])
    # pcie-4gpu.xml: GPUs 0,1 on package 0 (cores 0-7), GPUs 2,3 on package 1 (cores 8-15).
    assert (gpu < 2) == (core < 8), (t, seen)
assert sorted(int(c) for c in cpus.values()) == list(range(16)), cpus
print("one GPU-local core per trial:", cpus)
PY
echo "PASS: 16 packed trials, 4 per GPU, own GPU, port and (on 16 cores) core"

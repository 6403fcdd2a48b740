#!/usr/bin/env bash
# Scenario: ASHA fed by a metric the launcher captures with --metric-regex. The digits example
# runs with --plain_log, so it prints "epoch N: val_loss=X val_acc=Y" and never an
# HPSWEEP_METRIC line; `hpsweep run --strategy asha --metric-regex` (8 trials, rungs at 1, 3
# and 9 epochs, divisor 3) must still stop weak trials early: status stopped_early in
# result.json, fewer val_loss steps in their HDF5 files than the completed ones, and every
# trial's rung-0 record under EXP/asha/ holding the val_loss its log printed at epoch 1.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir asha_metric_regex
export HPSWEEP_HOME="$work/runs" HPSWEEP_STOP_GRACE_SECONDS=5
cd "$HPSWEEP_SOURCE_DIR"
hpsweep run --name digits-regex --strategy asha --num_trials 8 --metric val_loss \
    --max_length epochs:9 --divisor 3 --max_rungs 3 --mode aggressive --seed 7 \
    --max-concurrent 4 --time 10:00 --python /usr/bin/python3 --wait \
    --metric-regex 'val_loss=epoch (?P<step>\d+): val_loss=(?P<value>[0-9.eE+-]+)' \
    examples/digits/train.py --lr "loguniform(0.001, 0.5, 8)" --hidden "[16, 64, 128]" \
    --plain_log || fail "hpsweep run --wait exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/digits-regex-*)"
hpsweep status "$exp"

/usr/bin/python3 - "$exp" <<'PY'
import json, pathlib, re, sys
import h5py
exp = pathlib.Path(sys.argv[1])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
status, steps, printed = {}, {}, {}
for trial_dir in sorted((exp / "trials").iterdir(), key=lambda p: int(p.name)):
    tid = int(trial_dir.name)
    status[tid] = json.loads((trial_dir / "result.json").read_text())["status"]
    log = (trial_dir / "stdout.log").read_text()
    if "HPSWEEP_METRIC" in log: fail(f"trial {tid} printed an HPSWEEP_METRIC line")
    printed[tid] = {int(m[1]): float(m[2])
                    for m in re.finditer(r"epoch (\d+): val_loss=([0-9.eE+-]+)", log)}
    with h5py.File(trial_dir / "metrics.h5", "r") as f:
        if "metrics/val_loss" not in f: fail(f"trial {tid}: no val_loss in metrics.h5")
        steps[tid] = int(f["metrics/val_loss"]["step"][-1])
print("status:", status, "\nlast step:", steps)
if len(status) != 8: fail(f"expected 8 trials, found {len(status)}")
stopped = [t for t, s in status.items() if s == "stopped_early"]
done = [t for t, s in status.items() if s == "completed"]
if not stopped: fail("no trial was stopped early: ASHA never saw the regex metric")
if not done: fail("no trial completed")
if len(stopped) + len(done) != 8: fail(f"unexpected states: {status}")
if max(steps[t] for t in stopped) >= min(steps[t] for t in done):
    fail("stopped trials did not train for fewer steps than completed ones")
if any(steps[t] != 9 for t in done): fail("a completed trial did not reach max_length 9")
rung0 = [json.loads(p.read_text()) for p in (exp / "asha" / "rung0").iterdir()]
if sorted(r["trial"] for r in rung0) != sorted(status):
    fail(f"rung 0 holds trials {sorted(r['trial'] for r in rung0)}, expected all 8")
for r in rung0:
    if abs(r["value"] - printed[r["trial"]][1]) > 1e-9:
        fail(f"trial {r['trial']}: rung 0 holds {r['value']}, its log printed "
             f"{printed[r['trial']][1]} at epoch 1")
print("ok: stopped early", stopped, "completed", done)
PY

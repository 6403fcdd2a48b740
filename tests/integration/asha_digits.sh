#!/usr/bin/env bash
# Scenario: the digits example's adaptive_asha experiment (8 trials, rungs at 1/4/16 epochs,
# divisor 4) on the local cluster. Weak trials are stopped early by their own launcher:
# status stopped_early, fewer steps in their HDF5 files than the completed ones; the rung
# records under EXP/asha/ agree with the reference sequential rule; `hpsweep results`
# marks a completed trial as the best. The sweep itself succeeds (exit 0).
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir asha_digits
export HPSWEEP_HOME="$work/runs" HPSWEEP_STOP_GRACE_SECONDS=5
cd "${HPSWEEP_SOURCE_DIR:?}"
hpsweep submit examples/digits/asha.yaml --wait || fail "hpsweep submit --wait exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/digits-asha-*)"
results="$(hpsweep results "$exp" --json)" || fail "hpsweep results exited $?"
hpsweep results "$exp"

/usr/bin/python3 - "$exp" "$results" <<'PY'
import json, pathlib, sys
import h5py
exp, results = pathlib.Path(sys.argv[1]), json.loads(sys.argv[2])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
status, steps = {}, {}
for trial_dir in sorted((exp / "trials").iterdir(), key=lambda p: int(p.name)):
    tid = int(trial_dir.name)
    status[tid] = json.loads((trial_dir / "result.json").read_text())["status"]
    with h5py.File(trial_dir / "metrics.h5", "r") as f:
        steps[tid] = int(f["metrics/val_loss"]["step"][-1]) if "metrics/val_loss" in f else 0
print("status:", status, "\nlast step:", steps)
if len(status) != 8: fail(f"expected 8 trials, found {len(status)}")
stopped = [t for t, s in status.items() if s == "stopped_early"]
done = [t for t, s in status.items() if s == "completed"]
if not stopped: fail("no trial was stopped early")
if not done: fail("no trial completed")
if len(stopped) + len(done) != 8: fail(f"unexpected states: {status}")
if max(steps[t] for t in stopped) >= min(steps[t] for t in done):
    fail("stopped trials did not train for fewer steps than completed ones")
if any(steps[t] != 16 for t in done): fail("a completed trial did not reach max_length 16")
# Rung 0 is where every trial is judged: the slot files replayed through the sequential
# rule (top ceil(n/4) of the first n arrivals continue) give exactly who went on.
slots = sorted((exp / "asha" / "rung0").iterdir(), key=lambda p: int(p.name))
arrived = [json.loads(p.read_text()) for p in slots]
for n, record in enumerate(arrived, start=1):
    better = sum(1 for r in arrived[:n - 1] if r["value"] <= record["value"])
    goes_on = better < max(1, -(-n // 4))
    # A stop takes effect a moment after the decision (the signal, then the grace period),
    # so a trial stopped at rung 0 may log one more epoch; it never reaches rung 1 (epoch 4).
    stopped_at_rung0 = status[record["trial"]] == "stopped_early" and steps[record["trial"]] < 4
    if goes_on == stopped_at_rung0:
        fail(f"trial {record['trial']} at rung 0 slot {n - 1}: rule says goes_on={goes_on}, "
             f"but it is {status[record['trial']]} after {steps[record['trial']]} steps")
best = results.get("best_trial")
if best is None: fail(f"results has no best trial: {results}")
if status[int(best)] != "completed": fail(f"best trial {best} is {status[int(best)]}")
print("ok: stopped early", stopped, "completed", done, "best", best)
PY

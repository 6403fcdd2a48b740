#!/usr/bin/env bash
# Packing with ASHA: 8 trials in ONE packed task with 2 slots (rungs at 1/4/16 steps,
# divisor 4). Weak trials are stopped early by their own launcher (stopped_early, fewer
# steps), and the slot a stopped trial frees takes the next trial at once: the next trial
# in that slot starts within 2 s of the stopped trial's last step.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir pack_asha
export HPSWEEP_HOME="$work/runs" HPSWEEP_STOP_GRACE_SECONDS=2
cat >"$work/steps.sh" <<'SH'
#!/bin/sh
# steps.sh --loss X: 16 steps of 0.15 s, each reporting loss X.
echo "$HPSWEEP_PACK_SLOT $(date +%s.%N)" >"$HPSWEEP_TRIAL_DIR/start"
for step in $(seq 1 16); do
    sleep 0.15
    echo "HPSWEEP_METRIC loss=$2 step=$step"
    date +%s.%N >"$HPSWEEP_TRIAL_DIR/last"
done
SH
chmod +x "$work/steps.sh"
cd "$work"
hpsweep run --wait --name asha --strategy asha --metric loss --max-length 16 --divisor 4 \
    --max-rungs 3 --num-trials 8 --seed 7 --gpus 1 --pack 8 --trials-per-gpu 2 ./steps.sh \
    --loss "[0.5, 0.9, 0.8, 0.1, 0.95, 0.7, 0.99, 0.85]" >/dev/null ||
    fail "hpsweep run --wait exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/asha-*)"
/usr/bin/python3 - "$exp" <<'PY' || fail "packed ASHA did not stop trials early or reuse their slots"
import json, pathlib, sys
exp = pathlib.Path(sys.argv[1])
arrays = json.loads((exp / "experiment.json").read_text())["arrays"]
assert len(arrays) == 1 and arrays[0]["pack"] == 8, arrays
trials = {}
for t in range(8):
    d = exp / "trials" / str(t)
    slot, start = (d / "start").read_text().split()
    trials[t] = {"status": json.loads((d / "result.json").read_text())["status"],
                 "slot": slot, "start": float(start), "last": float((d / "last").read_text())}
stopped = [t for t, v in trials.items() if v["status"] == "stopped_early"]
done = [t for t, v in trials.items() if v["status"] == "completed"]
print({t: v["status"] for t, v in trials.items()})
assert stopped and done and len(stopped) + len(done) == 8, trials
reused = 0
for t in stopped:
    later = [v["start"] for u, v in trials.items()
             if v["slot"] == trials[t]["slot"] and v["start"] > trials[t]["start"]]
    if later:
        gap = min(later) - trials[t]["last"]
        assert gap < 2.0, f"slot {trials[t]['slot']} idle {gap:.1f} s after trial {t} stopped"
        reused += 1
assert reused > 0, "no stopped trial's slot took a new trial"
print(f"{len(stopped)} stopped early; {reused} freed slots took the next trial")
PY
results="$(hpsweep results asha --json)" || fail "hpsweep results exited $?"
expect_contains "$results" "stopped_early" "results of the packed ASHA sweep"
echo "PASS: packed ASHA stops trials early and their slots take new trials"

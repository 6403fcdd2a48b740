#!/usr/bin/env bash
# Scenario: time and cost per trial. Three trials of 2 GPUs each run for different times;
# `hpsweep results` (table and --json) shows each one's run time and GPU-hours, which match
# sacct's ElapsedRaw x allocated GPUs (AllocTRES gres/gpu) within a second; with the site's
# gpu_hour_cost set, cost = GPU-hours x rate, per trial and in total. summary.h5 carries the
# same numbers (read with h5py). A bad rate in the site file is refused, naming the key.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir trial_costs
export HPSWEEP_HOME="$work/runs"
export HPSWEEP_DATASTORE_ROOT="$work/store"
export HPSWEEP_SITE_CONFIG="$work/hpsweep.conf"
export HOME="$work/home"
mkdir -p "$HOME" "$work/code"
printf 'gpu_hour_cost = 2.5\n' >"$HPSWEEP_SITE_CONFIG"
cd "$work/code"
cat >train.py <<'PY'
import json, sys, time
seconds = int(sys.argv[sys.argv.index("--seconds") + 1])
time.sleep(seconds)
print("HPSWEEP_METRIC " + json.dumps({"step": 1, "loss": 1.0 / seconds}))
PY
hpsweep run --wait --name costs --gpus 2 train.py --seconds "[1, 3, 5]" >/dev/null ||
    fail "the sweep failed: $(cat "$HPSWEEP_HOME"/costs-*/trials/*/stderr.log 2>/dev/null)"
exp="$(ls -d "$HPSWEEP_HOME"/costs-*)"
job="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["arrays"][0]["job_id"])' "$exp/experiment.json")"
sacct -n -P -X -j "$job" -o JobID,ElapsedRaw,AllocTRES >"$work/sacct.txt"

table="$(hpsweep results costs)" || fail "results exited $?: $table"
echo "$table"
expect_contains "$table" "GPU-h" "the results table"
expect_contains "$table" "cost" "the results table"
expect_contains "$table" "total: run" "the results table"
hpsweep results costs --json >"$work/results.json" || fail "results --json exited $?"
printf '%s\n' "$table" >"$work/table.txt"
/usr/bin/python3 - "$work/sacct.txt" "$work/results.json" "$exp/summary.h5" "$work/table.txt" <<'PY' || exit 1
import json, re, sys
import h5py

def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)

sacct = {}
for line in open(sys.argv[1]):
    job_task, elapsed, tres = line.strip().split("|")
    gpus = float(dict(kv.split("=", 1) for kv in tres.split(","))["gres/gpu"])
    sacct[int(job_task.split("_")[1])] = (float(elapsed), gpus)
if sorted(sacct) != [0, 1, 2]:
    fail(f"sacct rows: {sacct}")
results = json.load(open(sys.argv[2]))
rate = 2.5
total_gpu_hours = 0.0
for trial in results["trials"]:
    elapsed, gpus = sacct[trial["trial"]]
    if gpus != 2:
        fail(f"trial {trial['trial']}: sacct says {gpus} GPUs, the sweep asked for 2")
    t = trial["time_and_cost"]
    if abs(t["run_seconds"] - elapsed) > 1:
        fail(f"trial {trial['trial']}: run {t['run_seconds']} s, sacct elapsed {elapsed} s")
    if abs(t["gpu_hours"] - elapsed * gpus / 3600) > gpus / 3600:
        fail(f"trial {trial['trial']}: {t['gpu_hours']} GPU-h, sacct {elapsed} s x {gpus} GPUs")
    if abs(t["cost"] - t["gpu_hours"] * rate) > 1e-9:
        fail(f"trial {trial['trial']}: cost {t['cost']} != {t['gpu_hours']} GPU-h x {rate}")
    if t["queue_wait_seconds"] is None or t["queue_wait_seconds"] < 0 or t["source"] != "sacct":
        fail(f"trial {trial['trial']}: {t}")
    total_gpu_hours += t["gpu_hours"]
totals = results["totals"]
if abs(totals["gpu_hours"] - total_gpu_hours) > 1e-9 or abs(totals["cost"] - total_gpu_hours * rate) > 1e-9:
    fail(f"totals {totals}, trials sum to {total_gpu_hours} GPU-h")

# The text table: run time (m:ss) and GPU-hours per trial, as sacct says.
table = open(sys.argv[4]).read()
header = None
for line in table.splitlines():
    cells = line.split()
    if "GPU-h" in cells:
        header = cells
        continue
    m = re.match(r"^\s*\*?\s*(\d+)\s+completed\s", line)
    if not m or header is None:
        continue
    trial = int(m.group(1))
    row = line.replace("*", " ").split()
    offset = len(header) - len(row)  # the unnamed best-mark column
    run = row[header.index("run") - offset]
    gpu_h = float(row[header.index("GPU-h") - offset])
    cost = float(row[header.index("cost") - offset])
    minutes, seconds = re.match(r"(\d+)m(\d+)s", run).groups()
    elapsed, gpus = sacct[trial]
    if abs(int(minutes) * 60 + int(seconds) - elapsed) > 1:
        fail(f"table row {trial}: run {run}, sacct elapsed {elapsed} s")
    if abs(gpu_h - elapsed * gpus / 3600) > gpus / 3600:
        fail(f"table row {trial}: {gpu_h} GPU-h, sacct {elapsed} s x {gpus}")
    if abs(cost - gpu_h * rate) > 1e-4:
        fail(f"table row {trial}: cost {cost} != {gpu_h} x {rate}")
    sacct.pop(trial)
if sacct:
    fail(f"trials missing from the table: {sorted(sacct)}\n{table}")

with h5py.File(sys.argv[3], "r") as f:
    t = f["trials"]
    by_id = {int(i): k for k, i in enumerate(t["trial_id"][:])}
    for trial in results["trials"]:
        k = by_id[trial["trial"]]
        want = trial["time_and_cost"]
        for column in ("run_seconds", "gpu_hours", "cost", "queue_wait_seconds"):
            if abs(float(t[column][k]) - want[column]) > 1e-9:
                fail(f"summary.h5 trials/{column}[{k}] = {t[column][k]}, results says {want[column]}")
    if abs(f.attrs["total_gpu_hours"] - totals["gpu_hours"]) > 1e-9:
        fail(f"summary.h5 total_gpu_hours {f.attrs['total_gpu_hours']}")
    if abs(f.attrs["total_cost"] - totals["cost"]) > 1e-9:
        fail(f"summary.h5 total_cost {f.attrs['total_cost']}")
print("time and cost match sacct in results, results --json and summary.h5")
PY

report="$(hpsweep report costs -o "$work/report.html")" || fail "report exited $?: $report"
html="$(cat "$work/report.html")"
expect_contains "$html" "<th>GPU-hours</th><th>cost</th>" "the report's table"
totals="$(grep -o '<p class="totals">[^<]*' <<<"$html")" || fail "the report has no totals"
expect_contains "$totals" "GPU-hours" "the report's totals"
expect_contains "$totals" ", cost " "the report's totals"
[[ "$html" != *'http-equiv="refresh"'* ]] || fail "a finished report reloads itself"

# A rate that is not a number: a clear error naming the key and the file, exit non-zero.
printf 'gpu_hour_cost = cheap\n' >"$HPSWEEP_SITE_CONFIG"
rc=0
out="$(hpsweep results costs 2>&1)" || rc=$?
[[ "$rc" -ne 0 ]] || fail "results with gpu_hour_cost = cheap exited 0: $out"
expect_contains "$out" "gpu_hour_cost" "the bad-rate error"
expect_contains "$out" "$HPSWEEP_SITE_CONFIG:1" "the bad-rate error"
echo "PASS: run time and GPU-hours match sacct within a second; cost = GPU-hours x rate"

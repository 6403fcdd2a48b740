#!/usr/bin/env bash
# Scenario: BOHB without a driver. A BOHB digits array (12 trials, at most 3 at a time, rungs
# at epochs 1, 3 and 9, divisor 3, startup_trials 3) chooses each trial's configuration when
# its task starts, from the rung records and results the trials before it left, and judges
# it at ASHA's rungs. Checks: every trial recorded its configuration in trials/<id>/trial.json
# (sampler "bohb") and ran exactly those flags; the first trials were random (based_on 0,
# rung null); later ones were fitted to a rung's records (based_on >= startup_trials, a rung
# and its budget recorded), except BOHB's random third; ASHA stopped some trials early, and only completed trials
# published a final value; status and results read the sweep.
set -euo pipefail
source "${HPSWEEP_SOURCE_DIR:?}/tests/test_lib.bash"
cluster_env
make_work_dir bohb_digits
export HPSWEEP_HOME="$work/runs" HPSWEEP_STOP_GRACE_SECONDS=5
cd "$HPSWEEP_SOURCE_DIR"
cat >"$work/bohb.yaml" <<YAML
name: digits-bohb
entrypoint: /usr/bin/python3 examples/digits/train.py
hyperparameters:
  lr: {type: log, base: 10, minval: -3.5, maxval: 0}
  hidden: [16, 64]
searcher: {name: bohb, metric: val_loss, smaller_is_better: true, max_trials: 12,
           max_length: {epochs: 9}, divisor: 3, max_rungs: 3, mode: aggressive,
           startup_trials: 3, seed: 11}
resources: {slots_per_trial: 0, time: "10:00", max_concurrent: 3}
YAML
hpsweep submit "$work/bohb.yaml" --wait || fail "hpsweep submit --wait exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/digits-bohb*)"
status_text="$(hpsweep status "$exp")"
echo "$status_text"
results_text="$(hpsweep results "$exp")"
echo "$results_text"

/usr/bin/python3 - "$exp" "$results_text" <<'PY'
import json, pathlib, sys
import h5py
exp, results_text = pathlib.Path(sys.argv[1]), sys.argv[2]
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
table = [json.loads(l) for l in (exp / "trials.jsonl").read_text().splitlines() if l]
if len(table) != 12 or not all(r.get("chosen_at_start") for r in table):
    fail(f"trials.jsonl should hold 12 placeholder rows: {table}")
chosen, status = {}, {}
for tid in range(12):
    d = exp / "trials" / str(tid)
    chosen[tid] = json.loads((d / "trial.json").read_text())
    status[tid] = json.loads((d / "result.json").read_text())["status"]
    hp, argv = chosen[tid]["hyperparameters"], chosen[tid]["argv"]
    if chosen[tid]["sampler"]["name"] != "bohb": fail(f"trial {tid}: sampler {chosen[tid]}")
    if argv[-4:] != ["--lr", argv[-3], "--hidden", str(hp["hidden"])] or float(argv[-3]) != hp["lr"]:
        fail(f"trial {tid}: argv {argv} does not end with its hyper-parameters {hp}")
    with h5py.File(d / "metrics.h5", "r") as f:
        if json.loads(f.attrs["hyperparameters"]) != hp:
            fail(f"trial {tid}: metrics.h5 has {f.attrs['hyperparameters']}, trial.json {hp}")
print("status:", status)
for column in ("lr", "hidden"):
    if column not in results_text: fail(f"hpsweep results shows no '{column}' column")
stopped = [t for t, s in status.items() if s == "stopped_early"]
done = [t for t, s in status.items() if s == "completed"]
if not stopped: fail("ASHA stopped no trial early")
if not done: fail("no trial completed")
if len(stopped) + len(done) != 12: fail(f"unexpected states: {status}")
published = sorted(json.loads(p.read_text())["trial"]
                   for p in (exp / "tpe" / "results").glob("*.json"))
if published != sorted(done): fail(f"published {published}, completed {sorted(done)}")
rungs = {k: [json.loads(p.read_text())["trial"] for p in (exp / "asha" / f"rung{k}").iterdir()
             if p.name.isdigit()] for k in range(3)}
sampler = {t: c["sampler"] for t, c in chosen.items()}
print("sampler:", {t: (s["based_on"], s["rung"], s["budget"]) for t, s in sampler.items()})
for t in range(3):
    if sampler[t]["based_on"] != 0 or sampler[t]["rung"] is not None:
        fail(f"trial {t} should be a random draw: {sampler[t]}")
modelled = [t for t, s in sampler.items() if s["based_on"] > 0]
# Of the 9 later trials about a third are BOHB's random draws (bohb_random_fraction).
if len(modelled) < 2: fail(f"only {len(modelled)} trials were fitted to earlier results")
budgets = {0: 1, 1: 3, 2: 9}
for t in modelled:
    s = sampler[t]
    if s["based_on"] < 3: fail(f"trial {t}: a model fitted to < startup_trials: {s}")
    if s["rung"] not in budgets or s["budget"] != budgets[s["rung"]]: fail(f"trial {t}: {s}")
    # The rung's observations are its records (and, at the last rung, the completed results).
    seen = set(rungs[s["rung"]]) | (set(published) if s["rung"] == 2 else set())
    if s["based_on"] > len(seen - {t}): fail(f"trial {t}: based_on {s['based_on']} > {seen}")
print("ok: stopped early", stopped, "completed", done, "modelled", modelled)
PY
expect_contains "$status_text" "completed" "hpsweep status of the BOHB sweep"

#!/usr/bin/env bash
# Scenario: model-based search without a driver. A TPE digits array (12 trials, at most 3 at
# a time, random for the first 4 results) chooses each trial's configuration when its task
# starts, from the results the trials before it published. Checks: every trial recorded its
# configuration in trials/<id>/trial.json and ran exactly those flags; the first trials were
# random (sampler based_on 0) and later ones were fitted to completed trials (based_on > 0);
# every completed trial published its val_loss; the modelled trials' learning rates lie
# closer to the best trial's than the random ones' did; status and results show the chosen
# hyper-parameters.
set -euo pipefail
source "${HPSWEEP_SOURCE_DIR:?}/tests/test_lib.bash"
cluster_env
make_work_dir tpe_digits
export HPSWEEP_HOME="$work/runs"
cd "$HPSWEEP_SOURCE_DIR"
cat >"$work/tpe.yaml" <<YAML
name: digits-tpe
entrypoint: /usr/bin/python3 examples/digits/train.py --epochs 3
hyperparameters:
  lr: {type: log, base: 10, minval: -3.5, maxval: 0}
  hidden: [16, 64]
searcher: {name: tpe, metric: val_loss, smaller_is_better: true, max_trials: 12,
           startup_trials: 4, seed: 11}
resources: {slots_per_trial: 0, time: "10:00", max_concurrent: 3}
YAML
hpsweep submit "$work/tpe.yaml" --wait || fail "hpsweep submit --wait exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/digits-tpe*)"
status_text="$(hpsweep status "$exp")"
echo "$status_text"
results_text="$(hpsweep results "$exp")"
echo "$results_text"

/usr/bin/python3 - "$exp" "$results_text" <<'PY'
import json, math, pathlib, statistics, sys
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
    hp = chosen[tid]["hyperparameters"]
    argv = chosen[tid]["argv"]
    if argv[-4:] != ["--lr", argv[-3], "--hidden", str(hp["hidden"])] or float(argv[-3]) != hp["lr"]:
        fail(f"trial {tid}: argv {argv} does not end with its hyper-parameters {hp}")
    # The launcher ran the chosen configuration: the trial's HDF5 file says so.
    with h5py.File(d / "metrics.h5", "r") as f:
        if json.loads(f.attrs["hyperparameters"]) != hp:
            fail(f"trial {tid}: metrics.h5 has {f.attrs['hyperparameters']}, trial.json {hp}")
        if not f.attrs["command"].endswith(" ".join(argv[-4:])):
            fail(f"trial {tid}: ran {f.attrs['command']}, chose {argv}")
for column in ("lr", "hidden"):
    if column not in results_text: fail(f"hpsweep results shows no '{column}' column")
if any(s != "completed" for s in status.values()): fail(f"not all trials completed: {status}")
published = {json.loads(p.read_text())["trial"]: json.loads(p.read_text())
             for p in (exp / "tpe" / "results").glob("*.json")}
if sorted(published) != list(range(12)): fail(f"published results: {sorted(published)}")
based_on = {t: c["sampler"]["based_on"] for t, c in chosen.items()}
print("based_on:", based_on)
random_ids = [t for t, n in based_on.items() if n == 0]
model_ids = [t for t, n in based_on.items() if n > 0]
if not set(range(4)) <= set(random_ids): fail("the first 4 trials should be random draws")
if len(model_ids) < 4: fail(f"only {len(model_ids)} trials were chosen from earlier results")
if any(n < 4 for n in based_on.values() if n > 0): fail("a model fitted to < startup_trials")
# Every modelled trial started after the results it was fitted to had been published.
for t in model_ids:
    if based_on[t] > sum(1 for u in published if u != t): fail(f"trial {t}: based_on too large")
best = min(published.values(), key=lambda r: r["value"])
best_lr = math.log10(best["hyperparameters"]["lr"])
dist = lambda ids: statistics.median(abs(math.log10(chosen[t]["hyperparameters"]["lr"]) - best_lr)
                                     for t in ids if t != best["trial"])
print(f"best trial {best['trial']} val_loss {best['value']:.4f} lr {10**best_lr:.4g}; median "
      f"|log10 lr - best| random {dist(random_ids):.3f}, modelled {dist(model_ids):.3f}")
if not dist(model_ids) < dist(random_ids): fail("the modelled trials did not concentrate")
print("ok: later trials chosen from", sorted(set(based_on.values())), "completed results")
PY
expect_contains "$status_text" "completed" "hpsweep status of the TPE sweep"

#!/usr/bin/env bash
# Scenario: population-based training without a master. A PBT digits population (8 members,
# 12 epochs, a ready point every 2 epochs) and a random search of the same 8 starting
# configurations (same space and seed, so the same learning rates) with the same budget
# (8 trials x 12 epochs) run side by side. Checks: the lineage records exploits, each names a
# published checkpoint and a donor that had reached the ready point; an exploited trial's
# trial.json holds its last exploit's configuration and its HDF5 file has all 12 epochs;
# every member completed; status and results read the PBT experiment; and PBT ends better
# than random search: the population's median final val_loss is lower, and its best is not
# worse beyond noise (PBT starts from random search's configurations, so it can only add).
set -euo pipefail
source "${HPSWEEP_SOURCE_DIR:?}/tests/test_lib.bash"
cluster_env
make_work_dir pbt_digits
export HPSWEEP_HOME="$work/runs"
cd "$HPSWEEP_SOURCE_DIR"
common='entrypoint: /usr/bin/python3 examples/digits/train.py --epochs 12
hyperparameters:
  lr: {type: log, base: 10, minval: -3.5, maxval: 0}
resources: {slots_per_trial: 0, time: "10:00", max_concurrent: 8}'
cat >"$work/pbt.yaml" <<YAML
name: digits-pbt
$common
searcher: {name: pbt, metric: val_loss, smaller_is_better: true, population_size: 8,
           max_length: {epochs: 12}, perturb_every: {epochs: 2}, quantile: 0.25, seed: 5}
YAML
cat >"$work/random.yaml" <<YAML
name: digits-random
$common
searcher: {name: random, metric: val_loss, smaller_is_better: true, max_trials: 8, seed: 5}
YAML
hpsweep submit "$work/pbt.yaml" --wait >"$work/pbt.out" 2>&1 &
pbt_pid=$!
hpsweep submit "$work/random.yaml" --wait >"$work/random.out" 2>&1 &
random_pid=$!
wait "$pbt_pid" || { cat "$work/pbt.out"; fail "hpsweep submit pbt.yaml --wait failed"; }
wait "$random_pid" || { cat "$work/random.out"; fail "hpsweep submit random.yaml --wait failed"; }
pbt_exp="$(ls -d "$HPSWEEP_HOME"/digits-pbt*)"
random_exp="$(ls -d "$HPSWEEP_HOME"/digits-random*)"
status_text="$(hpsweep status "$pbt_exp")"
echo "$status_text"
results_text="$(hpsweep results "$pbt_exp")"
echo "$results_text"
expect_contains "$status_text" "completed" "hpsweep status of the PBT experiment"
expect_contains "$results_text" "lr" "hpsweep results of the PBT experiment"

/usr/bin/python3 - "$pbt_exp" "$random_exp" <<'PY'
import json, pathlib, statistics, sys
import h5py
pbt, rnd = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
def table(exp):
    return [json.loads(l) for l in (exp / "trials.jsonl").read_text().splitlines() if l]
def final(exp, tid):
    with h5py.File(exp / "trials" / str(tid) / "metrics.h5", "r") as f:
        series = f["metrics/val_loss"][:]
        steps, values = series["step"], series["value"]
        return [int(s) for s in steps], float(values[-1])
start = {r["id"]: r["hyperparameters"] for r in table(pbt)}
if start != {r["id"]: r["hyperparameters"] for r in table(rnd)}:
    fail("PBT and random search should start from the same configurations")
lineage = [json.loads(l) for l in (pbt / "pbt" / "lineage.jsonl").read_text().splitlines() if l]
print(f"{len(lineage)} exploits:")
for e in lineage: print("  ", e)
if not lineage: fail("no exploit in the lineage")
for e in lineage:
    ready = pbt / "pbt" / f"ready{e['ready_point']}"
    donors = [json.loads(p.read_text()) for p in ready.iterdir() if p.name.isdigit()]
    if not any(d["trial"] == e["copied_from"] and d["checkpoint"] == e["checkpoint"] for d in donors):
        fail(f"exploit {e}: the donor's record at the ready point does not name that checkpoint")
    if not (pbt / "pbt" / "checkpoints" / e["checkpoint"]).is_dir():
        fail(f"exploit {e}: checkpoint not in the store")
last = {}
for e in lineage: last[e["trial"]] = e
for tid, e in last.items():
    chosen = json.loads((pbt / "trials" / str(tid) / "trial.json").read_text())
    if chosen["hyperparameters"] != e["hyperparameters"]:
        fail(f"trial {tid}: trial.json {chosen} is not its last exploit {e}")
    if f"--lr" not in chosen["argv"] or float(chosen["argv"][chosen["argv"].index("--lr") + 1]) != e["hyperparameters"]["lr"]:
        fail(f"trial {tid}: argv {chosen['argv']} does not carry the explored lr")
    log = (pbt / "trials" / str(tid) / "stdout.log").read_text()
    if "resumed from" not in log: fail(f"trial {tid} did not resume from the copied checkpoint")
for tid in start:
    status = json.loads((pbt / "trials" / str(tid) / "result.json").read_text())["status"]
    if status != "completed": fail(f"PBT trial {tid} ended {status}")
    steps, _ = final(pbt, tid)
    if steps[-1] != 12 or steps != sorted(set(steps)):
        fail(f"PBT trial {tid}: steps {steps} (expected increasing up to 12)")
pbt_final = {t: final(pbt, t)[1] for t in start}
rnd_final = {t: final(rnd, t)[1] for t in start}
print("final val_loss  PBT:", {t: round(v, 4) for t, v in pbt_final.items()})
print("final val_loss random:", {t: round(v, 4) for t, v in rnd_final.items()})
pm, rm = statistics.median(pbt_final.values()), statistics.median(rnd_final.values())
pb, rb = min(pbt_final.values()), min(rnd_final.values())
print(f"median: PBT {pm:.4f}, random {rm:.4f}; best: PBT {pb:.4f}, random {rb:.4f}")
if not pm < rm: fail("PBT's median final val_loss is not lower than random search's")
if not pb <= rb * 1.10: fail("PBT's best final val_loss is worse than random search's")
print("ok: PBT beat random search at the same budget")
PY

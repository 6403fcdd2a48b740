#!/usr/bin/env bash
# Scenario: `hpsweep submit experiment.yaml --wait --json` with a Determined-style file (typed
# int range, categorical, sweep expression, const, resources): the trial table is the grid,
# every trial runs with its flags in declared order, experiment.yaml holds the resolved config
# with the seed, and experiment.json records the array and the resources.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir sweep_yaml
export HPSWEEP_HOME="$work/runs"
cat >"$work/probe.py" <<'PY'
import os, sys
with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "args.txt"), "w") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
PY
cat >"$work/experiment.yaml" <<'YAML'
name: yaml-sweep
entrypoint: /usr/bin/python3 probe.py --fixed "a b"
hyperparameters:
  layers: {type: int, minval: 1, maxval: 3, count: 3}
  optimizer:
    type: categorical
    vals: [sgd, adam]
  dropout: "[0.1, 0.5]"
  epochs:
    type: const
    val: 2
searcher:
  name: grid
  metric: val_loss
  seed: 7
resources:
  slots_per_trial: 1
  cpus_per_gpu: 1
  time: "5:00"
  max_concurrent: 6
YAML
cd "$work"
out="$(hpsweep submit experiment.yaml --wait --json)" || fail "submit --wait exited $?: $out"
exp="$(ls -d "$HPSWEEP_HOME"/yaml-sweep-*)"
/usr/bin/python3 - "$exp" "$out" <<'PY' || exit 1
import json, sys, pathlib, itertools
exp = pathlib.Path(sys.argv[1])
out = json.loads(sys.argv[2])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
if out["counts"] != {"completed": 12}: fail(f"counts {out['counts']}")
meta = json.loads((exp / "experiment.json").read_text())
if [a["array"] for a in meta["arrays"]] != ["0-11%6"]: fail(f"arrays {meta['arrays']}")
if meta["resources"]["gpus_per_node"] != 1 or meta["seed"] != 7: fail(f"metadata {meta}")
expected = [["--fixed", "a b", "--layers", str(l), "--optimizer", o, "--dropout", d, "--epochs", "2"]
            for l, o, d in itertools.product([1, 2, 3], ["sgd", "adam"], ["0.1", "0.5"])]
for i, want in enumerate(expected):
    got = (exp / "trials" / str(i) / "args.txt").read_text().rstrip("\n")
    if got != " ".join(want): fail(f"trial {i} ran '{got}', expected '{' '.join(want)}'")
resolved = (exp / "experiment.yaml").read_text()
for needle in ("name: yaml-sweep", "seed: 7", "slots_per_trial: 1", "{type: int, minval: 1, maxval: 3, count: 3}"):
    if needle not in resolved: fail(f"resolved experiment.yaml lacks '{needle}':\n{resolved}")
print("PASS-part: 12 grid trials in declared order with their flags")
PY
# The GPUs Slurm gave each trial: one fake GPU per trial (--gres=gpu:1).
grep -q -- "--gres=gpu:1" <<<"$(hpsweep submit experiment.yaml --dry-run)" || fail "dry run lacks --gres=gpu:1"
echo "PASS: experiment.yaml submitted as one array; every trial ran with its grid values"

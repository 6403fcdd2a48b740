#!/usr/bin/env bash
# Scenario: a 10-trial grid of a continuous and a categorical flag,
#   hpsweep run probe.py --lr "uniform(1e-5, 1e-2, 5)" --backbone "['resnet18', 'resnet50']"
# runs as one 10-task array; each trial gets exactly the (lr, backbone) pair of its row in the
# trial table; the 5 lr values are distinct, inside [1e-5, 1e-2), each paired with both
# backbones; the same --seed gives the same table in a dry run.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir sweep_ten
export HPSWEEP_HOME="$work/runs"
cat >"$work/probe.py" <<'PY'
import os, sys
with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "args.txt"), "w") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
PY
cd "$work"
hpsweep run --wait --seed 11 --max-concurrent 5 --name ten probe.py \
    --lr "uniform(1e-5, 1e-2, 5)" --backbone "['resnet18', 'resnet50']" ||
    fail "hpsweep run --wait exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/ten-*)"
dry="$(hpsweep run --dry-run --json --seed 11 --name ten probe.py \
    --lr "uniform(1e-5, 1e-2, 5)" --backbone "['resnet18', 'resnet50']")" || fail "dry run exited $?"
/usr/bin/python3 - "$exp" "$dry" <<'PY' || exit 1
import json, sys, pathlib
exp = pathlib.Path(sys.argv[1])
dry = json.loads(sys.argv[2])
meta = json.loads((exp / "experiment.json").read_text())
trials = [json.loads(l) for l in (exp / "trials.jsonl").read_text().splitlines() if l]
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
if len(trials) != 10: fail(f"{len(trials)} trials, expected 10")
if [a["array"] for a in meta["arrays"]] != ["0-9%5"]: fail(f"arrays {meta['arrays']}")
pairs = set()
for t in trials:
    args = (exp / "trials" / str(t["id"]) / "args.txt").read_text().split()
    if args != t["argv"][2:]: fail(f"trial {t['id']} ran {args}, table says {t['argv'][2:]}")
    if args[0] != "--lr" or args[2] != "--backbone": fail(f"trial {t['id']} argv {args}")
    lr = float(args[1])
    if not (1e-5 <= lr < 1e-2): fail(f"lr {lr} outside [1e-5, 1e-2)")
    if lr != t["hyperparameters"]["lr"]: fail(f"lr text {args[1]} != table {t['hyperparameters']['lr']}")
    pairs.add((args[1], args[3]))
lrs = {p[0] for p in pairs}
if len(pairs) != 10 or len(lrs) != 5 or {p[1] for p in pairs} != {"resnet18", "resnet50"}:
    fail(f"combinations wrong: {sorted(pairs)}")
if [t["argv"] for t in dry["trials"]] != [t["argv"] for t in trials]:
    fail("the same --seed gave a different trial table in the dry run")
print("PASS-part: 10 distinct (lr, backbone) pairs, each received by its trial")
PY
echo "PASS: the 10-trial uniform x categorical sweep ran as one array and every trial got its values"

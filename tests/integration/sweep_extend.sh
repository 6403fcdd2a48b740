#!/usr/bin/env bash
# Scenario: `hpsweep extend` (docs/user-guide.md). A 4-trial grid (--lr x --bs) finishes;
# extends that are not widenings (a narrowed list, a new hyper-parameter, --num-trials on a
# grid, an unknown experiment) are refused and write nothing (trials.jsonl, experiment.json
# and experiment.yaml byte-identical); a widened --lr runs exactly the 2 new configurations as
# trials 4 and 5 of a new array, and status, results and the table show all 6. A random search
# extended by --num-trials 3 runs 3 new distinct configurations, the ones its dry run showed.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_user_work_dir sweep_extend
# A cheap trial: one metric line; every run appends its arguments, so a trial run twice shows.
cat >train.py <<'PY'
import json, os, sys
lr = float(sys.argv[sys.argv.index("--lr") + 1])
bs = int(sys.argv[sys.argv.index("--bs") + 1])
with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "args.txt"), "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
print("HPSWEEP_METRIC " + json.dumps({"step": 1, "loss": lr * bs}))
PY

hpsweep run --wait --name grid train.py --lr "[0.1, 0.01]" --bs "[8, 16]" >/dev/null ||
    fail "the grid sweep failed: $(cat "$HPSWEEP_HOME"/grid-*/trials/*/stderr.log 2>/dev/null)"
exp="$(ls -d "$HPSWEEP_HOME"/grid-*)"
for f in trials.jsonl experiment.json experiment.yaml; do cp "$exp/$f" "$work/before.$f"; done
unchanged() {
    local f
    for f in trials.jsonl experiment.json experiment.yaml; do
        cmp -s "$exp/$f" "$work/before.$f" || fail "$1 changed $f"
    done
}

# refused EXIT_CODE MESSAGE ARGS...: extend ARGS exits EXIT_CODE saying MESSAGE, writing nothing.
refused() {
    local code=$1 message=$2 out rc=0
    shift 2
    out="$(hpsweep extend "$@" 2>&1)" || rc=$?
    [[ $rc -eq $code ]] || fail "extend $* exited $rc, expected $code: $out"
    expect_contains "$out" "$message" "extend $*"
    unchanged "extend $*"
}
refused 3 "hyper-parameter 'lr' is [0.1] (the experiment has [0.1, 0.01]), without the experiment's value 0.01" \
    grid --lr "[0.1]"
refused 3 "the experiment has no hyper-parameter 'wd' (it has lr, bs); adding one is not a widening" grid --wd "[0, 1]"
refused 2 "--num-trials is for random_search, asha and tpe" grid --num-trials 2
refused 2 "not found" no-such-experiment --lr "[1, 2]"
out="$(hpsweep extend grid --lr "[0.10, 0.01]")" || fail "an extend with nothing new exited $?: $out"
expect_contains "$out" "Nothing to add" "extend with the same values (0.10 is 0.1)"
unchanged "an extend with nothing new"

plan="$(hpsweep extend grid --lr "[0.1, 0.01, 0.001]" --dry-run --json)" || fail "dry run exited $?: $plan"
unchanged "a dry run"
out="$(hpsweep extend grid --lr "[0.1, 0.01, 0.001]" --wait)" ||
    fail "extend --wait exited $?: $out $(cat "$exp"/trials/[45]/stderr.log 2>/dev/null)"
expect_contains "$out" "2 new trial(s), ids 4-5" "extend output"
status="$(hpsweep status grid --json)" || fail "status exited $? after the extension"
results="$(hpsweep results grid --json)" || fail "results exited $? after the extension"
/usr/bin/python3 - "$exp" "$work" "$plan" "$status" "$results" <<'PY' || exit 1
import json, pathlib, sys
exp, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
plan, status, results = (json.loads(a) for a in sys.argv[3:6])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
before = (work / "before.trials.jsonl").read_text()
table = (exp / "trials.jsonl").read_text()
if not table.startswith(before):
    fail("the first 4 rows of trials.jsonl changed")
rows = [json.loads(l) for l in table.splitlines()]
if [r["id"] for r in rows] != list(range(6)):
    fail(f"ids {[r['id'] for r in rows]}")
new = rows[4:]
if sorted((r["hyperparameters"]["lr"], r["hyperparameters"]["bs"]) for r in new) != [(0.001, 8), (0.001, 16)]:
    fail(f"new rows {new}")
if any(not r.get("hp_hash", "").startswith("xxh3-64:") for r in new):
    fail(f"new rows without hp_hash: {new}")
if [t["hyperparameters"] for t in plan["trials"]] != [r["hyperparameters"] for r in new]:
    fail(f"the dry run planned {plan['trials']}, the extension added {new}")
for r in rows:
    runs = (exp / "trials" / str(r["id"]) / "args.txt").read_text().splitlines()
    if runs != [" ".join(r["argv"][2:])]:
        fail(f"trial {r['id']} ran {runs}, expected once with {r['argv'][2:]}")
    result = json.loads((exp / "trials" / str(r["id"]) / "result.json").read_text())
    if result["status"] != "completed":
        fail(f"trial {r['id']}: {result}")
meta = json.loads((exp / "experiment.json").read_text())
if meta["num_trials"] != 6 or [a["kind"] for a in meta["arrays"]] != ["submit", "extend"]:
    fail(f"experiment.json: num_trials {meta['num_trials']}, arrays {meta['arrays']}")
if "0.001" not in (exp / "experiment.yaml").read_text():
    fail("experiment.yaml does not hold the widened --lr")
if status["counts"] != {"completed": 6}:
    fail(f"status counts {status['counts']}")
got = {t["trial"]: t for t in results["trials"]}
if sorted(got) != list(range(6)):
    fail(f"results list trials {sorted(got)}")
for r in new:
    loss = got[r["id"]]["metrics"]["loss"]
    expected = r["hyperparameters"]["lr"] * r["hyperparameters"]["bs"]
    if loss["count"] != 1 or abs(loss["last"] - expected) > 1e-9:
        fail(f"trial {r['id']} metrics.h5 loss {loss}, expected {expected}")
print("PASS-part: grid extended by exactly lr=0.001 x bs in {8, 16} as trials 4 and 5")
PY

# Random search: 2 of the 6 configurations ran; 3 more, distinct, as the dry run said.
hpsweep run --wait --strategy random_search --num_trials 2 --seed 5 --name rnd train.py \
    --lr "[0.1, 0.01, 0.001]" --bs "[8, 16]" >/dev/null || fail "the random sweep failed"
rnd="$(ls -d "$HPSWEEP_HOME"/rnd-*)"
plan1="$(hpsweep extend rnd --num-trials 3 --dry-run --json)" || fail "dry run exited $?"
plan2="$(hpsweep extend rnd --num-trials 3 --dry-run --json)" || fail "dry run exited $?"
[[ "$plan1" == "$plan2" ]] || fail "two dry runs of the same extension differ: $plan1 / $plan2"
out="$(hpsweep extend rnd --num-trials 3 --wait)" || fail "extend --num-trials 3 exited $?: $out"
/usr/bin/python3 - "$rnd" "$plan1" <<'PY' || exit 1
import json, pathlib, sys
exp, plan = pathlib.Path(sys.argv[1]), json.loads(sys.argv[2])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
rows = [json.loads(l) for l in (exp / "trials.jsonl").read_text().splitlines()]
configs = [json.dumps(r["hyperparameters"], sort_keys=True) for r in rows]
if len(rows) != 5 or len(set(configs)) != 5:
    fail(f"expected 5 distinct configurations, got {configs}")
if [t["hyperparameters"] for t in plan["trials"]] != [r["hyperparameters"] for r in rows[2:]]:
    fail(f"the dry run planned {plan['trials']}, the extension added {rows[2:]}")
for r in rows:
    result = json.loads((exp / "trials" / str(r["id"]) / "result.json").read_text())
    if result["status"] != "completed":
        fail(f"trial {r['id']}: {result}")
print("PASS-part: random search extended by 3 new distinct configurations:", configs[2:])
PY
echo "PASS: extend widens a grid and adds random draws, skipping what ran; bad extends write nothing"

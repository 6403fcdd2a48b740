#!/usr/bin/env bash
# Scenario: `hpsweep run probe.py --batch_size "[8, 16, 32, 64]" --wait` runs 4 trials as ONE
# job array; every trial receives exactly its own value (the probe writes its argv to
# $HPSWEEP_TRIAL_DIR/args.txt), status/logs/list agree, exit code 0.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir sweep_four
export HPSWEEP_HOME="$work/runs"
cat >"$work/probe.py" <<'PY'
import os, sys
with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "args.txt"), "w") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
print("probe got", " ".join(sys.argv[1:]))
PY
cd "$work"
out="$(hpsweep run --wait --json --name four probe.py --batch_size "[8, 16, 32, 64]")" ||
    fail "hpsweep run --wait exited $?: $out"
echo "$out"
exp="$(ls -d "$HPSWEEP_HOME"/four-*)"
[[ -d "$exp" ]] || fail "no experiment directory under $HPSWEEP_HOME"
/usr/bin/python3 - "$exp" <<'PY' || exit 1
import json, sys, pathlib
exp = pathlib.Path(sys.argv[1])
meta = json.loads((exp / "experiment.json").read_text())
trials = [json.loads(l) for l in (exp / "trials.jsonl").read_text().splitlines() if l]
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
if len(meta["arrays"]) != 1 or meta["arrays"][0]["array"] != "0-3":
    fail(f"expected one array 0-3, got {meta['arrays']}")
got = {}
for t in trials:
    args = (exp / "trials" / str(t["id"]) / "args.txt").read_text().split()
    if args != t["argv"][2:]:
        fail(f"trial {t['id']} ran with {args}, table says {t['argv'][2:]}")
    got[t["id"]] = args
values = sorted(int(a[1]) for a in got.values())
if values != [8, 16, 32, 64]:
    fail(f"trials received {values}, expected each of 8, 16, 32, 64 once")
print("PASS-part: every trial got its value:", got)
PY
status="$(hpsweep status --json four)" || fail "status exited $? after a successful sweep"
[[ "$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"])' <<<"$status")" == "{'completed': 4}" ]] ||
    fail "status counts wrong: $status"
logs="$(hpsweep logs four 2)" || fail "logs exited $?"
[[ "$logs" == "probe got --batch_size 32" ]] || fail "logs of trial 2: '$logs'"
hpsweep list | grep -q "^four-" || fail "list does not show the experiment: $(hpsweep list)"
echo "PASS: 4 trials in one array, each with its own --batch_size; status, logs and list agree"

#!/usr/bin/env bash
# Scenario: what `hpsweep run`/`submit` refuse before anything reaches Slurm, and what the
# snapshot plan shows. A script or --context / `context:` that does not exist, and a
# snapshot over the size limit (the error names the biggest files), exit 2 with nothing
# written and no job queued; .hpsweepignore leaves files out; --dry-run prints the count,
# size and biggest files; --no-snapshot is recorded in experiment.json.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir snapshot_submit_checks
export HPSWEEP_HOME="$work/runs"
export HPSWEEP_DATASTORE_ROOT="$work/store"
export HOME="$work/home"
mkdir -p "$HOME" "$work/code/data"
cd "$work/code"
printf 'print("ok")\n' >train.py
head -c 3000000 /dev/urandom >data/weights.bin
head -c 200000 /dev/urandom >data/small.bin

refused() {  # refused EXPECTED-TEXT COMMAND...: exit 2, the text, nothing submitted
    local expected=$1 rc=0 out
    shift
    out="$("$@" 2>&1)" || rc=$?
    [[ "$rc" -eq 2 ]] || fail "'$*' exited $rc (expected 2): $out"
    expect_contains "$out" "$expected" "the error of '$*'"
    [[ ! -e "$HPSWEEP_HOME" ]] || [[ -z "$(ls -A "$HPSWEEP_HOME")" ]] ||
        fail "'$*' left $(ls -A "$HPSWEEP_HOME") behind"
    [[ -z "$(squeue -h -n checks 2>/dev/null)" ]] || fail "'$*' queued a job"
}

refused "script missing.py does not exist" hpsweep run --name checks missing.py --lr "[1, 2]"
refused "script ./missing.sh does not exist" hpsweep run --name checks ./missing.sh --lr "[1]"
refused "snapshot context $work/nowhere is not a directory" \
    hpsweep run --name checks --context "$work/nowhere" train.py --lr "[1]"
cat >"$work/exp.yaml" <<'YAML'
name: checks
entrypoint: python3 nothere.py
hyperparameters:
  lr: 0.1
YAML
refused "script nothere.py does not exist" hpsweep submit "$work/exp.yaml"
cat >"$work/exp2.yaml" <<'YAML'
name: checks
entrypoint: python3 train.py
context: ../elsewhere
hyperparameters:
  lr: 0.1
YAML
refused "elsewhere is not a directory" hpsweep submit "$work/exp2.yaml"
refused "data/weights.bin" hpsweep run --name checks --snapshot-limit 2M train.py --lr "[1]"
out="$(hpsweep run --name checks --snapshot-limit 2M train.py --lr "[1]" 2>&1)" || true
expect_contains "$out" "datastore" "the size error (points at datastores)"
echo "refused before Slurm: missing script (run, submit), missing context, over the size limit"

plan="$(hpsweep run --dry-run --name checks train.py --lr "[1]")" || fail "dry run exited $?"
expect_contains "$plan" "Code snapshot of $work/code: 3 file(s)" "the dry-run plan"
expect_contains "$plan" "data/weights.bin" "the dry-run plan's biggest files"
echo "data/*.bin" >.hpsweepignore
plan="$(hpsweep run --dry-run --json --name checks --snapshot-limit 2M train.py --lr "[1]")" ||
    fail "dry run with .hpsweepignore exited $?"
/usr/bin/python3 - "$plan" <<'PY' || exit 1
import json, sys
snap = json.loads(sys.argv[1])["snapshot"]
if snap["files"] != 2 or snap["biggest"][0]["path"] not in ("train.py", ".hpsweepignore"):
    print("FAIL: .hpsweepignore did not leave data/ out:", snap, file=sys.stderr); sys.exit(1)
PY
echo ".hpsweepignore leaves data/ out; --dry-run shows count, size, biggest files"

hpsweep run --wait --name optout --no-snapshot train.py --lr "[1]" >/dev/null ||
    fail "--no-snapshot sweep failed"
/usr/bin/python3 - "$(ls -d "$HPSWEEP_HOME"/optout-*)/experiment.json" <<'PY' || exit 1
import json, sys
snap = json.load(open(sys.argv[1]))["snapshot"]
if snap != {"enabled": False, "reason": "--no-snapshot"}:
    print("FAIL: the opt-out is not recorded:", snap, file=sys.stderr); sys.exit(1)
PY
echo "PASS: bad scripts/contexts and oversized snapshots refused before Slurm; ignore file, dry run and opt-out work"

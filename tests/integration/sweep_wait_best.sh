#!/usr/bin/env bash
# Scenario: `hpsweep run --wait` keeps a progress line whose last state names the best metric
# so far (here: val_loss, smaller is better by name, so trial 1 with lr=0.1), and the
# experiment is then found by its bare name by `hpsweep results`.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir sweep_best
export HPSWEEP_HOME="$work/runs"
cd "$work"
cat >report.py <<'PY'
import sys
lr = float(sys.argv[2])
for step in range(3):
    print(f"HPSWEEP_METRIC step={step} val_loss={lr * (3 - step)}", flush=True)
PY
hpsweep run --wait --name best /usr/bin/python3 report.py --lr "[0.5, 0.1, 0.3]" \
    >"$work/out" 2>"$work/err" || fail "hpsweep run --wait exited $?: $(cat "$work/err")"
cat "$work/err"
last="$(tail -n 1 "$work/err")"
[[ "$last" == *"3 done, 0 failed, best val_loss 0.1 (trial 1)"* ]] ||
    fail "the last progress line does not name the best trial: '$last'"

results="$(hpsweep results --json best)" || fail "hpsweep results by bare name exited $?"
/usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["best_trial"] == 1, r["best_trial"]
assert len(r["trials"]) == 3, r
print("results by name: best trial", r["best_trial"])' <<<"$results" || fail "results: $results"
echo "PASS: live line names the best val_loss; results finds the experiment by name"

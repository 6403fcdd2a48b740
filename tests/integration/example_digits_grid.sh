#!/usr/bin/env bash
# The digits examples that need one node per trial, on the local cluster:
#  - examples/digits/grid.yaml (grid search, 8 trials): all complete, each with val_loss and
#    val_acc recorded for every one of its 6 epochs, and `results` names a best trial;
#  - the Grid-style command line of examples/digits/README.md, taken from the README as
#    written (4 trials), likewise.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir example_digits_grid
export HPSWEEP_HOME="$work/runs"
cd "${HPSWEEP_SOURCE_DIR:?}"

# check_results EXPERIMENT TRIALS EPOCHS: every trial completed with a full learning curve.
check_results() {
    local results
    results="$(hpsweep results "$1" --json)" || fail "hpsweep results $1 exited $?"
    /usr/bin/python3 - "$results" "$2" "$3" <<'PY' || fail "results of $1: $results"
import json, sys
r, trials, epochs = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
assert len(r["trials"]) == trials, f'{len(r["trials"])} trials, expected {trials}'
for t in r["trials"]:
    assert t["status"] == "completed", t
    for metric in ("val_loss", "val_acc"):
        m = t["metrics"][metric]
        assert m["count"] == epochs and m["last_step"] == epochs, (metric, t)
assert r["best_trial"] is not None, r
print(f'{trials} trials completed; best trial {r["best_trial"]}')
PY
}

hpsweep submit examples/digits/grid.yaml --wait || fail "submit grid.yaml exited $?"
check_results digits-grid 8 6

# The README's command, exactly as written (its first ```sh block under "Grid-style").
command="$(awk '/^## Grid-style command line/ {in_section = 1}
                in_section && /^```sh/ {in_block = 1; next}
                in_block && /^```/ {exit}
                in_block {print}' examples/digits/README.md)"
[[ "$command" == *"hpsweep run"* ]] || fail "no hpsweep run command in examples/digits/README.md: $command"
bash -euo pipefail -c "$command" || fail "the README's command failed: $command"
check_results digits-cli 4 4
echo "PASS: digits grid.yaml (8 trials) and the README's Grid-style command (4 trials)"

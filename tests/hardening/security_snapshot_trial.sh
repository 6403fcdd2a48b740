#!/usr/bin/env bash
# Two-user security, code snapshots of plain sbatch trials: `sbatch --hpsweep-trial=EXP`
# has root (the plugin in slurmstepd) stage the code snapshot EXP/experiment.json records.
# A's job gets the code A submitted even after A edited it. B, who writes his own
# experiment.json, cannot make root stage A's snapshot (a copy of A's record), read from a
# store of his own, leave the snapshot with a workdir path, or hang or bloat root with a
# FIFO, a link to a file only root may read, or a huge experiment.json: each of B's jobs
# fails with the reason and runs nothing, and the nodes stay up.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup snapshot_trial
security_store_setup

mkdir -p "$scripts/snap"
printf 'print("code version 1")\n' >"$scripts/snap/train.py"
chmod -R a+rX "$scripts/snap"

scenario "A's --hpsweep-trial job runs the code A submitted"
RUNS="$work/home-a/runs" as_a hpsweep run --name snap --python /usr/bin/python3 \
    "$scripts/snap/train.py" --lr "[0.1]" >/dev/null || hardening_fail "A's sweep was not submitted"
made=("$work/home-a/runs"/snap-*)
exp="${made[0]}"
[[ -f "$exp/experiment.json" ]] || hardening_fail "no experiment directory"
printf 'print("code version 2")\n' >"$scripts/snap/train.py"  # edited after the submit
run_job "$user_a" a-trial "--array=0 --hpsweep-trial=$exp" \
    'cd "$HPSWEEP_SNAPSHOT_WORKDIR" && /usr/bin/python3 "$HPSWEEP_SNAPSHOT_DIR/train.py" && echo "commit=${HPSWEEP_SNAPSHOT_COMMIT:-none}"'
[[ "$job_state" == "COMPLETED " ]] || hardening_fail "A's job ended $job_state: $(cat "$job_err")"
grep -qx "code version 1" "$job_out" || hardening_fail "A's job did not run the submitted code: $(cat "$job_out")"
hardening_pass "edited after the submit, A's --hpsweep-trial job ran the snapshot (code version 1) from HPSWEEP_SNAPSHOT_DIR"

# B's experiment directories: A's trial table, and an experiment.json B chose.
b_exp() {
    local name=$1
    as_b bash -c 'rm -rf "$1" && mkdir -p "$1" && cp "$2/trials.jsonl" "$1/"' b-exp \
        "$work/home-b/$name" "$exp" || hardening_fail "B could not make $name"
    echo "$work/home-b/$name"
}
# B's copy of A's experiment.json with KEY=JSON changes to its snapshot record.
b_forged() {
    local dir
    dir="$(b_exp "$1")"
    shift
    as_b /usr/bin/python3 -c '
import json, sys
meta = json.load(open(sys.argv[1]))
for item in sys.argv[3:]:
    key, value = item.split("=", 1)
    meta["snapshot"][key] = json.loads(value)
json.dump(meta, open(sys.argv[2] + "/experiment.json", "w"))' "$exp/experiment.json" "$dir" "$@" ||
        hardening_fail "B could not forge $dir/experiment.json"
    echo "$dir"
}
# B's job on DIR must fail, run nothing and name REASON.
expect_b_refused() {
    local tag=$1 dir=$2 reason=$3 started=$SECONDS
    run_job "$user_b" "$tag" "--array=0 --hpsweep-trial=$dir" \
        'echo ran; cat "$HPSWEEP_SNAPSHOT_DIR/train.py"'
    ((SECONDS - started < 120)) || hardening_fail "B's $tag job took $((SECONDS - started)) s"
    [[ "$job_state" == "FAILED " ]] || hardening_fail "B's $tag job ended $job_state: $(cat "$job_out")"
    ! grep -q "ran\|code version" "$job_out" || hardening_fail "B's $tag job ran: $(cat "$job_out")"
    grep -qF -- "$reason" "$job_err" || hardening_fail "B's $tag job does not say '$reason': $(cat "$job_err")"
}

scenario "B cannot have root stage A's snapshot"
expect_b_refused copy "$(b_forged copy)" "not the job user's own 'snapshots.u$uid_b'"
expect_b_refused named "$(b_forged named "dataset=\"snapshots.u$uid_b\"")" "snapshots.u$uid_b"
hardening_pass "B's copy of A's record: refused (snapshots.u$uid_a is not B's); naming snapshots.u$uid_b with A's id and version: refused; neither job ran"

scenario "B's record cannot choose the store or leave the snapshot"
mkdir -p "$work/home-b/fakestore/datasets" && chown -R "$user_b:" "$work/home-b/fakestore"
expect_b_refused store "$(b_forged store "datastore_root=\"$work/home-b/fakestore\"")" "not in this cluster's"
expect_b_refused workdir "$(b_forged workdir 'workdir="../../../etc"')" "snapshot.workdir"
expect_b_refused id "$(b_forged id 'dataset_id="../../x"')" "snapshot.dataset_id"
hardening_pass "datastore_root of B's own, workdir ../../../etc, dataset_id ../../x: each refused by name"

scenario "B's experiment.json cannot hang or bloat root"
dir="$(b_exp fifo)"
as_b mkfifo "$dir/experiment.json" || hardening_fail "B could not make a FIFO"
expect_b_refused fifo "$dir" "experiment.json"
dir="$(b_exp link)"
as_b ln -s /etc/shadow "$dir/experiment.json" || hardening_fail "B could not make a link"
expect_b_refused link "$dir" "experiment.json"
dir="$(b_exp huge)"
as_b bash -c 'head -c $((20 << 20)) /dev/zero | tr "\0" " " >"$1/experiment.json"' huge "$dir" ||
    hardening_fail "B could not write a huge experiment.json"
expect_b_refused huge "$dir" "experiment.json"
[[ -z "$(nodes_not_idle)" ]] || hardening_fail "nodes not idle after B's jobs: $(nodes_not_idle)"
hardening_pass "experiment.json a FIFO, a link to /etc/shadow, 20 MiB: each job failed in bounded time naming experiment.json; nodes idle"

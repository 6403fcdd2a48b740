#!/usr/bin/env bash
# Two-user security, experiments: user B cannot read user A's private experiment
# directory, cannot alter a readable one, and cannot cancel, resubmit or change A's trials
# (hpsweep cancel/resubmit, scancel, scontrol), nor borrow them with --hpsweep-trial.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup experiment
enable_plugin "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/sec-exp-cache-$$"
security_cleanup_extra='rm -rf "$HPSWEEP_CLUSTER_DIR"/nodes/*/sec-exp-cache-$$'

# A training program that takes a few seconds and fails for lr 0.2 (a resubmittable trial).
cat >"$work/bin/train.py" <<'PY'
import sys, time
lr = float(sys.argv[sys.argv.index("--lr") + 1])
time.sleep(float(sys.argv[sys.argv.index("--sleep") + 1]))
sys.exit(1 if lr == 0.2 else 0)
PY
chmod 0755 "$work/bin/train.py"

# Everything under DIR owned by user B (there must be nothing).
owned_by_b() { find "$1" -user "$user_b" 2>/dev/null; }
state_counts() { as_a hpsweep status --json "$1" | /usr/bin/python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["counts"].items()))'; }

scenario "B cannot read A's private experiment"
RUNS="$work/home-a/private-runs" UMASK=077 as_a hpsweep run --no-snapshot --name priv --python /usr/bin/python3 \
    "$work/bin/train.py" --sleep 0 --lr "[0.1]" >/dev/null || hardening_fail "A's private sweep was not submitted"
priv=("$work/home-a/private-runs"/priv-*)
priv="${priv[0]}"
[[ -f "$priv/experiment.json" ]] || hardening_fail "no private experiment directory"
[[ "$(stat -c '%a' "$work/home-a/private-runs")" == 700 ]] || hardening_fail "A's runs dir is $(stat -c '%a' "$work/home-a/private-runs")"
# The experiment itself follows the umask too, wherever its parent is.
[[ "$(stat -c '%a' "$priv")" == 700 ]] || hardening_fail "A's private experiment is $(stat -c '%a' "$priv") with umask 077"
expect_refused "B: hpsweep status of A's private experiment" as_b hpsweep status "$priv"
expect_refused "B: read experiment.json" as_b cat "$priv/experiment.json"
expect_refused "B: hpsweep cancel" as_b hpsweep cancel "$priv"
expect_refused "B: hpsweep resubmit --failed" as_b hpsweep resubmit --failed "$priv"
expect_refused "B: sbatch --hpsweep-trial=<A's private experiment>" \
    as_b sbatch --array=0 --hpsweep-trial="$priv" -o /dev/null --wrap true
grep -q -- "--hpsweep-trial" <<<"$refused_output" || hardening_fail "sbatch refusal does not name the option: $refused_output"
hardening_pass "umask 077: status, cat, cancel, resubmit --failed, sbatch --hpsweep-trial all refused for B"

scenario "B cannot alter, cancel or resubmit A's readable experiment"
RUNS="$work/home-a/runs" as_a hpsweep run --no-snapshot --name open --python /usr/bin/python3 \
    "$work/bin/train.py" --sleep 4 --lr "[0.1, 0.2]" >/dev/null || hardening_fail "A's sweep was not submitted"
exp=("$work/home-a/runs"/open-*)
exp="${exp[0]}"
job="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["arrays"][0]["job_id"])' "$exp/experiment.json")"
# Control: B runs hpsweep and may read this experiment (A's umask 022 allowed it).
as_b hpsweep status "$exp" >/dev/null || hardening_fail "B cannot even read A's readable experiment"
before="$(sha256sum "$exp/experiment.json" "$exp/trials.jsonl" "$exp"/*.sh)"
expect_refused "B: hpsweep cancel A's experiment" as_b hpsweep cancel "$exp"
expect_refused "B: scancel A's array" as_b scancel "$job"
expect_refused "B: scontrol hold A's array" as_b scontrol hold "$job"
expect_refused "B: scontrol update A's time limit" as_b scontrol update JobId="$job" TimeLimit=1
expect_refused "B: write experiment.json" as_b bash -c "echo '{}' >'$exp/experiment.json'"
expect_refused "B: replace submit.sh" as_b bash -c "rm -f '$exp'/*.sh"
expect_refused "B: add a trial directory" as_b mkdir "$exp/trials/99"
# B borrows A's trials for a job of his own: at worst his job reads A's (readable) table;
# the trial directories are created as B, so nothing appears in A's experiment.
borrow="$(as_b sbatch --parsable --array=0-1 --hpsweep-trial="$exp" -o /dev/null \
    --wrap 'touch "$HPSWEEP_TRIAL_DIR/from-b" "$HPSWEEP_CHECKPOINT_DIR/from-b"')" || borrow=""
wait_until() { local d=$((SECONDS + $1)); shift; until "$@"; do ((SECONDS < d)) || return 1; sleep 0.3; done; }
all_done() { [[ "$(state_counts "$exp" 2>/dev/null)" == "[('completed', 1), ('failed', 1)]" ]]; }
wait_until 90 all_done || hardening_fail "A's sweep did not finish with 1 completed + 1 failed: $(state_counts "$exp")"
[[ -n "$borrow" ]] && wait_job "$borrow" >/dev/null
expect_refused "B: hpsweep resubmit --failed A's experiment" as_b hpsweep resubmit --failed "$exp"
# Refused before anything reaches Slurm, saying why.
grep -q "only its owner can resubmit" <<<"$refused_output" ||
    hardening_fail "B's resubmit was not refused up front: $refused_output"
sleep 1
[[ -z "$(squeue -h -u "$user_b")" ]] || hardening_fail "B's resubmit left jobs queued: $(squeue -u "$user_b")"
[[ "$(sha256sum "$exp/experiment.json" "$exp/trials.jsonl" "$exp"/*.sh)" == "$before" ]] ||
    hardening_fail "A's experiment files changed"
[[ -z "$(owned_by_b "$exp")" ]] || hardening_fail "B created files in A's experiment: $(owned_by_b "$exp")"
hardening_pass "while A's sweep ran: hpsweep cancel, scancel, scontrol hold/update, writes, rm, mkdir refused; B's --hpsweep-trial job and resubmit --failed left no file and no job; A's sweep ended 1 completed + 1 failed, files unchanged"
echo "PASS: security_experiment"

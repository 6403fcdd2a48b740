#!/usr/bin/env bash
# Packing, faults and steering: 7 trials in ONE packed task with 2 slots. `kill -9` of one
# trial's program fails only that trial (its slot takes the next one); `hpsweep cancel EXP ID`
# cancels one running and one not yet started trial and leaves the task running; `scancel`
# of the task marks every unfinished trial cancelled (running and never started); `hpsweep
# resubmit --failed` then runs exactly the trials that did not complete, and the completed
# one does not run again.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir pack_faults
export HPSWEEP_HOME="$work/runs"
cat >"$work/wait.sh" <<SH
#!/bin/sh
# Runs until released: $work/release.<trial id> or $work/release.all.
echo \$\$ >"\$HPSWEEP_TRIAL_DIR/pid"
echo "run \$HPSWEEP_TRIAL_ID" >>"\$HPSWEEP_TRIAL_DIR/runs.txt"
while [ ! -e "$work/release.\$HPSWEEP_TRIAL_ID" ] && [ ! -e "$work/release.all" ]; do sleep 0.1; done
SH
chmod +x "$work/wait.sh"
cd "$work"
hpsweep run --name faults --gpus 1 --pack 7 --trials-per-gpu 2 ./wait.sh --x "range(7)" \
    >/dev/null || fail "hpsweep run exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/faults-*)"
job="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["arrays"][0]["job_id"])' "$exp/experiment.json")"
on_exit "scancel $job 2>/dev/null || true"
state_of() {
    hpsweep status --json faults 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["trials"][int(sys.argv[1])]["state"])' "$1"
}
is_state() { [[ "$(state_of "$1")" == "$2" ]]; }
started() { [[ -s "$exp/trials/$1/pid" ]]; }

wait_until 60 started 0 || fail "trial 0 did not start within 60 s"
wait_until 10 started 1 || fail "trial 1 did not start beside trial 0"
started 2 && fail "trial 2 started while both slots were busy"
is_state 2 pending || fail "trial 2 is $(state_of 2), expected pending (waiting for a slot)"

kill -9 "$(cat "$exp/trials/0/pid")"
wait_until 20 started 2 || fail "trial 0's slot did not take trial 2 after kill -9"
is_state 0 failed || fail "trial 0 is $(state_of 0) after kill -9, expected failed"
is_state 1 running || fail "trial 1 is $(state_of 1) after trial 0 was killed"

out="$(hpsweep cancel faults 1 5)" || fail "hpsweep cancel faults 1 5 exited $?: $out"
expect_contains "$out" "trial 1 (in a packed task)" "cancel output"
wait_until 20 started 3 || fail "trial 1's slot did not take trial 3 after cancel"
is_state 1 cancelled || fail "trial 1 is $(state_of 1) after hpsweep cancel, expected cancelled"
[[ -n "$(squeue -h -j "$job")" ]] || fail "cancelling one trial ended the whole task"

touch "$work/release.2"
wait_until 20 started 4 || fail "trial 2's slot did not take trial 4"
is_state 2 completed || fail "trial 2 is $(state_of 2), expected completed"

scancel "$job"
wait_job "$job" >/dev/null
for t in 3 4 5 6; do
    wait_until 20 is_state "$t" cancelled || fail "trial $t is $(state_of "$t") after scancel, expected cancelled"
done
started 5 && fail "trial 5 started although it was cancelled before its turn"
status="$(hpsweep status --json faults || true)"
expect_contains "$status" '"cancelled": 5' "status after scancel"
expect_contains "$status" '"failed": 1' "status after scancel"

touch "$work/release.all"
# Trials 1 and 5 were cancelled on purpose (hpsweep cancel): --failed leaves them out
# unless --cancelled is given, as for unpacked trials.
out="$(hpsweep resubmit faults --failed --cancelled --json)" || fail "resubmit exited $?: $out"
[[ "$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["resubmitted"])' <<<"$out")" == "[0, 1, 3, 4, 5, 6]" ]] ||
    fail "resubmitted something else than the 6 unfinished trials: $out"
all_done() { hpsweep status --json faults 2>/dev/null | grep -q '"completed": 7'; }
wait_until 120 all_done || fail "after resubmit: $(hpsweep status faults 2>&1)"
[[ "$(wc -l <"$exp/trials/2/runs.txt")" -eq 1 ]] || fail "the completed trial 2 ran again"
echo "PASS: kill -9, cancel of one trial, scancel of the task and resubmit --failed in a packed task"

#!/usr/bin/env bash
# Scenario: one trial of three fails: `--wait` exits 1, status shows it failed with its exit
# code (and exits 1); after the cause is fixed, `hpsweep resubmit EXP --failed` submits ONLY
# that trial as a new array recorded in experiment.json, and the experiment ends with all
# three completed; a second resubmit has nothing to do.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir sweep_resubmit
export HPSWEEP_HOME="$work/runs"
cat >"$work/flaky.sh" <<SH
#!/bin/sh
if [ "\$2" = bad ] && [ ! -e "$work/fixed" ]; then echo "bad value" >&2; exit 3; fi
echo "\$*" >> "\$HPSWEEP_TRIAL_DIR/args.txt"
SH
chmod +x "$work/flaky.sh"
cd "$work"
rc=0
hpsweep run --wait --name flaky ./flaky.sh --mode "[good, bad, other]" || rc=$?
[[ "$rc" -eq 1 ]] || fail "--wait exited $rc with a failed trial, expected 1"
rc=0
status="$(hpsweep status --json flaky)" || rc=$?
[[ "$rc" -eq 1 ]] || fail "status exited $rc with a failed trial, expected 1"
/usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
t = {x["id"]: x for x in s["trials"]}
assert s["counts"] == {"completed": 2, "failed": 1}, s["counts"]
assert t[1]["state"] == "failed" and t[1]["exit_code"] == 3, t[1]' <<<"$status" || fail "status: $status"
grep -q "bad value" <<<"$(hpsweep logs flaky 1 --stderr)" || fail "logs --stderr of trial 1"

touch "$work/fixed"
out="$(hpsweep resubmit flaky --failed --json)" || fail "resubmit exited $?: $out"
[[ "$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["resubmitted"])' <<<"$out")" == "[1]" ]] ||
    fail "resubmitted something else than trial 1: $out"
exp="$(ls -d "$HPSWEEP_HOME"/flaky-*)"
/usr/bin/python3 -c '
import json, sys
arrays = json.load(open(sys.argv[1]))["arrays"]
assert [(a["kind"], a["offset"], a["array"]) for a in arrays] == [("submit", 0, "0-2"), ("resubmit", 0, "1")], arrays
' "$exp/experiment.json" || fail "experiment.json arrays: $(cat "$exp/experiment.json")"
for _ in $(seq 1 200); do
    counts="$(hpsweep status --json flaky 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"])' || true)"
    [[ "$counts" == "{'completed': 3}" ]] && break
    sleep 0.3
done
[[ "$counts" == "{'completed': 3}" ]] || fail "after resubmit: $counts"
[[ "$(cat "$exp/trials/1/args.txt")" == "--mode bad" ]] || fail "trial 1 args: $(cat "$exp/trials/1/args.txt")"
[[ "$(wc -l <"$exp/trials/0/args.txt")" -eq 1 ]] || fail "trial 0 ran again"
grep -q "Nothing to resubmit" <<<"$(hpsweep resubmit flaky --failed)" || fail "second resubmit did something"
echo "PASS: only the failed trial was resubmitted, and the experiment completed"

#!/usr/bin/env bash
# Fault: `kill -9` of the training program. Expected: hpsweep-launch records the end
# (result.json and metrics.h5 say failed, exit code 137, every reported step kept, file
# opens with h5py); `hpsweep status` says failed; `hpsweep resubmit --failed` resumes the
# trial from its checkpoint to exactly the steps 1..N; a later sweep still runs.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
HARDENING_SCENARIO="kill -9 of the training child"
scenario_setup kill9-child
# Long enough that the trial still runs after the recorder's first flush (every 5 s).
steps=60

hpsweep run --name k9c --python /usr/bin/python3 "$train_py" --steps "$steps" \
    --step-seconds 0.2 >/dev/null || hardening_fail "hpsweep run exited $?"
exp="$(experiment_dir k9c)" || hardening_fail "no experiment directory"
scenario_jobs="$(array_job "$exp")"
wait_until 60 at_least_steps "$exp" 0 5 || hardening_fail "the trial reported no steps in 60 s"
launcher="$(trial_launcher "$exp" 0)"
[[ -n "$launcher" ]] || hardening_fail "no hpsweep-launch process for the trial"
child="$(pgrep -P "$launcher" | head -n1 || true)"
[[ "$child" =~ ^[0-9]+$ ]] || hardening_fail "no training process under hpsweep-launch (pid $launcher)"
grep -q checkpoint_train.py "/proc/$child/cmdline" ||
    hardening_fail "pid $child is not the training program: $(tr '\0' ' ' <"/proc/$child/cmdline")"
flushed="$(reported_steps "$exp" 0)"
kill -9 "$child"
failed() { [[ "$(experiment_counts k9c)" == "{'failed': 1}" ]]; }
wait_until 60 failed || hardening_fail "status after the kill: $(experiment_counts k9c)"
kept="$(reported_steps "$exp" 0)"
((kept >= flushed)) || hardening_fail "$flushed steps were flushed before the kill, $kept are in the file"
/usr/bin/python3 - "$exp" <<'PY' || hardening_fail "the launcher did not record the end"
import json, sys, h5py
exp = sys.argv[1]
result = json.load(open(f"{exp}/trials/0/result.json"))
assert result["status"] == "failed" and result["exit_code"] == 137 and result["signal"] == 9, result
with h5py.File(f"{exp}/trials/0/metrics.h5", "r") as f:
    assert f.attrs["status"] == "failed" and int(f.attrs["exit_code"]) == 137, dict(f.attrs)
PY
hpsweep resubmit k9c --failed >/dev/null || hardening_fail "resubmit --failed exited $?"
wait_completed k9c 1 90
check_trial_file "$exp" 0 "$steps"
later_job_works k9c
hardening_record "$HARDENING_SCENARIO" fault pass \
    "end recorded (failed, 137, $kept steps kept, $flushed flushed before the kill), status failed, resubmit resumed to steps 1..$steps exactly, later sweep ok"
echo "PASS: kill -9 of the training child"

#!/usr/bin/env bash
# Fault: `kill -9` of hpsweep-launch while its trial runs. Expected: the metrics file opens
# with h5py and holds every step flushed before the kill; the task fails and `hpsweep status`
# says failed (the launcher recorded no end); the training program does not outlive its
# step; `hpsweep resubmit --failed` runs the trial again, it resumes from its checkpoint and
# its file ends at step N with no duplicate and every step flushed before the kill.
# Records the launcher had read but not yet flushed are in its journal (metrics.h5.journal),
# which the resubmitted trial's launcher replays first: no step may be missing. The trainer
# is stopped (SIGSTOP) just before the kill so that everything it reported has been read;
# what a trainer writes into the pipe in the instant of the kill itself is outside this.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
HARDENING_SCENARIO="kill -9 of the launcher"
scenario_setup kill9-launcher
# Long enough that the trial still runs after the recorder's first flush (every 5 s).
steps=60

hpsweep run --name k9l --python /usr/bin/python3 "$train_py" --steps "$steps" \
    --step-seconds 0.2 >/dev/null || hardening_fail "hpsweep run exited $?"
exp="$(experiment_dir k9l)" || hardening_fail "no experiment directory"
scenario_jobs="$(array_job "$exp")"
wait_until 60 at_least_steps "$exp" 0 5 || hardening_fail "the trial reported no steps in 60 s"
launcher="$(trial_launcher "$exp" 0)"
[[ -n "$launcher" ]] || hardening_fail "no hpsweep-launch process for the trial"
child="$(pgrep -P "$launcher" | head -n1 || true)"
flushed="$(reported_steps "$exp" 0)"
# The poll above sees a flush within 0.2 s and the next flush comes 5 s later: a second
# here leaves about five steps read but not flushed, so the journal always has records to
# replay (stopping at once could catch the launcher with nothing unflushed).
sleep 1
[[ -n "$child" ]] && kill -STOP "$child"
sleep 0.5  # the launcher reads (and journals) everything the trainer wrote
kill -9 "$launcher"
failed() { [[ "$(experiment_counts k9l)" == "{'failed': 1}" ]]; }
wait_until 60 failed || hardening_fail "status after the kill: $(experiment_counts k9l)"
kept="$(reported_steps "$exp" 0)"
((kept >= flushed)) || hardening_fail "$flushed steps were flushed before the kill, $kept are in the file"
gone() { [[ -z "$child" || ! -d "/proc/$child" ]]; }
wait_until 30 gone || hardening_fail "the training program (pid $child) outlived its launcher"

hpsweep resubmit k9l --failed >/dev/null || hardening_fail "resubmit --failed exited $?"
wait_completed k9l 1 90
attempts="$(cat "$exp/trials/0/attempts.log")"
resumed_from="$(sed -n '2s/^restart=[0-9]* from=//p' <<<"$attempts")"
[[ "$(wc -l <<<"$attempts")" -eq 2 && "$resumed_from" =~ ^[0-9]+$ ]] ||
    hardening_fail "the resubmitted trial did not resume from a checkpoint: $attempts"
lost="$(/usr/bin/python3 - "$exp/trials/0/metrics.h5" "$steps" "$kept" "$resumed_from" <<'PY'
import sys, h5py
path, n, kept, resumed = sys.argv[1], *map(int, sys.argv[2:])
with h5py.File(path, "r") as f:
    steps = [int(s) for s in f["metrics/loss"]["step"]]
    assert f.attrs["status"] == "completed", dict(f.attrs)
assert steps == sorted(set(steps)), f"duplicate or unordered steps: {steps}"
assert steps[-1] == n, f"ends at {steps[-1]}, expected {n}"
missing = sorted(set(range(1, n + 1)) - set(steps))
assert not missing, f"missing {missing} (kept 1..{kept} flushed, resumed after {resumed})"
print(len(missing))
PY
)" || hardening_fail "trial 0 metrics.h5 after the resubmit is wrong"
grep -rqs "recovered [0-9]* record(s)" "$exp/slurm" "$exp/trials/0" ||
    hardening_fail "the resubmitted launcher did not report replaying the journal"
later_job_works k9l
hardening_record "$HARDENING_SCENARIO" fault pass \
    "$kept steps kept (>= $flushed flushed before the kill), status failed, no orphan; resubmit resumed after step $resumed_from to step $steps, no duplicate, $lost step(s) missing (the journal replayed what the launcher had read), later sweep ok"
echo "PASS: kill -9 of the launcher"

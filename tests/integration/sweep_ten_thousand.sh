#!/usr/bin/env bash
# Scenario: a 10,000-trial grid is submitted with ONE command in as few sbatch calls as the
# cluster's MaxArraySize allows (the local cluster keeps Slurm's default 1001: 10 arrays of
# indices 0-1000 ... 0-990, throttled with %2); squeue shows exactly those array jobs; then
# `hpsweep cancel` removes them all and status reports no trial pending or running.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir sweep_10k
export HPSWEEP_HOME="$work/runs"
job_ids=""
cancel_arrays() {
    [[ -n "$job_ids" ]] && scancel ${job_ids//,/ } 2>/dev/null || true
}
on_exit cancel_arrays
cd "$work"
max_array_size="$(scontrol show config | awk '$1 == "MaxArraySize" {print $3}')"
[[ "$max_array_size" =~ ^[0-9]+$ ]] || fail "no MaxArraySize in scontrol show config"
expected_arrays=$(((10000 + max_array_size - 1) / max_array_size))
echo "MaxArraySize=$max_array_size -> expecting $expected_arrays arrays"
# Every array task is a job record for MaxJobCount: Slurm's default (10000) can never hold a
# 10,000-task sweep. The cluster template raises it; a controller started before that change
# still runs with the old value (scontrol reconfigure does not change MaxJobCount).
max_job_count="$(scontrol show config | awk '$1 == "MaxJobCount" {print $3}')"
if ((max_job_count <= 10000 + $(squeue -h -r -t all -o %i | wc -l))); then
    rc=0
    err="$(hpsweep run --name big true --a "range(100)" --b "range(100)" 2>&1)" || rc=$?
    [[ "$rc" -eq 5 && "$err" =~ "MaxJobCount=$max_job_count" ]] ||
        fail "with MaxJobCount=$max_job_count hpsweep run should refuse at once (exit 5), got $rc: $err"
    [[ -z "$(ls -A "$HPSWEEP_HOME" 2>/dev/null)" ]] || fail "the refused sweep left files behind"
    fail "the running slurmctld has MaxJobCount=$max_job_count, too small for 10,000 array tasks" \
         "(hpsweep refused it correctly); restart the cluster's slurmctld so that the template's" \
         "MaxJobCount applies (hpsweep cluster down && hpsweep cluster up)"
fi

start=$(date +%s.%N)
out="$(hpsweep run --json --max-concurrent 2 --name big true --a "range(100)" --b "range(100)")" ||
    fail "hpsweep run exited $?: $out"
end=$(date +%s.%N)
echo "submitted 10,000 trials in $(/usr/bin/python3 -c "print(round($end - $start, 2))") s"
job_ids="$(/usr/bin/python3 -c 'import json,sys; print(",".join(a["job_id"] for a in json.load(sys.stdin)["arrays"]))' <<<"$out")"

exp="$(ls -d "$HPSWEEP_HOME"/big-*)"
/usr/bin/python3 - "$exp" "$max_array_size" <<'PY' || exit 1
import json, sys, pathlib
exp, m = pathlib.Path(sys.argv[1]), int(sys.argv[2])
meta = json.loads((exp / "experiment.json").read_text())
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
arrays = meta["arrays"]
want = [(k * m, f"0-{min(m, 10000 - k * m) - 1}%2") for k in range(-(-10000 // m))]
got = [(a["offset"], a["array"]) for a in arrays]
if got != want: fail(f"arrays {got}, expected {want}")
if len({a["job_id"] for a in arrays}) != len(arrays): fail("array job ids repeat")
if sum(a["trials"] for a in arrays) != 10000 or meta["num_trials"] != 10000: fail("trial count")
lines = (exp / "trials.jsonl").read_text().splitlines()
if len(lines) != 10000: fail(f"{len(lines)} lines in trials.jsonl")
last = json.loads(lines[-1])
if last["argv"] != ["true", "--a", "99", "--b", "99"]: fail(f"last trial {last}")
print("PASS-part:", len(arrays), "arrays with the right offsets and index ranges")
PY

queued="$(squeue -h -j "$job_ids" -o %F | sort -u | paste -sd, -)"
[[ "$queued" == "$(tr , '\n' <<<"$job_ids" | sort -u | paste -sd, -)" ]] ||
    fail "squeue shows array jobs '$queued', submitted '$job_ids'"
[[ "$(tr , '\n' <<<"$job_ids" | wc -l)" -eq "$expected_arrays" ]] || fail "not $expected_arrays arrays"
tasks="$(squeue -h -r -j "$job_ids" -o %i | wc -l)"
echo "squeue: $expected_arrays array jobs, $tasks tasks still queued"

hpsweep cancel big || fail "hpsweep cancel exited $?"
for _ in $(seq 1 100); do
    [[ -z "$(squeue -h -j "$job_ids" -o %i 2>/dev/null)" ]] && break
    sleep 0.3
done
[[ -z "$(squeue -h -j "$job_ids" -o %i 2>/dev/null)" ]] || fail "jobs still queued after hpsweep cancel"
status="$(hpsweep status --json big || true)"
/usr/bin/python3 -c '
import json, sys
counts = json.load(sys.stdin)["counts"]
bad = {k: v for k, v in counts.items() if k in ("pending", "running")}
assert not bad and sum(counts.values()) == 10000, counts
assert counts.get("cancelled", 0) > 0, counts
print("status after cancel:", counts)' <<<"$status" || fail "status after cancel: $status"
job_ids=""
echo "PASS: 10,000 trials -> $expected_arrays sbatch arrays (MaxArraySize $max_array_size), all cancelled by hpsweep cancel"

#!/usr/bin/env bash
# Records the output of the Slurm commands the hpsweep CLI parses, on the local cluster, into
# tests/data/slurm/<Slurm version>/ for the offline parser tests (tests/unit/cli/). Each file
# holds what one command printed, with the exact options cli/slurm_client.hpp gives it; the
# text and the JSON form of each query are recorded at the same moment (*.txt, *.json), so
# the tests can check that both parsers read the same tasks. A release whose command cannot
# print JSON leaves <file>.json.stderr (what it said) instead of <file>.json.
# Run it again when a Slurm version changes:
#   eval "$(build/bin/hpsweep cluster env)" && bash tests/data/slurm/record.sh
# For a release built from source, bring the cluster up on it first
# (`hpsweep cluster up --slurm /opt/slurm-25.05.8`); 25.05.8/README.md says how the JSON and
# text recordings of that release were made.
# The states it provokes: a 6-task array throttled to 2 (%2) whose task 0 completes, task 1
# fails with exit code 3, tasks 2 and 3 run, 4 and 5 wait for the throttle; a held array;
# then everything is cancelled, so sacct has COMPLETED, FAILED and "CANCELLED by <uid>" rows
# and rows for the tasks that never started.
set -euo pipefail
: "${SLURM_CONF:?run eval \"\$(hpsweep cluster env)\" first}"
version="$(sinfo --version | awk '{print $2}')"
out="$(cd "$(dirname "$0")" && pwd)/$version"
mkdir -p "$out"
work="$(mktemp -d /var/tmp/hpsweep-slurm-record.XXXXXX)"
chmod 0755 "$work"
jobs=()
cleanup() {
    [[ ${#jobs[@]} -eq 0 ]] || scancel "${jobs[@]}" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# record_json NAME CMD...: CMD's stdout as NAME.json when it exits 0, else its stderr as
# NAME.json.stderr (22.05's scontrol has no --json).
record_json() {
    local name=$1
    shift
    rm -f "$out/$name.json" "$out/$name.json.stderr"
    if "$@" >"$out/$name.json" 2>"$work/$name.stderr"; then
        return 0
    fi
    rm -f "$out/$name.json"
    { echo "\$ $*"; cat "$work/$name.stderr"; } >"$out/$name.json.stderr"
}

cat >"$work/task.sh" <<'SH'
#!/bin/bash
case "$SLURM_ARRAY_TASK_ID" in
    0) exit 0 ;;
    1) exit 3 ;;
    *) sleep 300 ;;
esac
SH
sbatch --parsable --array=0-5%2 --job-name=record-array --output="$work/%A_%a.out" \
    "$work/task.sh" >"$out/sbatch_parsable.txt"
array_job="$(cut -d';' -f1 <"$out/sbatch_parsable.txt")"
jobs+=("$array_job")

# Tasks 0 and 1 end at once, so 2 and 3 run and 4 and 5 wait for the throttle.
for _ in $(seq 1 300); do
    running="$(squeue -h -r -j "$array_job" -t RUNNING -o %K | wc -l)"
    ended="$(sacct -n -X -P -j "${array_job}_0,${array_job}_1" -o State | grep -c -E 'COMPLETED|FAILED' || true)"
    [[ "$running" -ge 2 && "$ended" -ge 2 ]] && break
    sleep 0.2
done
squeue -h -r -j "$array_job" -o '%F|%K|%T|%r|%S|%N' >"$out/squeue_tasks.txt"
record_json squeue_tasks squeue --json -j "$array_job"
# A held array: REQUEUE_HOLD is what a requeued task of a held job shows; plain held
# tasks are PENDING with reason JobHeldUser.
held_job="$(sbatch --parsable --hold --array=0-2 --job-name=record-held --output=/dev/null "$work/task.sh")"
jobs+=("$held_job")
squeue -h -r -j "$held_job" -o '%F|%K|%T|%r|%S|%N' >"$out/squeue_tasks_held.txt"
record_json squeue_tasks_held squeue --json -j "$held_job"

scancel "$array_job" "$held_job"
for _ in $(seq 1 300); do
    [[ -z "$(squeue -h -j "$array_job,$held_job")" ]] && break
    sleep 0.2
done
sleep 1  # sacct lags a moment behind squeue
sacct -n -P -X -j "$array_job,$held_job" -o JobID,State,ExitCode,NodeList >"$out/sacct_tasks.txt"
record_json sacct_tasks sacct --json -j "$array_job,$held_job"

# A session as `hpsweep session` makes it: salloc --no-shell names the job on stderr.
salloc --no-shell --job-name=hpsweep-session --nodes=1 --ntasks-per-node=1 --time=5 \
    2>"$out/salloc_no_shell.stderr.txt"
session_job="$(sed -n 's/.*Granted job allocation \([0-9]*\).*/\1/p' "$out/salloc_no_shell.stderr.txt")"
jobs+=("$session_job")
for _ in $(seq 1 100); do
    [[ "$(squeue -h -j "$session_job" -o %T)" == RUNNING ]] && break
    sleep 0.2
done
squeue -h -u "$(id -un)" -n hpsweep-session -o '%i|%T|%M|%L|%D|%N' >"$out/squeue_sessions.txt"
record_json squeue_sessions squeue --json -u "$(id -un)" -n hpsweep-session
scancel "$session_job"

scontrol show config >"$out/scontrol_show_config.txt"
record_json scontrol_show_config scontrol show config --json
echo "recorded Slurm $version output in $out:"
ls -l "$out"

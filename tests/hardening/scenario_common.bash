# Shared by the fault and preemption scenarios (sourced after lib.sh, or after test_lib.bash
# by an integration test that records no hardening row; not a test itself:
# tests/CMakeLists.txt registers only *.sh). Each scenario sets HARDENING_SCENARIO and
# HARDENING_KIND, then calls scenario_setup.
#
#   scenario_setup NAME        cluster env, a work dir under the build dir, HPSWEEP_HOME,
#                              a cleanup on exit that leaves the cluster healthy (every node
#                              idle)
#   experiment_dir NAME        the experiment directory `hpsweep run --name NAME` made
#   array_job EXP              the job id of the experiment's first array
#   trial_steps EXP ID METRIC  the steps of METRIC in the trial's metrics.h5, comma-separated
#   check_trial_file EXP ID N  metrics.h5 opens with h5py and `loss` has exactly steps 1..N
#   later_job_works            a new one-trial sweep still runs to completion
#   wait_completed NAME N      every one of N trials completed (hpsweep status)
#   start_requeued JOB_TASK    a requeued task starts now, not after Slurm's requeue delay
#   trial_launcher EXP ID      pid of the hpsweep-launch running trial ID (empty when none)

: "${HPSWEEP_SOURCE_DIR:?run through ctest (HPSWEEP_SOURCE_DIR is not set)}"
export PYTHONPATH="$HPSWEEP_SOURCE_DIR/python${PYTHONPATH:+:$PYTHONPATH}"
cluster_script="$HPSWEEP_SOURCE_DIR/scripts/hpsweep-cluster"
train_py="$HPSWEEP_SOURCE_DIR/tests/hardening/checkpoint_train.py"

all_nodes_idle() {
    local states
    states="$(sinfo -h -N -o '%T' | sort -u)"
    [[ "$states" == "idle" ]]
}

# Whatever a scenario did (down node, stopped daemon, leftover jobs, full tmpfs), the next
# test finds a healthy cluster: runs on exit, also when the scenario failed.
restore_cluster() {
    [[ -n "${scenario_cleanup:-}" ]] && eval "$scenario_cleanup"
    if [[ -n "${scenario_jobs:-}" ]]; then scancel $scenario_jobs 2>/dev/null; fi
    # `up` is idempotent: it restarts only what is not running (a stopped slurmctld/slurmd).
    "$cluster_script" up >/dev/null 2>&1 || echo "warning: cluster up after the scenario failed" >&2
    local node
    for node in $(sinfo -h -N -o '%N %T' | awk '$2 ~ /down|drain|fail/ {print $1}'); do
        scontrol update nodename="$node" state=resume 2>/dev/null
    done
    wait_until 60 all_nodes_idle || {
        echo "warning: nodes not idle after the scenario:" >&2
        sinfo -N >&2
    }
}

scenario_setup() {
    cluster_env
    make_work_dir "hardening-$1"
    export HPSWEEP_HOME="$work/runs"
    scenario_jobs=""
    scenario_cleanup=""
    on_exit restore_cluster
    cd "$work"
}

experiment_dir() {
    local dirs=("$HPSWEEP_HOME/$1"-*)
    [[ -d "${dirs[0]}" ]] || return 1
    echo "${dirs[0]}"
}

array_job() {
    /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["arrays"][0]["job_id"])' \
        "$1/experiment.json"
}

trial_steps() {
    /usr/bin/python3 - "$1/trials/$2/metrics.h5" "$3" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    name = "metrics/" + sys.argv[2]
    steps = [int(s) for s in f[name]["step"]] if name in f else []
print(",".join(map(str, steps)))
PY
}

# Number of loss records flushed so far (0 when the file does not exist yet).
reported_steps() {
    [[ -f "$1/trials/$2/metrics.h5" ]] || { echo 0; return; }
    local steps
    steps="$(trial_steps "$1" "$2" loss 2>/dev/null)" || { echo 0; return; }
    [[ -z "$steps" ]] && { echo 0; return; }
    tr ',' '\n' <<<"$steps" | wc -l
}

at_least_steps() { (($(reported_steps "$1" "$2") >= $3)); }

check_trial_file() {
    local exp=$1 id=$2 n=$3
    /usr/bin/python3 - "$exp/trials/$id/metrics.h5" "$n" <<'PY' || fail "trial $id metrics.h5: wrong or unreadable"
import sys, h5py
path, n = sys.argv[1], int(sys.argv[2])
with h5py.File(path, "r") as f:
    steps = [int(s) for s in f["metrics/loss"]["step"]]
    assert steps == list(range(1, n + 1)), f"{path}: steps {steps}, expected 1..{n}"
PY
}

experiment_counts() {
    hpsweep status --json "$1" 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"])' || true
}

all_completed() { [[ "$(experiment_counts "$1")" == "{'completed': $2}" ]]; }

wait_completed() {
    wait_until "${3:-90}" all_completed "$1" "$2" ||
        fail "$1: not all $2 trials completed: $(experiment_counts "$1")"
}

later_job_works() {
    hpsweep run --name "later-$1" --python /usr/bin/python3 "$train_py" --steps 2 \
        --step-seconds 0 >/dev/null || fail "a later sweep could not be submitted"
    wait_completed "later-$1" 1 60
}

# Slurm holds a requeued job back (BeginTime, about 2 minutes); a test need not wait that.
start_requeued() {
    local state
    # Any pending state: the reason is not always BeginTime yet (None, Priority) while
    # Slurm's start time for the requeued job is already two minutes ahead.
    state="$(squeue -h -j "$1" -o %T 2>/dev/null)" || return 1
    [[ "$state" == PENDING ]] || return 1
    # Not in the second of the requeue: slurmd revokes the last run's credential with a
    # time in whole seconds and refuses a new one of the same job created in that second
    # ("Job credential revoked"; under proctrack/cgroup the restart is fast enough to hit it).
    ((${requeue_pending_since[$1]:=$SECONDS} + 2 <= SECONDS)) || return 1
    scontrol update JobId="$1" StartTime=now 2>/dev/null
}
declare -gA requeue_pending_since=()

# The nodes share the host's pid namespace, so the launcher is visible here. Anchored on the
# program name so the `srun hpsweep-launch ...` processes of the batch step never match, and
# on the experiment path (unique per test) so no other test's trial does.
trial_launcher() {
    pgrep -f -- "^[^ ]*/hpsweep-launch --experiment $1 --trial $2\$" | head -n1 || true
}

# Sourced by every integration (tests/integration/*.sh) and hardening (tests/hardening/*.sh)
# scenario, first thing after `set -euo pipefail`:
#   source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
#
#   fail MESSAGE                 "FAIL: MESSAGE" on stderr, exit 1
#   expect_contains TEXT NEEDLE WHAT
#                                fails, showing TEXT, unless TEXT contains NEEDLE
#   cluster_env                  points sbatch/srun/squeue/sacct at the local cluster
#                                (`hpsweep cluster env`); fails when that command does.
#                                Unless the scenario chose one, HPSWEEP_DATASTORE_ROOT is a
#                                store of its own under the build tree, removed on exit: the
#                                code snapshots of `hpsweep run` never land in the site's
#                                /var/lib/hpsweep/datastores
#   on_exit COMMAND              runs COMMAND (a string for eval) when the scenario exits,
#                                passed or failed; the last one added runs first
#   make_work_dir NAME           $work: a new directory under the build tree, removed on exit
#   make_user_work_dir NAME      make_work_dir NAME, with an experiments home ($work/runs), a
#                                datastore root ($work/store) and a $HOME ($work/home) of the
#                                scenario's own; the shell is left in $work/code, made empty
#   remove_tree DIR              rm -rf, also of the read-only trees a datastore leaves
#   remove_node_caches NAME      removes the datastore cache area NAME from every node
#   wait_until SECONDS CMD...    polls CMD (output hidden) every 0.2 s; non-zero when it
#                                never succeeded within SECONDS
#   wait_job JOB                 until JOB left the queue; prints its sacct state(s)
#   nodes_not_idle               the nodes in a state other than idle/mixed/allocated
#
# Scenarios run through ctest, which sets HPSWEEP_SOURCE_DIR and HPSWEEP_BUILD_DIR.

# Sourced once: a second source (a helper library and its scenario both source it) would
# forget the exit commands already registered.
[[ -n "${test_lib_sourced:-}" ]] && return 0
test_lib_sourced=1

: "${HPSWEEP_SOURCE_DIR:?run through ctest (HPSWEEP_SOURCE_DIR is not set)}"
: "${HPSWEEP_BUILD_DIR:?run through ctest (HPSWEEP_BUILD_DIR is not set)}"

fail() {
    # A hardening scenario also records the failure in its table (tests/hardening/lib.sh).
    if declare -F record_failure >/dev/null; then
        record_failure "$*"
    fi
    echo "FAIL: $*" >&2
    exit 1
}

expect_contains() {
    local text=$1 needle=$2 what=$3
    if ! grep -qF -- "$needle" <<<"$text"; then
        echo "---- $what ----" >&2
        echo "$text" >&2
        echo "----" >&2
        fail "$what does not contain '$needle'"
    fi
}

cluster_env() {
    local exports
    exports="$(hpsweep cluster env)" || fail "'hpsweep cluster env' exited $?: is the cluster up?"
    eval "$exports"
    if [[ -z "${HPSWEEP_DATASTORE_ROOT:-}" ]]; then
        HPSWEEP_DATASTORE_ROOT="$(mktemp -d "$HPSWEEP_BUILD_DIR/datastore-$(basename "$0" .sh).XXXXXX")" ||
            fail "cannot create the scenario's datastore under $HPSWEEP_BUILD_DIR"
        chmod 0755 "$HPSWEEP_DATASTORE_ROOT"
        export HPSWEEP_DATASTORE_ROOT
        # The path now: a scenario may point the variable elsewhere later.
        on_exit "remove_tree $(printf %q "$HPSWEEP_DATASTORE_ROOT")"
    fi
}

# One EXIT trap for every cleanup, so that a helper library's cleanup (plugin_lib.bash
# restores plugstack.conf.d) and the scenario's own never replace each other.
test_lib_exit_commands=()
test_lib_run_exit_commands() {
    local rc=$? i
    set +e
    for ((i = ${#test_lib_exit_commands[@]} - 1; i >= 0; i--)); do
        eval "${test_lib_exit_commands[i]}"
    done
    exit "$rc"
}
trap test_lib_run_exit_commands EXIT

on_exit() {
    test_lib_exit_commands+=("$1")
}

remove_tree() {
    chmod -R u+w "$1" 2>/dev/null || true
    rm -rf "$1"
}

make_work_dir() {
    work="$(mktemp -d "$HPSWEEP_BUILD_DIR/$1.XXXXXX")"
    on_exit 'remove_tree "$work"'
}

make_user_work_dir() {
    make_work_dir "$1"
    export HPSWEEP_HOME="$work/runs"
    export HPSWEEP_DATASTORE_ROOT="$work/store"
    export HOME="$work/home"
    mkdir -p "$HOME" "$work/code"
    cd "$work/code"
}

remove_node_caches() {
    local name=${1:?remove_node_caches needs the cache name} node_dir
    : "${HPSWEEP_CLUSTER_DIR:?call cluster_env first}"
    for node_dir in "$HPSWEEP_CLUSTER_DIR"/nodes/*/; do
        remove_tree "$node_dir$name"
    done
}

wait_until() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

wait_job() {
    local job=$1 i
    for ((i = 0; i < 600; i++)); do
        if [[ -z "$(squeue -h -j "$job" 2>/dev/null)" ]]; then break; fi
        sleep 0.2
    done
    [[ -z "$(squeue -h -j "$job" 2>/dev/null)" ]] || fail "job $job still queued after 120 s"
    # sacct may lag a moment behind squeue.
    for ((i = 0; i < 50; i++)); do
        local states
        states="$(sacct -n -X -P -j "$job" -o State 2>/dev/null | sort -u | tr '\n' ' ')"
        if [[ -n "$states" && "$states" != *RUNNING* && "$states" != *PENDING* ]]; then
            echo "$states"
            return 0
        fi
        sleep 0.2
    done
    echo "UNKNOWN"
}

nodes_not_idle() {
    sinfo -h -N -o '%N %T' | sort -u | awk '$2 !~ /^(idle|mixed|allocated|completing)$/'
}

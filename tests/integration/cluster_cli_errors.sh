#!/usr/bin/env bash
# Scenario: the cluster commands refuse bad input clearly and never disturb a running
# cluster: bad --nodes is a usage error (2), `up` as a non-root user says it needs root
# (4), `down --owner-file` with a file no `up` wrote leaves the cluster running, and
# `status` works for a plain user.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
run() {
    # run <expected exit code> <command...>: prints its output, checks the exit code.
    local expected=$1 code=0
    shift
    output="$("$@" 2>&1)" || code=$?
    echo "\$ $* -> $code"
    echo "$output" | sed 's/^/  /'
    [[ "$code" == "$expected" ]] || fail "'$*' exited $code, expected $expected"
}

run 2 hpsweep cluster up --nodes 0
grep -qi 'nodes' <<<"$output" || fail "--nodes 0 error does not name the option"
run 2 hpsweep cluster up --gpus-per-node 17
run 2 "${HPSWEEP_SOURCE_DIR:?}/scripts/hpsweep-cluster" frobnicate
grep -q "unknown command 'frobnicate'" <<<"$output" || fail "unknown command not named"

# A plain user: nobody (uid 65534) can run status but not up/down.
user_run() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
run 4 user_run "${HPSWEEP_SOURCE_DIR}/scripts/hpsweep-cluster" up
grep -q "must run as root" <<<"$output" || fail "non-root up does not say it needs root"
run 4 user_run "${HPSWEEP_SOURCE_DIR}/scripts/hpsweep-cluster" down
run 0 user_run "${HPSWEEP_SOURCE_DIR}/scripts/hpsweep-cluster" status
grep -q '^cluster: up' <<<"$output" || fail "status as a user does not say up"

# down with someone else's (absent) owner file must leave the cluster alone.
marker="$(mktemp -u "${HPSWEEP_BUILD_DIR:?}/not-an-owner.XXXXXX")"
run 0 hpsweep cluster down --owner-file "$marker"
grep -q 'left running' <<<"$output" || fail "down --owner-file did not say 'left running'"
run 0 hpsweep cluster status
timeout 600 srun -N1 hostname >/dev/null || fail "the cluster does not run jobs after 'down --owner-file'"
echo "PASS: errors are clear and the running cluster was not disturbed"

#!/usr/bin/env bash
# Checks the local cluster's life cycle on the real machine:
#   - `up` twice in a row is harmless (second one says "already up", no daemon restarted);
#   - `status` exits 0 up, 1 degraded, 3 down;
#   - after slurmctld and one slurmd are killed (a crashed run), `up` restarts exactly
#     those and leaves the others alone;
#   - `down` leaves no process, network namespace, veth, bridge, mount or fake GPU device
#     node of ours behind (checked with pgrep, ip netns, ip link, findmnt), and a second
#     `down` is harmless.
# It TAKES THE CLUSTER DOWN, so it is not a ctest: run it by hand when nobody uses the
# cluster. If the cluster was up before, it is brought back up at the end.
#
#   scripts/check-cluster-lifecycle.sh            (uses `hpsweep` from PATH or build/bin)
#   HPSWEEP=/path/to/hpsweep scripts/check-cluster-lifecycle.sh
# A second cluster (HPSWEEP_CLUSTER_DIR/_TAG/_NET/_PORT_BASE, HPSWEEP_NODE_LOCAL_DIR set)
# can be checked the same way without touching the default one.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${HPSWEEP:-}" ]]; then
    if command -v hpsweep >/dev/null; then
        HPSWEEP="$(command -v hpsweep)"
    elif [[ -x "$repo/build/bin/hpsweep" ]]; then
        HPSWEEP="$repo/build/bin/hpsweep"
    else
        HPSWEEP="$repo/scripts/hpsweep-cluster"
    fi
fi
state_dir="${HPSWEEP_CLUSTER_DIR:-/var/tmp/hpsweep-cluster}"
tag="${HPSWEEP_CLUSTER_TAG:-}"
if [[ -n "$tag" ]]; then
    netns_prefix="hpsweep-$tag-" link_prefix="hpsw-$tag-"
else
    netns_prefix="hpsweep-" link_prefix="hpsw-"
fi

failures=0
check() {
    # check <description> <command...>
    local what=$1
    shift
    if "$@"; then
        echo "  ok    $what"
    else
        echo "  FAIL  $what"
        failures=$((failures + 1))
    fi
}
cluster() { "$HPSWEEP" cluster "$@"; }
status_code() {
    local code=0
    cluster status >/dev/null 2>&1 || code=$?
    echo "$code"
}
pid_of() { cat "$state_dir/run/$1.pid" 2>/dev/null || true; }
our_pids() {
    local name
    for name in slurmctld slurmdbd mariadb slurmd-n1 slurmd-n2 slurmd-n3 munged; do
        printf '%s=%s ' "$name" "$(pid_of "$name")"
    done
}
no_processes_left() {
    # Any process whose command line or open files mention the state directory, plus
    # every pid we recorded before `down`.
    local left pid
    left="$(pgrep -af -- "$state_dir" || true)"
    if [[ -n "$left" ]]; then
        echo "    still running: $left"
        return 1
    fi
    for pid in $recorded_before_down; do
        if [[ -d "/proc/$pid" ]]; then
            echo "    pid $pid ($(cat "/proc/$pid/comm")) still running"
            return 1
        fi
    done
}
no_namespaces_left() {
    local left
    left="$(ip netns list | grep -E "^${netns_prefix}n[0-9]+( |$)" || true)"
    [[ -z "$left" ]] || { echo "    namespaces left: $left"; return 1; }
}
no_links_left() {
    local left
    left="$(ip -o link show | awk -F': ' '{print $2}' | grep -E "^${link_prefix}(n[0-9]+|br0)(@|$)" || true)"
    [[ -z "$left" ]] || { echo "    links left: $left"; return 1; }
}
no_mounts_left() {
    local left
    left="$(findmnt -rn -o TARGET,SOURCE | grep -E "$state_dir|/run/netns/${netns_prefix}n|${HPSWEEP_NODE_LOCAL_DIR:-/var/tmp/hpsweep-node}" || true)"
    [[ -z "$left" ]] || { echo "    mounts left: $left"; return 1; }
}
no_devices_left() {
    local dev
    for dev in $created_devices; do
        [[ ! -e "$dev" ]] || { echo "    $dev still exists"; return 1; }
    done
}

echo "checking the cluster life cycle with $HPSWEEP (state $state_dir)"
was_up=0
[[ "$(status_code)" == 0 ]] && was_up=1
munge_running_before=0
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then munge_running_before=1; fi
munge_started_by_cluster=0
[[ -s "$state_dir/run/munged.pid" ]] && munge_started_by_cluster=1

echo "1. up twice"
first_up_start=$SECONDS
cluster up >/tmp/lifecycle-up1.$$ 2>&1 || { cat /tmp/lifecycle-up1.$$; echo "FAIL: first up"; exit 1; }
echo "   first up took $((SECONDS - first_up_start)) s: $(tail -n 2 /tmp/lifecycle-up1.$$ | head -n 1)"
pids_after_first="$(our_pids)"
second="$(cluster up 2>&1)" && second_rc=0 || second_rc=$?
check "second up exits 0" test "$second_rc" = 0
check "second up says 'already up'" grep -q "already up" <<<"$second"
check "second up restarted nothing" test "$(our_pids)" = "$pids_after_first"
check "status exits 0 when up" test "$(status_code)" = 0
eval "$(cluster env)"
check "a job runs on 3 nodes" test "$(srun -N3 hostname | sort -u | wc -l)" = 3

echo "2. a crashed slurmctld and slurmd n2 are restarted, nothing else"
dbd_before="$(pid_of slurmdbd)" n1_before="$(pid_of slurmd-n1)" n3_before="$(pid_of slurmd-n3)"
kill -KILL "$(pid_of slurmctld)" "$(pid_of slurmd-n2)"
sleep 0.5
check "status exits 1 when degraded" test "$(status_code)" = 1
check "up after a crash exits 0" cluster up
check "slurmdbd, slurmd n1, n3 kept their pids" test \
    "$(pid_of slurmdbd) $(pid_of slurmd-n1) $(pid_of slurmd-n3)" = "$dbd_before $n1_before $n3_before"
check "status exits 0 again" test "$(status_code)" = 0
check "a job runs on 3 nodes after the restart" test "$(srun -N3 hostname | sort -u | wc -l)" = 3

echo "3. down leaves nothing behind"
recorded_before_down="$(our_pids | tr ' ' '\n' | sed -n 's/^[a-z0-9-]*=\([0-9][0-9]*\)$/\1/p' | tr '\n' ' ')"
created_devices="$(cat "$state_dir/run/created-devices" 2>/dev/null || true)"
# A job still running at `down` must be stopped too (its processes live in a node).
sbatch --wrap "sleep 600" -J lifecycle-sleeper -o /dev/null >/dev/null
for _ in $(seq 1 50); do
    [[ "$(squeue -h -n lifecycle-sleeper -t R | wc -l)" -ge 1 ]] && break
    sleep 0.2
done
check "a job was running before down" test "$(squeue -h -n lifecycle-sleeper -t R | wc -l)" -ge 1
# Every process inside the nodes (slurmd, slurmstepd, the sleeper) must be gone too.
for ns in $(ip netns list | awk '{print $1}' | grep -E "^${netns_prefix}n[0-9]+$"); do
    recorded_before_down+=" $(ip netns pids "$ns" | tr '\n' ' ')"
done
# munged: an instance we did not start must survive; one the cluster started must go.
if ((munge_running_before && !munge_started_by_cluster)); then
    recorded_before_down="${recorded_before_down//$(pid_of munged)/}"
fi
down_start=$SECONDS
check "down exits 0" cluster down
echo "   down took $((SECONDS - down_start)) s"
check "no process of ours left (pgrep)" no_processes_left
check "no network namespace left (ip netns)" no_namespaces_left
check "no veth or bridge left (ip link)" no_links_left
check "no mount left (findmnt)" no_mounts_left
check "fake GPU device nodes we created are gone" no_devices_left
if ((munge_running_before && !munge_started_by_cluster)); then
    check "the munged we did not start still answers" sh -c 'munge -n | unmunge >/dev/null'
fi
check "status exits 3 when down" test "$(status_code)" = 3
check "second down exits 0" cluster down

if ((was_up)); then
    echo "4. bringing the cluster back up (it was up before the check)"
    check "up again" cluster up
    check "status exits 0" test "$(status_code)" = 0
    eval "$(cluster env)"
    scancel -n lifecycle-sleeper 2>/dev/null || true
fi
rm -f /tmp/lifecycle-up1.$$
if ((failures > 0)); then
    echo "lifecycle check: $failures FAILED"
    exit 1
fi
echo "lifecycle check: all passed"

#!/usr/bin/env bash
# Two-user security: the plugin's topology cache (<cache_dir>/topology, read and written by
# root in slurmstepd; plugins/core/topology_cache.hpp). cache_dir here is root's and sticky
# (1777, as a shared node-local cache may be), so user B can create names in it. B takes
# the cache directory's name first with a forged export of another machine in it, makes it
# a link to a directory of B's, a FIFO or a file, and tries to move or fill root's own
# directory. Each time A's job must end in bounded time placed exactly as on a clean cache,
# and root must never write into, or take an export from, anything of B's.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup topology_cache

cache_name="topology-sec-$$"
cache="$HPSWEEP_NODE_LOCAL_DIR/$cache_name"        # as slurmstepd on n1 sees it
host_cache="$HPSWEEP_CLUSTER_DIR/nodes/n1/$cache_name"  # the same directory, from here
security_cleanup_extra='rm -rf "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$cache_name"'
mkdir -p "$host_cache" && chmod 1777 "$host_cache"
enable_plugin "cache_dir=$cache"
bound_seconds=30
# Another machine's topology, where B can read it (the source tree may not be traversable).
forged="$work/forged-topology.xml"
install -m 0644 "$HPSWEEP_SOURCE_DIR/tests/data/topologies/dgx-a100-like.xml" "$forged"

# A's two-task, two-GPU step with --gpu-affinity=verbose: sets $plan (each rank's GPUs,
# CPUs, memory and HCA, without the per-job port) and $note (the plugin's topology line).
placed_job() {
    local tag=$1 start=$SECONDS
    run_job "$user_a" "$tag" "-n2 --gres=gpu:2" 'srun --gpu-affinity=verbose true'
    ((SECONDS - start <= bound_seconds)) ||
        hardening_fail "A's job $tag took $((SECONDS - start)) s (bound ${bound_seconds} s)"
    [[ "$job_state" == "COMPLETED " ]] ||
        hardening_fail "A's job $tag ended $job_state: $(cat "$job_err")"
    plan="$(grep -o 'rank [0-9]/2 local.*, hca [^,]*' "$job_err" | sort)"
    note="$(grep -o 'note: topology .*' "$job_err" || true)"
    [[ "$(wc -l <<<"$plan")" == 2 ]] || hardening_fail "A's job $tag: no plan for both ranks: $(cat "$job_err")"
}
expect_note() {
    [[ "$note" == *"$1"* ]] || hardening_fail "the plugin's topology note '$note' lacks '$1'"
}
expect_reference_plan() {
    [[ "$plan" == "$reference_plan" ]] ||
        hardening_fail "A's placement changed: '$plan' instead of '$reference_plan'"
}
# Nothing under B's PATH may be root's: root wrote nothing there.
expect_nothing_of_roots() {
    local found
    found="$(find "$1" -user root 2>/dev/null | head -3)"
    [[ -z "$found" ]] || hardening_fail "root wrote into B's $1: $found"
}
reset_cache() { rm -rf "${host_cache:?}/topology" "$work/home-b/planted"; }

scenario "topology cache: a miss then a hit, and B cannot move or fill root's cache directory"
placed_job clean-miss
expect_note "discovered live, cached as $cache/topology/"
export_name="$(grep -o '[0-9a-f]\{32\}\.xml' <<<"$note")"
reference_plan="$plan"
placed_job clean-hit
expect_note "cache hit $cache/topology/$export_name"
expect_reference_plan
expect_refused "B moving root's cache directory" as_b mv "$host_cache/topology" "$host_cache/b-moved"
expect_refused "B writing into root's cache directory" as_b cp "$forged" "$host_cache/topology/forged.xml"
expect_refused "B replacing root's export" as_b cp "$forged" "$host_cache/topology/$export_name"
placed_job after-b
expect_note "cache hit $cache/topology/$export_name"
expect_reference_plan
hardening_pass "miss then hit ($export_name), same placement; B's mv, cp into and over root's directory refused by the kernel; A still hits the cache"

scenario "topology cache: B takes the directory's name first, with another machine's export in it"
reset_cache
as_b bash -c 'mkdir -m 0755 "$1/topology" && cp "$2" "$1/topology/$3"' squat "$host_cache" "$forged" "$export_name" ||
    hardening_fail "B could not create the squatting directory"
forged_sum="$(sha256sum <"$host_cache/topology/$export_name")"
placed_job squatted
expect_note "cache not used: $cache/topology is not a directory of root's"
expect_note "owner uid $uid_b"
expect_reference_plan
[[ "$(sha256sum <"$host_cache/topology/$export_name")" == "$forged_sum" ]] || hardening_fail "root changed B's forged export"
expect_nothing_of_roots "$host_cache/topology"
hardening_pass "B's directory with a DGX A100 export refused (${note#note: topology }); A placed as on a clean cache; nothing of root's in B's directory"

scenario "topology cache: the directory's name is B's link to B's directory"
reset_cache
as_b bash -c 'mkdir -p "$1" && cp "$2" "$1/$3" && ln -s "$1" "$4/topology"' link \
    "$work/home-b/planted" "$forged" "$export_name" "$host_cache" || hardening_fail "B could not plant the link"
placed_job linked
expect_note "cache not used: cannot open $cache/topology as a directory without following links"
expect_reference_plan
expect_nothing_of_roots "$work/home-b/planted"
hardening_pass "link refused (${note#note: topology }); A placed as on a clean cache; nothing of root's in B's directory"

scenario "topology cache: the directory's name is B's FIFO or file"
reset_cache
as_b mkfifo "$host_cache/topology" || hardening_fail "B could not make the FIFO"
placed_job fifo
expect_note "cache not used: cannot open $cache/topology"
expect_reference_plan
reset_cache
as_b cp "$forged" "$host_cache/topology" || hardening_fail "B could not create the file"
placed_job file
expect_note "cache not used: cannot open $cache/topology"
expect_reference_plan
hardening_pass "FIFO and file refused without blocking (${note#note: topology }); A placed as on a clean cache each time"
echo "PASS: security_topology_cache"

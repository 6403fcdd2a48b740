#!/usr/bin/env bash
# Fault: `scancel` of a job while it stages a datastore into the node-local cache.
# Expected: nothing half-copied is ever published (no entry for the version), the fill lock
# is released with the job, and a later job on the same node stages the version completely
# (filled, every file verified by the stager) and removes the stale temporary.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
HARDENING_SCENARIO="scancel during datastore staging"
scenario_setup scancel-staging

export HPSWEEP_DATASTORE_ROOT="$work/store"
mkdir -p "$work/src"
for i in $(seq 1 8); do head -c 8M /dev/urandom >"$work/src/part$i.bin"; done
# Plus many small files: a fill's time is then set by per-file work, not by how fast the
# disk is, so even an idle machine stays in the fill for seconds (64 MiB alone filled in a
# fraction of the polling interval on a quiet machine).
/usr/bin/python3 - "$work/src/small" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(40):
    os.makedirs(f"{root}/{d:02d}")
    for i in range(300):
        with open(f"{root}/{d:02d}/{i:03d}.txt", "wb") as f:
            f.write(os.urandom(1024))
PY
expected_files=$((8 + 40 * 300))
hpsweep datastore create bigset "$work/src" --public >/dev/null || hardening_fail "create bigset"
cache_name="hardening-staging-cache-$$"
export HPSWEEP_CACHE_DIR="$HPSWEEP_NODE_LOCAL_DIR/$cache_name"
node_cache="$HPSWEEP_CLUSTER_DIR/nodes/n1/$cache_name"
scenario_cleanup="rm -rf '$HPSWEEP_CLUSTER_DIR'/nodes/*/'$cache_name'"
area="$node_cache/uid-$(id -u)"
export HPSWEEP_STAGE_THREADS=1 # slow enough to be caught mid-copy

job="$(sbatch --parsable -w n1 -N1 -n1 -J hardening-staging -o "$work/first.out" \
    --wrap "srun hpsweep datastore stage bigset --json")"
scenario_jobs="$job"
filling() { compgen -G "$area/tmp/*" >/dev/null; }  # tmp/KEY.RANDOM: entries are named by content
wait_until 60 filling || hardening_fail "the stage never started filling: $(cat "$work/first.out")"
scancel "$job"
ended() { [[ -z "$(squeue -h -j "$job" -o %T 2>/dev/null)" ]]; }
wait_until 60 ended || hardening_fail "job $job did not end after scancel"
published="$(find "$area/entries" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
((published == 0)) || hardening_fail "a cancelled fill published $published entries"
# Fill locks are open-file-description fcntl locks: a POSIX lock conflicts with them, a flock
# would not.
for lock in "$area"/locks/*.fill; do
    [[ -e "$lock" ]] || continue
    /usr/bin/python3 -c 'import fcntl, sys; fcntl.lockf(open(sys.argv[1], "r+"), fcntl.LOCK_EX | fcntl.LOCK_NB)' "$lock" 2>/dev/null ||
        hardening_fail "fill lock $lock is still held after the job ended"
done
stale="$(compgen -G "$area/tmp/*" | wc -l || true)"

timeout 180 sbatch --wait -w n1 -N1 -n1 -J hardening-staging -o "$work/second.out" -e "$work/second.err" \
    --wrap "srun hpsweep datastore stage bigset --json" >/dev/null ||
    hardening_fail "the later stage failed: $(cat "$work/second.out" "$work/second.err")"
grep -q '"filled": true' "$work/second.out" || hardening_fail "later stage: $(cat "$work/second.out")"
grep -q '"cached": true' "$work/second.out" || hardening_fail "later stage not cached: $(cat "$work/second.out")"
left="$(compgen -G "$area/tmp/*" | wc -l || true)"
((left == 0)) || hardening_fail "the later stage left $left temporaries"
# The published copy is byte-identical to the source (the path is n1's view of its local dir).
staged="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["path"])' "$work/second.out")"
host_view="$HPSWEEP_CLUSTER_DIR/nodes/n1${staged#"$HPSWEEP_NODE_LOCAL_DIR"}"
diff -rq "$work/src" "$host_view" >/dev/null || hardening_fail "the staged copy $staged differs from the source"
files="$(find "$area/entries" -type f | wc -l)"
((files == expected_files)) || hardening_fail "the published copy has $files files, expected $expected_files"
hardening_record "$HARDENING_SCENARIO" fault pass \
    "fill of 64 MiB + 12,000 small files cancelled mid-copy: nothing published, lock released, $stale stale temp(s) removed by the next stage, which published all $expected_files files, identical to the source"
echo "PASS: scancel during staging"

#!/usr/bin/env bash
# Fault: the node-local cache is on a full disk (a 6 MiB tmpfs) when a job stages a
# 12 MiB datastore. Expected: the stage still succeeds and hands out the shared-store path
# with a warning (cached false); the partial copy is removed (no tmp/ left, the tmpfs is
# empty again), no fill lock stays held; a later job staging a dataset that fits gets a
# cached copy from the same cache.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/scenario_common.bash"
HARDENING_SCENARIO="disk full in the node-local cache"
scenario_setup cache-full

export HPSWEEP_DATASTORE_ROOT="$work/store"
mkdir -p "$work/big" "$work/small"
for i in 1 2 3; do head -c 4M /dev/urandom >"$work/big/part$i.bin"; done
head -c 64K /dev/urandom >"$work/small/data.bin"
hpsweep datastore create big "$work/big" --public >/dev/null || hardening_fail "create big"
hpsweep datastore create small "$work/small" --public >/dev/null || hardening_fail "create small"

# Each node has its own mount namespace (private propagation): a tmpfs mounted on the host
# would not reach it. Mount it inside n1's namespace (slurmd's; job steps inherit it); the
# directory itself is on the shared /var/tmp, so the path is the same everywhere.
slurmd_pid="$(cat "$HPSWEEP_CLUSTER_DIR/run/slurmd-n1.pid")" || hardening_fail "no pid file for n1's slurmd"
in_n1() { nsenter --mount="/proc/$slurmd_pid/ns/mnt" -- "$@"; }
cache="/var/tmp/hpsweep-full-cache-$$"
mkdir -p "$cache"
in_n1 mount -t tmpfs -o size=6m tmpfs "$cache" || hardening_fail "cannot mount a tmpfs at $cache on n1"
scenario_cleanup="nsenter --mount=/proc/$slurmd_pid/ns/mnt -- umount -l '$cache'; rmdir '$cache'"
export HPSWEEP_CACHE_DIR="$cache"

# stage_job NAME OUTFILE: one task on n1 stages NAME; its JSON alone lands in OUTFILE (the
# warning and progress go to stderr, OUTFILE.err).
stage_job() {
    timeout 120 sbatch --wait -w n1 -N1 -n1 -J hardening-cache-full -o "$2" -e "$2.err" \
        --wrap "srun hpsweep datastore stage $1 --json" >/dev/null
}
stage_job big "$work/big.json" || hardening_fail "stage on a full cache failed: $(cat "$work/big.json"*)"
/usr/bin/python3 - "$work/big.json" "$work/store" <<'PY' || hardening_fail "full-cache stage: $(cat "$work/big.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["cached"] is False and r["warning"], r
assert r["path"].startswith(sys.argv[2]), r
PY
leftover="$(in_n1 find "$cache" -mindepth 3 -path "$cache/uid-*/tmp/*" | head -n3)"
[[ -z "$leftover" ]] || hardening_fail "partial copy left in the cache: $leftover"
used_kib="$(in_n1 df -k --output=used "$cache" | tail -n1 | tr -d ' ')"
((used_kib < 1024)) || hardening_fail "the full cache still holds $used_kib KiB"
locks="$(in_n1 find "$cache" -path '*/locks/*.fill')"
for lock in $locks; do
    in_n1 flock -n "$lock" true || hardening_fail "fill lock $lock is still held"
done
[[ "$(in_n1 stat -f -c %T "$cache")" == tmpfs ]] || hardening_fail "the cache on n1 is not the tmpfs"

stage_job small "$work/small.json" || hardening_fail "a later stage failed: $(cat "$work/small.json"*)"
/usr/bin/python3 - "$work/small.json" "$cache" <<'PY' || hardening_fail "later stage not cached: $(cat "$work/small.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["cached"] is True and r["path"].startswith(sys.argv[2] + "/"), r
PY
warning="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["warning"])' "$work/big.json")"
hardening_record "$HARDENING_SCENARIO" fault pass \
    "12 MiB into a 6 MiB tmpfs: stage fell back to the store ($warning), ${used_kib} KiB left, no tmp/ or held lock; later 64 KiB stage cached"
echo "PASS: disk-full cache"

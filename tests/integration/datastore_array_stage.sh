#!/usr/bin/env bash
# Scenario: a job array spread over the 3 nodes, every task running
# `srun hpsweep datastore stage NAME` (two stagers per task, at once), stages the
# dataset exactly once per node: each node's node-local cache holds one copy, its
# fills.log one line, and every stager gets the same path on its node.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir datastore-array
cache_name="datastore-array-cache-$$"
on_exit 'remove_node_caches "$cache_name"'

export HPSWEEP_DATASTORE_ROOT="$work/store"
mkdir -p "$work/src/sub"
for i in $(seq 1 200); do head -c 3000 /dev/urandom >"$work/src/sub/f$i.bin"; done
echo "hello" >"$work/src/a.txt"
out="$(hpsweep datastore create arrayset "$work/src" --public --json)" || fail "create: $out"
grep -q '"version": 1' <<<"$out" || fail "create did not make version 1: $out"

# The cache is node-local: the same path names a different directory on each node.
export HPSWEEP_CACHE_DIR="$HPSWEEP_NODE_LOCAL_DIR/$cache_name"
script="$work/stage.sbatch"
cat >"$script" <<'SCRIPT'
#!/bin/bash
srun --ntasks=2 bash -c 'r=$(hpsweep datastore stage arrayset --json) || exit 1
  path=$(sed -n "s/.*\"path\": \"\(.*\)\".*/\1/p" <<<"$r")
  filled=$(sed -n "s/.*\"filled\": \([a-z]*\).*/\1/p" <<<"$r")
  echo "STAGED $(hostname) $filled $path $(cat "$path/a.txt")"'
sleep 2
SCRIPT
if ! timeout 600 sbatch --wait --array=0-5 --exclusive --nodes=1 --ntasks=2 -J hpsweep-ds-array \
    -o "$work/out.%a" -e "$work/err.%a" "$script" >/dev/null; then
    cat "$work"/err.* >&2 || true
    fail "the array did not complete"
fi
results="$(cat "$work"/out.*)"
echo "$results"
[[ "$(grep -c '^STAGED ' <<<"$results")" == 12 ]] || fail "expected 12 stage lines: $results $(cat "$work"/err.*)"
grep -q ' hello$' <<<"$results" || fail "staged copies do not hold the data"
mapfile -t nodes < <(awk '/^STAGED /{print $2}' <<<"$results" | sort -u)
((${#nodes[@]} >= 2)) || fail "the array ran on ${#nodes[@]} node(s) only: ${nodes[*]}"
for node in "${nodes[@]}"; do
    fills="$(awk -v n="$node" '$1=="STAGED" && $2==n && $3=="true"' <<<"$results" | wc -l)"
    [[ "$fills" == 1 ]] || fail "$node filled $fills times (want exactly once)"
    paths="$(awk -v n="$node" '$1=="STAGED" && $2==n {print $4}' <<<"$results" | sort -u | wc -l)"
    [[ "$paths" == 1 ]] || fail "$node handed out $paths different paths"
    node_cache="$HPSWEEP_CLUSTER_DIR/nodes/$node/$cache_name"
    log="$node_cache/uid-$(id -u)/fills.log"
    [[ -f "$log" ]] || fail "no fill log on $node ($log)"
    # Entries are named by content (the manifest's SHA-256), never by the dataset's name.
    key="$(basename "$(awk -v n="$node" '$1=="STAGED" && $2==n {print $4; exit}' <<<"$results")")"
    [[ "$(grep -c " $key " "$log")" == 1 && "$(wc -l <"$log")" == 1 ]] ||
        fail "$node fill log (want one fill of $key): $(cat "$log")"
    copies="$(find "$node_cache/uid-$(id -u)/entries" -mindepth 1 -maxdepth 1 | wc -l)"
    [[ "$copies" == 1 ]] || fail "$node holds $copies copies"
    [[ -z "$(ls -A "$node_cache/uid-$(id -u)/tmp")" ]] || fail "$node left temporaries"
done
echo "PASS: ${#nodes[@]} nodes, one fill each: ${nodes[*]}"

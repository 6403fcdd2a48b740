#!/usr/bin/env bash
# Scenario: HPSWEEP_NODE_LOCAL_DIR is the same path on every node but a different
# directory on each (mount namespace), and HPSWEEP_CACHE_DIR lives inside it.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
[[ -n "${HPSWEEP_NODE_LOCAL_DIR:-}" && -n "${HPSWEEP_CACHE_DIR:-}" ]] ||
    fail "cluster env does not export HPSWEEP_NODE_LOCAL_DIR/HPSWEEP_CACHE_DIR"

marker="cluster_node_local.$$.$RANDOM"
# Each node writes a file named after itself, then lists what its local dir holds.
out="$(timeout 600 srun -N3 --ntasks-per-node=1 sh -c '
    dir="$HPSWEEP_NODE_LOCAL_DIR"
    touch "$dir/$1.$(hostname)"
    echo "$(hostname) $(cat "$dir/.hpsweep-node-name") $(ls "$dir" | grep -c "^$1\.") $(test -d "$HPSWEEP_CACHE_DIR" && echo cache-ok)"
    rm -f "$dir/$1.$(hostname)"' sh "$marker")" || fail "srun -N3 exited $?"
echo "$out"
[[ "$(wc -l <<<"$out")" -eq 3 ]] || fail "expected 3 lines: $out"
while read -r host dir_owner marker_count cache; do
    [[ "$host" == "$dir_owner" ]] || fail "$host sees the node-local directory of $dir_owner"
    [[ "$marker_count" == 1 ]] || fail "$host sees $marker_count marker files (other nodes' files leak in)"
    [[ "$cache" == cache-ok ]] || fail "$host has no $HPSWEEP_CACHE_DIR"
done <<<"$out"
[[ ! -e "$HPSWEEP_NODE_LOCAL_DIR/.hpsweep-node-name" ]] ||
    fail "the host's $HPSWEEP_NODE_LOCAL_DIR shows a node's directory"
echo "PASS: node-local directories differ per node"

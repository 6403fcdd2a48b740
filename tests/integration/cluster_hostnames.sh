#!/usr/bin/env bash
# Scenario: every node of the local cluster has its own hostname (UTS namespace), so
# `srun -N3 hostname` prints three different names, and they are the Slurm node names.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

out="$(timeout 600 srun -N3 --ntasks-per-node=1 hostname)" || fail "srun -N3 hostname exited $?"
echo "$out"
[[ "$(wc -l <<<"$out")" -eq 3 ]] || fail "expected 3 lines from srun -N3 hostname, got: $out"
distinct="$(sort -u <<<"$out" | wc -l)"
[[ "$distinct" -eq 3 ]] || fail "expected 3 different hostnames, got $distinct: $out"
nodes="$(sinfo -h -N -o '%N' | sort -u)"
while read -r name; do
    grep -qx "$name" <<<"$nodes" || fail "hostname '$name' is not a Slurm node name ($nodes)"
done <<<"$out"
[[ "$(sort -u <<<"$out")" != "$(hostname -s)" ]] || fail "nodes report the host's own name"
echo "PASS: three nodes, three hostnames"

#!/bin/bash
# A real 2-node x 2-rank PyTorch DDP (gloo) all-reduce through hpsweep-launch: ranks,
# node ranks, MASTER_ADDR (first node of the step) and CPU affinity checked by each child.
set -euo pipefail
eval "$(hpsweep cluster env)"
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

rc=0
timeout 300 srun -N2 -n4 --ntasks-per-node=2 --overcommit hpsweep-launch -- \
    /usr/bin/python3 "$here/launch_ddp_check.py" 4 >"$out/stdout" 2>"$out/stderr" || rc=$?
cat "$out/stdout"
if [ "$rc" -ne 0 ]; then
    echo "FAILED: srun exited with $rc"; cat "$out/stderr"; exit 1
fi
for r in 0 1 2 3; do
    grep -q "^OK rank=$r local_rank=$((r % 2)) node_rank=$((r / 2)) world=4 .* allreduce=10$" "$out/stdout" \
        || { echo "FAILED: no correct OK line for rank $r"; cat "$out/stderr"; exit 1; }
done
masters=$(sed -n 's/^OK .* master=\([^ ]*\) .*/\1/p' "$out/stdout" | sort -u)
[ "$(echo "$masters" | wc -l)" -eq 1 ] || { echo "FAILED: ranks disagree on the master: $masters"; exit 1; }
echo "PASS (master $masters)"

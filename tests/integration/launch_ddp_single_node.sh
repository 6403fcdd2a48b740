#!/bin/bash
# A real 2-rank PyTorch DDP (gloo) all-reduce on one node through hpsweep-launch: every
# child checks its RANK/LOCAL_RANK/WORLD_SIZE and its real CPU affinity against the plan.
set -euo pipefail
eval "$(hpsweep cluster env)"
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

rc=0
timeout 300 srun -N1 -n2 --gres=gpu:2 hpsweep-launch --policy verbose -- \
    /usr/bin/python3 "$here/launch_ddp_check.py" 2 >"$out/stdout" 2>"$out/stderr" || rc=$?
cat "$out/stdout"
if [ "$rc" -ne 0 ]; then
    echo "FAILED: srun exited with $rc"; cat "$out/stderr"; exit 1
fi
oks=$(grep -c '^OK rank=' "$out/stdout" || true)
if [ "$oks" -ne 2 ]; then
    echo "FAILED: expected 2 OK lines, got $oks"; cat "$out/stderr"; exit 1
fi
for r in 0 1; do
    grep -q "^OK rank=$r local_rank=$r node_rank=0 world=2 .* allreduce=3$" "$out/stdout" \
        || { echo "FAILED: no OK line for rank $r"; exit 1; }
done
# The two ranks were given different CPUs (2 CPUs, 2 ranks: one each).
cpus=$(sed -n 's/^OK .* cpus=\([^ ]*\) .*/\1/p' "$out/stdout" | sort -u | wc -l)
[ "$cpus" -eq 2 ] || { echo "FAILED: ranks share CPUs although there are enough"; exit 1; }
grep -q 'hpsweep-launch: local rank' "$out/stderr" || { echo "FAILED: --policy verbose printed no plan"; exit 1; }
echo "PASS"

#!/usr/bin/env bash
# A real 2-rank PyTorch DDP (gloo) all-reduce on one node through hpsweep-launch: every
# child checks its RANK/LOCAL_RANK/WORLD_SIZE and its real CPU affinity against the plan.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
here=$(cd "$(dirname "$0")" && pwd)
make_work_dir launch_ddp_single_node
out=$work

rc=0
timeout 300 srun -N1 -n2 --gres=gpu:2 hpsweep-launch --policy verbose -- \
    /usr/bin/python3 "$here/launch_ddp_check.py" 2 >"$out/stdout" 2>"$out/stderr" || rc=$?
cat "$out/stdout"
if [ "$rc" -ne 0 ]; then
    cat "$out/stderr" >&2; fail "srun exited with $rc"
fi
oks=$(grep -c '^OK rank=' "$out/stdout" || true)
if [ "$oks" -ne 2 ]; then
    cat "$out/stderr" >&2; fail "expected 2 OK lines, got $oks"
fi
for r in 0 1; do
    grep -q "^OK rank=$r local_rank=$r node_rank=0 world=2 .* allreduce=3$" "$out/stdout" \
        || fail "no OK line for rank $r"
done
# The two ranks were given different CPUs (2 CPUs, 2 ranks: one each).
cpus=$(sed -n 's/^OK .* cpus=\([^ ]*\) .*/\1/p' "$out/stdout" | sort -u | wc -l)
[ "$cpus" -eq 2 ] || fail "ranks share CPUs although there are enough"
grep -q 'hpsweep-launch: local rank' "$out/stderr" || fail "--policy verbose printed no plan"
echo "PASS"

#!/usr/bin/env bash
# A real 2-node x 2-rank PyTorch DDP (gloo) all-reduce through hpsweep-launch: ranks,
# node ranks, MASTER_ADDR (first node of the step) and CPU affinity checked by each child.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
here=$(cd "$(dirname "$0")" && pwd)
make_work_dir launch_ddp_two_nodes
out=$work

rc=0
timeout 300 srun -N2 -n4 --ntasks-per-node=2 --overcommit hpsweep-launch -- \
    /usr/bin/python3 "$here/launch_ddp_check.py" 4 >"$out/stdout" 2>"$out/stderr" || rc=$?
cat "$out/stdout"
if [ "$rc" -ne 0 ]; then
    cat "$out/stderr" >&2; fail "srun exited with $rc"
fi
for r in 0 1 2 3; do
    grep -q "^OK rank=$r local_rank=$((r % 2)) node_rank=$((r / 2)) world=4 .* allreduce=10$" "$out/stdout" \
        || { cat "$out/stderr" >&2; fail "no correct OK line for rank $r"; }
done
masters=$(sed -n 's/^OK .* master=\([^ ]*\) .*/\1/p' "$out/stdout" | sort -u)
[ "$(echo "$masters" | wc -l)" -eq 1 ] || fail "ranks disagree on the master: $masters"
echo "PASS (master $masters)"

#!/usr/bin/env bash
# A real 2-node x 2-rank PyTorch DDP (gloo) all-reduce with every rank inside the Charliecloud
# test image (hpsweep-launch --container): ranks, node ranks, MASTER_ADDR, and each rank's
# Cpus_allowed_list equal to its plan, all checked by launch_ddp_check.py in the container.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/container_lib.bash"
container_image
here=$(cd "$(dirname "$0")" && pwd)
make_work_dir container_ddp
out=$work
cd "$work"

rc=0
timeout 300 srun -N2 -n4 --ntasks-per-node=2 --overcommit \
    hpsweep-launch --container "$image" --container-mount "$here:$here:ro" -- \
    /usr/bin/python3 "$here/launch_ddp_check.py" 4 >"$out/stdout" 2>"$out/stderr" || rc=$?
cat "$out/stdout"
if [ "$rc" -ne 0 ]; then
    cat "$out/stderr" >&2; fail "srun exited with $rc"
fi
for r in 0 1 2 3; do
    grep -q "^OK rank=$r local_rank=$((r % 2)) node_rank=$((r / 2)) world=4 .* allreduce=10$" "$out/stdout" \
        || { cat "$out/stderr" >&2; fail "no correct OK line for rank $r"; }
done
unpacks="$(grep -c '^hpsweep-launch: unpacked image ' "$out/stderr" || true)"
((unpacks <= 2)) || fail "4 ranks on 2 nodes unpacked the image $unpacks times"
echo "PASS: DDP 2x2 in the container ($unpacks unpack(s))"

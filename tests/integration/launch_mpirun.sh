#!/usr/bin/env bash
# Under OpenMPI's mpirun (no srun), hpsweep-launch takes RANK/WORLD_SIZE/LOCAL_RANK/
# LOCAL_WORLD_SIZE from OMPI_COMM_WORLD_*, every rank agrees on MASTER_ADDR/MASTER_PORT,
# and a real gloo all-reduce works across the ranks.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
make_work_dir launch_mpirun
out=$work
cat >"$out/child.py" <<'PY'
import os, sys
env = os.environ
for name, ompi in (("RANK", "OMPI_COMM_WORLD_RANK"), ("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE"),
                   ("LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"), ("LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE")):
    if env.get(name) != env.get(ompi):
        print(f"FAIL {name}={env.get(name)} but {ompi}={env.get(ompi)}", flush=True)
        sys.exit(1)
import torch, torch.distributed as dist
dist.init_process_group("gloo", init_method="env://")
t = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
line = f"OK rank={env['RANK']} world={env['WORLD_SIZE']} master={env['MASTER_ADDR']}:{env['MASTER_PORT']} allreduce={t.item():g}"
print(line, flush=True)
# mpirun may interleave the ranks' stdout: each rank also leaves its line in a file.
with open(os.path.join(os.path.dirname(sys.argv[0]), f"ok.{env['RANK']}"), "w") as f:
    f.write(line + "\n")
PY
rc=0
# Without Slurm variables, so mpirun starts its ranks locally rather than through srun.
timeout 300 env -u SLURM_JOB_ID -u SLURM_JOBID -u SLURM_NODELIST -u SLURM_JOB_NODELIST \
    mpirun --allow-run-as-root --oversubscribe -np 2 hpsweep-launch -- /usr/bin/python3 "$out/child.py" \
    >"$out/stdout" 2>"$out/stderr" || rc=$?
cat "$out/stdout"
[ "$rc" -eq 0 ] || { cat "$out/stderr" >&2; fail "mpirun exited with $rc"; }
for r in 0 1; do
    grep -q "^OK rank=$r world=2 master=127.0.0.1:[0-9]* allreduce=3$" "$out/ok.$r" 2>/dev/null \
        || { cat "$out/stderr" >&2; fail "no OK line from rank $r"; }
done
[ "$(cat "$out"/ok.* | sed -n 's/.* master=\([^ ]*\) .*/\1/p' | sort -u | wc -l)" -eq 1 ] \
    || fail "ranks disagree on the master"
echo "PASS"

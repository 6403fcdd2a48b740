#!/usr/bin/python3
"""Child program for the launcher's integration tests, run as
`srun ... hpsweep-launch -- /usr/bin/python3 launch_ddp_check.py EXPECTED_WORLD_SIZE`.

Checks what hpsweep-launch promised this rank, then does a real gloo all-reduce:
  - RANK / LOCAL_RANK / WORLD_SIZE / LOCAL_WORLD_SIZE / NODE_RANK agree with Slurm's view
    (SLURM_PROCID, SLURM_LOCALID, SLURM_STEP_NUM_TASKS, SLURM_NODEID);
  - the real CPU affinity (/proc/self/status Cpus_allowed_list) equals the plan
    (HPSWEEP_CPUS) and lies inside what Slurm gave the step on this node;
  - all_reduce(rank + 1) == WORLD_SIZE * (WORLD_SIZE + 1) / 2 on every rank.
Prints one "OK ..." line and exits 0, or prints "FAIL ..." lines and exits 1.
"""
import os
import sys


def cpu_list(text):
    cpus = set()
    for part in text.strip().split(","):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-")
            cpus.update(range(int(lo), int(hi) + 1))
        else:
            cpus.add(int(part))
    return cpus


def slurm_step_cpus():
    """Union of Slurm's per-task masks on this node (task/affinity)."""
    masks = os.environ.get("SLURM_CPU_BIND_LIST", "")
    cpus = set()
    for mask in filter(None, masks.split(",")):
        value = int(mask, 16)
        cpus.update(i for i in range(value.bit_length()) if value >> i & 1)
    return cpus


def main():
    expected_world = int(sys.argv[1])
    env = os.environ
    failures = []

    def expect(name, actual, wanted):
        if str(actual) != str(wanted):
            failures.append(f"{name}={actual}, expected {wanted}")

    expect("WORLD_SIZE", env.get("WORLD_SIZE"), expected_world)
    expect("WORLD_SIZE", env.get("WORLD_SIZE"), env.get("SLURM_STEP_NUM_TASKS"))
    expect("RANK", env.get("RANK"), env.get("SLURM_PROCID"))
    expect("LOCAL_RANK", env.get("LOCAL_RANK"), env.get("SLURM_LOCALID"))
    expect("NODE_RANK", env.get("NODE_RANK"), env.get("SLURM_NODEID"))
    for name in ("MASTER_ADDR", "MASTER_PORT", "HPSWEEP_CPUS"):
        if not env.get(name):
            failures.append(f"{name} is not set")

    with open("/proc/self/status") as f:
        allowed = next(line.split(":", 1)[1] for line in f if line.startswith("Cpus_allowed_list"))
    real = cpu_list(allowed)
    planned = cpu_list(env.get("HPSWEEP_CPUS", ""))
    if real != planned:
        failures.append(f"affinity {sorted(real)} != plan HPSWEEP_CPUS {sorted(planned)}")
    step = slurm_step_cpus()
    if step and not real <= step:
        failures.append(f"affinity {sorted(real)} outside the step's CPUs {sorted(step)}")

    if failures:
        for f in failures:
            print(f"FAIL rank={env.get('RANK')}: {f}", flush=True)
        return 1

    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method="env://")
    rank = dist.get_rank()
    world = dist.get_world_size()
    value = torch.tensor([float(rank + 1)])
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    wanted = world * (world + 1) / 2
    dist.destroy_process_group()
    if value.item() != wanted or world != expected_world:
        print(f"FAIL rank={rank}: all_reduce gave {value.item()}, expected {wanted}", flush=True)
        return 1
    print(f"OK rank={rank} local_rank={env['LOCAL_RANK']} node_rank={env['NODE_RANK']} "
          f"world={world} cpus={env['HPSWEEP_CPUS']} master={env['MASTER_ADDR']}:{env['MASTER_PORT']} "
          f"allreduce={value.item():g}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Launcher overhead: time from starting the launcher to the child's first instruction,
hpsweep-launch vs `python3 -m torch.distributed.run` (torchrun), same machine, same run.

The child is /usr/bin/date +%s%N (it prints the wall clock as it starts, so both launchers
pay the same exec cost for it). Prints medians and the ratio hpsweep/torchrun (goal <= 1/50).

usage: /usr/bin/python3 bench/launch_overhead.py [BUILD_DIR] [--runs N] [--torchrun-runs M]
BUILD_DIR defaults to $HPSWEEP_BUILD_DIR, then ./build. Not a test: nothing is asserted.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = ["/usr/bin/date", "+%s%N"]


def start_to_exec_ms(argv, env):
    start = time.time_ns()
    out = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
    # torchrun prefixes tee'd lines with "[default0]:"; the clock is the last number.
    child_ns = int(re.findall(r"\d{15,}", out.decode())[-1])
    return (child_ns - start) / 1e6


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir", nargs="?", default=os.environ.get("HPSWEEP_BUILD_DIR", "build"))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--torchrun-runs", type=int, default=5)
    args = parser.parse_args()
    launcher = os.path.join(args.build_dir, "bin", "hpsweep-launch")
    if not os.access(launcher, os.X_OK):
        sys.exit(f"launch_overhead: no {launcher}; build the hpsweep-launch target first")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OMPI_"))}
    cache = tempfile.mkdtemp(prefix="hpsweep-bench-topocache-")
    env["HPSWEEP_TOPOLOGY_CACHE"] = cache
    try:
        # Cold: the topology cache is empty before every run (full hwloc discovery with I/O).
        cold = []
        for _ in range(max(3, args.runs // 3)):
            shutil.rmtree(cache)
            os.mkdir(cache)
            cold.append(start_to_exec_ms([launcher, "--", *CHILD], env))
        warm = [start_to_exec_ms([launcher, "--", *CHILD], env) for _ in range(args.runs)]
        none = [start_to_exec_ms([launcher, "--policy", "none", "--", *CHILD], env) for _ in range(args.runs)]
        direct = [start_to_exec_ms(CHILD, env) for _ in range(args.runs)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    # torch 1.13 on Python 3.11 cannot parse the default --redirects/--tee "0" (IntFlag NONE
    # is not iterable there), so tee stdout: the child's clock reading is unaffected.
    torchrun = []
    logs = tempfile.mkdtemp(prefix="hpsweep-bench-torchrun-")
    try:
        for _ in range(args.torchrun_runs):
            torchrun.append(start_to_exec_ms(
                ["/usr/bin/python3", "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=1",
                 f"--master_port={free_port()}", "--redirects=1", "--tee=1", f"--log_dir={logs}",
                 "--no_python", *CHILD], env))
    finally:
        shutil.rmtree(logs, ignore_errors=True)

    rows = [
        ("child exec'd directly (baseline)", direct),
        ("hpsweep-launch, topology cache cold", cold),
        ("hpsweep-launch, topology cache warm", warm),
        ("hpsweep-launch --policy none", none),
        ("torch.distributed.run", torchrun),
    ]
    print(f"{'start -> child exec':40s} {'median ms':>10s} {'min ms':>8s} {'runs':>5s}")
    for name, values in rows:
        print(f"{name:40s} {statistics.median(values):10.2f} {min(values):8.2f} {len(values):5d}")
    t = statistics.median(torchrun)
    w = statistics.median(warm)
    c = statistics.median(cold)
    print(f"ratio hpsweep-launch (warm) / torchrun = {w / t:.4f} (1/{t / w:.0f}; goal <= 1/50)")
    print(f"ratio hpsweep-launch (cold) / torchrun = {c / t:.4f} (1/{t / c:.0f})")
    print(f"topology cache saves {c - w:.2f} ms per task start")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Container start overhead per trial: time from starting hpsweep-launch to the child's first
instruction, bare against inside a container image, cold (the image not yet unpacked in the
node's cache) and warm (unpacked by an earlier trial). Then 20 trials started at once on a
fresh cache, as a 20-task array puts them on one node: how many of them unpacked the image.

The child is /usr/bin/date +%s%N (it prints the wall clock as it starts; the image has it
too). Prints medians, the warm/bare ratio and the goal (warm <= 1.2 x bare + 200 ms).

usage: /usr/bin/python3 bench/container_start.py [BUILD_DIR] [--image DIR] [--runs N]
BUILD_DIR defaults to $HPSWEEP_BUILD_DIR, then ./build; the image to
scripts/build-test-image.sh --print (the Charliecloud test image). Runs as the calling user:
as root a cold unpack hard-links the image, as another user it copies it.
Not a test: nothing is asserted.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = ["/usr/bin/date", "+%s%N"]


def start_to_exec_ms(argv, env):
    start = time.time_ns()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if done.returncode != 0:
        sys.exit(f"container_start: {' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    child_ns = int(re.findall(r"\d{15,}", done.stdout.decode())[-1])
    return (child_ns - start) / 1e6, done.stderr.decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir", nargs="?", default=os.environ.get("HPSWEEP_BUILD_DIR", "build"))
    parser.add_argument("--image")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--array", type=int, default=20)
    args = parser.parse_args()
    launcher = os.path.join(args.build_dir, "bin", "hpsweep-launch")
    if not os.access(launcher, os.X_OK):
        sys.exit(f"container_start: no {launcher}; build the hpsweep-launch target first")
    image = args.image
    if not image:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                              "build-test-image.sh")
        found = subprocess.run([script, "--print"], stdout=subprocess.PIPE, text=True)
        if found.returncode != 0:
            sys.exit("container_start: no test image; run scripts/build-test-image.sh or pass --image")
        image = found.stdout.strip()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OMPI_", "HPSWEEP_"))}
    env.setdefault("USER", "root" if os.getuid() == 0 else str(os.getuid()))
    work = tempfile.mkdtemp(prefix="hpsweep-bench-container-", dir="/var/tmp")
    env["HPSWEEP_TOPOLOGY_CACHE"] = work
    bare = [launcher, "--policy", "none", "--"] + CHILD
    contained = [launcher, "--policy", "none", "--container", image, "--"] + CHILD
    try:
        start_to_exec_ms(bare, env)  # topology cache, page cache
        bare_ms = [start_to_exec_ms(bare, env)[0] for _ in range(args.runs)]
        cold_ms = []
        for i in range(args.cold_runs):
            env["HPSWEEP_CONTAINER_CACHE_DIR"] = os.path.join(work, f"cold-{i}")
            cold_ms.append(start_to_exec_ms(contained, env)[0])
        env["HPSWEEP_CONTAINER_CACHE_DIR"] = os.path.join(work, "cold-0")
        warm_ms = [start_to_exec_ms(contained, env)[0] for _ in range(args.runs)]

        env["HPSWEEP_CONTAINER_CACHE_DIR"] = os.path.join(work, "array")
        t0 = time.monotonic()
        procs = [subprocess.Popen(contained, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(args.array)]
        outputs = [p.communicate() for p in procs]
        array_s = time.monotonic() - t0
        failed = [p.returncode for p in procs if p.returncode != 0]
        unpacks = sum(err.decode().count("hpsweep-launch: unpacked image") for _, err in outputs)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    bare_med, cold_med, warm_med = (statistics.median(x) for x in (bare_ms, cold_ms, warm_ms))
    goal = 1.2 * bare_med + 200
    print(f"image: {image}")
    print(f"bare       median {bare_med:8.1f} ms  ({args.runs} runs)")
    print(f"cold       median {cold_med:8.1f} ms  ({args.cold_runs} runs, each on an empty cache)")
    print(f"warm       median {warm_med:8.1f} ms  ({args.runs} runs)")
    print(f"warm/bare  {warm_med / bare_med:.2f}x, warm - bare {warm_med - bare_med:.1f} ms; "
          f"goal warm <= 1.2 x bare + 200 ms = {goal:.1f} ms: {'met' if warm_med <= goal else 'NOT met'}")
    print(f"array      {args.array} trials at once on a fresh cache: {unpacks} unpack(s), "
          f"{len(failed)} failed, {array_s:.1f} s in all; goal 1 unpack: "
          f"{'met' if unpacks == 1 and not failed else 'NOT met'}")


if __name__ == "__main__":
    main()

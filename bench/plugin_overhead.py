#!/usr/bin/python3
"""Plugin cost per job step on the local cluster: `srun true` in one allocation with no
SPANK plugin, with hpsweep.so loaded but unused, and with --gpu-affinity=closest.

The kinds (KINDS below) are interleaved step by step (the plugstack drop-in is rewritten before
each step: srun and slurmstepd read plugstack.conf afresh), so machine load drifts hit
all of them alike. Prints the median wall time of each kind, the ratios against no plugin
and the added milliseconds per step, then what the plugin said about its topology load in
one --gpu-affinity=verbose step (cache hit or live discovery, and its milliseconds: the part
of the added cost that is hwloc). The plugin's cache_dir is a root-owned directory of the
bench's own, so the first step fills the topology cache and the others read it. Not a
test: nothing is asserted.

usage: eval "$(hpsweep cluster env)"
       /usr/bin/python3 bench/plugin_overhead.py [BUILD_DIR] [--steps N]
BUILD_DIR defaults to $HPSWEEP_BUILD_DIR, then ./build. Needs root (writes the cluster's
plugstack.conf.d) and a cluster with GPUs (`hpsweep cluster up`).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

KINDS = ("no plugin", "plugin unused", "--gpu-affinity=closest", "closest, live hwloc")
# "closest, live hwloc" is the plugin with a cache_dir its topology cache refuses (writable by
# everybody, no sticky bit): every step discovers the topology live, as before the cache.


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kwargs).stdout


def write_dropin(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir", nargs="?", default=os.environ.get("HPSWEEP_BUILD_DIR", "build"))
    parser.add_argument("--steps", type=int, default=30, help="steps of each kind (default 30)")
    args = parser.parse_args()
    cluster_dir = os.environ.get("HPSWEEP_CLUSTER_DIR")
    if not cluster_dir or not os.environ.get("SLURM_CONF"):
        sys.exit('plugin_overhead: run eval "$(hpsweep cluster env)" first')
    built_so = os.path.join(args.build_dir, "lib", "hpsweep.so")
    if not os.path.isfile(built_so):
        sys.exit(f"plugin_overhead: no {built_so}; build the hpsweep_spank target first")

    dropin_dir = os.path.join(cluster_dir, "plugstack.conf.d")
    dropin = os.path.join(dropin_dir, "hpsweep.conf")
    if os.path.exists(dropin):
        sys.exit(f"plugin_overhead: {dropin} exists (another test or bench uses the cluster)")
    os.makedirs(dropin_dir, exist_ok=True)
    # A copy with its own inode, as the integration tests install it (slurmd may map it).
    plugin_dir = tempfile.mkdtemp(prefix="hpsweep-bench-plugin-", dir="/var/tmp")
    os.chmod(plugin_dir, 0o755)
    so = os.path.join(plugin_dir, "hpsweep.so")
    shutil.copyfile(built_so, so)
    os.chmod(so, 0o755)
    cache_dir = os.path.join(plugin_dir, "cache")
    os.mkdir(cache_dir, 0o755)
    plugin_line = f"required {so} config=none cache_dir={cache_dir}\n"
    refused_dir = os.path.join(plugin_dir, "refused")
    os.mkdir(refused_dir)
    os.chmod(refused_dir, 0o777)
    live_line = f"required {so} config=none cache_dir={refused_dir}\n"

    job = run(["sbatch", "--parsable", "-J", "hpsweep-bench-plugin", "-N1", "-n1",
               "--gres=gpu:1", "-o", "/dev/null", "--wrap", "exec sleep 3600"]).strip()
    times = {kind: [] for kind in KINDS}
    try:
        for _ in range(600):
            if run(["squeue", "-h", "-j", job, "-o", "%T"]).strip() == "RUNNING":
                break
            time.sleep(0.2)
        else:
            sys.exit(f"plugin_overhead: allocation {job} did not start")
        step = ["srun", f"--jobid={job}", "--overlap", "-n1", "--gres=gpu:1"]
        for i in range(args.steps + 1):
            for kind in KINDS:
                if kind == "no plugin":
                    if os.path.exists(dropin):
                        os.unlink(dropin)
                else:
                    write_dropin(dropin, live_line if kind == KINDS[3] else plugin_line)
                closest = kind in (KINDS[2], KINDS[3])
                argv = step + (["--gpu-affinity=closest"] if closest else []) + ["true"]
                start = time.perf_counter()
                run(argv)
                elapsed = (time.perf_counter() - start) * 1000
                if i > 0:  # the first round warms caches (plugin file, page cache, topology)
                    times[kind].append(elapsed)
        topology_notes = []
        for line in (plugin_line, live_line):
            write_dropin(dropin, line)
            verbose = subprocess.run(step + ["--gpu-affinity=verbose", "true"], check=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            topology_notes += [text for text in verbose.stderr.splitlines()
                               if "note: topology" in text]
    finally:
        if os.path.exists(dropin):
            os.unlink(dropin)
        subprocess.run(["scancel", job], check=False)
        shutil.rmtree(plugin_dir, ignore_errors=True)

    base = statistics.median(times["no plugin"])
    print(f"plugin_overhead: {args.steps} steps of each kind, interleaved, `srun true` in job {job}")
    print(f"{'kind':<26} {'median ms':>10} {'ratio':>7} {'added ms':>9}")
    for kind in KINDS:
        median = statistics.median(times[kind])
        print(f"{kind:<26} {median:>10.1f} {median / base:>7.3f} {median - base:>9.1f}")
    for line in topology_notes or ["(the plugin printed no topology note)"]:
        print(f"verbose step: {line.strip()}")


if __name__ == "__main__":
    main()

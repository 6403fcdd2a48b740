#!/usr/bin/env bash
# README command 1, the main job: from a fresh Debian 12 machine, as root, install and
# build hpsweep, start a real local Slurm cluster (3 namespaced nodes x 4 fake GPUs,
# slurmctld + slurmd + slurmdbd + munged), and run a real sweep of a PyTorch training on
# scikit-learn's digits as a Slurm job array; then show the results and Slurm's own record.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build_dir=${HPSWEEP_BUILD_DIR:-build}

echo "==> installing dependencies (Debian packages)"
bash scripts/install-deps.sh

echo "==> building hpsweep in $build_dir"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >"$build_dir.configure.log" 2>&1 \
    || { cat "$build_dir.configure.log"; exit 1; }
cmake --build "$build_dir" -j "$(nproc)" >"$build_dir.build.log" 2>&1 \
    || { tail -50 "$build_dir.build.log"; exit 1; }

echo "==> starting the local Slurm cluster"
# Confined as university clusters are: proctrack/cgroup + task/cgroup, each job sees only its
# own cores, memory and GPU devices (docs/local-cluster.md).
"$build_dir/bin/hpsweep" cluster up --cgroups
eval "$("$build_dir/bin/hpsweep" cluster env)"
sinfo

echo "==> a session on 2 compute nodes (hpsweep session): every rank gets the DDP environment"
hpsweep session --nodes 2 --time 5 -- bash -c \
    'echo "rank $RANK of $WORLD_SIZE on $(hostname), rendezvous at $MASTER_ADDR:$MASTER_PORT"'

export HPSWEEP_HOME=${HPSWEEP_HOME:-$repo/hpsweep-runs}
mkdir -p "$HPSWEEP_HOME"
name="digits-demo"  # hpsweep run appends the submit time: digits-demo-YYYYmmdd-HHMMSS

echo "==> sweeping learning rate x hidden width: 6 trials, one job array, 1 GPU each"
set -x
hpsweep run --name "$name" --gpus 1 --max-concurrent 6 --wait \
    examples/digits/train.py --lr "[0.01, 0.05, 0.2]" --hidden "[32, 128]" --epochs 8
set +x

experiment=$(ls -d "$HPSWEEP_HOME/$name"-* | tail -n 1)

echo "==> results (best trial marked)"
hpsweep results "$experiment" --metric val_acc --sort val_acc

echo "==> Slurm's accounting of the array tasks"
array_jobs=$(hpsweep status "$experiment" --json | /usr/bin/python3 -c \
    'import json,sys; print(",".join(str(a["job_id"]) for a in json.load(sys.stdin)["arrays"]))')
sacct -j "$array_jobs" -X --format=JobID,JobName%20,NodeList,State,ExitCode,Elapsed

echo "==> adaptive search (ASHA, examples/digits/asha.yaml): weak trials stop early"
HPSWEEP_STOP_GRACE_SECONDS=5 hpsweep submit examples/digits/asha.yaml --wait
asha=$(ls -d "$HPSWEEP_HOME"/digits-asha-[0-9]* | tail -n 1)
hpsweep results "$asha"

echo "==> ASHA's promotion form (stop_once: false, examples/digits/asha-promotion.yaml): weak"
echo "    trials pause; a promoted one resumes from its checkpoint in its promoter's Slurm task"
HPSWEEP_STOP_GRACE_SECONDS=5 hpsweep submit examples/digits/asha-promotion.yaml --wait
promotion=$(ls -d "$HPSWEEP_HOME"/digits-asha-promotion-* | tail -n 1)
hpsweep status "$promotion"
grep -h "resumes promoted trial" "$promotion"/slurm/*.out || true

echo "==> one self-contained HTML report (learning curves, parallel coordinates, table)"
hpsweep report "$experiment" -o "$experiment/report.html"

echo
echo "Experiments: $experiment, $asha and $promotion"
echo "Metrics: <experiment>/trials/<id>/metrics.h5 (h5py), summary.h5; report: $experiment/report.html"
echo "The cluster is still up: 'eval \"\$($build_dir/bin/hpsweep cluster env)\"' to use it,"
echo "'$build_dir/bin/hpsweep cluster down' to stop it."

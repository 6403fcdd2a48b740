#!/usr/bin/env bash
# Scenario (cluster up --cgroups), devices, cores and memory confined: a 2-GPU job that Slurm gives physical GPUs 2,3 can open
# /dev/nvidia2 and /dev/nvidia3 and no other of the node's four, sees them renumbered as
# CUDA_VISIBLE_DEVICES=0,1, and hpsweep-launch maps rank 0 to physical GPU 2 and rank 1 to
# physical GPU 3 on cores inside the job's cpuset. GPUs 0,1 are held by a first job, so
# the renumbering cannot pass by accident (physical 0,1 read the same as renumbered 0,1).
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

config="$(scontrol show config)"
if ! grep -Eq '^ProctrackType +=.*proctrack/cgroup' <<<"$config" ||
    ! grep -Eq '^TaskPlugin +=.*task/cgroup' <<<"$config"; then
    echo "SKIP: the local cluster is not confined by cgroups (hpsweep cluster up --cgroups)"
    exit 77
fi

node=n2
work="$(mktemp -d /var/tmp/hpsweep-cgroup-test.XXXXXX)"
holder=""
cleanup() {
    [[ -z "$holder" ]] || scancel "$holder" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"

holder="$(sbatch --parsable -J hpsweep-cgroup-holder -w "$node" -n1 --gres=gpu:2 \
    -o /dev/null --wrap 'exec sleep 600')"
for _ in $(seq 1 60); do
    [[ "$(squeue -h -j "$holder" -o %T)" == RUNNING ]] && break
    sleep 1
done
[[ "$(squeue -h -j "$holder" -o %T)" == RUNNING ]] || fail "holder job $holder did not start"

# What Slurm itself gives the step: physical GPUs 2,3, renumbered 0,1 for CUDA.
step_view="$(timeout 120 srun -w "$node" -N1 -n1 --gres=gpu:2 bash -c \
    'echo "$SLURM_STEP_GPUS $CUDA_VISIBLE_DEVICES"')" || fail "srun exited $?"
[[ "$step_view" == "2,3 0,1" ]] ||
    fail "expected SLURM_STEP_GPUS=2,3 CUDA_VISIBLE_DEVICES=0,1, got '$step_view'"

# One CPU is left on the node, so both ranks share it (--overcommit).
cat >"$work/rank.sh" <<'SCRIPT'
#!/bin/bash
opened=""
for i in 0 1 2 3; do
    if (exec 3</dev/nvidia$i) 2>/dev/null; then opened+="$i,"; fi
done
cgroup_cpus="$(cat "/sys/fs/cgroup/cpuset$(awk -F: '$2 == "cpuset" {print $3}' /proc/self/cgroup)/cpuset.cpus")"
echo "rank=$RANK step_gpus=$SLURM_STEP_GPUS cvd=$CUDA_VISIBLE_DEVICES hpsweep_gpus=$HPSWEEP_GPUS" \
    "opened=${opened%,} affinity=$(taskset -cp $$ | sed 's/.*: //') cgroup_cpus=$cgroup_cpus"
SCRIPT
chmod 755 "$work/rank.sh"
rc=0
timeout 300 srun -w "$node" -N1 -n2 --overcommit --gres=gpu:2 \
    hpsweep-launch --policy verbose --gpu-isolation -- "$work/rank.sh" \
    >"$work/out" 2>"$work/err" || rc=$?
out="$(cat "$work/out")"
err="$(cat "$work/err")"
((rc == 0)) || fail "srun exited $rc; stdout: $out; stderr: $err"
echo "$out"

for rank in 0 1; do
    line="$(grep "^rank=$rank " <<<"$out")" || fail "no output from rank $rank: $out"
    physical=$((2 + rank))
    # Slurm gave the step physical GPUs 2,3; the devices cgroup lets both ranks (one step)
    # open exactly those two.
    [[ "$line" == *" step_gpus=2,3 "* ]] || fail "rank $rank: expected SLURM_STEP_GPUS=2,3: $line"
    [[ "$line" == *" opened=2,3 "* ]] || fail "rank $rank: expected to open exactly nvidia2,3: $line"
    # --gpu-isolation: the rank sees only its GPU, by its renumbered CUDA index.
    [[ "$line" == *" cvd=$rank "* ]] ||
        fail "rank $rank: expected CUDA_VISIBLE_DEVICES=$rank (physical $physical renumbered): $line"
    grep -q "local rank $rank (rank $rank): GPU $physical " <<<"$err" ||
        fail "hpsweep-launch did not map rank $rank to physical GPU $physical: $err"
    # The rank is bound inside the job's cpuset (ConstrainCores).
    affinity="$(sed 's/.* affinity=\([^ ]*\) .*/\1/' <<<"$line")"
    cgroup_cpus="$(sed 's/.* cgroup_cpus=\([^ ]*\)$/\1/' <<<"$line")"
    [[ -n "$cgroup_cpus" && "$affinity" == "$cgroup_cpus" ]] ||
        fail "rank $rank: affinity $affinity is not the job's cpuset $cgroup_cpus: $line"
done
# The holder's job kept its own two GPUs: it could open 0,1 and not 2,3.
holder_view="$(srun --jobid="$holder" --overlap -n1 bash -c \
    'o=""; for i in 0 1 2 3; do (exec 3</dev/nvidia$i) 2>/dev/null && o+="$i,"; done; echo "${o%,} $CUDA_VISIBLE_DEVICES"')"
[[ "$holder_view" == "0,1 0,1" ]] || fail "holder job: expected to open 0,1 with CVD 0,1, got '$holder_view'"
echo "PASS: 2-GPU job opens exactly nvidia2,3 (of 4), CUDA_VISIBLE_DEVICES renumbered, ranks on physical GPUs 2,3"

# ConstrainRAMSpace: a job given 200 MB cannot hold 400 MB.
rc=0
oom="$(timeout 120 srun -N1 --mem=200M /usr/bin/python3 -c \
    'b = bytearray(400 * 1024 * 1024); b[::4096] = b"x" * len(b[::4096]); print("held 400 MB")' 2>&1)" || rc=$?
if ((rc == 0)) || [[ "$oom" != *"Out Of Memory"* && "$oom" != *oom-kill* ]]; then
    fail "a --mem=200M job held 400 MB (rc $rc): $oom"
fi
echo "PASS: a --mem=200M job is OOM-killed at 400 MB"

#!/usr/bin/env bash
# Scenario: fake GPUs are real gres: `srun -N2 --gres=gpu:2` gets CUDA_VISIBLE_DEVICES=0,1
# on each of two different nodes, and the device files exist there.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

out="$(env -u CUDA_VISIBLE_DEVICES timeout 600 srun -N2 --ntasks-per-node=1 --gres=gpu:2 \
    sh -c 'echo "$(hostname) CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-unset} $(ls /dev/nvidia0 /dev/nvidia1 | tr "\n" " ")"')" ||
    fail "srun -N2 --gres=gpu:2 exited $?"
echo "$out"
[[ "$(wc -l <<<"$out")" -eq 2 ]] || fail "expected 2 lines, got: $out"
[[ "$(awk '{print $1}' <<<"$out" | sort -u | wc -l)" -eq 2 ]] || fail "expected 2 different nodes: $out"
while read -r host visible devices; do
    [[ "$visible" == "CUDA_VISIBLE_DEVICES=0,1" ]] || fail "$host: $visible (expected 0,1)"
    [[ "$devices" == "/dev/nvidia0 /dev/nvidia1 " || "$devices" == "/dev/nvidia0 /dev/nvidia1" ]] ||
        fail "$host: device files missing: $devices"
done <<<"$out"

# A job that asks for no GPU must not see any.
none="$(env -u CUDA_VISIBLE_DEVICES timeout 600 srun -N1 sh -c 'echo "${CUDA_VISIBLE_DEVICES-unset}"')" || fail "srun without gres exited $?"
[[ "$none" == unset ]] || fail "a job without --gres sees GPUs: CUDA_VISIBLE_DEVICES=$none"
echo "PASS: CUDA_VISIBLE_DEVICES=0,1 on two nodes"

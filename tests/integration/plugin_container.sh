#!/usr/bin/env bash
# The plugin's --hpsweep-container for plain sbatch scripts: root only hands the image's name
# to the job (HPSWEEP_CONTAINER_IMAGE, a relative name made absolute against the submit
# directory) and every `srun hpsweep-launch -- CMD` step runs CMD in the Charliecloud test
# image, as the user. A bad value is refused by sbatch with the value and the rule named.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/plugin_lib.bash"
source "$HPSWEEP_SOURCE_DIR/tests/integration/container_lib.bash"
container_image

plugin_enable "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/cache"
cd "$plugin_work_dir"
ln -s "$image" test-image  # a relative, directory image: the form the user typed

cat >container.sbatch <<'SCRIPT'
#!/bin/bash
#SBATCH --ntasks=1
echo "batch image=$HPSWEEP_CONTAINER_IMAGE"
srun hpsweep-launch -- /bin/sh -c \
    'echo "step rank=$RANK in=${CH_RUNNING:+charliecloud} image=${HPSWEEP_CONTAINER_IMAGE:-unset} $(. /etc/os-release; echo "$ID")"'
SCRIPT

job="$(sbatch --parsable -J hpsweep-plugin-container --hpsweep-container=test-image \
    -o out.txt -e err.txt container.sbatch)"
state="$(wait_job "$job")"
[[ "$state" == "COMPLETED " ]] || fail "job $job ended $state: $(cat out.txt err.txt)"
out="$(cat out.txt)"
expect_contains "$out" "batch image=$plugin_work_dir/test-image" "the batch script's environment"
# Charliecloud sets CH_RUNNING in the container; the variable itself is consumed by
# hpsweep-launch, so a launcher started in the container would not nest another one.
expect_contains "$out" "step rank=0 in=charliecloud image=unset debian" "the step"

expect_refused_sbatch() {  # VALUE MESSAGE
    local rc=0 err
    err="$(sbatch --parsable --hpsweep-container="$1" --wrap true 2>&1)" || rc=$?
    ((rc != 0)) || fail "sbatch --hpsweep-container='$1' was accepted (job $err)"
    expect_contains "$err" "$2" "sbatch --hpsweep-container='$1'"
}
expect_refused_sbatch missing.sif "--hpsweep-container=missing.sif: $plugin_work_dir/missing.sif does not exist or is not readable"
expect_refused_sbatch '-v.sif' "an image name cannot start with '-'"
expect_refused_sbatch 'a b.sif' "character ' ' at byte 2 is not allowed"
touch plain.bin
expect_refused_sbatch plain.bin "cannot tell which container runtime runs image"
echo "PASS: --hpsweep-container runs the job's hpsweep-launch steps in the image; bad values refused by sbatch"

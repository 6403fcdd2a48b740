#!/usr/bin/env bash
# `hpsweep session --container IMAGE` on the local cluster with the Charliecloud test image:
# a command (`-- CMD`) runs in the image through hpsweep-launch, with the session's DDP
# variables; the interactive shell (a terminal from script(1)) runs in the image too; a
# missing image is refused before anything is allocated.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/container_lib.bash"
container_image
make_work_dir session_container
on_exit 'scancel -n hpsweep-session -u "$(id -un)" 2>/dev/null || true'
cd "$work"

out="$(hpsweep session --time 5 --container "$image" -- /bin/sh -c \
    'echo "rank=$RANK world=$WORLD_SIZE in=${CH_RUNNING:+charliecloud} $(. /etc/os-release; echo "$ID") session=$HPSWEEP_SESSION_ID"' 2>&1)" ||
    fail "session --container -- CMD exited $?: $out"
expect_contains "$out" "rank=0 world=1 in=charliecloud debian session=" "the command's output"

# The interactive form: script(1) gives the session a terminal; the shell reads its input.
out="$(printf 'echo "shell in=${CH_RUNNING:+charliecloud} $(. /etc/os-release; echo "$ID")"\nexit\n' |
    SHELL=/bin/sh timeout 120 script -qec "hpsweep session --time 5 --container '$image'" /dev/null 2>&1)" ||
    fail "interactive session --container exited $?: $out"
expect_contains "$out" "shell in=charliecloud debian" "the interactive shell's output"
hpsweep session end >/dev/null 2>&1 || true

rc=0
out="$(hpsweep session --container "$work/no-such.sif" -- true 2>&1)" || rc=$?
((rc == 3)) || fail "session with a missing image exited $rc: $out"
expect_contains "$out" "container image $work/no-such.sif does not exist" "the refusal"
[[ -z "$(squeue -h -n hpsweep-session -u "$(id -un)")" ]] || fail "a refused session left an allocation"
echo "PASS: session --container runs the command and the shell in the image"

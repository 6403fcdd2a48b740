#!/usr/bin/env bash
# Two-user security of --hpsweep-container (docs/security.md, "Container images"). Root (the
# plugin in slurmstepd) only checks the image's name against a strict grammar and hands it
# to the job; hpsweep-launch opens the image with the job user's rights. So user B cannot
# make anything read A's or root's files through the image path or a link, a FIFO or a huge
# file named as the image cannot hang or slow root, and odd names are refused with the value
# named, where they are typed (sbatch) and again in slurmstepd (the job-environment form
# srun forwards unchecked, and the built plugin driven in-process by tests/spank_host).
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup container

host="$HPSWEEP_BUILD_DIR/tests/bin/hpsweep-spank-host"
[[ -x "$host" ]] || hardening_fail "$host is not built (target hpsweep_spank_host)"
gid_b="$(id -g "$user_b")"
images_name="sec-images-$$"
security_cleanup_extra='rm -rf "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$images_name" "$HPSWEEP_CLUSTER_DIR"/nodes/*/"sec-cache-$$"'
enable_plugin "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/sec-cache-$$"
# Each user's unpacked images go to a node-local directory of this test, world-writable and
# sticky like /var/tmp (hpsweep-launch makes each user's own 0700 directory in it).
for node_dir in "$HPSWEEP_CLUSTER_DIR"/nodes/*/; do
    mkdir -p "$node_dir$images_name" && chmod 1777 "$node_dir$images_name"
done
export EXTRA_ENV="HPSWEEP_CONTAINER_CACHE_DIR=$HPSWEEP_NODE_LOCAL_DIR/$images_name"
bound_seconds=20

# A's private image (a directory only A may traverse), root's image (0600), B's links to them.
mkdir -p "$work/home-a/private"
tar -C /etc -czf "$work/home-a/private/secret.tar.gz" hostname
chown -R "$user_a:" "$work/home-a/private" && chmod 0700 "$work/home-a/private"
tar -C /etc -czf "$work/root-only.tar.gz" hostname && chmod 0600 "$work/root-only.tar.gz"
as_b ln -s "$work/home-a/private/secret.tar.gz" "$work/home-b/a-link.tar.gz"
as_b ln -s "$work/root-only.tar.gz" "$work/home-b/root-link.tar.gz"

scenario "--hpsweep-container: B cannot have A's or root's image read, by path or link"
for image in "$work/home-a/private/secret.tar.gz" "$work/root-only.tar.gz" a-link.tar.gz root-link.tar.gz; do
    expect_refused "B's sbatch --hpsweep-container=$image" \
        as_b sbatch --parsable -w n1 --hpsweep-container="$image" --wrap true
    grep -qF "does not exist or is not readable" <<<"$refused_output" ||
        hardening_fail "B's sbatch --hpsweep-container=$image: $refused_output"
    # Past the submit check: the option in the step's environment, which srun passes on
    # unchecked. Root hands the name on; hpsweep-launch, as B, cannot read the image.
    run_job "$user_b" "bypass" "" \
        "_SLURM_SPANK_OPTION_hpsweep_hpsweep_container='$image' srun -n1 hpsweep-launch -- echo the step ran; exit \$?"
    grep -q "the step ran" "$job_out" && hardening_fail "B's step in image $image ran"
    [[ "$job_state" != "COMPLETED " ]] || hardening_fail "B's job in image $image COMPLETED"
    grep -Eq "hpsweep-launch: error: (container image .* does not exist|unpacking image .* Permission denied)" "$job_err" ||
        hardening_fail "B's job in image $image failed without saying why: $(cat "$job_out" "$job_err" | tr '\n' ' ')"
done
# Nothing of A's or root's reached B's image cache.
if grep -rqs "$(cat /etc/hostname)" "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$images_name"; then
    hardening_fail "the content of A's or root's image is in B's image cache"
fi
hardening_pass "A's private image and root's 0600 image, by path and through B's links: sbatch refused (not readable); the job-environment form: root passed the name on, hpsweep-launch as B failed the step (not run, error on stderr); nothing unpacked"

scenario "--hpsweep-container: a FIFO or a huge file named as the image does not block or slow root"
as_b mkfifo "$work/home-b/pipe.tar"
as_b truncate -s 1T "$work/home-b/huge.tar"
for image in pipe.tar huge.tar; do
    start=$SECONDS
    output="$(timeout "$bound_seconds" "$host" step --uid "$uid_b" --gid "$gid_b" --groups "$gid_b" \
        --arg config=none --env "SLURM_SUBMIT_DIR=$work/home-b" --option "hpsweep-container=$image" 2>&1)" ||
        hardening_fail "slurmstepd's side with B's --hpsweep-container=$image did not end in ${bound_seconds}s or failed: $output"
    grep -qxF "env HPSWEEP_CONTAINER_IMAGE=$work/home-b/$image" <<<"$output" ||
        hardening_fail "slurmstepd's side did not hand $image on: $output"
    ((SECONDS - start < 5)) || hardening_fail "slurmstepd's side took $((SECONDS - start))s with B's $image"
done
expect_refused "B's sbatch --hpsweep-container=pipe.tar" \
    as_b timeout "$bound_seconds" sbatch --parsable -w n1 --hpsweep-container=pipe.tar --wrap true
grep -qF "is not a regular file or a directory" <<<"$refused_output" ||
    hardening_fail "B's sbatch --hpsweep-container=pipe.tar: $refused_output"
expect_refused "B's hpsweep-launch in image pipe.tar" \
    as_b timeout "$bound_seconds" env HPSWEEP_CONTAINER_IMAGE="$work/home-b/pipe.tar" hpsweep-launch -- true
grep -qF "expected an image directory or a .tar/.tar.gz/.tgz file" <<<"$refused_output" ||
    hardening_fail "B's hpsweep-launch in image pipe.tar: $refused_output"
hardening_pass "a FIFO and a 1 TiB sparse file as B's image: slurmstepd's side handed the name on in under 5 s without opening it; sbatch refused the FIFO; hpsweep-launch as B refused it without blocking"

scenario "--hpsweep-container: odd names are refused where typed and in slurmstepd, naming the value"
long_name="$(printf 'a%.0s' $(seq 1 1100)).sif"
values=('-v.sif' 'a b.sif' '$(id).sif' 'x;reboot' $'img\n.sif' "$long_name")
shown=('-v.sif' 'a b.sif' '$(id).sif' 'x;reboot' 'img\x0a.sif' "${long_name:0:80}")
for i in "${!values[@]}"; do
    expect_refused "B's sbatch --hpsweep-container='${shown[$i]}'" \
        as_b sbatch --parsable -w n1 --hpsweep-container="${values[$i]}" --wrap true
    grep -qF -- "${shown[$i]}" <<<"$refused_output" ||
        hardening_fail "sbatch refused --hpsweep-container='${shown[$i]}' without naming it: $refused_output"
    if output="$("$host" step --uid "$uid_b" --gid "$gid_b" --groups "$gid_b" --arg config=none \
        --option "hpsweep-container=${values[$i]}" 2>&1)"; then
        hardening_fail "B's step with --hpsweep-container='${shown[$i]}' started its task: $output"
    fi
    grep -q '^task refused' <<<"$output" || hardening_fail "--hpsweep-container='${shown[$i]}': $output"
    grep -v '^env \|^spank-host: ' <<<"$output" | grep -qF -- "${shown[$i]}" ||
        hardening_fail "B's step with --hpsweep-container='${shown[$i]}' failed without naming the value: $output"
    grep -q '^env HPSWEEP_CONTAINER_IMAGE=' <<<"$output" &&
        hardening_fail "B's step with --hpsweep-container='${shown[$i]}' exported it"
done
run_job "$user_b" envform "" \
    "_SLURM_SPANK_OPTION_hpsweep_hpsweep_container='a b' srun -n1 echo the step ran; exit \$?"
grep -q "the step ran" "$job_out" && hardening_fail "B's step with --hpsweep-container='a b' (job environment) ran"
cat "$job_out" "$job_err" | grep -qF "character ' ' at byte 2" ||
    hardening_fail "B's job with --hpsweep-container='a b' in its environment did not say why: $(cat "$job_out" "$job_err" | tr '\n' ' ')"
hardening_pass "'-v.sif', 'a b.sif', '\$(id).sif', 'x;reboot', a newline, 1104 bytes: sbatch refused each naming it; slurmstepd's side refused the task naming it, nothing exported; the job-environment form failed the step with the rule"
echo "PASS: security_container"

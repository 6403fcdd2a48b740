#!/usr/bin/env bash
# Bad container input: what the submit host can know is refused there (exit 3, the setting's
# file:line:col, nothing left behind); what only the node knows (the runtime is not installed
# there) fails the trial with the reason in result.json and the trial's stderr.log.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir container_bad
export HPSWEEP_HOME="$work/runs"
mkdir -p "$HPSWEEP_HOME"
cd "$work"

expect_error() {  # expect_error CODE MESSAGE-REGEX COMMAND...
    local code="$1" pattern="$2"
    shift 2
    local rc=0 err
    err="$("$@" 2>&1 >/dev/null)" || rc=$?
    [[ "$rc" -eq "$code" ]] || fail "'$*' exited $rc, expected $code (stderr: $err)"
    [[ "$err" =~ $pattern ]] || fail "'$*' said '$err', expected /$pattern/"
    [[ -z "$(ls -A "$HPSWEEP_HOME")" ]] || fail "'$*' left $(ls -A "$HPSWEEP_HOME") behind"
    echo "ok: $* -> $err"
}

mkdir image
printf 'entrypoint: /bin/true\nenvironment:\n  image: %s/nope\n' "$work" >missing.yaml
expect_error 3 "^hpsweep: error: missing.yaml:3:3: container image $work/nope does not exist" \
    hpsweep submit missing.yaml
expect_error 3 "container image /no/such.sif does not exist" \
    hpsweep run --container /no/such.sif /bin/true
printf 'entrypoint: /bin/true\ncontainer:\n  image: %s/image\n  runtime: docker\n' "$work" >unknown.yaml
expect_error 3 "^hpsweep: error: unknown.yaml:4:12: unknown container runtime 'docker' \(expected apptainer, enroot, charliecloud, podman or pyxis\)$" \
    hpsweep submit unknown.yaml
printf 'entrypoint: /bin/true\ncontainer:\n  image: %s/image\n  runtime: enroot\n' "$work" >absent.yaml
expect_error 3 "container runtime enroot: 'enroot' is not installed here" \
    hpsweep submit absent.yaml
expect_error 3 "cannot tell which container runtime runs image 'torch:latest'" \
    hpsweep run --container torch:latest /bin/true

# pyxis (runtime: pyxis, or the site's container_pyxis = yes): srun gets the image, so what
# pyxis cannot run is refused at submit, and --dry-run shows srun's options.
touch torch.sif
printf 'entrypoint: /bin/true\ncontainer:\n  image: %s/torch.sif\n  runtime: pyxis\n' "$work" >pyxis_sif.yaml
expect_error 3 "^hpsweep: error: pyxis_sif.yaml:3:3: container image $work/torch.sif cannot run with pyxis: a .sif image is Apptainer's" \
    hpsweep submit pyxis_sif.yaml
expect_error 3 "container image $work/image cannot run with pyxis: a directory is Charliecloud's" \
    env HPSWEEP_CONTAINER_PYXIS=yes hpsweep run --container "$work/image" /bin/true
plan="$(HPSWEEP_CONTAINER_PYXIS=yes hpsweep run --dry-run --container 'nvcr.io#nvidia/pytorch:24.01-py3' /bin/true)"
expect_contains "$plan" "srun '--container-image=nvcr.io#nvidia/pytorch:24.01-py3' --container-mounts=$work:$work," \
    "the dry run's batch script"
expect_contains "$plan" "--container-workdir=$work" "the dry run's batch script"
expect_contains "$plan" "hpsweep-launch --no-container --experiment" "the dry run's batch script"
[[ -z "$(ls -A "$HPSWEEP_HOME")" ]] || fail "the dry run left $(ls -A "$HPSWEEP_HOME") behind"

# The site says the nodes run images with apptainer (not installed here): submit warns and
# queues, the trial fails on the node and says why.
out="$(HPSWEEP_CONTAINER_RUNTIME=apptainer hpsweep run --name absent --wait \
    --container "$work/image" /bin/true 2>&1)" && fail "a trial without its runtime succeeded: $out"
expect_contains "$out" "warning: container runtime apptainer: 'apptainer' is not installed here" \
    "hpsweep run's output"
exp="$(ls -d "$HPSWEEP_HOME"/absent-*)"
result="$(cat "$exp/trials/0/result.json")"
expect_contains "$result" '"status": "failed"' "result.json"
expect_contains "$result" "container runtime apptainer: 'apptainer' is not installed on node" "result.json"
expect_contains "$(cat "$exp/trials/0/stderr.log")" \
    "hpsweep-launch: error: container runtime apptainer: 'apptainer' is not installed on node" \
    "the trial's stderr.log"
echo "PASS: bad container input refused at submit, or recorded by the trial"

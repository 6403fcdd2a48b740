#!/usr/bin/env bash
# Trials in Podman, for real: an adaptive_asha sweep as a Slurm job array whose trials run in a
# Podman image (rootful: this cluster's jobs run as root). Everything behaves as for bare
# trials:
#   - every trial ran in a Podman container (/run/.containerenv, which Podman creates);
#   - its CPU affinity in the container equals its plan (HPSWEEP_CPUS, via --cpuset-cpus);
#   - metrics written to HPSWEEP_METRICS_FD (kept open by --preserve-fds) and printed as
#     HPSWEEP_METRIC lines both reach metrics.h5;
#   - ASHA stops trials, and they stop: SIGTERM reaches the script through --sig-proxy and
#     --init; result.json says completed or stopped_early;
#   - a trial that exits 3 in the container is failed with exit code 3;
#   - no container is left behind (--rm), stopped trials included.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/container_lib.bash"

make_work_dir container_podman
podman_test_image
export HPSWEEP_HOME="$work/runs" HPSWEEP_STOP_GRACE_SECONDS=5
# The container runs under the job's soft limits, which Slurm propagates from here. Podman
# lowers its own process limit to 32768 before it starts the runtime; a higher one could be
# granted only by a root with CAP_SYS_RESOURCE, which CI containers lack.
ulimit -S -u 32768

cat >"$work/train.sh" <<'SH'
# x is the configuration's quality (smaller: better); x = 6 fails at once with exit 3.
x="$2"
[ -f /run/.containerenv ] && where=podman || where=bare
printf '%s|%s|%s|%s\n' "$where" "$(grep Cpus_allowed_list /proc/self/status | cut -f2)" \
    "$HPSWEEP_CPUS" "$HPSWEEP_METRICS_FD" >"$HPSWEEP_TRIAL_DIR/probe.txt"
[ "$x" = 6 ] && exit 3
for epoch in $(seq 1 "$HPSWEEP_MAX_LENGTH"); do
    loss="$(awk -v x="$x" -v e="$epoch" 'BEGIN { printf "%.4f", x / 10 + 1 / e }')"
    # busybox sh takes no variable after >&: fd 3 is HPSWEEP_METRICS_FD, checked below.
    echo "HPSWEEP_METRIC {\"step\": $epoch, \"val_loss\": $loss}" >&3
    echo "HPSWEEP_METRIC {\"step\": $epoch, \"train_loss\": $loss}"
    sleep 0.3
done
SH
cat >"$work/podman.yaml" <<YAML
name: podman-asha
entrypoint: /bin/sh train.sh
hyperparameters:
  x: {type: categorical, vals: [1, 2, 3, 4, 5, 6]}
searcher:
  name: adaptive_asha
  metric: val_loss
  smaller_is_better: true
  max_trials: 6
  max_length: {epochs: 9}
  divisor: 3
  max_rungs: 3
  mode: aggressive
  seed: 3
resources: {slots_per_trial: 0, time: "5:00", max_concurrent: 3}
environment: {image: "$podman_image"}
YAML
cd "$work"
hpsweep submit podman.yaml --wait && fail "the sweep has a trial that exits 3, yet submit --wait exited 0"
exp="$(ls -d "$HPSWEEP_HOME"/podman-asha-*)"
hpsweep results "$exp" || true

/usr/bin/python3 - "$exp" <<'PY'
import json, pathlib, sys
import h5py
exp = pathlib.Path(sys.argv[1])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
def cpus(text):
    out = set()
    for part in filter(None, text.strip().split(",")):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out
trials = {}
for trial_dir in sorted((exp / "trials").iterdir(), key=lambda p: int(p.name)):
    result = json.loads((trial_dir / "result.json").read_text())
    x = json.loads((trial_dir / "hparams.json").read_text())["x"]
    probe = (trial_dir / "probe.txt").read_text().strip().split("|") if (trial_dir / "probe.txt").exists() else None
    steps = {}
    if (trial_dir / "metrics.h5").exists():
        with h5py.File(trial_dir / "metrics.h5", "r") as f:
            for name in ("val_loss", "train_loss"):
                steps[name] = int(f[f"metrics/{name}"]["step"][-1]) if f"metrics/{name}" in f else 0
    trials[int(trial_dir.name)] = (str(x), result["status"], result.get("exit_code"), probe, steps)
    print(trial_dir.name, trials[int(trial_dir.name)])
if len(trials) != 6: fail(f"expected 6 trials, found {len(trials)}")
for tid, (x, status, code, probe, steps) in trials.items():
    if probe is None: fail(f"trial {tid} never started its script")
    where, real, planned, metrics_fd = probe
    if metrics_fd != "3": fail(f"trial {tid}: HPSWEEP_METRICS_FD is {metrics_fd!r}")
    if where != "podman": fail(f"trial {tid} did not run in a Podman container ({where})")
    if not planned or cpus(real) != cpus(planned):
        fail(f"trial {tid}: affinity {real!r} in the container, plan HPSWEEP_CPUS {planned!r}")
    if x == "6":
        if (status, code) != ("failed", 3): fail(f"trial {tid} (x=6) is {status} with exit code {code}, expected failed 3")
        continue
    if status not in ("completed", "stopped_early"): fail(f"trial {tid} is {status}")
    if steps.get("val_loss", 0) < 1 or steps.get("val_loss") != steps.get("train_loss"):
        fail(f"trial {tid}: metrics from the fd and from stdout disagree or are missing: {steps}")
    if status == "completed" and steps["val_loss"] != 9: fail(f"trial {tid} completed at step {steps}")
stopped = [t[4]["val_loss"] for t in trials.values() if t[1] == "stopped_early"]
if not stopped: fail("ASHA stopped no trial")
if "completed" not in [t[1] for t in trials.values()]: fail("no trial completed")
# A trial is stopped at rung 1 or 3 and dies of SIGTERM within about an epoch: had the
# signal not reached the script (as the container's PID 1 it would ignore it), it would
# have run to the end (9 steps).
if max(stopped) >= 9: fail(f"a stopped trial ran to the end: SIGTERM did not stop it ({stopped})")
PY

left="$(podman ps -a -q --filter "ancestor=${podman_image#podman://}")"
[[ -z "$left" ]] || fail "containers left behind: $left"
echo "PASS: an ASHA sweep in Podman ($(podman --version))"

#!/usr/bin/env bash
# The digits example's adaptive_asha experiment as Determined writes it, with
# `environment: {image: ...}`, its trials inside the Charliecloud test image: metrics reach
# the HDF5 files (through HPSWEEP_METRICS_FD across ch-run), result.json says completed or
# stopped_early, ASHA stops trials; the image is unpacked at most once per node; the
# processes really ran in the container (ch-run's CH_RUNNING, recorded by a probe step).
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/container_lib.bash"
container_image

make_work_dir container_digits
export HPSWEEP_HOME="$work/runs" HPSWEEP_STOP_GRACE_SECONDS=5
cd "${HPSWEEP_SOURCE_DIR:?}"
{ cat examples/digits/asha.yaml; printf 'environment:\n  image: %s\n' "$image"; } >"$work/asha.yaml"
hpsweep submit "$work/asha.yaml" --wait || fail "hpsweep submit --wait exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/digits-asha-*)"
hpsweep results "$exp"
grep -q "image: $image" "$exp/experiment.yaml" || fail "experiment.yaml lost environment.image"

/usr/bin/python3 - "$exp" <<'PY'
import json, pathlib, sys
import h5py
exp = pathlib.Path(sys.argv[1])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
status, steps = {}, {}
for trial_dir in sorted((exp / "trials").iterdir(), key=lambda p: int(p.name)):
    tid = int(trial_dir.name)
    status[tid] = json.loads((trial_dir / "result.json").read_text())["status"]
    with h5py.File(trial_dir / "metrics.h5", "r") as f:
        steps[tid] = int(f["metrics/val_loss"]["step"][-1]) if "metrics/val_loss" in f else 0
print("status:", status, "\nlast step:", steps)
if len(status) != 8: fail(f"expected 8 trials, found {len(status)}")
stopped = [t for t, s in status.items() if s == "stopped_early"]
done = [t for t, s in status.items() if s == "completed"]
if not stopped: fail("no trial was stopped early")
if not done: fail("no trial completed")
if len(stopped) + len(done) != 8: fail(f"unexpected states: {status}")
if any(steps[t] != 16 for t in done): fail("a completed trial did not reach max_length 16")
if any(steps[t] < 1 for t in status): fail("a trial has no metrics in its HDF5 file")
PY

nodes="$(sinfo -h -N -o %N | sort -u | wc -l)"
unpacks="$(count_unpacks "$exp")"
((unpacks >= 1 && unpacks <= nodes)) || fail "the image was unpacked $unpacks times on $nodes nodes"

# The same launcher path, probed: the child sees ch-run's marker and its metrics fd works.
probe="$(srun -N1 -n1 hpsweep-launch --container "$image" -- /usr/bin/python3 -c '
import os; print("CH_RUNNING=" + os.environ.get("CH_RUNNING", "-"), "fd=" + os.environ.get("HPSWEEP_METRICS_FD", "-"))
os.write(int(os.environ["HPSWEEP_METRICS_FD"]), b"{\"step\": 1, \"x\": 1}\n")')" ||
    fail "probe step exited $?: $probe"
expect_contains "$probe" "CH_RUNNING=Weird Al Yankovic fd=3" "the probe step's output"
echo "PASS: ASHA in the Charliecloud image, $unpacks unpack(s) on $nodes nodes"

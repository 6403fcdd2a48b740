"""Shared helpers of the metrics Python tests: where the build is, and small experiments."""

import json
import os
import subprocess
import sys
import tempfile

SOURCE_DIR = os.environ.get("HPSWEEP_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("HPSWEEP_BUILD_DIR", os.path.join(SOURCE_DIR, "build-metrics"))
BIN_DIR = os.path.join(BUILD_DIR, "bin")
INGEST = os.path.join(BIN_DIR, "hpsweep-metrics-ingest")
HPSWEEP = os.path.join(BIN_DIR, "hpsweep")
C_EXAMPLE = os.path.join(BIN_DIR, "hpsweep-report-c-example")
PYTHON_DIR = os.path.join(SOURCE_DIR, "python")
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)


def metric_line(step, **values):
    return "HPSWEEP_METRIC step=%d %s" % (step, " ".join("%s=%r" % kv for kv in values.items()))


def ingest(path, lines, *args, check=True):
    """Feeds lines to hpsweep-metrics-ingest; returns its final counters."""
    proc = subprocess.run([INGEST, str(path), *args], input="".join(l + "\n" for l in lines),
                          capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError("ingest failed (%d): %s" % (proc.returncode, proc.stderr))
    return json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None


def make_experiment(root, trials, metadata=None):
    """trials: list of (hyperparameters dict, list of metric lines, status, exit_code)."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "trials.jsonl"), "w") as table:
        for trial_id, (hps, _lines, _status, _code) in enumerate(trials):
            table.write(json.dumps({"id": trial_id, "hyperparameters": hps,
                                    "argv": ["python", "train.py"]}) + "\n")
    if metadata is not None:
        with open(os.path.join(root, "experiment.json"), "w") as f:
            json.dump(metadata, f)
    for trial_id, (hps, lines, status, code) in enumerate(trials):
        if status is None:
            continue
        trial_dir = os.path.join(root, "trials", str(trial_id))
        os.makedirs(trial_dir, exist_ok=True)
        args = ["--experiment", os.path.basename(root), "--trial-id", str(trial_id),
                "--status", status, "--exit-code", str(code)]
        for name, value in hps.items():
            args += ["--hp", "%s=%s" % (name, json.dumps(value))]
        ingest(os.path.join(trial_dir, "metrics.h5"), lines, *args)
        with open(os.path.join(trial_dir, "result.json"), "w") as f:
            json.dump({"trial": trial_id, "status": status, "exit_code": code,
                       "start": "2026-11-22T00:00:00Z", "end": "2026-11-22T00:10:00Z",
                       "node": "n%d" % (trial_id % 3 + 1)}, f)


class TempDir:
    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="hpsweep-metrics-py-")
        self.path = self._dir.name

    def cleanup(self):
        self._dir.cleanup()

"""The Python helper (hpsweep.report) and the C header (hpsweep/report.h): through the pipe
named by HPSWEEP_METRICS_FD, the stdout fallback, rank 0 only; and what they write is what
the recorder stores."""

import os
import subprocess
import sys
import unittest

import h5py
import numpy as np

from metrics_testlib import C_EXAMPLE, PYTHON_DIR, TempDir, ingest

import hpsweep

TRAINER = """
import hpsweep
for step in range(5):
    hpsweep.report(step=step, loss=1.0 / (step + 1), acc=step / 5)
hpsweep.report(final=0.125)
print("training done")
"""


def run_with_pipe(argv, extra_env=None):
    """Runs argv with HPSWEEP_METRICS_FD set to a pipe; returns (pipe text, stdout)."""
    read_fd, write_fd = os.pipe()
    env = dict(os.environ, HPSWEEP_METRICS_FD=str(write_fd), PYTHONPATH=PYTHON_DIR, **(extra_env or {}))
    env.pop("RANK", None)
    proc = subprocess.Popen(argv, env=env, pass_fds=(write_fd,), stdout=subprocess.PIPE, text=True)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        piped = pipe.read()
    out = proc.stdout.read()
    proc.stdout.close()
    assert proc.wait() == 0
    return piped, out


def run_plain(argv, extra_env=None):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR, **(extra_env or {}))
    env.pop("HPSWEEP_METRICS_FD", None)
    if "RANK" not in (extra_env or {}):
        env.pop("RANK", None)
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


class PythonHelperTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_pipe(self):
        piped, out = run_with_pipe([sys.executable, "-c", TRAINER])
        self.assertEqual(out, "training done\n")
        lines = piped.splitlines()
        self.assertEqual(len(lines), 6)
        self.assertEqual(lines[0], 'HPSWEEP_METRIC {"step":0,"loss":1.0,"acc":0.0}')
        path = os.path.join(self.tmp.path, "m.h5")
        counters = ingest(path, lines)
        self.assertEqual(counters["records"], 11)
        self.assertEqual(counters["malformed_lines"], 0)
        with h5py.File(path, "r") as f:
            np.testing.assert_allclose(f["metrics/loss"][:]["value"], [1 / (s + 1) for s in range(5)])
            np.testing.assert_array_equal(f["metrics/final"][:]["step"], [0])

    def test_stdout_fallback(self):
        out = run_plain([sys.executable, "-c", TRAINER])
        lines = out.splitlines()
        self.assertEqual(len(lines), 7)
        self.assertTrue(all(l.startswith("HPSWEEP_METRIC {") for l in lines[:6]))

    def test_rank_zero_only_by_default(self):
        self.assertEqual(run_plain([sys.executable, "-c", TRAINER], {"RANK": "1"}), "training done\n")
        self.assertEqual(len(run_plain([sys.executable, "-c", TRAINER], {"RANK": "0"}).splitlines()), 7)
        out = run_plain([sys.executable, "-c", TRAINER], {"RANK": "3", "HPSWEEP_REPORT_ALL_RANKS": "1"})
        self.assertEqual(len(out.splitlines()), 7)

    def test_bad_input_is_refused_before_writing(self):
        with self.assertRaisesRegex(hpsweep.MetricError, "invalid metric name"):
            hpsweep.format_line(1, **{"bad name": 1.0})
        with self.assertRaisesRegex(hpsweep.MetricError, "not a number"):
            hpsweep.format_line(1, loss="high")
        with self.assertRaisesRegex(hpsweep.MetricError, "non-negative integer"):
            hpsweep.format_line(-1, loss=1.0)
        self.assertEqual(hpsweep.format_line(2, loss=float("nan")), 'HPSWEEP_METRIC {"step":2,"loss":NaN}')
        self.assertEqual(hpsweep.format_line(None, x=np.float32(0.5)), 'HPSWEEP_METRIC {"x":0.5}')


class CHeaderTest(unittest.TestCase):
    def test_pipe_and_stdout(self):
        piped, out = run_with_pipe([C_EXAMPLE, "4"])
        self.assertEqual(out, "")
        lines = piped.splitlines()
        self.assertEqual(len(lines), 5)
        self.assertEqual(lines[0], "HPSWEEP_METRIC step=0 loss=1 acc=0")
        self.assertEqual(run_plain([C_EXAMPLE, "4"]).splitlines(), lines)
        self.assertEqual(run_plain([C_EXAMPLE, "4"], {"RANK": "2"}), "")
        tmp = TempDir()
        try:
            path = os.path.join(tmp.path, "m.h5")
            counters = ingest(path, lines)
            self.assertEqual(counters["records"], 9)
            self.assertEqual(counters["malformed_lines"], 0)
            with h5py.File(path, "r") as f:
                np.testing.assert_allclose(f["metrics/acc"][:]["value"], [0, 0.25, 0.5, 0.75])
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()

"""Runs every ```python block of docs/reading-results.md against a real experiment written by
the C++ code, so the documentation cannot drift from the files."""

import os
import re
import subprocess
import sys
import unittest

from metrics_testlib import HPSWEEP, SOURCE_DIR, TempDir, make_experiment, metric_line

DOC = os.path.join(SOURCE_DIR, "docs", "reading-results.md")


def python_blocks():
    with open(DOC) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def have_pandas():
    return subprocess.run([sys.executable, "-c", "import pandas"], capture_output=True).returncode == 0


class ReadingResultsDocTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.exp = os.path.join(cls.tmp.path, "doc-sweep")
        trials = []
        for i in range(4):
            lines = [metric_line(s, val_loss=1.0 / (s + 1 + i), **{"val/acc": s / 10.0}) for s in range(6)]
            trials.append(({"lr": 0.1 / (i + 1), "batch": 16 * (i % 2 + 1)}, lines, "completed", 0))
        make_experiment(cls.exp, trials, {"name": "doc-sweep",
                                          "searcher": {"metric": "val_loss", "smaller_is_better": True}})
        proc = subprocess.run([HPSWEEP, "results", cls.exp], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_python_block_runs(self):
        blocks = python_blocks()
        self.assertGreaterEqual(len(blocks), 4)
        pandas = have_pandas()
        ran = 0
        for index, code in enumerate(blocks):
            with self.subTest(block=index):
                if "pandas" in code and not pandas:
                    continue  # documented as optional; the numpy blocks still run
                proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                      env=dict(os.environ, EXP=self.exp))
                self.assertEqual(proc.returncode, 0, "block %d failed:\n%s\n%s" % (index, code, proc.stderr))
                self.assertTrue(proc.stdout.strip(), "block %d printed nothing" % index)
                ran += 1
        self.assertGreaterEqual(ran, 2)

    def test_summary_block_finds_the_best_trial(self):
        block = next(b for b in python_blocks() if "nanargmin" in b)
        proc = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True,
                              env=dict(os.environ, EXP=self.exp))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # Trial 3 has the smallest losses (1 / (s + 1 + 3)).
        self.assertIn("best trial 3 status completed val_loss 0.111", proc.stdout)


if __name__ == "__main__":
    unittest.main()

"""`hpsweep report` renders in headless Chromium with no script error and one curve per
trial in every chart."""

import os
import re
import shutil
import subprocess
import unittest

from metrics_testlib import HPSWEEP, TempDir, make_experiment, metric_line

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@unittest.skipIf(CHROMIUM is None, "Debian package chromium is not installed (scripts/install-deps.sh)")
class ReportInBrowserTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.exp = os.path.join(self.tmp.path, "sweep <&> test")
        trials = []
        for i in range(5):
            steps = 20 + 5 * i
            lines = [metric_line(s, train_loss=2.0 / (s + 1 + i), acc=s / steps) for s in range(steps)]
            trials.append(({"lr": 10 ** -(i + 1), "opt": ["sgd", "adam"][i % 2], "depth": 10 + i},
                           lines, "completed" if i != 2 else "failed", 0 if i != 2 else 1))
        trials.append(({"lr": 0.5, "opt": "sgd", "depth": 3}, [], None, 0))  # pending: no curve
        make_experiment(self.exp, trials)
        self.report = os.path.join(self.tmp.path, "report.html")
        proc = subprocess.run([HPSWEEP, "report", self.exp, "-o", self.report], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("6 trials", proc.stdout)

    def tearDown(self):
        self.tmp.cleanup()

    def test_renders_without_script_errors_one_curve_per_trial(self):
        profile = os.path.join(self.tmp.path, "profile")
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + profile,
             "--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + self.report],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        dom = proc.stdout
        console_errors = [l for l in proc.stderr.splitlines()
                          if "CONSOLE" in l and ("Uncaught" in l or "Error" in l)]
        self.assertEqual(console_errors, [])
        # The inline script ran to its last statement.
        self.assertRegex(dom, r'<body[^>]*data-script-ok="1"')
        charts = re.findall(r'<figure class="metric" data-metric="([^"]+)">(.*?)</figure>', dom, re.S)
        self.assertEqual(sorted(name for name, _ in charts), ["acc", "train_loss"])
        for name, chart in charts:
            trials = re.findall(r'<path class="curve[^"]*" data-trial="(\d+)"', chart)
            self.assertEqual(sorted(trials), ["0", "1", "2", "3", "4"], name)
        lines = re.findall(r'<polyline class="pc-line[^"]*" data-trial="(\d+)"', dom)
        self.assertEqual(len(lines), 6)
        self.assertEqual(len(re.findall(r'<tr data-trial="\d+"', dom)), 6)
        self.assertIn("sweep &lt;&amp;&gt; test", dom)


if __name__ == "__main__":
    unittest.main()

"""Files written by the C++ metrics code, read back with h5py + numpy only; the summary file
and `hpsweep results` agree with what each trial reported."""

import json
import math
import os
import random
import subprocess
import unittest

import h5py
import numpy as np

from metrics_testlib import HPSWEEP, TempDir, ingest, make_experiment, metric_line


class TrialFileTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.path = os.path.join(self.tmp.path, "metrics.h5")

    def tearDown(self):
        self.tmp.cleanup()

    def test_layout_types_and_values(self):
        lines = [metric_line(s, loss=1.0 / (s + 1), acc=s / 10.0) for s in range(10)]
        lines.insert(3, 'HPSWEEP_METRIC {"step": 3, "val/top-1": 0.5}')
        lines.insert(5, "HPSWEEP_METRIC step=4 loss=not-a-number")
        lines.append("plain output")
        counters = ingest(self.path, lines, "--experiment", "exp-x", "--trial-id", "4",
                          "--hp", "lr=0.001", "--hp", "layers=12", "--hp", 'opt="adamw"',
                          "--hp", "amp=true", "--status", "completed", "--exit-code", "0")
        self.assertEqual(counters["records"], 21)
        self.assertEqual(counters["malformed_lines"], 1)
        with h5py.File(self.path, "r") as f:
            self.assertEqual(f.attrs["format"], "hpsweep-metrics")
            self.assertEqual(f.attrs["format_version"], 1)
            self.assertEqual(f.attrs["experiment"], "exp-x")
            self.assertEqual(f.attrs["trial_id"], 4)
            self.assertEqual(f.attrs["status"], "completed")
            self.assertEqual(f.attrs["exit_code"], 0)
            self.assertEqual(f.attrs["malformed_lines"], 1)
            self.assertEqual(json.loads(f.attrs["hyperparameters"])["opt"], "adamw")
            self.assertRegex(f.attrs["start"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            for name in ("command", "slurm_job_id", "slurm_array_job_id", "slurm_array_task_id",
                         "slurm_step_id", "nodelist", "plan", "git_commit", "datastores", "end"):
                self.assertIn(name, f.attrs)
            hp = f["hyperparameters"].attrs
            self.assertIsInstance(hp["lr"], np.float64)
            self.assertIsInstance(hp["layers"], np.int64)
            self.assertIsInstance(hp["opt"], str)
            self.assertIsInstance(hp["amp"], np.bool_)
            self.assertTrue(hp["amp"])
            loss = f["metrics/loss"]
            self.assertEqual(loss.dtype.names, ("step", "wall_time", "value"))
            self.assertIsNone(loss.maxshape[0])  # extendable
            self.assertIsNotNone(loss.chunks)
            data = loss[:]
            np.testing.assert_array_equal(data["step"], np.arange(10))
            np.testing.assert_allclose(data["value"], 1.0 / (np.arange(10) + 1))
            self.assertTrue(np.all(np.diff(data["wall_time"]) >= 0))
            self.assertEqual(loss.attrs["min_step"], 9)
            self.assertEqual(loss.attrs["last_value"], data["value"][-1])
            slash = f["metrics/val%2Ftop-1"]
            self.assertEqual(slash.attrs["name"], "val/top-1")

    def test_h5dump_reads_it(self):
        ingest(self.path, [metric_line(0, loss=0.5)])
        proc = subprocess.run(["h5dump", "-H", self.path], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn('DATASET "loss"', proc.stdout)
        self.assertIn('"wall_time"', proc.stdout)

    def test_reader_needs_no_file_locking(self):
        ingest(self.path, [metric_line(0, loss=0.5)])
        env = dict(os.environ, HDF5_USE_FILE_LOCKING="TRUE")
        # A reader holding the file open does not stop a new snapshot from replacing it.
        with h5py.File(self.path, "r") as held:
            ingest(self.path, [metric_line(1, loss=0.25)])
            self.assertEqual(held["metrics/loss"].shape, (1,))
        with h5py.File(self.path, "r") as f:
            self.assertEqual(f["metrics/loss"].shape, (2,))
        del env


class SummaryTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.root = os.path.join(self.tmp.path, "sweep")
        rng = random.Random(7)
        self.reported = []
        trials = []
        for trial_id in range(12):
            hps = {"lr": 10 ** rng.uniform(-4, -1), "batch": rng.choice([16, 32, 64]),
                   "arch": rng.choice(["resnet18", "resnet50"])}
            steps = rng.randint(3, 40)
            values = {"val_loss": [rng.uniform(0.1, 2.0) for _ in range(steps)],
                      "val_acc": [rng.uniform(0.0, 1.0) for _ in range(steps)]}
            lines = [metric_line(s, val_loss=values["val_loss"][s], val_acc=values["val_acc"][s])
                     for s in range(steps)]
            status, code = ("failed", 1) if trial_id == 5 else ("completed", 0)
            if trial_id == 11:
                status = None  # never started
            trials.append((hps, lines, status, code))
            self.reported.append((hps, values if status else None, status))
        make_experiment(self.root, trials)

    def tearDown(self):
        self.tmp.cleanup()

    def results_json(self, *args):
        proc = subprocess.run([HPSWEEP, "results", self.root, "--json", *args],
                              capture_output=True, text=True)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        return proc.returncode, json.loads(proc.stdout)

    def test_summary_file_matches_what_each_trial_reported(self):
        code, _ = self.results_json()
        self.assertEqual(code, 1)  # trial 5 failed
        with h5py.File(os.path.join(self.root, "summary.h5"), "r") as f:
            self.assertEqual(f.attrs["format"], "hpsweep-summary")
            t = f["trials"]
            np.testing.assert_array_equal(t["trial_id"][:], np.arange(12))
            status = t["status"].asstr()[:]
            arch = t["hp.arch"].asstr()[:]
            best = t["metric.val_loss.best_value"]
            self.assertTrue(best.attrs["smaller_is_better"])
            self.assertFalse(t["metric.val_acc.best_value"].attrs["smaller_is_better"])
            for trial_id, (hps, values, expected_status) in enumerate(self.reported):
                self.assertEqual(status[trial_id], expected_status or "pending")
                self.assertEqual(arch[trial_id], hps["arch"])
                self.assertEqual(t["hp.batch"][trial_id], hps["batch"])
                self.assertAlmostEqual(t["hp.lr"][trial_id], hps["lr"], places=12)
                if values is None:
                    self.assertTrue(math.isnan(best[trial_id]))
                    self.assertEqual(t["metric.val_loss.count"][trial_id], 0)
                    continue
                loss = np.array(values["val_loss"])
                acc = np.array(values["val_acc"])
                self.assertEqual(best[trial_id], loss.min())
                self.assertEqual(t["metric.val_loss.best_step"][trial_id], int(loss.argmin()))
                self.assertEqual(t["metric.val_loss.last_value"][trial_id], loss[-1])
                self.assertEqual(t["metric.val_loss.last_step"][trial_id], len(loss) - 1)
                self.assertEqual(t["metric.val_acc.best_value"][trial_id], acc.max())
                self.assertEqual(t["metric.val_loss.count"][trial_id], len(loss))

    def test_results_json_marks_the_best_trial(self):
        _, out = self.results_json("--metric", "val_loss")
        best_losses = {i: min(v["val_loss"]) for i, (_, v, _) in enumerate(self.reported) if v}
        expected_best = min(best_losses, key=best_losses.get)
        self.assertEqual(out["best_trial"], expected_best)
        self.assertTrue(out["smaller_is_better"])
        self.assertEqual(out["direction_from"], "name")
        flagged = [t["trial"] for t in out["trials"] if t["best"]]
        self.assertEqual(flagged, [expected_best])
        by_id = {t["trial"]: t for t in out["trials"]}
        self.assertEqual(by_id[3]["metrics"]["val_loss"]["best"], best_losses[3])

    def test_sort_and_top(self):
        _, out = self.results_json("--sort", "val_acc", "--top", "3")
        best_acc = sorted(((max(v["val_acc"]), i) for i, (_, v, _) in enumerate(self.reported) if v),
                          reverse=True)
        self.assertEqual([t["trial"] for t in out["trials"]], [i for _, i in best_acc[:3]])

    def test_csv_and_table(self):
        proc = subprocess.run([HPSWEEP, "results", self.root, "--csv"], capture_output=True, text=True)
        rows = proc.stdout.strip().splitlines()
        self.assertEqual(len(rows), 13)
        self.assertTrue(rows[0].startswith("trial,status,exit_code,best,lr,batch,arch"))
        proc = subprocess.run([HPSWEEP, "results", self.root, "--metric", "val_loss"],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("val_loss (min)", proc.stdout)
        self.assertEqual(sum(1 for l in proc.stdout.splitlines() if l.startswith("*")), 1)

    def test_errors_name_the_problem(self):
        proc = subprocess.run([HPSWEEP, "results", self.root, "--metric", "nope"], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("--metric nope: no trial reported it", proc.stderr)
        proc = subprocess.run([HPSWEEP, "results", os.path.join(self.tmp.path, "missing")],
                              capture_output=True, text=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("not found", proc.stderr)

    def test_name_lookup_under_hpsweep_home(self):
        env = dict(os.environ, HPSWEEP_HOME=self.tmp.path)
        proc = subprocess.run([HPSWEEP, "results", "sweep", "--json"], capture_output=True, text=True,
                              env=env, cwd=self.tmp.path)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        self.assertEqual(len(json.loads(proc.stdout)["trials"]), 12)


if __name__ == "__main__":
    unittest.main()

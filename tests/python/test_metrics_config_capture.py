"""The experiment file's metric capture keys, end to end without Slurm: an experiment.yaml
with `metrics.regex` and `metrics.lightning_csv`, hpsweep-launch running two trials (one
printing lines the regexes match, one writing a Lightning CSVLogger-style file), and the
trial HDF5 files read back with h5py. Also `hpsweep run --metric-regex/--lightning-csv
--dry-run` and a bad regex."""

import json
import os
import subprocess
import sys
import textwrap
import unittest

import h5py

from metrics_testlib import BIN_DIR, HPSWEEP, TempDir

LAUNCH = os.path.join(BIN_DIR, "hpsweep-launch")

PRINTER = textwrap.dedent("""\
    import sys
    for step in range(5):
        print("epoch %d: train_loss=%.3f" % (step, 1.0 / (step + 1)))
        print("  val_loss=%.4f lr: %g" % (0.5 - step * 0.1 + 1e-4, 10.0 ** -step))
        print("not a metric line 1.5")
    sys.stdout.flush()
    """)

# What Lightning's CSVLogger writes: a header, rows with empty cells, and a rewrite from the
# top when a new column appears (val_acc in the second half).
LIGHTNING = textwrap.dedent("""\
    import os
    path = os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "lightning_logs", "version_0")
    os.makedirs(path, exist_ok=True)
    rows = [{"epoch": 0, "step": 9, "train_loss": 0.9}, {"epoch": 0, "step": 19, "train_loss": 0.7}]
    def write(columns):
        with open(os.path.join(path, "metrics.csv.tmp"), "w") as f:
            f.write(",".join(columns) + "\\n")
            for row in rows:
                f.write(",".join(str(row.get(c, "")) for c in columns) + "\\n")
        os.replace(os.path.join(path, "metrics.csv.tmp"), os.path.join(path, "metrics.csv"))
    write(["epoch", "step", "train_loss"])
    rows.append({"epoch": 0, "step": 19, "val_acc": 0.5})
    rows.append({"epoch": 1, "step": 29, "train_loss": 0.5})
    write(["epoch", "step", "train_loss", "val_acc"])
    """)


def values(dataset):
    rows = dataset[:]
    return [(int(r["step"]), round(float(r["value"]), 6)) for r in rows]


class ConfigCaptureTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.exp = os.path.join(self.tmp.path, "exp")
        os.makedirs(os.path.join(self.exp, "trials"))
        with open(os.path.join(self.tmp.path, "printer.py"), "w") as f:
            f.write(PRINTER)
        with open(os.path.join(self.tmp.path, "lightning.py"), "w") as f:
            f.write(LIGHTNING)
        with open(os.path.join(self.exp, "trials.jsonl"), "w") as f:
            for trial_id, script in enumerate(["printer.py", "lightning.py"]):
                f.write(json.dumps({"id": trial_id, "hyperparameters": {"lr": 0.1},
                                    "argv": [sys.executable,
                                             os.path.join(self.tmp.path, script)]}) + "\n")
        with open(os.path.join(self.exp, "experiment.yaml"), "w") as f:
            f.write(textwrap.dedent("""\
                name: capture
                entrypoint: python3 train.py
                searcher: {name: single}
                metrics:
                  regex:
                    val_loss: 'val_loss=(?P<value>[0-9.eE+-]+)'
                    train_loss: 'epoch (?P<step>\\d+): train_loss=([0-9.]+)'
                    lr: 'lr: ([0-9.e+-]+)'
                  lightning_csv: lightning_logs/version_0/metrics.csv
                """))

    def tearDown(self):
        self.tmp.cleanup()

    def launch(self, trial_id):
        env = dict(os.environ)
        for name in list(env):
            if name.startswith("SLURM_"):
                del env[name]
        proc = subprocess.run([LAUNCH, "--experiment", self.exp, "--trial", str(trial_id),
                               "--policy", "none", "--gpus-per-task", "0", "--quiet"],
                              env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return h5py.File(os.path.join(self.exp, "trials", str(trial_id), "metrics.h5"), "r")

    def test_regex_metrics_from_the_config(self):
        with self.launch(0) as f:
            self.assertEqual(f.attrs["status"], "completed")
            self.assertEqual(sorted(f["metrics"]), ["lr", "train_loss", "val_loss"])
            # train_loss: the named step group gives the step.
            self.assertEqual(values(f["metrics/train_loss"]),
                             [(s, round(1.0 / (s + 1), 3)) for s in range(5)])
            # val_loss and lr: no step group, so steps count from 0.
            self.assertEqual(values(f["metrics/val_loss"]),
                             [(s, round(0.5 - s * 0.1 + 1e-4, 4)) for s in range(5)])
            self.assertEqual(values(f["metrics/lr"]), [(s, 10.0 ** -s) for s in range(5)])
            self.assertEqual(f.attrs["malformed_lines"], 0)

    def test_lightning_csv_from_the_config(self):
        with self.launch(1) as f:
            self.assertEqual(f.attrs["status"], "completed")
            self.assertEqual(values(f["metrics/train_loss"]), [(9, 0.9), (19, 0.7), (29, 0.5)])
            self.assertEqual(values(f["metrics/val_acc"]), [(19, 0.5)])
            self.assertEqual(values(f["metrics/epoch"]), [(9, 0.0), (19, 0.0), (29, 1.0)])

    def test_hpsweep_run_options_reach_experiment_yaml(self):
        # A missing script is refused before anything is planned, so the dry run needs one;
        # the experiments home stays apart from the snapshot context.
        with open(os.path.join(self.tmp.path, "train.py"), "w") as script:
            script.write("print('training')\n")
        proc = subprocess.run(
            [HPSWEEP, "run", "--dry-run", "--json", "--metric-regex",
             "val_loss=val_loss=(?P<value>[0-9.]+)", "--lightning-csv", "logs/metrics.csv",
             "train.py", "--lr", "[0.1, 0.2]"],
            capture_output=True, text=True, timeout=60, cwd=self.tmp.path,
            env=dict(os.environ, HPSWEEP_HOME=os.path.join(self.tmp.path, "runs")))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        plan = json.loads(proc.stdout)
        text = json.dumps(plan)
        self.assertIn("val_loss=(?P<value>[0-9.]+)", text)
        self.assertIn("logs/metrics.csv", text)

    def test_bad_regex_is_a_config_error_with_its_place(self):
        proc = subprocess.run([HPSWEEP, "run", "--dry-run", "--metric-regex", "x=(\\d+",
                               "train.py"], capture_output=True, text=True, timeout=60,
                              cwd=self.tmp.path, env=dict(os.environ, HPSWEEP_HOME=self.tmp.path))
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--metric-regex: metric 'x': invalid regex '(\\d+'", proc.stderr)


if __name__ == "__main__":
    unittest.main()

"""ASHA's promotion form (searcher.stop_once: false) in hpsweep-launch, without Slurm: which
runs of a paused trial run it. A paused trial that no result promoted runs nowhere; a promoted
one runs only in the task of the trial that promoted it (HPSWEEP_RESUMED_BY, which submit.sh
sets when it hands a trial over), never a second time in its own requeued task; there it
resumes, is judged only above the rung it was promoted at, and completes."""

import json
import os
import subprocess
import sys
import textwrap
import unittest

import h5py

from metrics_testlib import BIN_DIR, TempDir

LAUNCH = os.path.join(BIN_DIR, "hpsweep-launch")

# Reports val_loss at steps 1..4 and leaves a mark that it ran.
TRAIN = textwrap.dedent("""\
    import os
    open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "ran"), "a").write("x")
    for step in range(1, 5):
        print("HPSWEEP_METRIC step=%d val_loss=%g" % (step, 1.0 / step), flush=True)
    """)


class PromotionLaunchTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.exp = os.path.join(self.tmp.path, "exp")
        self.trial_dir = os.path.join(self.exp, "trials", "0")
        os.makedirs(self.trial_dir)
        train = os.path.join(self.tmp.path, "train.py")
        with open(train, "w") as f:
            f.write(TRAIN)
        with open(os.path.join(self.exp, "trials.jsonl"), "w") as f:
            f.write(json.dumps({"id": 0, "hyperparameters": {"lr": 0.1},
                                "argv": [sys.executable, train]}) + "\n")
        # Rungs at steps 1, 2 and 4 (divisor 2).
        with open(os.path.join(self.exp, "experiment.yaml"), "w") as f:
            f.write(textwrap.dedent("""\
                name: promotion
                entrypoint: python3 train.py
                searcher: {name: adaptive_asha, metric: val_loss, max_trials: 1,
                           max_length: 4, divisor: 2, max_rungs: 3, mode: aggressive,
                           stop_once: false}
                """))
        # Trial 0 reported rung 0 and paused there.
        os.makedirs(os.path.join(self.exp, "asha", "rung0"))
        with open(os.path.join(self.exp, "asha", "rung0", "0"), "w") as f:
            json.dump({"trial": 0, "value": 1.0, "rung": 0}, f)
        self.paused = {"trial": 0, "status": "paused", "exit_code": 0,
                       "start": "2026-12-06T00:00:00Z", "end": "2026-12-06T00:00:05Z",
                       "node": "n1", "paused_at_rung": 0}
        self.write_result(self.paused)

    def tearDown(self):
        self.tmp.cleanup()

    def write_result(self, result):
        with open(os.path.join(self.trial_dir, "result.json"), "w") as f:
            json.dump(result, f)

    def result(self):
        with open(os.path.join(self.trial_dir, "result.json")) as f:
            return json.load(f)

    def promote(self, by):
        promoted = os.path.join(self.exp, "asha", "rung0", "promoted")
        os.makedirs(promoted, exist_ok=True)
        with open(os.path.join(promoted, "0"), "w") as f:
            json.dump({"trial": 0, "rung": 0, "by": by, "by_rung": 0}, f)

    def launch(self, resumed_by=None, trial=0):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLURM_", "HPSWEEP_"))}
        env["HPSWEEP_STOP_GRACE_SECONDS"] = "1"
        if resumed_by is not None:
            env["HPSWEEP_RESUMED_BY"] = str(resumed_by)
        return subprocess.run([LAUNCH, "--experiment", self.exp, "--trial", str(trial)], env=env,
                              capture_output=True, text=True, timeout=120)

    def ran(self):
        return os.path.exists(os.path.join(self.trial_dir, "ran"))

    def test_a_trial_outside_the_best_pauses_and_hands_its_task_to_the_one_it_promoted(self):
        # A fresh sweep of two trials with the same curve: the first result pauses (floor(1/2)
        # promotes nobody, and rung 0 waits for a second result); the second ties, ranks after
        # it, pauses too, and promotes the first, which its task resumes next.
        os.remove(os.path.join(self.trial_dir, "result.json"))
        os.remove(os.path.join(self.exp, "asha", "rung0", "0"))
        with open(os.path.join(self.exp, "trials.jsonl")) as f:
            row = json.loads(f.readline())
        with open(os.path.join(self.exp, "trials.jsonl"), "a") as f:
            f.write(json.dumps(dict(row, id=1)) + "\n")
        for trial in (0, 1):
            proc = self.launch(trial=trial)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn("trial %d paused at rung 0" % trial, proc.stderr)
            with open(os.path.join(self.exp, "trials", str(trial), "result.json")) as f:
                result = json.load(f)
            self.assertEqual((result["status"], result["paused_at_rung"]), ("paused", 0))
            # What it printed in its grace time reached no rung.
            self.assertFalse(os.path.exists(os.path.join(self.exp, "asha", "rung1")))
        self.assertFalse(os.path.exists(os.path.join(self.trial_dir, "resume-next")))
        self.assertIn("this task resumes paused trial 0 next (promoted at rung 0)", proc.stderr)
        with open(os.path.join(self.exp, "trials", "1", "resume-next")) as f:
            self.assertEqual(f.read(), "0\n")
        with open(os.path.join(self.exp, "asha", "rung0", "promoted", "0")) as f:
            self.assertEqual(json.load(f), {"trial": 0, "rung": 0, "by": 1, "by_rung": 0})

    def test_a_paused_trial_nobody_promoted_does_not_run(self):
        proc = self.launch()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("trial 0 is paused at rung 0 and no result has promoted it: nothing to "
                      "run", proc.stderr)
        self.assertFalse(self.ran())
        self.assertEqual(self.result(), self.paused)

    def test_a_promoted_trial_runs_only_in_its_promoters_task(self):
        self.promote(by=5)
        for resumed_by in (None, 3):  # its own requeued task, or another trial's
            proc = self.launch(resumed_by)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn("trial 0 is paused at rung 0 and trial 5's task resumes it: nothing "
                          "to run here", proc.stderr)
            self.assertFalse(self.ran())
            self.assertEqual(self.result(), self.paused)
        proc = self.launch(resumed_by=5)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("trial 0 resumes: promoted at rung 0", proc.stderr)
        self.assertTrue(self.ran())
        # Judged above rung 0 only: rung 1 (step 2) closes with it as its only result, so it
        # goes on, and rung 2 is the last: it completes.
        self.assertEqual(self.result()["status"], "completed")
        rung1 = os.path.join(self.exp, "asha", "rung1")
        self.assertEqual(sorted(p for p in os.listdir(rung1) if p.isdigit()), ["0"])
        with open(os.path.join(rung1, "promoted", "0")) as f:
            self.assertEqual(json.load(f), {"trial": 0, "rung": 1, "by": 0, "by_rung": 1})
        with h5py.File(os.path.join(self.trial_dir, "metrics.h5"), "r") as f:
            self.assertEqual([int(s) for s in f["metrics/val_loss"]["step"]], [1, 2, 3, 4])


if __name__ == "__main__":
    unittest.main()

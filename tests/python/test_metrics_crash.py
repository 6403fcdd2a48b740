"""Crash safety: a writer killed with SIGKILL at random points, many times, always leaves a
file h5py opens holding every record flushed before the kill; each requeued writer continues
with no duplicated and no missing step; readers read while a writer flushes."""

import os
import random
import signal
import subprocess
import threading
import time
import unittest

import h5py
import numpy as np

from metrics_testlib import INGEST, TempDir


def loss_at(step):
    return 1.0 / (step + 1)


def acc_at(step):
    return step * 0.5


class KilledWriter:
    """One hpsweep-metrics-ingest run fed steps first..; killed after `kill_after` seconds."""

    def __init__(self, path, first_step, flush_every, flush_interval_ms):
        self.first_step = first_step
        self.flushed_lines = 0
        self.proc = subprocess.Popen(
            [INGEST, path, "--flush-every-lines", str(flush_every),
             "--flush-interval-ms", str(flush_interval_ms), "--no-finish"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.writer = threading.Thread(target=self._write, daemon=True)
        self.writer.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("flushed lines="):
                self.flushed_lines = int(line.split()[1].split("=")[1])

    def _write(self):
        step = self.first_step
        try:
            while True:
                self.proc.stdin.write("HPSWEEP_METRIC step=%d loss=%r acc=%r\n" % (step, loss_at(step), acc_at(step)))
                if step % 16 == 0:
                    self.proc.stdin.flush()
                step += 1
                if step % 64 == 0:
                    time.sleep(0.001)
        except (BrokenPipeError, OSError, ValueError):
            pass

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(timeout=10)
        self.writer.join(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except (BrokenPipeError, OSError):
                pass
        # Lines 1..flushed_lines of this run were in a completed flush.
        return self.first_step + self.flushed_lines - 1


def read_steps(path):
    with h5py.File(path, "r") as f:
        out = {}
        for name in ("loss", "acc"):
            if name in f["metrics"]:
                data = f["metrics"][name][:]
                out[name] = data
        return out, int(f.attrs["attempts"])


class CrashTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.path = os.path.join(self.tmp.path, "metrics.h5")

    def tearDown(self):
        self.tmp.cleanup()

    def check_file(self, highest_flushed_step):
        data, attempts = read_steps(self.path)
        last = -1
        for name, fn in (("loss", loss_at), ("acc", acc_at)):
            if name not in data:
                self.assertLess(highest_flushed_step, 0, "flushed records of %s are missing" % name)
                continue
            steps = data[name]["step"]
            # No duplicate, no gap: exactly 0..n-1.
            np.testing.assert_array_equal(steps, np.arange(len(steps)), err_msg=name)
            np.testing.assert_array_equal(data[name]["value"], np.array([fn(s) for s in steps]), err_msg=name)
            self.assertGreaterEqual(len(steps) - 1, highest_flushed_step,
                                    "%s lost flushed steps (has %d, flushed %d)" % (name, len(steps) - 1,
                                                                                     highest_flushed_step))
            last = max(last, int(steps[-1]) if len(steps) else -1)
        return last, attempts

    def test_kill_9_at_random_points_then_resume(self):
        rng = random.Random(int(os.environ.get("HPSWEEP_FAULT_SEED", "1234")))
        rounds = int(os.environ.get("HPSWEEP_FAULT_ROUNDS", "40"))
        highest_flushed = -1
        next_first = 0
        started = 0
        for round_number in range(rounds):
            flush_every = rng.choice([1, 1, 3, 17, 100])
            interval = rng.choice([0, 5, 1000000])
            writer = KilledWriter(self.path, next_first, flush_every, interval)
            started += 1
            time.sleep(rng.uniform(0.0, 0.25))
            flushed_step = writer.kill()
            highest_flushed = max(highest_flushed, flushed_step)
            if not os.path.exists(self.path):
                self.assertEqual(highest_flushed, -1, "round %d: flushed but no file" % round_number)
                continue
            last, attempts = self.check_file(highest_flushed)
            self.assertLessEqual(attempts, started)
            # The requeued trial restarts from a checkpoint at or before its last step, so it
            # re-reports some steps (which must not be duplicated) and continues.
            next_first = rng.randint(max(0, last - 30), last + 1)
            leftovers = [n for n in os.listdir(self.tmp.path) if ".tmp." in n]
            self.assertLessEqual(len(leftovers), 1, leftovers)
        # A last, clean run to the end.
        data, _ = read_steps(self.path)
        last = int(data["loss"]["step"][-1])
        lines = "".join("HPSWEEP_METRIC step=%d loss=%r acc=%r\n" % (s, loss_at(s), acc_at(s))
                        for s in range(max(0, last - 5), last + 50))
        proc = subprocess.run([INGEST, self.path], input=lines, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        final_last, attempts = self.check_file(last + 49)
        self.assertEqual(final_last, last + 49)
        self.assertGreaterEqual(attempts, 2)
        with h5py.File(self.path, "r") as f:
            self.assertEqual(f.attrs["status"], "completed")
        self.assertGreater(highest_flushed, 0, "no round flushed anything: the test tested nothing")

    def test_readers_read_while_the_trial_writes(self):
        proc = subprocess.Popen([INGEST, self.path, "--flush-every-lines", "1"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1)
        reads = 0
        try:
            for step in range(200):
                proc.stdin.write("HPSWEEP_METRIC step=%d loss=%r acc=%r\n" % (step, loss_at(step), acc_at(step)))
                proc.stdin.flush()
                self.assertTrue(proc.stdout.readline().startswith("flushed lines=%d " % (step + 1)))
                # The trial is still running (its next flush may be under way): the file opens
                # with no lock and holds every flushed step.
                with h5py.File(self.path, "r") as f:
                    self.assertEqual(f.attrs["status"], "running")
                    steps = f["metrics/loss"][:]["step"]
                    np.testing.assert_array_equal(steps, np.arange(step + 1))
                    reads += 1
        finally:
            proc.stdin.close()
            proc.stdout.read()
            proc.stdout.close()
            self.assertEqual(proc.wait(), 0)
        self.assertEqual(reads, 200)

if __name__ == "__main__":
    unittest.main()

"""A small training program for the preemption, requeue and fault scenarios.

    checkpoint_train.py --steps N [--step-seconds S] [--checkpoint-every K] [--lr X]

Reports loss for steps 1..N through the hpsweep helper (HPSWEEP_METRICS_FD), saves its
step into $HPSWEEP_CHECKPOINT_DIR/state.json every K steps (atomically: temp + rename), and
on start resumes from that checkpoint. Between the last checkpoint and a kill it may have
reported steps it will report again after the restart: the recorder must drop those
duplicates, so the trial's metrics file ends with exactly the steps 1..N.

On SIGUSR2 (hpsweep's preemption notice) it checkpoints at the end of the current step and
exits 0. Every start is logged to $HPSWEEP_TRIAL_DIR/attempts.log as
"restart=<SLURM_RESTART_COUNT> from=<resumed step>", so a test can see what resumed.
"""

import argparse
import json
import os
import signal
import sys
import time

import hpsweep

preempted = False


def on_preemption(signo, frame):
    global preempted
    preempted = True


def save(checkpoint, step):
    tmp = checkpoint + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"step": step}, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, checkpoint)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--step-seconds", type=float, default=0.2)
    parser.add_argument("--checkpoint-every", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()
    signal.signal(signal.SIGUSR2, on_preemption)

    checkpoint_dir = os.environ["HPSWEEP_CHECKPOINT_DIR"]
    checkpoint = os.path.join(checkpoint_dir, "state.json")
    start = 0
    if os.path.exists(checkpoint):
        with open(checkpoint) as f:
            start = json.load(f)["step"]
    with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "attempts.log"), "a") as log:
        log.write(f"restart={os.environ.get('SLURM_RESTART_COUNT', '0')} from={start}\n")
    print(f"starting at step {start + 1} of {args.steps}", flush=True)

    for step in range(start + 1, args.steps + 1):
        time.sleep(args.step_seconds)
        hpsweep.report(step=step, loss=args.lr / step)
        if step % args.checkpoint_every == 0 or step == args.steps:
            save(checkpoint, step)
        if preempted:
            save(checkpoint, step)
            print(f"preempted: checkpoint at step {step}", flush=True)
            return 0
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

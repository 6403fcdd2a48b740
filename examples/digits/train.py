#!/usr/bin/env python3
"""Classify scikit-learn's bundled 8x8 digits with a small PyTorch MLP.

A normal training program: hyper-parameters arrive as command-line flags, the DDP
rendezvous comes from the torchrun-compatible environment hpsweep-launch sets
(RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, ...), and validation metrics are
reported each epoch with hpsweep.report() (or as plain HPSWEEP_METRIC lines when
the helper is not importable). No data is downloaded: the digits ship with sklearn.

With WORLD_SIZE > 1 it trains with DistributedDataParallel: NCCL when CUDA is available
(one GPU per rank, cuda:LOCAL_RANK), gloo on CPU. It checkpoints every epoch into
$HPSWEEP_CHECKPOINT_DIR/last.pt and resumes from it when present (a requeued or
resubmitted trial goes on where it stopped). On SIGUSR2, hpsweep's preemption notice, it
finishes the current epoch, checkpoints and exits 0.

--fail_once_lr X exists for the tutorial's "resubmit the failed trials" step: the trial
whose --lr equals X fails on its first attempt (exit 3) and leaves a marker file in its
trial directory; any later attempt of that trial finds the marker and trains normally.
"""
import argparse
import json
import os
import signal
import sys

import torch
import torch.distributed as dist
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
try:
    import hpsweep  # reports through the launcher's metrics pipe
except ImportError:  # still useful without hpsweep: print the documented metric line
    hpsweep = None


def report(step, **metrics):
    if hpsweep is not None:
        hpsweep.report(step=step, **metrics)
    elif int(os.environ.get("RANK", "0")) == 0:
        print("HPSWEEP_METRIC " + json.dumps({"step": step, **metrics}), flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--epochs", type=int,
                        default=int(os.environ.get("HPSWEEP_MAX_LENGTH", "10")))
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data_dir", default=os.environ.get("HPSWEEP_DATASTORE_DIGITS"),
                        help="a directory with digits.csv (default: the 'digits' datastore "
                             "when staged, $HPSWEEP_DATASTORE_DIGITS, else sklearn's copy)")
    parser.add_argument("--plain_log", action="store_true",
                        help="print each epoch's metrics as a plain log line "
                             "('epoch N: val_loss=X val_acc=Y') instead of reporting them, "
                             "for capture with metrics.regex / --metric-regex")
    parser.add_argument("--fail_once_lr", type=float, default=None,
                        help="the trial with this --lr fails on its first attempt only")
    return parser.parse_args()


preemption_requested = False


def on_preemption_notice(signo, frame):
    # Only a flag: the training loop checkpoints at the end of the epoch and exits.
    global preemption_requested
    preemption_requested = True


def fail_first_attempt(lr, fail_once_lr):
    """The tutorial's deliberately flaky trial: fail once, succeed when resubmitted."""
    if fail_once_lr is None or lr != fail_once_lr:
        return
    trial_dir = os.environ.get("HPSWEEP_TRIAL_DIR", ".")
    marker = os.path.join(trial_dir, "failed-once.marker")
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write("first attempt failed on purpose (--fail_once_lr)\n")
        print(f"simulated failure: --lr {lr} equals --fail_once_lr; the next attempt of "
              "this trial will train", file=sys.stderr, flush=True)
        sys.exit(3)


def build_model(hidden, layers):
    blocks, width = [], 64
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    blocks.append(nn.Linear(width, 10))
    return nn.Sequential(*blocks)


def load_data(data_dir):
    """(features scaled to [0, 1], labels): from DATA_DIR/digits.csv (a datastore, see
    examples/datastore/) when given, else from the copy bundled with scikit-learn."""
    if not data_dir:
        digits = load_digits()
        return digits.data / 16.0, digits.target, "sklearn's bundled copy"
    import numpy as np
    table = np.loadtxt(os.path.join(data_dir, "digits.csv"), delimiter=",", skiprows=1)
    return table[:, :64] / 16.0, table[:, 64].astype("int64"), data_dir


def stop_requested(world_size, device):
    """True when any rank got SIGUSR2: all ranks must stop at the same epoch, or the
    ones going on would wait forever in the next all-reduce."""
    if world_size == 1:
        return preemption_requested
    flag = torch.tensor([1.0 if preemption_requested else 0.0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return flag.item() > 0


def leave(world_size):
    """Ends the run. With DDP: every rank waits for the others, then exits without running
    destructors: with torch 1.13 and gloo, DistributedDataParallel's destructor at
    interpreter exit can deadlock (a gloo worker thread waits for the GIL the main thread
    holds while joining it), leaving ranks alive until the time limit. Everything is saved
    and reported by then."""
    if world_size == 1:
        return
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main():
    args = parse_args()
    signal.signal(signal.SIGUSR2, on_preemption_notice)
    torch.set_num_threads(1)  # trials share small nodes; one thread each keeps them fair
    torch.manual_seed(args.seed)

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if rank == 0:
        fail_first_attempt(args.lr, args.fail_once_lr)
    use_cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if use_cuda else "cpu")
    if world_size > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo", init_method="env://")

    features, labels, source = load_data(args.data_dir)
    if rank == 0:
        print(f"data: {len(labels)} digits from {source}", flush=True)
    x = torch.tensor(features, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.long)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0)
    # Each rank trains on its own shard; DDP averages the gradients.
    x_train, y_train = x_train[rank::world_size].to(device), y_train[rank::world_size].to(device)
    x_val, y_val = x_val.to(device), y_val.to(device)

    net = build_model(args.hidden, args.layers).to(device)  # what the checkpoint holds
    model = net
    if world_size > 1:
        model = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if use_cuda else None)
    optimizer = (torch.optim.Adam if args.optimizer == "adam" else torch.optim.SGD)(
        model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    start_epoch = 0
    checkpoint_dir = os.environ.get("HPSWEEP_CHECKPOINT_DIR")
    checkpoint = os.path.join(checkpoint_dir, "last.pt") if checkpoint_dir else None
    if checkpoint and os.path.exists(checkpoint):  # resumed after preemption or requeue
        state = torch.load(checkpoint, map_location=device)
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:  # the flags win: PBT restarts with a new --lr
            group["lr"] = args.lr
        start_epoch = state["epoch"] + 1
        if rank == 0:
            print(f"resumed from {checkpoint} after epoch {start_epoch}", flush=True)
    val_acc = float("nan")

    for epoch in range(start_epoch, args.epochs):
        model.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(order), args.batch_size):
            batch = order[i:i + args.batch_size]
            optimizer.zero_grad()
            loss_fn(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_acc = (logits.argmax(dim=1) == y_val).float().mean().item()
        # Checkpoint first, then report: when the launcher sees epoch N's metric, the
        # checkpoint of epoch N is complete (PBT copies it at its ready points).
        if checkpoint and rank == 0:
            tmp = checkpoint + ".tmp"
            torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "epoch": epoch}, tmp)
            os.replace(tmp, checkpoint)
        if not args.plain_log:
            report(epoch + 1, val_loss=round(val_loss, 6), val_acc=round(val_acc, 6))
        elif rank == 0:
            print(f"epoch {epoch + 1}: val_loss={val_loss:.6f} val_acc={val_acc:.6f}", flush=True)
        if stop_requested(world_size, device):
            if rank == 0:
                print(f"preemption notice (SIGUSR2): checkpointed after epoch {epoch + 1}, "
                      "exiting", flush=True)
            leave(world_size)
            return

    if rank == 0:
        print(f"final validation accuracy {val_acc:.4f} (lr={args.lr} hidden={args.hidden} "
              f"layers={args.layers} world_size={world_size})", flush=True)
    leave(world_size)


if __name__ == "__main__":
    main()

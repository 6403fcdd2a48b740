#!/usr/bin/env python3
"""Classify scikit-learn's bundled 8x8 digits with a small PyTorch MLP.

A normal training program: hyper-parameters arrive as command-line flags, the DDP
rendezvous comes from the torchrun-compatible environment hpsweep-launch sets
(RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, ...), and validation metrics are
reported each epoch with hpsweep.report() (or as plain HPSWEEP_METRIC lines when
the helper is not importable). No data is downloaded: the digits ship with sklearn.
"""
import argparse
import json
import os
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
    return parser.parse_args()


def build_model(hidden, layers):
    blocks, width = [], 64
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    blocks.append(nn.Linear(width, 10))
    return nn.Sequential(*blocks)


def main():
    args = parse_args()
    torch.set_num_threads(1)  # trials share small nodes; one thread each keeps them fair
    torch.manual_seed(args.seed)

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world_size > 1:
        dist.init_process_group("gloo", init_method="env://")

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0)
    # Each rank trains on its own shard; DDP averages the gradients.
    x_train, y_train = x_train[rank::world_size], y_train[rank::world_size]

    model = build_model(args.hidden, args.layers)
    if world_size > 1:
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = (torch.optim.Adam if args.optimizer == "adam" else torch.optim.SGD)(
        model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    start_epoch = 0
    checkpoint_dir = os.environ.get("HPSWEEP_CHECKPOINT_DIR")
    checkpoint = os.path.join(checkpoint_dir, "last.pt") if checkpoint_dir else None
    if checkpoint and os.path.exists(checkpoint):  # resumed after preemption or requeue
        state = torch.load(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch = state["epoch"] + 1

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
        report(epoch + 1, val_loss=round(val_loss, 6), val_acc=round(val_acc, 6))
        if checkpoint and rank == 0:
            tmp = checkpoint + ".tmp"
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "epoch": epoch}, tmp)
            os.replace(tmp, checkpoint)

    if rank == 0:
        print(f"final validation accuracy {val_acc:.4f} (lr={args.lr} hidden={args.hidden} "
              f"layers={args.layers} world_size={world_size})", flush=True)
    if world_size > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Measures the learning curves of bench_search's "measured" family by training real networks.

A 16 x 16 grid of configurations: the learning rate (16 values, log-spaced from 10^-3.5 to 1)
times the width of a two-hidden-layer ReLU MLP (16 values, log-spaced from 4 to 512). Each is
trained with SGD (momentum 0.9, batches of 64, no learning-rate decay, PyTorch's default
initialisation) on scikit-learn's digits for 81 epochs, and its validation error is measured
after every epoch: what an LCBench run records, on a data set that ships with Debian's
python3-sklearn. Configurations whose learning rate is too large diverge, as in any grid.

Usage: measure_digits_mlp.py [--seeds N] [--jobs N] > digits_mlp.txt
Each training seed gives every configuration its own initialisation and data order. The 16
learning rates of one width train side by side as one batched model (torch.bmm); 3 seeds
took 43 minutes with --jobs 2 on a 2-core machine, most of it on the widest networks. Output: the file format bench_search reads (see
read_measured_curves in bench/search.bench.cpp); the numbers are counts of misclassified
validation samples, deterministic for a given PyTorch build and thread count.
"""
import argparse
import multiprocessing
import sys

import numpy as np
import torch
from sklearn.datasets import load_digits

EPOCHS, BATCH, MOMENTUM = 81, 64, 0.9
LEARNING_RATES = np.logspace(-3.5, 0.0, 16)
WIDTHS = [int(round(w)) for w in np.logspace(2, 9, 16, base=2)]
CLASSES = 10


def split():
    """The digits, shuffled once (seed 0): a quarter for validation, standardised on the rest."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order] / 16.0, y[order]
    n_val = len(x) // 4
    x_val, y_val = torch.tensor(x[:n_val], dtype=torch.float32), torch.tensor(y[:n_val])
    x_train, y_train = torch.tensor(x[n_val:], dtype=torch.float32), torch.tensor(y[n_val:])
    mean, sd = x_train.mean(0), x_train.std(0) + 1e-6
    return (x_train - mean) / sd, y_train, (x_val - mean) / sd, y_val


def layer(generator, models, fan_in, fan_out):
    """One linear layer per model, initialised as torch.nn.Linear does: U(+-1/sqrt(fan_in))."""
    bound = 1.0 / fan_in**0.5
    weight = (torch.rand(models, fan_in, fan_out, generator=generator) * 2 - 1) * bound
    bias = (torch.rand(models, 1, fan_out, generator=generator) * 2 - 1) * bound
    return [weight.requires_grad_(), bias.requires_grad_()]


def forward(params, x, models):
    h = x.expand(models, *x.shape)
    for i in range(0, len(params), 2):
        h = torch.baddbmm(params[i + 1], h, params[i])
        if i + 2 < len(params):
            h = torch.relu(h)
    return h


def measure(task):
    """Trains the 16 learning rates of one width with one seed; returns [16][EPOCHS] counts."""
    seed, width_index = task
    torch.set_num_threads(1)
    x_train, y_train, x_val, y_val = split()
    models = len(LEARNING_RATES)
    lr = torch.tensor(LEARNING_RATES, dtype=torch.float32).view(models, 1, 1)
    width = WIDTHS[width_index]
    init = torch.Generator().manual_seed(1000 * seed + width_index)
    params = (layer(init, models, x_train.shape[1], width) + layer(init, models, width, width) +
              layer(init, models, width, CLASSES))
    velocity = [torch.zeros_like(p) for p in params]
    data_order = torch.Generator().manual_seed(seed)
    errors = np.zeros((models, EPOCHS), dtype=np.int64)
    for epoch in range(EPOCHS):
        shuffled = torch.randperm(len(x_train), generator=data_order)
        for start in range(0, len(x_train), BATCH):
            batch = shuffled[start:start + BATCH]
            logits = forward(params, x_train[batch], models)
            # Each model's mean loss, summed: every model gets exactly its own gradient.
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, CLASSES), y_train[batch].repeat(models),
                reduction='sum') / len(batch)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, v, g in zip(params, velocity, grads):
                    # A diverged model's non-finite gradient must not reach the others.
                    g = torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
                    v.mul_(MOMENTUM).add_(g)
                    p.sub_(lr * v)
        with torch.no_grad():
            logits = torch.nan_to_num(forward(params, x_val, models), nan=0.0, posinf=0.0,
                                      neginf=0.0)
            errors[:, epoch] = (logits.argmax(2) != y_val).sum(1).numpy()
    print(f'seed {seed}, width {width}: final errors {errors[:, -1].tolist()}', file=sys.stderr,
          flush=True)
    return task, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--jobs', type=int, default=1)
    args = parser.parse_args()
    if args.seeds < 1 or args.jobs < 1:
        parser.error('--seeds and --jobs must be at least 1')
    # The widest first, so that the jobs end together.
    tasks = [(s, w) for w in reversed(range(len(WIDTHS))) for s in range(args.seeds)]
    with multiprocessing.Pool(args.jobs) as pool:
        results = dict(pool.imap_unordered(measure, tasks))
    validation_size = len(split()[3])
    print('# bench_search\'s measured family: written by bench/curves/measure_digits_mlp.py '
          f'--seeds {args.seeds} (torch {torch.__version__})')
    print('# learning rates: ' + ' '.join(f'{lr:.4g}' for lr in LEARNING_RATES))
    print('# widths: ' + ' '.join(map(str, WIDTHS)))
    print('# per run: seed, learning-rate index, width index, then the misclassified validation')
    print(f'# samples after each of the {EPOCHS} epochs')
    print(f'validation_size {validation_size}')
    print(f'seeds {args.seeds}')
    for seed in range(args.seeds):
        for u in range(len(LEARNING_RATES)):
            for v in range(len(WIDTHS)):
                counts = results[(seed, v)][u]
                print(seed, u, v, ' '.join(map(str, counts)))


if __name__ == '__main__':
    main()

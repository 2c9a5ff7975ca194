"""Time the chapter's training recipe on the digits and report the test accuracy.

Run: ``python benchmarks/train_digits.py [--seeds 0 1 2] [--epochs 15] [--optimiser sgd]``.
Wall-clock times depend on the machine and its load; the accuracies depend only on the seed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from conv.nn import SoftmaxCrossEntropy
from conv.optim import SGD, Adam
from conv.train import load_digits_split, make_digits_cnn, train

RECIPES = {
    "sgd": lambda model: SGD(model, lr=0.05, momentum=0.9),
    "nesterov": lambda model: SGD(model, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda model: Adam(model, lr=3e-3),
}


def run(seed, epochs, batch_size, optimiser):
    data = load_digits_split(seed=0)
    model = make_digits_cnn(rng=seed)
    start = time.perf_counter()
    history = train(
        model, RECIPES[optimiser](model), SoftmaxCrossEntropy(), data, epochs, batch_size, rng=seed
    )
    return time.perf_counter() - start, history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--optimiser", choices=sorted(RECIPES), default="sgd")
    args = parser.parse_args()
    times, accs = [], []
    for seed in args.seeds:
        seconds, history = run(seed, args.epochs, args.batch_size, args.optimiser)
        times.append(seconds)
        accs.append(history["test_acc"][-1])
        print(
            f"seed {seed}: {seconds:6.2f} s  final train loss {history['train_loss'][-1]:.4f}  "
            f"test accuracy {accs[-1]:.4f}  (best {max(history['test_acc']):.4f})"
        )
    print(
        f"{args.optimiser}, {args.epochs} epochs, batch {args.batch_size}: "
        f"time {np.median(times):.2f} s median ({min(times):.2f}-{max(times):.2f}), "
        f"test accuracy {np.mean(accs):.4f} mean ({min(accs):.4f}-{max(accs):.4f})"
    )


if __name__ == "__main__":
    main()

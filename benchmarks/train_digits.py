"""Time the chapter's training recipe on the digits and report the test accuracy.

Run: ``python benchmarks/train_digits.py [--seeds 0 1 2] [--epochs 30] [--patience 5]
[--optimiser sgd]``. As in chapter 10, the epoch is chosen on a validation set (a fifth of
the training part; lowest validation loss, early stopping with ``--patience``, 0 for none)
and the test set is evaluated once, on the restored best epoch. Wall-clock times depend on
the machine and its load; the accuracies depend only on the seed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from conv.nn import SoftmaxCrossEntropy
from conv.optim import SGD, Adam
from conv.train import evaluate, load_digits_split, make_digits_cnn, train

RECIPES = {
    "sgd": lambda model: SGD(model, lr=0.05, momentum=0.9),
    "nesterov": lambda model: SGD(model, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda model: Adam(model, lr=3e-3),
}


def run(seed, epochs, batch_size, optimiser, patience):
    """One training run: ``(seconds, history, test_accuracy)``."""
    x_train, y_train, x_val, y_val, x_test, y_test = load_digits_split(seed=0, val_size=0.2)
    model = make_digits_cnn(rng=seed)
    loss = SoftmaxCrossEntropy()
    start = time.perf_counter()
    history = train(
        model,
        RECIPES[optimiser](model),
        loss,
        (x_train, y_train),
        epochs,
        batch_size,
        rng=seed,
        val=(x_val, y_val),
        patience=patience or None,
    )
    seconds = time.perf_counter() - start
    return seconds, history, evaluate(model, loss, x_test, y_test)[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=30, help="at most this many epochs")
    parser.add_argument("--patience", type=int, default=5, help="0: run every epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--optimiser", choices=sorted(RECIPES), default="sgd")
    args = parser.parse_args()
    times, accs, bests = [], [], []
    for seed in args.seeds:
        seconds, history, test_acc = run(
            seed, args.epochs, args.batch_size, args.optimiser, args.patience
        )
        times.append(seconds)
        accs.append(test_acc)
        bests.append(history["best_epoch"])
        best = history["best_epoch"]
        print(
            f"seed {seed}: {seconds:6.2f} s  {len(history['train_loss'])} epochs, best {best} "
            f"(validation accuracy {history['val_acc'][best - 1]:.4f})  "
            f"test accuracy {test_acc:.4f}"
        )
    print(
        f"{args.optimiser}, at most {args.epochs} epochs, patience {args.patience}, batch "
        f"{args.batch_size}: time {np.median(times):.2f} s median ({min(times):.2f}-"
        f"{max(times):.2f}), best epochs {bests}, test accuracy {np.mean(accs):.4f} mean "
        f"({min(accs):.4f}-{max(accs):.4f})"
    )


if __name__ == "__main__":
    main()

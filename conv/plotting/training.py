"""Figures for the training chapter: learning curves, filters, feature maps, errors, gradients.

Single-panel functions take ``ax=None`` and return the axes they drew on; functions that need a
grid of panels take ``fig=None`` and return the figure. Figures are built without pyplot
(:func:`conv.plotting.grid.new_ax` / ``new_figure``), so they show once, as a cell's result.
Shapes: digits ``x (N, 1, 8, 8)``, labels ``y (N,)``, filters ``w (K, C, KH, KW)``.
"""

from __future__ import annotations

import numpy as np

from ..geometry import check_int
from ..train import conv_feature_maps
from . import style
from .grid import new_ax, new_figure

__all__ = [
    "plot_digits",
    "plot_history",
    "plot_filters",
    "plot_feature_maps",
    "plot_confusion_matrix",
    "plot_misclassified",
    "plot_grad_norms",
]

TRAIN = style.ACCENT  # training-set curves
TEST = style.CURRENT  # test-set curves
VAL = style.OUTPUT  # validation-set curves
# (colour, line style, marker) of each layer's gradient-norm curve; the first three avoid the
# training blue and the validation purple of plot_history, and none is VAL's purple
GRAD_STYLES = [
    ("#2a9d8f", "-", "o"),  # teal
    (style.CURRENT, "--", "s"),
    (style.TEXT, ":", "^"),
    ("#888888", "-.", "D"),
    (style.ACCENT, (0, (5, 1, 1, 1)), "v"),
]
DIGIT_CMAP = "gray_r"  # ink dark on white paper
WEIGHT_CMAP = "RdBu_r"  # weights: red positive, blue negative, white zero


def _image(ax, img, cmap, vmin, vmax, title=None, fontsize=9, color=None):
    ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=fontsize, color=color or style.TEXT)
    return ax


def _as_images(x):
    """``x (N, 1, H, W)`` or ``(N, H, W)`` -> ``(N, H, W)``."""
    x = np.asarray(x)
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"expected one channel, x (N, 1, H, W), got shape {x.shape}")
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"expected images (N, 1, H, W) or (N, H, W), got shape {x.shape}")
    return x


def plot_digits(x, labels=None, fig=None, ncols=10, title=None):
    """A grid of digits ``x (N, 1, H, W)``, each titled with ``labels[n]`` if given.

    ``labels`` is a sequence of N strings or numbers (or None). Pixels are drawn dark on
    white from 0 to 1. Returns the figure.
    """
    images = _as_images(x)
    n = len(images)
    if n == 0:
        raise ValueError("plot_digits needs at least one image")
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {n} images but {len(labels)} labels")
    ncols = min(check_int("ncols", ncols, 1), n)
    nrows = -(-n // ncols)
    fig = new_figure(fig, figsize=(0.9 * ncols, 1.05 * nrows + (0.3 if title else 0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            _image(ax, images[i], DIGIT_CMAP, 0, 1, None if labels is None else str(labels[i]))
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_history(history, fig=None):
    """Loss (left) and accuracy (right) per epoch: training blue, validation purple, test orange.

    ``history`` is the dict from :func:`conv.train.train`: lists ``train_loss``, ``train_acc``
    and, if present, ``val_loss``/``val_acc`` and ``test_loss``/``test_acc``, one value per
    epoch. If it holds a ``best_epoch`` (training with validation data), a dashed vertical line
    marks that epoch on both panels (``gid="best_epoch"``). The loss axis is logarithmic.
    Returns the figure with two axes.
    """
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig = new_figure(fig, figsize=(8, 3))
    loss_ax, acc_ax = fig.subplots(1, 2)
    curves = [("train", "training", "o-", TRAIN)]
    for key, label, colour in (("val", "validation", VAL), ("test", "test", TEST)):
        if f"{key}_loss" in history:
            curves.append((key, label, "s-", colour))
    for key, label, marker, colour in curves:
        loss_ax.plot(epochs, history[f"{key}_loss"], marker, ms=3, color=colour, label=label)
        acc = 100 * np.asarray(history[f"{key}_acc"])
        acc_ax.plot(epochs, acc, marker, ms=3, color=colour, label=label)
    loss_ax.set_yscale("log")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss per epoch")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy per epoch")
    best = history.get("best_epoch")
    for ax in (loss_ax, acc_ax):
        if best is not None:
            ax.axvline(best, color=style.GRID, ls="--", lw=1, gid="best_epoch",
                       label=f"best on validation (epoch {best})")  # fmt: skip
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    return fig


def plot_filters(w, fig=None, ncols=8):
    """The filters ``w (K, 1, KH, KW)`` of a first conv layer as small images, one per filter.

    Colours are symmetric around zero (red positive, blue negative, white 0) and shared by all
    filters, so their strengths compare. Each panel is titled with the filter index. Returns
    the figure (K image axes plus a colour bar).
    """
    w = np.asarray(w)
    if w.ndim != 4 or w.shape[1] != 1:
        raise ValueError(f"plot_filters needs w (K, 1, KH, KW), got shape {w.shape}")
    k = w.shape[0]
    ncols = min(check_int("ncols", ncols, 1), k)
    nrows = -(-k // ncols)
    limit = float(np.abs(w).max()) or 1.0
    fig = new_figure(fig, figsize=(1.0 * ncols + 0.8, 1.1 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < k:
            _image(ax, w[i, 0], WEIGHT_CMAP, -limit, limit, f"filter {i}", fontsize=8)
        else:
            ax.axis("off")
    fig.colorbar(axes.flat[0].images[0], ax=axes, shrink=0.8, label="weight")
    return fig


def plot_feature_maps(model, x, fig=None, channels=None):
    """Digits ``x (N, 1, H, W)`` (first column) and their conv+ReLU feature maps (one per column).

    ``channels`` picks which of the K maps to show (default: all). Each map is scaled from 0 to
    the largest activation in that column, so columns compare across digits. Returns the figure
    with ``N`` rows of ``1 + len(channels)`` axes.
    """
    images = _as_images(x)
    maps = conv_feature_maps(model, images[:, None])
    channels = list(range(maps.shape[1])) if channels is None else list(channels)
    n, ncols = len(images), 1 + len(channels)
    fig = new_figure(fig, figsize=(0.52 * ncols, 0.6 * n + 0.3))
    axes = fig.subplots(n, ncols, squeeze=False)
    for r in range(n):
        _image(axes[r, 0], images[r], DIGIT_CMAP, 0, 1, "input" if r == 0 else None, 8)
        for j, c in enumerate(channels):
            top = float(maps[:, c].max()) or 1.0
            title = f"{c}" if r == 0 else None
            _image(axes[r, j + 1], maps[r, c], "viridis", 0, top, title, 8)
    return fig


def plot_confusion_matrix(cm, ax=None, class_names=None):
    """A confusion matrix ``cm (K, K)`` (rows true class, columns predicted) with its counts.

    Every non-zero count is written in its cell; the diagonal (correct) is shaded purple by
    count, errors off the diagonal are outlined in orange. Returns ``ax``.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix is square (K, K), got shape {cm.shape}")
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    ax = new_ax(ax, figsize=(4.8, 4.4))
    ax.imshow(cm, cmap="Purples", vmin=0, vmax=max(int(cm.max()), 1))
    half = cm.max() / 2
    for i in range(k):
        for j in range(k):
            if cm[i, j] == 0:
                continue
            light = i == j and cm[i, j] > half
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=9,
                    color="white" if light else style.TEXT, gid="count")  # fmt: skip
            if i != j:
                ax.add_patch(_cell_outline(i, j))
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set(xlabel="predicted class", ylabel="true class")
    ax.set_title(f"confusion matrix: {int(np.trace(cm))} of {int(cm.sum())} correct", fontsize=10)
    return ax


def _cell_outline(i, j):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=style.CURRENT,
                     linewidth=2, gid="error")  # fmt: skip


def plot_misclassified(x, y_true, y_pred, fig=None, max_images=20, ncols=10):
    """The digits the model got wrong, titled ``true -> predicted`` (at most ``max_images``).

    ``x (N, 1, H, W)``, ``y_true (N,)``, ``y_pred (N,)``. Returns the figure; if nothing is
    wrong, a single empty axes says so.
    """
    y_true, y_pred, x = np.asarray(y_true), np.asarray(y_pred), np.asarray(x)
    if not (y_true.ndim == y_pred.ndim == 1 and len(x) == len(y_true) == len(y_pred)):
        raise ValueError(
            f"x, y_true and y_pred must hold one entry per digit, got shapes {x.shape}, "
            f"{y_true.shape} and {y_pred.shape}"
        )
    max_images = check_int("max_images", max_images, 1)
    wrong = np.flatnonzero(y_true != y_pred)
    if len(wrong) == 0:
        fig = new_figure(fig, figsize=(4, 1))
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified digits", ha="center", va="center")
        return fig
    shown = wrong[:max_images]
    labels = [f"{t} → {p}" for t, p in zip(y_true[shown], y_pred[shown])]
    title = f"{len(wrong)} misclassified of {len(y_true)} (true → predicted)"
    if len(shown) < len(wrong):
        title += f", first {len(shown)} shown"
    return plot_digits(x[shown], labels, fig=fig, ncols=ncols, title=title)


def plot_grad_norms(grad_norm, steps_per_epoch=None, ax=None, smooth=1):
    """Gradient norm of each layer per step, on a logarithmic axis.

    ``grad_norm`` is ``history["grad_norm"]``: a dict ``{"0.Conv2D": [...], "3.Conv2D": ...}``
    with one norm per step. ``smooth > 1`` also draws a running mean over that many steps on
    top of the raw (faint) curve. ``steps_per_epoch`` adds a second x-axis label in epochs.
    Returns ``ax``; one line per layer (plus one per layer when smoothing). Each layer has its
    own colour, line style and marker (:data:`GRAD_STYLES`), so curves that lie on top of each
    other stay apart, and none is drawn in the validation purple of :func:`plot_history`.
    """
    if not grad_norm:
        raise ValueError("grad_norm is empty: the model has no layer with parameters")
    ax = new_ax(ax, figsize=(8, 3.4))
    for i, (key, norms) in enumerate(grad_norm.items()):
        norms = np.asarray(norms, dtype=float)
        steps = np.arange(1, len(norms) + 1)
        colour, ls, marker = GRAD_STYLES[i % len(GRAD_STYLES)]
        # markers spread over the curve, each layer's shifted so that they do not coincide
        every = max(1, len(norms) // 12)
        look = dict(color=colour, ls=ls, marker=marker, ms=5, mfc="white", mew=1.3, label=key)
        look["markevery"] = (i * every // len(grad_norm), every)
        if smooth > 1 and len(norms) >= smooth:
            ax.plot(steps, norms, color=colour, alpha=0.25, lw=0.8)
            mean = np.convolve(norms, np.ones(smooth) / smooth, mode="valid")
            ax.plot(steps[smooth - 1 :], mean, lw=1.8, **look)
        else:
            ax.plot(steps, norms, lw=1.2, **look)
    ax.set_yscale("log")
    ax.set(xlabel="step (minibatch)", ylabel="gradient norm (log scale)")
    title = "gradient norm of each layer per step"
    if steps_per_epoch:
        top = ax.secondary_xaxis(
            "top", functions=(lambda s: s / steps_per_epoch, lambda e: e * steps_per_epoch)
        )
        top.set_xlabel("epoch")
        ax.set_title(title, fontsize=10, y=1.0, pad=42)  # clear of the epoch axis and its label
    else:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return ax

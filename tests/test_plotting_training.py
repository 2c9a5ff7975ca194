"""conv.plotting.training: the artists each figure of chapter 10 draws, against the data given."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import same_color
from matplotlib.patches import Rectangle

from conv.plotting import training as pt
from conv.train import conv_feature_maps, make_digits_cnn


def _digits(n, seed=0):
    return np.random.default_rng(seed).random((n, 1, 8, 8))


def _history(epochs=4):
    e = np.arange(1, epochs + 1)
    return {
        "train_loss": list(1.0 / e),
        "test_loss": list(1.2 / e),
        "train_acc": list(1 - 0.1 / e),
        "test_acc": list(1 - 0.2 / e),
        "batch_loss": [],
        "grad_norm": {"0.Conv2D": [1.0, 0.5, 0.25, 0.1], "4.Dense": [2.0, 1.0, 0.5, 0.2]},
    }


def test_plot_digits_grid_titles_and_pixels():
    x = _digits(7)
    fig = pt.plot_digits(x, list("abcdefg"), ncols=4)
    axes = fig.axes
    assert len(axes) == 8  # 2 rows of 4; the last one switched off
    assert [ax.get_title() for ax in axes[:7]] == list("abcdefg")
    assert not axes[7].axison
    np.testing.assert_array_equal(axes[3].images[0].get_array(), x[3, 0])
    assert axes[0].images[0].get_clim() == (0, 1)


def test_plot_digits_rejects_bad_input():
    with pytest.raises(ValueError, match="labels"):
        pt.plot_digits(_digits(3), [1, 2])
    with pytest.raises(ValueError, match="one channel"):
        pt.plot_digits(np.zeros((2, 3, 8, 8)))


def test_plot_history_two_panels_with_the_values():
    h = _history()
    fig = pt.plot_history(h)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_yscale() == "log"
    train_line, test_line = loss_ax.get_lines()
    np.testing.assert_allclose(train_line.get_ydata(), h["train_loss"])
    np.testing.assert_allclose(test_line.get_ydata(), h["test_loss"])
    np.testing.assert_array_equal(train_line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(acc_ax.get_lines()[1].get_ydata(), 100 * np.array(h["test_acc"]))
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["training", "test"]


def test_plot_filters_one_panel_per_filter_on_a_symmetric_scale():
    w = np.random.default_rng(1).standard_normal((5, 1, 3, 3))
    fig = pt.plot_filters(w, ncols=3)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 5
    limit = np.abs(w).max()
    assert images[0].get_clim() == pytest.approx((-limit, limit))
    np.testing.assert_array_equal(images[4].get_array(), w[4, 0])
    assert fig.axes[4].get_title() == "filter 4"
    with pytest.raises(ValueError, match="K, 1, KH, KW"):
        pt.plot_filters(np.zeros((2, 3, 3, 3)))


def test_plot_feature_maps_layout_and_contents():
    model = make_digits_cnn(rng=0, channels=(4, 8))
    x = _digits(2)
    fig = pt.plot_feature_maps(model, x, channels=[1, 3])
    assert len(fig.axes) == 2 * 3
    maps = conv_feature_maps(model, x)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), x[0, 0])
    np.testing.assert_array_equal(fig.axes[5].images[0].get_array(), maps[1, 3])
    assert fig.axes[5].images[0].get_clim()[1] == pytest.approx(maps[:, 3].max())
    assert [ax.get_title() for ax in fig.axes[:3]] == ["input", "1", "3"]


def test_confusion_matrix_counts_and_error_outlines():
    cm = np.array([[5, 0, 1], [0, 7, 0], [2, 0, 3]])
    ax = pt.plot_confusion_matrix(cm)
    counts = {(t.get_position(), t.get_text()) for t in ax.texts if t.get_gid() == "count"}
    assert counts == {
        ((0, 0), "5"),
        ((2, 0), "1"),
        ((1, 1), "7"),
        ((0, 2), "2"),
        ((2, 2), "3"),
    }
    outlines = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() == "error"]
    assert sorted((p.get_x(), p.get_y()) for p in outlines) == [(-0.5, 1.5), (1.5, -0.5)]
    assert "15 of 18 correct" in ax.get_title()
    with pytest.raises(ValueError, match="square"):
        pt.plot_confusion_matrix(np.zeros((2, 3)))


def test_plot_misclassified_shows_only_the_wrong_ones():
    x = _digits(6)
    y_true = np.array([0, 1, 2, 3, 4, 5])
    y_pred = np.array([0, 7, 2, 3, 9, 5])
    fig = pt.plot_misclassified(x, y_true, y_pred)
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == ["1 → 7", "4 → 9"]
    np.testing.assert_array_equal(shown[1].images[0].get_array(), x[4, 0])
    assert "2 misclassified of 6" in fig._suptitle.get_text()


def test_plot_misclassified_caps_and_handles_none_wrong():
    x = _digits(5)
    y = np.arange(5)
    fig = pt.plot_misclassified(x, y, (y + 1) % 5, max_images=3)
    assert sum(1 for ax in fig.axes if ax.images) == 3
    assert "first 3 shown" in fig._suptitle.get_text()
    fig = pt.plot_misclassified(x, y, y)
    assert fig.axes[0].texts[0].get_text() == "no misclassified digits"


def test_plot_grad_norms_log_axis_one_line_per_layer():
    h = _history()
    ax = pt.plot_grad_norms(h["grad_norm"])
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["0.Conv2D", "4.Dense"]
    np.testing.assert_allclose(lines[1].get_ydata(), h["grad_norm"]["4.Dense"])
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3, 4])


def test_plot_grad_norms_smoothing_is_a_running_mean():
    norms = {"0.Conv2D": [1.0, 3.0, 5.0, 7.0]}
    ax = pt.plot_grad_norms(norms, smooth=2, steps_per_epoch=2)
    raw, mean = ax.get_lines()
    np.testing.assert_allclose(raw.get_ydata(), norms["0.Conv2D"])
    np.testing.assert_allclose(mean.get_ydata(), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(mean.get_xdata(), [2, 3, 4])
    assert mean.get_label() == "0.Conv2D" and raw.get_label().startswith("_")
    with pytest.raises(ValueError, match="empty"):
        pt.plot_grad_norms({})


def test_plot_grad_norms_curves_differ_by_more_than_colour():
    # the chapter's three layers; two of them nearly coincide, as in its figure
    norms = {"0.Conv2D": [0.5] * 40, "3.Conv2D": [2.0] * 40, "7.Dense": [2.0] * 40}
    ax = pt.plot_grad_norms(norms, steps_per_epoch=10, smooth=5)
    curves = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in curves] == list(norms)
    looks = {(line.get_linestyle(), line.get_marker()) for line in curves}
    assert len(looks) == 3  # each layer its own line style and marker, not only a colour
    assert len({line.get_markevery() for line in curves}) == 3  # markers do not coincide
    for line in ax.get_lines():  # raw and smoothed: never the validation purple
        assert not same_color(line.get_color(), pt.VAL)


def test_plot_grad_norms_title_clears_the_epoch_axis():
    ax = pt.plot_grad_norms({"0.Conv2D": [1.0, 0.5, 0.25, 0.1]}, steps_per_epoch=2)
    FigureCanvasAgg(ax.figure).draw()
    renderer = ax.figure.canvas.get_renderer()
    (top,) = ax.child_axes  # the epoch axis
    assert top.get_xlabel() == "epoch"
    title = ax.title.get_window_extent(renderer)
    label = top.xaxis.label.get_window_extent(renderer)
    assert title.y0 > label.y1  # above the epoch label, not on it


def _history_with_validation(epochs=5, best=3):
    h = _history(epochs)
    del h["test_loss"], h["test_acc"]
    e = np.arange(1, epochs + 1)
    h["val_loss"] = list(0.5 + (e - best) ** 2 / 10)  # lowest at epoch `best`
    h["val_acc"] = list(0.9 - (e - best) ** 2 / 100)
    h["best_epoch"] = best
    return h


def test_plot_history_draws_validation_and_marks_the_best_epoch():
    h = _history_with_validation()
    fig = pt.plot_history(h)
    loss_ax, acc_ax = fig.axes
    curves = [line for line in loss_ax.get_lines() if line.get_gid() != "best_epoch"]
    assert [line.get_label() for line in curves] == ["training", "validation"]
    np.testing.assert_allclose(curves[1].get_ydata(), h["val_loss"])
    assert curves[1].get_color() == pt.VAL != pt.TRAIN
    val_acc = [line for line in acc_ax.get_lines() if line.get_label() == "validation"]
    np.testing.assert_allclose(val_acc[0].get_ydata(), 100 * np.array(h["val_acc"]))
    for ax in (loss_ax, acc_ax):
        (marker,) = [line for line in ax.get_lines() if line.get_gid() == "best_epoch"]
        np.testing.assert_array_equal(marker.get_xdata(), [3, 3])
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["training", "validation", "best on validation (epoch 3)"]


def test_plot_history_with_validation_and_test_and_no_best_marker_without_validation():
    h = _history_with_validation()
    h["test_loss"], h["test_acc"] = _history()["test_loss"][:4] + [0.3], [0.9] * 5
    loss_ax, _ = pt.plot_history(h).axes
    assert [line.get_label() for line in loss_ax.get_lines()] == [
        "training",
        "validation",
        "test",
        "best on validation (epoch 3)",
    ]
    assert loss_ax.get_lines()[2].get_color() == pt.TEST
    loss_ax, _ = pt.plot_history(_history()).axes  # no validation: no marker
    assert not [line for line in loss_ax.get_lines() if line.get_gid() == "best_epoch"]


def test_plot_history_draws_into_a_given_figure():
    from matplotlib.figure import Figure

    fig = Figure()
    assert pt.plot_history(_history_with_validation(), fig=fig) is fig
    assert len(fig.axes) == 2

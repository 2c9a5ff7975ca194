"""Chapter 5's explorer: the weight gradient as a cross-correlation of the input with ``dout``.

For one image and one filter, tap ``(i, j)`` of the kernel multiplies one pixel of the padded
input in every output position, so::

    dW[i, j] = sum over (oh, ow) of dout[oh, ow] * x_pad[oh*S + i*D, ow*S + j*D]
    db       = sum of dout

``dout (OH, OW)`` slides over ``x_pad (H + 2P, W + 2P)`` like a kernel whose dilation is the
stride ``S``. The page computes all of it in JavaScript from the two arrays below.
"""

from __future__ import annotations

import numpy as np
import traitlets as t

from ..functional import conv2d_backward
from ..geometry import conv_output_shape
from .base import Explorer, check_fits

__all__ = ["WeightGradient", "weight_gradient", "X_SHAPE", "DOUT_SHAPE"]

#: The largest input the controls allow (H, W <= 7).
X_SHAPE = (7, 7)
#: The largest ``dout``: H = 7, P = 2, KH = 1, S = 1 gives OH = 7 + 2*2 - 1 + 1 = 11.
DOUT_SHAPE = (11, 11)


class WeightGradient(Explorer):
    """``dW (KH, KW)`` and ``db`` of one ``KH x KW`` filter on one ``H x W`` image (stride
    ``S``, padding ``P``, dilation ``D``, ``floor`` mode) for a given ``dout (OH, OW)``.

    ``i``, ``j`` pick the kernel tap whose sum is written out (past the last shows the last).
    ``x (7, 7)`` and ``dout (11, 11)`` are small integers from ``np.random.default_rng(seed)``
    at the largest size the controls allow; the page uses ``x[:H, :W]`` and
    ``dout[:OH, :OW]``. :meth:`gradients` gives the package's ``dW`` and ``db`` for them.
    """

    NAME = "weight-gradient"
    MODULE = "weight_gradient"
    PARAMS = ("H", "W", "KH", "KW", "S", "P", "D", "floor", "i", "j")

    H = t.Int(5).tag(sync=True)
    W = t.Int(5).tag(sync=True)
    KH = t.Int(3).tag(sync=True)
    KW = t.Int(3).tag(sync=True)
    S = t.Int(1).tag(sync=True)
    P = t.Int(1).tag(sync=True)
    D = t.Int(1).tag(sync=True)
    floor = t.Bool(False).tag(sync=True)
    i = t.Int(0).tag(sync=True)
    j = t.Int(0).tag(sync=True)

    seed = t.Int(0).tag(sync=True)
    x = t.List().tag(sync=True)
    dout = t.List().tag(sync=True)

    @t.default("x")
    def _default_x(self):
        return self._arrays()[0]

    @t.default("dout")
    def _default_dout(self):
        return self._arrays()[1]

    def _arrays(self):
        """``x (7, 7)`` and ``dout (11, 11)``, small integers from ``default_rng(seed)``."""
        rng = np.random.default_rng(self.seed)
        x = rng.integers(-3, 4, size=X_SHAPE)
        dout = rng.integers(-2, 3, size=DOUT_SHAPE)
        return x.tolist(), dout.tolist()

    def __init__(self, **params):
        super().__init__(**params)
        self.observe(self._new_seed, names="seed")
        self.observe(self._refresh, names=["x", "dout"])

    def _new_seed(self, _change=None):
        self.x, self.dout = self._arrays()

    @property
    def tap(self) -> tuple[int, int]:
        """``(i, j)`` clamped to the kernel, as the page shows it."""
        return (
            max(0, min(self.i, self.KH - 1)),
            max(0, min(self.j, self.KW - 1)),
        )

    def compute(self):
        oh, ow = conv_output_shape(
            (1, 1, self.H, self.W), self.KH, self.KW, self.S, self.P, self.D, self.floor
        )
        check_fits("H", self.H, "input x", self.x)
        check_fits("W", self.W, "input x", self.x)
        check_fits("OH", oh, "dout", self.dout)
        check_fits("OW", ow, "dout", self.dout)
        return oh, ow

    def gradients(self) -> tuple[np.ndarray, float]:
        """``dW (KH, KW)`` and ``db`` from :func:`conv.conv2d_backward` for the shown arrays.

        Raises ``ValueError`` when the parameters are not a valid layer (see ``message``).
        """
        oh, ow = self.compute()
        x = np.array(self.x, dtype=float)[: self.H, : self.W]
        dout = np.array(self.dout, dtype=float)[:oh, :ow]
        w = np.zeros((1, 1, self.KH, self.KW))
        _, dw, db = conv2d_backward(
            dout[None, None], x[None, None], w, self.S, self.P, self.D, self.floor
        )
        return dw[0, 0], float(db[0])


def weight_gradient(**params) -> WeightGradient:
    """``conv.explorers.weight_gradient(H=5, W=5, KH=3, KW=3, S=1, P=1)``: chapter 5's
    explorer."""
    return WeightGradient(**params)

"""Lookup used by :mod:`conv.plotting` and :mod:`conv.widgets` to reach chapter modules."""

from __future__ import annotations

import importlib


def find_in_parts(owner: str, parts, name: str):
    """Return ``name`` from the first module ``conv.<part>`` whose ``__all__`` lists it.

    Lets a notebook write ``conv.plotting.plot_gemm(...)`` although ``plot_gemm`` lives in
    :mod:`conv.plot_im2col`. A part that does not exist is skipped; any other import error is
    raised as it is. Raises ``AttributeError`` naming ``owner`` when no part has ``name``.
    """
    for part in parts:
        try:
            module = importlib.import_module(f"conv.{part}")
        except ModuleNotFoundError as exc:
            if exc.name == f"conv.{part}":
                continue
            raise
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module {owner!r} has no attribute {name!r}")

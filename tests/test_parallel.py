"""conv.parallel: the images shared between threads, and the fast path run that way against
the loop reference (with the size threshold lowered so that even tiny cases are split)."""

import contextlib
import threading

import numpy as np
import pytest
from hypothesis import given
from strategies import PROPERTY, conv_cases

import conv
from conv import naive, parallel
from conv.functional import backward_chunks, backward_cols, dx_paths, forward_cols


@contextlib.contextmanager
def always_split(threshold=0):
    """Every call of the fast path shares its images between the BLAS threads' count."""
    old = parallel.PARALLEL_MIN_BYTES
    parallel.PARALLEL_MIN_BYTES = threshold
    try:
        yield
    finally:
        parallel.PARALLEL_MIN_BYTES = old


def test_blas_threads_is_a_positive_int():
    threads = parallel.blas_threads()
    assert isinstance(threads, int) and threads >= 1


@pytest.mark.parametrize("n, workers", [(1, 1), (5, 1), (5, 2), (7, 3), (2, 2), (9, 4)])
def test_split_images_covers_every_image_once_with_the_shares_at_the_same_time(n, workers):
    seen = np.zeros(n, dtype=int)
    calls, threads = [], set()
    lock = threading.Lock()
    # every share waits for all the others: this passes only if they really run concurrently
    together = threading.Barrier(workers, timeout=30)

    def run(start, stop):
        with lock:
            calls.append((start, stop))
            threads.add(threading.get_ident())
        together.wait()
        seen[start:stop] += 1

    parallel.split_images(run, n, workers)
    assert seen.tolist() == [1] * n
    assert len(calls) == len(threads) == workers  # one contiguous share per thread
    assert min(calls)[0] == 0 and max(calls)[1] == n


def test_blas_is_held_to_one_thread_inside_and_restored_after():
    before = parallel.blas_threads()
    inside = []
    parallel.split_images(lambda a, b: inside.append(parallel.blas_threads()), 4, 2)
    assert inside == [1, 1]
    assert parallel.blas_threads() == before


def test_a_worker_exception_is_raised_after_every_share_stopped():
    finished = []

    def run(start, stop):
        if start > 0:
            raise MemoryError(f"share {start}:{stop}")
        finished.append(start)

    before = parallel.blas_threads()
    with pytest.raises(MemoryError, match="share 2:4"):
        parallel.split_images(run, 4, 2)
    assert finished == [0]
    assert parallel.blas_threads() == before


def test_each_thread_primes_its_blas_buffer_once_per_thread_count(monkeypatch):
    primed = []  # (thread, barrier parties or None) for each call of _prime_blas
    lock = threading.Lock()

    def record(together=None):
        with lock:
            primed.append((threading.get_ident(), together and together.parties))
        if together is not None:
            together.wait(timeout=30)  # passes only if every thread primes at the same time

    monkeypatch.setattr(parallel, "_prime_blas", record)
    monkeypatch.setattr(parallel, "_primed", set())
    ran = []
    for _ in range(2):
        parallel.split_images(lambda a, b: ran.append((a, b)), 4, 2)
    assert len(primed) == 2 and len({thread for thread, _ in primed}) == 2
    assert {parties for _, parties in primed} == {2}
    parallel.split_images(lambda a, b: ran.append((a, b)), 4, 1)
    parallel.split_images(lambda a, b: ran.append((a, b)), 4, 1)
    assert primed[2:] == [(threading.get_ident(), None)]  # one thread: once, in the caller
    assert sorted(ran) == [(0, 2), (0, 2), (0, 4), (0, 4), (2, 4), (2, 4)]


@pytest.mark.parametrize(
    "n, cols_bytes, expected",
    [(1, 10**9, 1), (64, 10, 1), (64, parallel.PARALLEL_MIN_BYTES - 1, 1)],
)
def test_small_work_stays_on_one_thread(n, cols_bytes, expected):
    assert parallel.image_workers(n, cols_bytes) == expected


def test_large_work_uses_the_blas_thread_count():
    threads = parallel.blas_threads()
    assert parallel.image_workers(64, 10**8) == min(64, threads)
    assert parallel.image_workers(3, 10**8) == min(3, threads)


def test_image_threads_caps_the_workers_and_restores():
    with parallel.image_threads(1):
        assert parallel.image_workers(64, 10**8) == 1
        with parallel.image_threads(5):
            assert parallel.image_workers(64, 10**8) == min(5, parallel.blas_threads())
        assert parallel.image_workers(64, 10**8) == 1
    assert parallel.image_workers(64, 10**8) == min(64, parallel.blas_threads())
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive int"), parallel.image_threads(bad):
            pass


# --- the fast path, split, against the loops ----------------------------------------------


@PROPERTY
@given(conv_cases())
def test_split_forward_and_backward_match_loops(case):
    g = case.g
    with always_split():
        out = conv.conv2d_forward(case.x, case.w, case.b, **g.conv_kwargs)
        dx, dw, db = conv.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    np.testing.assert_allclose(
        out, conv.naive.conv2d_forward(case.x, case.w, case.b, **g.conv_kwargs), atol=1e-10
    )
    for got, ref in zip(
        (dx, dw, db), conv.naive.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    ):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding",
    [((5, 3, 6, 7), (4, 3, 3, 3), 1, 1), ((5, 3, 8, 6), (6, 3, 4, 4), 2, 1)],
)
def test_every_dx_way_split_and_one_image_per_chunk_matches_loops(
    monkeypatch, x_shape, w_shape, stride, padding
):
    # two threads, each working through its images one chunk (here: one image) at a time
    import conv.functional

    monkeypatch.setattr(conv.functional, "_CHUNK_BYTES", 1)
    rng = np.random.default_rng(21)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    oh = (x_shape[2] + 2 * padding - w_shape[2]) // stride + 1
    ow = (x_shape[3] + 2 * padding - w_shape[3]) // stride + 1
    dout = rng.standard_normal((x_shape[0], w_shape[0], oh, ow))
    refs = naive.conv2d_backward(dout, x, w, stride=stride, padding=padding)
    ways = dx_paths(x_shape, w_shape, stride, padding, 1)
    assert len(ways) == 2  # the fold and one other
    for way in ways:
        threads = set()
        with always_split():
            grads = backward_chunks(
                dout,
                w,
                stride,
                padding,
                1,
                x.shape,
                x=x,
                path=way,
                lap=lambda stage, seen=threads: seen.add(threading.get_ident()),
            )
        assert len(threads) == min(2, parallel.blas_threads())
        for got, ref in zip(grads, refs, strict=True):
            np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_split_layer_path_equals_one_thread(dtype):
    # forward_cols/backward_cols (the Conv2D layer's path) with kept columns, on a batch large
    # enough to be split at the default threshold too
    rng = np.random.default_rng(3)
    x = rng.standard_normal((33, 8, 21, 21)).astype(dtype)
    w = rng.standard_normal((16, 8, 3, 3)).astype(dtype)
    b = rng.standard_normal(16).astype(dtype)
    dout = rng.standard_normal((33, 16, 11, 11)).astype(dtype)
    args = (2, 1, 1)  # stride, padding, dilation
    results = {}
    for label, count in (("split", None), ("one thread", 1)):
        with always_split(), parallel.image_threads(count or 64):
            out, cols = forward_cols(x, w, b, *args, 11, 11)
            results[label] = (out, *backward_cols(dout, cols, x.shape, w, *args))
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for got, ref in zip(results["split"], results["one thread"]):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    ref_out = conv.naive.conv2d_forward(x.astype(float), w, b, stride=2, padding=1)
    np.testing.assert_allclose(results["split"][0], ref_out, rtol=tol, atol=tol)


def test_layer_reuses_its_column_buffer_and_stays_correct():
    rng = np.random.default_rng(5)
    layer = conv.Conv2D(3, 4, 3, padding=1, rng=1)
    x1, x2 = rng.standard_normal((2, 5, 3, 6, 6))
    layer.forward(x1)
    first = layer._cache[1]
    out2 = layer.forward(x2)
    second = layer._cache[1]
    assert np.shares_memory(first, second)  # the second step wrote over the first's columns
    dout = rng.standard_normal(out2.shape)
    dx = layer.backward(dout)
    rx, rw, rb = conv.naive.conv2d_backward(dout, x2, layer.w, stride=1, padding=1)
    np.testing.assert_allclose(out2, conv.naive.conv2d_forward(x2, layer.w, layer.b, 1, 1))
    for got, ref in ((dx, rx), (layer.grads["w"], rw), (layer.grads["b"], rb)):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
    layer.forward(x1[:3])  # another batch size: a new buffer
    assert not np.shares_memory(layer._cache[1], second)


def test_forward_cols_reuse_only_when_it_fits():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 5, 5))
    w, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    want = conv.functional.batch_cols(x, 3, 3, 1, 1, 1, 5, 5)  # (2, 27, 25), and a row of ones
    _, cols = forward_cols(x, w, b, 1, 1, 1, 5, 5)
    assert cols.shape == (2, 28, 25)
    np.testing.assert_array_equal(cols[:, :27], want)
    np.testing.assert_array_equal(cols[:, 27], 1)
    _, again = forward_cols(2 * x, w, b, 1, 1, 1, 5, 5, reuse=cols)
    assert np.shares_memory(cols, again)
    np.testing.assert_allclose(again[:, :27], 2 * want)
    np.testing.assert_array_equal(again[:, 27], 1)
    for wrong in (cols.astype(np.float32), np.zeros((2, 28, 24)), np.zeros((1, 28, 25))):
        _, fresh = forward_cols(x, w, b, 1, 1, 1, 5, 5, reuse=wrong)
        assert not np.shares_memory(fresh, wrong)
        np.testing.assert_allclose(fresh[:, :27], want)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_ones", [True, False])
def test_backward_cols_with_and_without_the_row_of_ones(bias, with_ones):
    """backward_cols takes the columns as forward_cols keeps them (a last row of ones, which
    gives db from the dw product), or batch_cols's without it; both match the loops, with and
    without a bias in the forward pass."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 2, 7, 6))
    w = rng.standard_normal((4, 2, 3, 2))
    b = rng.standard_normal(4) if bias else None
    dout = rng.standard_normal((3, 4, 4, 4))  # S = 2, P = 1: (7 + 2 - 3)/2 + 1 = (6 + 2 - 2)/2 + 1
    out, cols = forward_cols(x, w, b, 2, 1, 1, 4, 4)
    np.testing.assert_allclose(out, naive.conv2d_forward(x, w, b, 2, 1), rtol=1e-12, atol=1e-12)
    assert cols.shape == (3, 2 * 3 * 2 + 1, 16)
    if not with_ones:
        cols = np.ascontiguousarray(cols[:, :-1])
    dx, dw, db = backward_cols(dout, cols, x.shape, w, 2, 1, 1)
    want = naive.conv2d_backward(dout, x, w, 2, 1)
    for got, ref in zip((dx, dw, db), want, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)

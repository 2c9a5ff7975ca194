"""Sharing a batch of images between the cores, for the fast path of :mod:`conv.functional`.

numpy's BLAS already spreads one matrix product over several threads, but the rest of a
convolution, copying windows into columns and folding gradients back with ``col2im``, runs on
one core. The images of a batch are independent, so the fast path can instead give each core
its own share of the images: every thread builds its columns, multiplies them and folds them
back, start to finish, with BLAS held to one thread so that the cores are not asked twice. The
threads really do run at the same time, because numpy's copies, additions and ``matmul``
release Python's global interpreter lock while they work on large arrays.

The number of threads is the number BLAS itself would use (:func:`blas_threads`: one thread
with ``OPENBLAS_NUM_THREADS=1`` means one thread here too), and small problems stay on one
thread (below :data:`PARALLEL_MIN_BYTES` of columns), where handing work to another thread and
back costs more than the second core gives back.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

__all__ = ["PARALLEL_MIN_BYTES", "blas_threads", "image_threads", "image_workers", "split_images"]

#: Work (bytes of columns) below which the fast path stays on one thread. On the 2-core machine
#: of benchmarks/README.md (a 16 -> 32 channel 3x3 layer on 8x8 maps, forward + backward) one
#: thread was faster with 0.28 MiB of columns (0.83x) and slower from 0.56 MiB (1.24x, 1.43x at
#: 1.1 MiB). 1 MiB stays on the safe side, and keeps chapter 10's training batches (at most
#: 0.6 MiB of columns) on one thread, so the chapter's training is what it was.
PARALLEL_MIN_BYTES = 1 << 20

_controller = None  # threadpoolctl's ThreadpoolController, made on first use (it scans libraries)
_executor = None  # the worker threads, made on first use and kept for the process
_executor_size = 0
_cap = None  # at most this many threads share the images (image_threads); None: no cap
_primed = set()  # the thread counts for which _prime_blas has run (see there)


def _blas():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def blas_threads() -> int:
    """Threads numpy's BLAS uses now (``threadpoolctl``; honours ``OPENBLAS_NUM_THREADS``)."""
    counts = [lib.num_threads for lib in _blas().select(user_api="blas").lib_controllers]
    if counts:
        return int(max(counts))
    try:  # no BLAS library found: as many threads as this process may run on
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def image_workers(n: int, cols_bytes: int) -> int:
    """How many threads should share ``n`` images whose columns take ``cols_bytes`` in all."""
    if n < 2 or cols_bytes < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(n, blas_threads(), _cap or n))


@contextlib.contextmanager
def image_threads(count: int):
    """Within the block, at most ``count`` threads share the images (``1``: one thread, with
    BLAS threading its products as usual: the fast path as it was before it shared images).

    ``with conv.parallel.image_threads(1): conv.conv2d_forward(...)``. Not thread-safe: it sets
    a process-wide cap, restored on exit.
    """
    global _cap
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"image_threads needs a positive int, got {count!r}")
    old, _cap = _cap, count
    try:
        yield
    finally:
        _cap = old


# OpenBLAS (0.3.31, as numpy 2.4 ships it) packs the operands of every matrix product into a
# 32 MiB work buffer, one for each product running at that moment, and the operating system
# hands out the buffer's pages only when they are first written. Until a product large enough
# to write the buffer's first few MiB has run, the small products of the fast path run 1.8-3x
# slower: on the machine of benchmarks/README.md, (64, 577) @ (577, 256) in float32 ran at
# 11 GFLOP/s instead of 36 on one core, and (32, 28) @ (28, 1024) in float64 at 6.6 instead of
# 12 (presumably the kernels' prefetches reach into pages no product has written yet).
# Writing the whole buffer when it is made (an LD_PRELOAD shim adding MAP_POPULATE to its
# mmap) removed the difference; writing only its first MiB fixed float32, and float64 needed
# the first 4 MiB. One (16, 512) @ (512, 1024) product in float64 writes enough for both: in a
# fresh process, forward passes of case B in float32 then took 11.3-13.0 ms instead of 30.6,
# and a backward pass of 4 images, 8 -> 16 channels, 16x16 (one thread, BLAS's own threads)
# 1.0-1.25 ms instead of 1.7 in float64. The product's operands come from np.zeros, whose
# pages the operating system maps only when written, so it costs only the buffer pages.
_PRIME_SHAPES = ((16, 512), (512, 1024))


def _prime_blas(together=None):
    """One product that writes this thread's OpenBLAS work buffer (see the comment above).

    ``together``: a barrier that the threads priming at once wait at first, so that their
    products run at the same time and each writes its own buffer (OpenBLAS gives a buffer to
    each product running at that moment, not to each thread).
    """
    left, right = (np.zeros(shape) for shape in _PRIME_SHAPES)
    if together is not None:
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait(timeout=10)
    np.matmul(left, right)


def split_images(run, n: int, workers: int) -> None:
    """Call ``run(start, stop)`` on ``workers`` contiguous shares of the images ``0 .. n-1``.

    With one worker this is just ``run(0, n)``. Otherwise the calling thread does the first
    share while the others run on worker threads, BLAS is held to one thread until all are
    done, and an exception raised in any share is raised here after every share has stopped.
    The shares must write to disjoint parts of the results (different images). The first time
    a given number of threads is used, each of them first runs one product that writes its
    OpenBLAS work buffer (``_prime_blas``, see the comment above it).
    """
    if workers <= 1:
        if 1 not in _primed:
            _prime_blas()  # with BLAS's own threads, like the products that follow
            _primed.add(1)
        run(0, n)
        return
    global _executor, _executor_size
    if _executor_size < workers - 1:
        if _executor is not None:
            _executor.shutdown(wait=False)
        _executor = ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix="conv")
        _executor_size = workers - 1
    bounds = [n * i // workers for i in range(workers + 1)]
    with _blas().limit(limits=1, user_api="blas"):
        if workers not in _primed:
            together = threading.Barrier(workers)
            primes = [_executor.submit(_prime_blas, together) for _ in range(workers - 1)]
            try:
                _prime_blas(together)
            finally:
                wait(primes)
            _primed.add(workers)
        futures = [
            _executor.submit(run, start, stop)
            for start, stop in zip(bounds[1:-1], bounds[2:], strict=True)
        ]
        try:
            run(bounds[0], bounds[1])
        finally:
            wait(futures)
        for future in futures:
            future.result()  # re-raises a worker's exception

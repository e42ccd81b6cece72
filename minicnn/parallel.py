"""Pieces of a batch on every core: one thread per core, each with a one-thread BLAS.

NumPy lets go of the GIL inside its loops and matrix products, so plain
Python threads run NumPy code on several cores at once. Two users share them:

* ``conv_fast._in_chunks`` runs one convolution over chunks of a batch
  (the Winograd transforms and im2col copies, which one BLAS call cannot
  share out, then use every core);
* ``Net.predict`` runs the whole network over chunks of images, depth first,
  so each chunk's activations stay small and in cache.

How many threads: as many as BLAS may use (:func:`threads`: the
``OPENBLAS_NUM_THREADS`` of the environment, or ``threadpoolctl``'s
``threadpool_limits``), so one knob sets both; inside a worker, 1, so the two
users never nest. Each worker runs with a one-thread BLAS: a two-thread BLAS
call leaves its helper thread spinning for a while after it returns, and it
would take a core from the other worker. The BLAS limit is process-wide, so
one parallel section runs at a time.

Which image goes in which chunk never depends on the number of threads: the
numbers come out the same bit for bit on one thread or on two.
"""

import os
import threading

_controller, _pools, _section, _local = None, {}, threading.Lock(), threading.local()


def threads():
    """Threads for the pieces of a batch: 1 inside a worker, else the BLAS threads in
    effect (``OPENBLAS_NUM_THREADS``, ``threadpoolctl.threadpool_limits``)."""
    if getattr(_local, "inside", False):
        return 1
    return max([1] + [lib.num_threads for lib in _blas().lib_controllers])


def run_all(job, items, workers):
    """``job(item)`` for every item, on ``workers`` threads (in order on this one if 1).

    A job's error (Ctrl-C too) cancels the jobs still queued and is raised here;
    BLAS gets its thread count back either way.
    """
    if workers <= 1:
        for item in items:
            job(item)
        return

    def marked(item):
        _local.inside = True
        try:
            job(item)
        finally:
            _local.inside = False

    with _section, _blas().limit(limits=1):          # the BLAS limit is process-wide
        jobs = [_pool(workers).submit(marked, item) for item in items]
        try:
            for done in jobs:
                done.result()
        except BaseException:
            for queued in jobs:
                queued.cancel()
            raise


def _after_fork():
    """A forked child has none of the parent's threads: new pools, a free lock."""
    global _section
    _pools.clear()
    _section = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _blas():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController()
    return _controller


def _pool(workers):
    from concurrent.futures import ThreadPoolExecutor
    if workers not in _pools:
        _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="minicnn")
    return _pools[workers]

"""One pass over a dataset for the top-k state: in this process, in workers, or on Dask.

The pass (:func:`scan_shard`) reads a source batch by batch, runs the net up
to the layer, reduces each batch to its top-k state and merges it into the
running one (``topk.py``). Memory: one batch of images and activations and
the (C, k) state, whatever the size of the dataset.

Because the merge is exact (``topk.py``), the pass can be cut into shards,
contiguous ranges of images, run anywhere and merged afterwards::

    shards = [source.subset(a, b) for a, b in ranges(len(source), parts)]
    state  = merge(*[scan_shard(net, shard, ...) for shard in shards])

:func:`scan` runs the shards in this process (``workers=1``), in worker
processes (``workers=N``, ``concurrent.futures.ProcessPoolExecutor``) or on a
Dask cluster (``client=`` a ``dask.distributed.Client``; Dask is imported by
whoever made the client, never here). Each worker gets the net and its shard
(a few numbers for the shapes generator, a slice of an array, a list of file
names) and sends back only the (C, k) state.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from vis.features.sources import ShapesSource
    >>> net = models.load("tiny")
    >>> s = scan(net, ShapesSource(40, seed=0), "relu4_2", channels=[0, 5], k=3,
    ...          batch_size=16, progress=False)
    >>> s.values.shape, s.image_index.shape, s.position.shape
    ((2, 3), (2, 3), (2, 3, 2))
"""

import concurrent.futures

import numpy as np

from minicnn.backend import get_array_module
from minicnn.progress import Progress

from .sources import batches, image_shape
from .topk import batch_state, empty, merge


def ranges(n, parts, align=1):
    """Cut ``0 .. n`` into at most ``parts`` contiguous ranges of similar size.

    Boundaries fall on multiples of ``align`` (a batch size), so shards read
    whole batches. Returns a list of (start, stop).
    """
    parts = max(1, min(int(parts), n))
    step = -(-n // parts)
    step = -(-step // align) * align
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def scan_shard(net, source, layer, channels, k, batch_size, offset=0, progress=None):
    """The top-k state of ``channels`` of ``layer`` over a whole source.

    Args:
        net: the Net. source: a source object (``sources.py``).
        layer: a layer with a spatial output (C, h, w).
        channels: (C',) int array of the channels to keep.
        k: images per channel. batch_size: images per forward pass.
        offset: added to image indices (a shard's first index in the whole set).
        progress: optional Progress advanced per batch.

    Returns:
        TopK with (C', k) entries; image indices count from ``offset``.
    """
    state, every = None, None
    for start, x, _ in batches(source, net, batch_size, progress):
        act = net.forward(x, until=layer)
        if every is None:
            every = np.array_equal(channels, np.arange(act.shape[1]))
        act = act if every else act[:, get_array_module(act).asarray(channels)]
        s = batch_state(act, offset + start, k)
        state = s if state is None else merge(state, s)
    return state if state is not None else empty(len(channels), k)


def _shard_job(net, source, layer, channels, k, batch_size, offset):
    """What a worker runs (a module-level function, so that it pickles)."""
    return scan_shard(net, source, layer, channels, k, batch_size, offset)


def scan(net, source, layer, channels=None, k=9, batch_size=128, workers=1, client=None,
         progress=True):
    """The top-k state over a source, in one pass or in merged shards.

    Args:
        net, source, layer, k, batch_size: as :func:`scan_shard`.
        channels: channel indices (default: all).
        workers: number of shards; with ``workers > 1`` (and no client) each
            runs in its own process.
        client: a ``dask.distributed.Client``: the shards run on its cluster
            (one per worker of the cluster unless ``workers > 1`` says more).
        progress: a progress bar (batches in this process, shards otherwise).

    Returns:
        TopK, identical to the one-pass result whatever ``workers`` and ``client``.
    """
    C = net.output_shapes(image_shape(source, net))[layer][0]
    channels = np.arange(C) if channels is None else np.asarray(channels, np.int64)
    if client is not None and workers <= 1:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
    if workers <= 1:
        bar = Progress(-(-len(source) // batch_size), f"top-{k} {layer}", enabled=progress)
        state = scan_shard(net, source, layer, channels, k, batch_size, progress=bar)
        bar.close()
        return state
    parts = ranges(len(source), workers, align=batch_size)
    jobs = [(source.subset(a, b), a) for a, b in parts]
    bar = Progress(len(jobs), f"top-{k} {layer} ({len(jobs)} shards)", enabled=progress)
    if client is not None:
        remote_net = client.scatter(net, broadcast=True)
        futures = [client.submit(_shard_job, remote_net, shard, layer, channels, k,
                                 batch_size, a, pure=False) for shard, a in jobs]
        states = []
        for future in futures:
            states.append(future.result())
            bar.update()
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=len(jobs)) as pool:
            futures = [pool.submit(_shard_job, net, shard, layer, channels, k, batch_size, a)
                       for shard, a in jobs]
            states = []
            for future in futures:
                states.append(future.result())
                bar.update()
    bar.close()
    return merge(*states)


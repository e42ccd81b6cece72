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

from .sources import batches
from .topk import batch_state, merge


def ranges(n, parts, align=1):
    """Cut ``0 .. n`` into at most ``parts`` contiguous ranges of similar size.

    Boundaries fall on multiples of ``align`` (a batch size), so shards read
    whole batches. Returns a list of (start, stop).
    """
    parts = max(1, min(int(parts), n))
    step = -(-n // parts)
    step = -(-step // align) * align
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def _names(layers):
    return [layers] if isinstance(layers, str) else list(layers)


def scan_shard(net, source, layers, channels, k, batch_size, offset=0, progress=None):
    """The top-k states of ``channels`` of some layers over a whole source, in one pass.

    Args:
        net: the Net. source: a source object (``sources.py``).
        layers: a layer name, or several: one forward pass (to the deepest)
            serves them all. Each has a spatial output (C, h, w).
        channels: (C',) int array of the channels to keep (the same for every
            layer), or None for all.
        k: images per channel. batch_size: images per forward pass.
        offset: added to image indices (a shard's first index in the whole set).
        progress: optional Progress advanced per batch.

    Returns:
        ``{layer: TopK}`` with (C', k) entries; image indices count from ``offset``.
    """
    names = _names(layers)
    deepest = max(names, key=net.index)
    states = {}
    for start, x, _ in batches(source, net, batch_size, progress):
        net.forward(x, until=deepest)
        for name in names:
            act = net.outputs[name]
            if channels is not None:
                act = act[:, get_array_module(act).asarray(channels)]
            s = batch_state(act, offset + start, k)
            states[name] = s if name not in states else merge(states[name], s)
    return states


def _shard_job(net, source, layers, channels, k, batch_size, offset):
    """What a worker runs (a module-level function, so that it pickles)."""
    return scan_shard(net, source, layers, channels, k, batch_size, offset)


def scan(net, source, layers, channels=None, k=9, batch_size=128, workers=1, client=None,
         progress=True):
    """The top-k state over a source, in one pass or in merged shards.

    Args:
        net, source, k, batch_size: as :func:`scan_shard`.
        layers: a layer name (returns one TopK) or a list of them (returns
            ``{layer: TopK}``, from one pass over the data).
        channels: channel indices (default: all).
        workers: number of shards; with ``workers > 1`` (and no client) each
            runs in its own process.
        client: a ``dask.distributed.Client``: the shards run on its cluster
            (one per worker of the cluster unless ``workers > 1`` says more).
        progress: a progress bar (batches in this process, shards otherwise).

    Returns:
        TopK (or a dict of them), identical to the one-pass result whatever
        ``workers`` and ``client``.
    """
    names = _names(layers)
    if len(source) == 0 or not names:
        raise ValueError("nothing to scan: " + ("the source holds no images" if len(source) == 0
                                                else "no layer given"))
    channels = None if channels is None else np.asarray(channels, np.int64)
    label = f"top-{k} {', '.join(names)}"
    if client is not None and workers <= 1:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
    if workers <= 1:
        bar = Progress(-(-len(source) // batch_size), label, enabled=progress)
        states = [scan_shard(net, source, names, channels, k, batch_size, progress=bar)]
    else:
        jobs = [(source.subset(a, b), a) for a, b in ranges(len(source), workers, batch_size)]
        bar = Progress(len(jobs), f"{label} ({len(jobs)} shards)", enabled=progress)
        if client is not None:
            remote_net = client.scatter(net, broadcast=True)
            futures = [client.submit(_shard_job, remote_net, shard, names, channels, k,
                                     batch_size, a, pure=False) for shard, a in jobs]
            states = _collect(futures, bar)
        else:
            with concurrent.futures.ProcessPoolExecutor(max_workers=len(jobs)) as pool:
                futures = [pool.submit(_shard_job, net, shard, names, channels, k,
                                       batch_size, a) for shard, a in jobs]
                states = _collect(futures, bar)
    bar.close()
    merged = {name: merge(*[s[name] for s in states]) for name in names}
    return merged[layers] if isinstance(layers, str) else merged


def _collect(futures, bar):
    """Results of ``futures`` in order (Dask's and concurrent.futures' alike)."""
    states = []
    for future in futures:
        states.append(future.result())
        bar.update()
    return states

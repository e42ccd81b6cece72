r"""CNN codes: one vector per image from a layer, for a whole dataset, cached on disk.

Krizhevsky et al. 2012, Sec. 6.1, Fig. 4 (right): the 4096-D activations of
the last hidden layer (``fc7``, after its ReLU) are a *code* for the image;
images whose codes are close in Euclidean distance look alike to the network
even when their pixels do not (compare :func:`vis.features.neighbours
.nearest_neighbours` in code space and in pixel space). Karpathy's "t-SNE
visualization of CNN codes" lays the codes of thousands of images out in 2-D
(``tsne.py``, ``layout.py``). Any layer gives codes: a vector layer as is
(``fc7``; ``gap`` on ``tiny``), a map (C, h, w) flattened to C*h*w values.

**Streaming and the cache.** The codes of N images are an (N, D) float32
array, written batch by batch. With ``cache="codes.npy"`` it is written to a
NumPy file through a memory map (``np.lib.format.open_memmap``), so it never
has to fit in memory, and a second call reads it back (memory-mapped, not
loaded) instead of running the net again. Beside it, ``codes.npy.json``
records what the codes were made from::

    model   SHA-256 of the architecture, the preprocessing and every weight
    layer   the layer's name
    source  the source's fingerprint (generator seed and n, array SHA-256,
            or the folder's file names, sizes and modification times)

A cache made from another model, layer or source is *stale*: it is rebuilt,
with a warning naming what differs, never silently reused. The file is
written under a temporary name and renamed when complete, and the record is
written last, so an interrupted run leaves no cache that looks valid.

Example:
    >>> from minicnn import models
    >>> from vis.features.sources import ShapesSource
    >>> c = codes(models.load("tiny"), ShapesSource(10, seed=0), "gap", progress=False)
    >>> c.codes.shape, c.codes.dtype, c.labels.shape, c.reused
    ((10, 64), dtype('float32'), (10,), False)
"""

import hashlib
import json
import os
import uuid
import warnings
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from minicnn.backend import asnumpy
from minicnn.progress import Progress

from .sources import as_source, batches, image_shape

CACHE_VERSION = 1


class Codes(NamedTuple):
    """CNN codes of a dataset.

    Attributes:
        codes: (N, D) float32, row n the flattened output of ``layer`` for
            image n (an ``np.memmap`` when cached).
        labels: (N,) int64 labels of the source, or None.
        layer: the layer's name. shape: the layer's output shape for one image.
        path: the cache file, or None. reused: True when read from the cache.
    """
    codes: np.ndarray
    labels: Optional[np.ndarray]
    layer: str
    shape: tuple
    path: Optional[str]
    reused: bool


def model_fingerprint(net):
    """SHA-256 of a net's architecture, preprocessing and weights (hex)."""
    h = hashlib.sha256()
    h.update(json.dumps({"arch": net.meta.get("arch"), "preprocess": net.meta.get("preprocess"),
                         "layers": [[layer.name, type(layer).__name__] for layer in net.layers]},
                        sort_keys=True, default=str).encode())
    for name, value in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(asnumpy(value)).tobytes())
    return h.hexdigest()


def _key(net, source, layer, shape):
    return {"version": CACHE_VERSION, "model": model_fingerprint(net), "layer": layer,
            "source": source.fingerprint(), "shape": list(shape), "dtype": "float32"}


def _read_record(record_path):
    try:
        with open(record_path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _try_reuse(path, key):
    """The cached array and labels if the cache matches ``key``; else None (and why)."""
    record = _read_record(Path(f"{path}.json"))
    if record is None or not path.exists():
        return None, None
    differs = [name for name in ("model", "layer", "source", "shape", "dtype", "version")
               if record.get("key", {}).get(name) != key[name]]
    if differs:
        return None, differs
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None, ["file"]
    if list(array.shape) != key["shape"] or array.dtype != np.float32:
        return None, ["file"]
    labels = record.get("labels")
    return (array, None if labels is None else np.asarray(labels, np.int64)), None


def _write_atomic_text(path, text):
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def codes(net, source, layer, cache=None, batch_size=128, progress=True):
    """Krizhevsky et al. 2012, Sec. 6.1: the output of ``layer`` for every image.

    Args:
        net: a Net. source: a dataset (``sources.py``).
        layer: any layer, e.g. ``"fc7"`` (the paper's 4096-D code; after the
            ReLU: ``"relu7"``) or ``"gap"`` on ``tiny``; maps are flattened.
        cache: optional path of a ``.npy`` file: reused when it was made from
            the same model, layer and source, rebuilt (with a warning) when not.
        batch_size: images per forward pass. progress: a progress bar.

    Returns:
        Codes with ``codes`` (N, D) float32, D = prod(shape).

    Raises:
        KeyError: unknown layer. ValueError: an empty source; a cache path not
        ending in ``.npy``.
    """
    source = as_source(source, net)
    name = net[layer].name
    shape = tuple(net.output_shapes(image_shape(source, net))[name])
    N, D = len(source), int(np.prod(shape))
    path = None if cache is None else Path(cache)
    key = None
    if path is not None:
        if path.suffix != ".npy":
            raise ValueError(f"cache must be a .npy file name, got {cache!r}")
        key = _key(net, source, name, (N, D))
        found, differs = _try_reuse(path, key)
        if found is not None:
            return Codes(found[0], found[1], name, shape, str(path), True)
        if differs:
            warnings.warn(f"{path}: cache made from another {', '.join(differs)}; "
                          "rebuilding it", stacklevel=2)
        record = Path(f"{path}.json")
        if record.exists():
            record.unlink()                     # the old record must not outlive the file
        tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp.npy")
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(N, D))
    else:
        out = np.empty((N, D), np.float32)
    labels = np.empty(N, np.int64) if source.has_labels else None
    bar = Progress(-(-N // batch_size), f"codes {name}", enabled=progress)
    try:
        for start, x, lab in batches(source, net, batch_size, bar):
            y = asnumpy(net.predict(x, until=name))
            out[start:start + len(y)] = y.reshape(len(y), D)
            if labels is not None:
                labels[start:start + len(y)] = lab
        bar.close()
        if path is None:
            return Codes(out, labels, name, shape, None, False)
        out.flush()
        del out
        os.replace(tmp, path)
    finally:
        if path is not None and tmp.exists():
            tmp.unlink()
    record = {"key": key, "labels": None if labels is None else labels.tolist()}
    _write_atomic_text(Path(f"{path}.json"), json.dumps(record))
    return Codes(np.load(path, mmap_mode="r"), labels, name, shape, str(path), False)


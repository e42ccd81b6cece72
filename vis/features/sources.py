"""Datasets as streams of batches: the shapes generator, an array, a folder of images.

The dataset-level methods (maximally activating patches, CNN codes) look at
*every* image of a dataset, not one batch. They never hold the whole dataset,
or all of its activations, at once (DESIGN.md §5): a *source* hands out images
in batches, and the methods keep only what they need from each batch.

A source is one of::

    source                                what it streams
    ------------------------------------  ------------------------------------------
    ShapesSource(n, seed)                 the shapes generator (minicnn.data):
                                          images i of make_shapes(n, seed), made
                                          a chunk at a time, with their labels
    an array (N, 3, H, W) in [0, 1]       the array (RGB images, like make_shapes)
    a minicnn.data.Shapes                 its images and labels
    a folder (str or Path)                every image Pillow opens in it, sorted by
                                          name, scaled and centre-cropped to the
                                          model's input size (``folder.py``)

Every source says how many images it holds (``len``), reads a range of them
(``read(start, stop)`` -> RGB images in [0, 1] and labels or None), fetches a
few by index (``take``), restricts itself to a range (``subset``, for shards)
and describes itself for caches (``fingerprint``). The methods preprocess
what they read as the model's ``meta`` says (:func:`batches`).

Example:
    >>> src = ShapesSource(300, seed=0)
    >>> images, labels = src.read(250, 260)          # crosses a chunk boundary
    >>> images.shape, labels.shape, len(src.subset(100, 300))
    ((10, 3, 64, 64), (10,), 200)
"""

import hashlib
import os

import numpy as np

from minicnn import data
from minicnn.backend import asnumpy, get_array_module
from minicnn.preprocessing import preprocess

from ..netinfo import input_size


def _shapes_chunk(seed, index, m, size):
    """Images ``index*CHUNK`` .. ``+m`` of ``make_shapes(n, seed, size)`` (any n past them).

    ``make_shapes`` draws chunk ``i`` from ``SeedSequence(seed).spawn(..)[i]``,
    which is ``SeedSequence(seed, spawn_key=(i,))``, and the first images of a
    chunk do not depend on how many are drawn (minicnn/data.py).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    images, labels, _ = data._make_chunk(rng, m, size, data.CLASS_NAMES)
    return images, labels


class ShapesSource:
    """Images ``start .. stop`` of ``minicnn.data.make_shapes(n, seed, size)``, made lazily.

    Args:
        n: number of images of the whole set (N >= 1).
        seed: the generator's seed (default ``minicnn.data.TEST_SEED``:
            images no model saw in training).
        size: image size H = W (default 64, ``tiny``'s input).

    Memory: one chunk of ``minicnn.data.CHUNK`` images at a time, whatever n.
    """

    def __init__(self, n, seed=data.TEST_SEED, size=64, start=0, stop=None):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"a shapes source needs n >= 1 images, got n={n!r}")
        stop = n if stop is None else stop
        if not 0 <= start <= stop <= n:
            raise ValueError(f"range {start}..{stop} outside the {n} images")
        self.n, self.seed, self.size = int(n), int(seed), int(size)
        self.start, self.stop = int(start), int(stop)
        self.has_labels = True
        self._chunk = (None, None, None)        # (index, images, labels) last made

    def __len__(self):
        return self.stop - self.start

    def __getstate__(self):                     # shards travel without the chunk cache
        state = dict(self.__dict__)
        state["_chunk"] = (None, None, None)
        return state

    def _chunk_of(self, index):
        if self._chunk[0] != index:
            m = min(data.CHUNK, self.n - index * data.CHUNK)
            self._chunk = (index,) + _shapes_chunk(self.seed, index, m, self.size)
        return self._chunk[1], self._chunk[2]

    def _global(self, a, b):
        images, labels = [], []
        for index in range(a // data.CHUNK, (b - 1) // data.CHUNK + 1):
            im, lab = self._chunk_of(index)
            lo = max(a - index * data.CHUNK, 0)
            hi = min(b - index * data.CHUNK, data.CHUNK)
            images.append(im[lo:hi])
            labels.append(lab[lo:hi])
        return np.concatenate(images), np.concatenate(labels)

    def read(self, start, stop):
        """Images ``start .. stop`` of this source: (B, 3, H, W) float32 and labels (B,)."""
        check_range(start, stop, len(self))
        return self._global(self.start + start, self.start + stop)

    def take(self, indices):
        """Images at ``indices`` (any order, repeats allowed): (M, 3, H, W) and labels (M,)."""
        idx = check_indices(indices, len(self)) + self.start
        out = np.empty((len(idx), 3, self.size, self.size), np.float32)
        labels = np.empty(len(idx), np.int64)
        order = np.argsort(idx, kind="stable")      # one pass over the chunks
        for k in order:
            out[k], labels[k] = (a[0] for a in self._global(idx[k], idx[k] + 1))
        return out, labels

    def subset(self, start, stop):
        """The images ``start .. stop`` as a source of their own (for a shard)."""
        check_range(start, stop, len(self))
        return ShapesSource(self.n, self.seed, self.size, self.start + start, self.start + stop)

    def fingerprint(self):
        """What identifies these images (for a cache), including a hash of image 0."""
        first, _ = _shapes_chunk(self.seed, 0, 1, self.size)
        return {"kind": "shapes", "n": self.n, "seed": self.seed, "size": self.size,
                "range": [self.start, self.stop],
                "image0": hashlib.sha256(first.tobytes()).hexdigest()[:16]}


class ArraySource:
    """An array of RGB images (N, 3, H, W) in [0, 1], with optional labels (N,)."""

    def __init__(self, images, labels=None):
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be RGB (N, 3, H, W) in [0, 1], got shape "
                             f"{images.shape}")
        if len(images) == 0:
            raise ValueError("the source holds no images (an empty array)")
        lo, hi = float(images.min()), float(images.max())
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ValueError(f"images must be RGB in [0, 1] (the methods preprocess them); "
                             f"these span [{lo:.3g}, {hi:.3g}]: already preprocessed?")
        if labels is not None:
            labels = np.asarray(labels, np.int64)
            if labels.shape != (len(images),):
                raise ValueError(f"labels must have shape ({len(images)},), got {labels.shape}")
        self.images, self.labels = images, labels
        self.has_labels = labels is not None

    def __len__(self):
        return len(self.images)

    def read(self, start, stop):
        """Images ``start .. stop``: (B, 3, H, W) float32 and labels (B,) or None."""
        check_range(start, stop, len(self))
        labels = None if self.labels is None else self.labels[start:stop]
        return np.asarray(self.images[start:stop], np.float32), labels

    def take(self, indices):
        """Images at ``indices``: (M, 3, H, W) float32 and labels (M,) or None."""
        idx = check_indices(indices, len(self))
        labels = None if self.labels is None else self.labels[idx]
        return np.asarray(self.images[idx], np.float32), labels

    def subset(self, start, stop):
        """Images ``start .. stop`` as a source (a view: nothing is copied here)."""
        check_range(start, stop, len(self))
        labels = None if self.labels is None else self.labels[start:stop]
        return ArraySource(self.images[start:stop], labels)

    def fingerprint(self):
        """SHA-256 of the images' float32 bytes (and of the labels)."""
        h = hashlib.sha256()
        for start in range(0, len(self), 256):
            h.update(np.ascontiguousarray(self.images[start:start + 256], np.float32).tobytes())
        if self.labels is not None:
            h.update(self.labels.tobytes())
        return {"kind": "array", "shape": list(self.images.shape), "sha256": h.hexdigest()}


def check_range(start, stop, n):
    if not 0 <= start <= stop <= n:
        raise ValueError(f"range {start}..{stop} outside the source's {n} images")


def check_indices(indices, n):
    idx = np.asarray(indices, np.int64).reshape(-1)
    bad = idx[(idx < 0) | (idx >= n)]
    if bad.size:
        raise ValueError(f"image index {int(bad[0])} outside the source's {n} images")
    return idx


def as_source(source, net):
    """Any accepted form of a dataset -> a source object (see the module docstring).

    Raises:
        TypeError: an unknown form. ValueError: an empty source.
    """
    if hasattr(source, "read") and hasattr(source, "take") and hasattr(source, "subset"):
        if len(source) == 0:
            raise ValueError("the source holds no images")
        return source
    if isinstance(source, data.Shapes):
        return ArraySource(source.images, source.labels)
    if isinstance(source, (str, os.PathLike)):
        from .folder import FolderSource       # here: folder.py imports this module
        return FolderSource(source, input_size(net))
    if isinstance(source, np.ndarray) or get_array_module(source) is not np:
        return ArraySource(asnumpy(source))          # a CuPy array comes to the host
    raise TypeError(f"a source is a ShapesSource, an array (N, 3, H, W) in [0, 1], a "
                    f"minicnn.data.Shapes or a folder; got {type(source).__name__}")


def image_shape(source, net):
    """(C, H, W) of the source's images as the net will see them (reads image 0)."""
    images, _ = source.read(0, 1)
    return (net.input_shape()[0],) + tuple(images.shape[2:])


def batches(source, net, batch_size, progress=None):
    """Yield ``(start, x, labels)``: each batch preprocessed for ``net``, on its device.

    Args:
        source: a source object. net: the Net (``meta`` says how to preprocess;
            its parameters say NumPy or CuPy). batch_size: images per batch.
        progress: an optional ``minicnn.progress.Progress`` advanced per batch.
    """
    params = list(net.state_dict().values())
    xp = get_array_module(params[0]) if params else np
    for start in range(0, len(source), batch_size):
        images, labels = source.read(start, min(len(source), start + batch_size))
        yield start, xp.asarray(preprocess(images, net.meta)), labels
        if progress is not None:
            progress.update()

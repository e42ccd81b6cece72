r"""The k strongest images per channel, as a state that merges.

Maximally activating patches (Zeiler & Fergus 2014, Fig. 2) need, for every
channel ``c`` of a layer, the k images of the whole dataset where ``c`` fires
most. A dataset does not fit in memory, so the search is a *streaming
reduction*: each batch is reduced to a small state, and states merge::

    state(batch)  = for each channel, the k best (value, image, position) of the batch
    merge(a, b)   = for each channel, the k best of a's and b's entries together

**One entry per image.** An image's entry for channel ``c`` is its strongest
unit of that channel: ``value = max_{i,j} A[n, c, i, j]`` at the first (row-
major) position of the maximum. Keeping one entry per image, not the k
strongest units anywhere, stops a single image from filling the top 9 with
overlapping patches; the deep-visualization toolbox of Yosinski et al. 2015
(``find_maxes``) records maxima the same way.

**A total order makes the merge exact.** Entries are ranked by value,
descending, then by image index, ascending (the tie-break). Every (channel,
image) pair has its own index, so the order is total, and "the k first of a
set" does not depend on how the set was split. Hence ``merge`` is
associative and commutative, and::

    merge(state(shard 1), state(shard 2), ...) == state(whole dataset)

bit for bit, in any order and on any number of workers (DESIGN.md §5).
Unfilled slots (fewer than k images seen) hold value ``-inf`` and image -1.

Example:
    >>> import numpy as np
    >>> A = np.zeros((3, 2, 2, 2), np.float32)       # 3 images, 2 channels, 2x2 maps
    >>> A[0, 0, 1, 1], A[2, 0, 0, 1], A[1, 1, 1, 0] = 5, 7, 2
    >>> s = merge(batch_state(A[:2], 0, k=2), batch_state(A[2:], 2, k=2))
    >>> s.values[0].tolist(), s.image_index[0].tolist(), s.position[0].tolist()
    ([7.0, 5.0], [2, 0], [[0, 1], [1, 1]])
    >>> s.image_index[1].tolist()                      # a tie at 0: the lower index wins
    [1, 0]
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy


class TopK(NamedTuple):
    """The k best images per channel, best first.

    Attributes:
        values: (C, k) float, each image's strongest activation of the channel.
        image_index: (C, k) int64, the images' indices in the source (-1: empty).
        position: (C, k, 2) int64, the (i, j) of that activation in the map.
    """
    values: np.ndarray
    image_index: np.ndarray
    position: np.ndarray


def empty(C, k, dtype=np.float32):
    """A state with no entry yet: C channels, k slots each."""
    return TopK(np.full((C, k), -np.inf, dtype), np.full((C, k), -1, np.int64),
                np.zeros((C, k, 2), np.int64))


def _best(values, index, position, k):
    """The k first entries of each row in the order (value desc, index asc)."""
    order = np.lexsort((index, -values), axis=-1)[:, :k]
    take = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    pos = np.stack([take(position[..., 0]), take(position[..., 1])], axis=-1)
    return TopK(take(values), take(index), pos)


def batch_state(act, start, k):
    """Reduce one batch of activations to its state.

    Args:
        act: (B, C, h, w) activations of images ``start .. start+B`` (NumPy or CuPy).
        start: index of the batch's first image in the source.
        k: slots per channel.

    Returns:
        TopK with (C, k) entries (unfilled slots when B < k).
    """
    act = asnumpy(act)
    B, C, h, w = act.shape
    flat = act.reshape(B, C, h * w)
    arg = flat.argmax(axis=2)                                    # first maximum, (B, C)
    values = np.take_along_axis(flat, arg[..., None], axis=2)[..., 0].T      # (C, B)
    position = np.stack([arg // w, arg % w], axis=-1).transpose(1, 0, 2)     # (C, B, 2)
    index = np.broadcast_to(start + np.arange(B, dtype=np.int64), (C, B))
    pad = empty(C, max(k - B, 0), values.dtype)
    return _best(np.concatenate([values, pad.values], axis=1),
                 np.concatenate([index, pad.image_index], axis=1),
                 np.concatenate([position.astype(np.int64), pad.position], axis=1), k)


def merge(*states):
    """The k best of several states' entries: exact, associative, commutative."""
    if not states:
        raise ValueError("merge needs at least one state")
    k = states[0].values.shape[1]
    if any(s.values.shape != states[0].values.shape for s in states):
        raise ValueError(f"states to merge differ in shape: "
                         f"{[s.values.shape for s in states]}")
    dtype = np.result_type(*[s.values.dtype for s in states])
    return _best(np.concatenate([s.values.astype(dtype) for s in states], axis=1),
                 np.concatenate([s.image_index for s in states], axis=1),
                 np.concatenate([s.position for s in states], axis=1), k)

r"""Nearest neighbours of images, in CNN-code space or in pixel space.

Krizhevsky et al. 2012, Sec. 6.1, Fig. 4 (right): "If two images produce
feature activation vectors with a small Euclidean separation, we can say that
the higher levels of the neural network consider them to be similar." Their
neighbours in fc7 space show elephants in other poses and dogs of other
colours — images that are far apart in pixel space (L2 on raw pixels would
pick images of similar colour and layout instead). The same function on
flattened pixels gives that contrast::

    nearest_neighbours(codes, queries, k)                       # code space
    nearest_neighbours(images.reshape(N, -1), queries, k)       # pixel space

Distances, for a query q and a point x (rows of ``codes``)::

    "l2"       ||q - x||_2                           (Krizhevsky et al. 2012)
    "cosine"   1 - q.x / (||q|| ||x||)               (0 for parallel vectors;
                                                      a zero vector is at 1)

Ties are broken by the lower index, so results are deterministic. The
distance matrix is computed ``batch_size`` queries at a time (memory
``batch_size x N``). :func:`label_agreement` turns neighbours into one
number: the share of neighbours with the query's label (precision at k).

Example:
    >>> import numpy as np
    >>> X = np.array([[0.0, 0], [1, 0], [0, 2], [5, 5]])
    >>> nn = nearest_neighbours(X, [0, 3], k=2)
    >>> nn.index.tolist(), nn.distance.round(3).tolist()
    ([[1, 2], [2, 1]], [[1.0, 2.0], [5.831, 6.403]])
    >>> label_agreement(nn.index, np.array([0, 0, 1, 1]), [0, 3])   # 1 of 2, 1 of 2
    0.5
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy


class Neighbours(NamedTuple):
    """The k nearest points of each query, nearest first.

    Attributes:
        index: (Q, k) int64 rows of ``codes``.
        distance: (Q, k) float64 distances under the metric.
    """
    index: np.ndarray
    distance: np.ndarray


def _distances(Q, X, metric):
    """(q, N) float64 distances between rows of Q (q, D) and X (N, D)."""
    if metric == "l2":
        d2 = (Q * Q).sum(1)[:, None] + (X * X).sum(1)[None] - 2 * Q @ X.T
        return np.sqrt(np.maximum(d2, 0))
    nq, nx = np.linalg.norm(Q, axis=1), np.linalg.norm(X, axis=1)
    cos = (Q @ X.T) / np.where(nq == 0, 1, nq)[:, None] / np.where(nx == 0, 1, nx)[None]
    return 1 - cos


def nearest_neighbours(codes, queries, k=6, metric="l2", batch_size=256):
    """Krizhevsky et al. 2012, Fig. 4: the k nearest rows of ``codes`` to each query.

    Args:
        codes: (N, D) points (CNN codes, or flattened pixels for the contrast).
        queries: (Q,) int indices into ``codes`` (each query is left out of its
            own neighbours), or (Q, D) vectors.
        k: neighbours per query (6: Krizhevsky et al. 2012, Fig. 4, "the six
            training images" nearest to each test image).
        metric: "l2" (Euclidean, as in the paper, the default) or "cosine".
        batch_size: queries per distance block.

    Returns:
        Neighbours(index (Q, k), distance (Q, k)), nearest first, ties by index.

    Raises:
        ValueError: unknown metric, k out of range, bad query indices or shape.
    """
    X = np.asarray(asnumpy(codes), dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"codes must be a non-empty (N, D) array, got shape {X.shape}")
    if metric not in ("l2", "cosine"):
        raise ValueError(f"unknown metric {metric!r}: use 'l2' or 'cosine'")
    queries = np.asarray(asnumpy(queries))
    by_index = queries.ndim == 1 and queries.dtype.kind in "iu"
    if by_index:
        bad = queries[(queries < 0) | (queries >= len(X))]
        if bad.size:
            raise ValueError(f"query index {int(bad[0])} outside the {len(X)} codes")
        Qv = X[queries]
    elif queries.ndim == 2 and queries.shape[1] == X.shape[1]:
        Qv = np.asarray(queries, np.float64)
    else:
        raise ValueError(f"queries must be (Q,) indices or (Q, {X.shape[1]}) vectors, "
                         f"got shape {queries.shape} ({queries.dtype})")
    available = len(X) - (1 if by_index else 0)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= available:
        raise ValueError(f"k must be an integer in 1 .. {available} (the codes available "
                         f"to each query), got {k!r}")
    index = np.empty((len(Qv), k), np.int64)
    distance = np.empty((len(Qv), k))
    for a in range(0, len(Qv), batch_size):
        d = _distances(Qv[a:a + batch_size], X, metric)
        if by_index:
            d[np.arange(len(d)), queries[a:a + batch_size]] = np.inf     # not itself
        order = np.argsort(d, axis=1, kind="stable")[:, :k]
        index[a:a + len(d)] = order
        distance[a:a + len(d)] = np.take_along_axis(d, order, axis=1)
    return Neighbours(index, distance)


def label_agreement(index, labels, queries):
    """Share of neighbours that have their query's label (mean precision at k).

    Args:
        index: (Q, k) neighbour indices. labels: (N,) labels of the codes.
        queries: (Q,) indices of the queries (their labels are ``labels[queries]``).

    Returns:
        float in [0, 1].
    """
    labels = np.asarray(labels)
    return float((labels[np.asarray(index)] == labels[np.asarray(queries)][:, None]).mean())

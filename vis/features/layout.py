r"""Snap a 2-D map to a grid, for a wall of thumbnails (Karpathy's t-SNE of CNN codes).

A t-SNE scatter of image thumbnails overlaps where clusters are dense and
leaves gaps elsewhere. Karpathy's "t-SNE visualization of CNN codes" also
shows the map "as a grid": every image gets one cell of a rows x cols grid,
near its place in the map. Choosing the cells is an *assignment problem*:
with points p_n and cell centres g_m both scaled to the unit square::

    minimise  sum_n ||p_n - g_{a(n)}||^2   over one-to-one maps a: points -> cells

solved exactly by ``scipy.optimize.linear_sum_assignment`` (the Hungarian
method's modern form, Crouse 2016), O((N + cells)^3): fine for a few
thousand thumbnails. With more points than cells, the points left out get
cell (-1, -1).

Scaling: each axis of the map is min-max scaled to [0, 1] on its own (the
grid fills the square); row 0 is the *top*, the largest y, as an image is
drawn; column 0 the smallest x.

Example:
    >>> import numpy as np
    >>> Y = np.array([[0.0, 0.0], [1.0, 1.0], [0.9, 0.1], [0.1, 0.8]])
    >>> grid_layout(Y, (2, 2)).tolist()           # (row, col) per point
    [[1, 0], [0, 1], [1, 1], [0, 0]]
"""

import math

import numpy as np
from scipy.optimize import linear_sum_assignment

from minicnn.backend import asnumpy


def grid_layout(embedding, shape=None):
    """Assign each point of a 2-D map to one cell of a grid, keeping neighbours close.

    Args:
        embedding: (N, 2) map coordinates (e.g. ``tsne(...).embedding``).
        shape: (rows, cols); default the smallest square with N cells.

    Returns:
        (N, 2) int64 (row, col) of each point's cell; (-1, -1) for points
        left out when there are more points than cells.

    Raises:
        ValueError: an embedding that is not (N, 2), or a bad grid shape.
    """
    Y = np.asarray(asnumpy(embedding), dtype=np.float64)
    if Y.ndim != 2 or Y.shape[1] != 2 or len(Y) == 0:
        raise ValueError(f"embedding must be a non-empty (N, 2) map, got shape {Y.shape}")
    N = len(Y)
    if shape is None:
        side = math.ceil(math.sqrt(N))
        shape = (side, side)
    rows, cols = (int(s) for s in shape)
    if rows < 1 or cols < 1:
        raise ValueError(f"grid shape must be positive, got {shape}")
    lo, span = Y.min(axis=0), np.ptp(Y, axis=0)
    P = (Y - lo) / np.where(span > 0, span, 1)                # each axis to [0, 1]
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    centres = np.stack([(c.ravel() + 0.5) / cols,              # x grows with the column
                        1 - (r.ravel() + 0.5) / rows], axis=1)  # y grows upwards: row 0 on top
    cost = ((P[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)     # (N, cells)
    points, cells = linear_sum_assignment(cost)
    out = np.full((N, 2), -1, np.int64)
    out[points, 0], out[points, 1] = cells // cols, cells % cols
    return out

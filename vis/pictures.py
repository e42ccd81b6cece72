"""Pictures of dataset-level results: patch grids, neighbour rows, thumbnail maps, plots.

The methods of ``vis/features/`` return arrays; these functions draw them,
for the subcommands and the tour alike (computing and drawing stay apart).
Every function returns a uint8 picture ``(H, W, 3)`` (or writes nothing):
saving it is the caller's.

* ``patch_grid`` — Zeiler & Fergus 2014, Fig. 2: per channel, the k patches
  beside their projections; pixels outside the image (the field hanging over
  the border) are hatched grey, so padding is shown as such.
* ``neighbour_rows`` — Krizhevsky et al. 2012, Fig. 4: each query image
  followed by its nearest neighbours.
* ``thumbnail_grid`` — Karpathy's t-SNE map of CNN codes: images snapped to
  the cells ``vis.features.grid_layout`` assigned.
* ``scatter``, ``curve`` — matplotlib figures as pictures (a 2-D embedding by
  class; a loss or accuracy curve).
"""

import io as _io

import numpy as np

from minicnn.backend import asnumpy

from . import draw
from .image import normalize_map, to_uint8


def _projection_rgb(p):
    """A projection (3, h, w) in any range -> RGB in [0, 1], 0 at grey (``draw.signed_rgb``)."""
    return draw.signed_rgb(p, "RGB")


def _hatch(image01, inside):
    """Pixels where ``inside`` is False: a grey diagonal hatch over the image."""
    out = np.array(image01, dtype=np.float64, copy=True)
    h, w = inside.shape
    stripes = ((np.arange(h)[:, None] + np.arange(w)[None]) % 4) < 2
    out[:, ~inside] = np.where(stripes[~inside], 0.55, 0.8)
    return out


def patch_grid(result, channels=None, rule="deconvnet", cols=3, pad=2, zoom=None):
    """Zeiler's figure for some channels of a ``TopPatches``: [patches | projections] rows.

    Args:
        result: ``vis.features.patches.TopPatches``.
        channels: indices into ``result.channels`` to draw (default all).
        rule: "deconvnet" or "guided": which projection goes beside the patches.
        cols: patches per row inside a channel's block (3: a 3x3 block for k = 9).

    Returns:
        uint8 (H, W, 3): one row per channel, its patch block then its projection block.
    """
    proj = getattr(result, rule)
    channels = range(len(result.channels)) if channels is None else channels
    k, RH, RW = result.patches.shape[1], result.patches.shape[3], result.patches.shape[4]
    zoom = zoom or max(1, 48 // max(RH, RW))
    rows = []
    for c in channels:
        tiles_p = [_hatch(result.patches[c, j], result.inside[c, j]) for j in range(k)]
        tiles_q = [_projection_rgb(proj[c, j]) for j in range(k)] if proj is not None else []
        blocks = [_block(tiles_p, cols, pad, zoom)] + ([_block(tiles_q, cols, pad, zoom)]
                                                        if tiles_q else [])
        rows.append(draw.side_by_side(blocks, pad=3 * pad))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 3 * pad), (0, width - r.shape[1]), (0, 0)), constant_values=255)
            for r in rows]
    return np.concatenate(rows, axis=0)


def _block(tiles, cols, pad, zoom):
    """Float (3, h, w) tiles in a grid of ``cols`` columns, white gaps."""
    ups = [draw.zoom(to_uint8(t), zoom) for t in tiles]
    h, w = ups[0].shape[:2]
    nrows = -(-len(ups) // cols)
    grid = np.full((nrows * h + (nrows - 1) * pad, cols * w + (cols - 1) * pad, 3), 255, np.uint8)
    for j, t in enumerate(ups):
        r, c = divmod(j, cols)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = t
    return grid


def neighbour_rows(images01, queries, index, zoom=1, labels=None):
    """Krizhevsky Fig. 4: each query (boxed green) then its neighbours (boxed red if
    ``labels`` say another class).

    Args:
        images01: (N, 3, H, W) RGB in [0, 1]; queries: (Q,) indices; index: (Q, k).

    Returns:
        uint8 (Q * H', (k + 1) * W', 3).
    """
    rows = []
    for q, row in zip(queries, index):
        tiles = [draw.draw_box(images01[q], (0, 0, images01.shape[3], images01.shape[2]),
                               draw.TRUE_BOX)]
        for j in row:
            other = labels is not None and labels[j] != labels[q]
            tiles.append(draw.draw_box(images01[j], (0, 0, images01.shape[3],
                                                     images01.shape[2]), draw.PRED_BOX)
                         if other else images01[j])
        rows.append(draw.side_by_side(tiles, pad=2, factor=zoom))
    gap = np.full((2, rows[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([x for r in rows for x in (r, gap)][:-1], axis=0)


def thumbnail_grid(images01, cells, shape=None):
    """Images at their (row, col) cells of ``grid_layout`` (cells (N, 2); -1: left out)."""
    cells = np.asarray(cells)
    keep = cells[:, 0] >= 0
    R, C = shape or (int(cells[keep, 0].max()) + 1, int(cells[keep, 1].max()) + 1)
    H, W = images01.shape[2:]
    out = np.full((R * H, C * W, 3), 255, np.uint8)
    for img, (r, c) in zip(images01[keep], cells[keep]):
        out[r * H:(r + 1) * H, c * W:(c + 1) * W] = to_uint8(img)
    return out


def _figure_png(fig):
    from PIL import Image
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    buf.seek(0)
    with Image.open(buf) as img:
        return np.asarray(img.convert("RGB"))


def scatter(points, labels, names, title=""):
    """A 2-D embedding coloured by class, with a legend -> uint8 picture."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 5))
    points = np.asarray(asnumpy(points))
    for k, name in enumerate(names):
        sel = np.asarray(labels) == k
        ax.scatter(points[sel, 0], points[sel, 1], s=6, label=name)
    ax.legend(markerscale=3, fontsize=8, loc="best")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return _figure_png(fig)


def curve(x, series, xlabel, ylabel, title="", log=False):
    """Lines ``{name: values}`` against ``x`` -> uint8 picture (loss histories, accuracy vs ε)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for name, values in series.items():
        ax.plot(x, np.asarray(values, dtype=np.float64), marker="." if len(x) < 30 else None,
                label=name)
    if log:
        ax.set_yscale("symlog" if any(np.min(v) <= 0 for v in series.values()) else "log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    return _figure_png(fig)


def map_overlay_row(images01, maps, box=None):
    """Images with their maps overlaid (jet), an optional box drawn on each -> uint8 row."""
    tiles = []
    for img, m in zip(images01, maps):
        tile = draw.heat_overlay(img, normalize_map(np.asarray(m, dtype=np.float64)))
        tiles.append(draw.draw_box(tile, box, draw.PRED_BOX) if box is not None else tile)
    return draw.side_by_side(tiles, pad=2, factor=draw.auto_zoom(images01.shape[2], 128))

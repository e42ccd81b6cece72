"""How well does a map localize? Pointing game, box IoU, energy inside the object.

The shapes data (``minicnn.data``) give every image its mask and box, so
localization is a number:

- ``box_iou``: area of intersection over area of union of two boxes.
- ``pointing_game`` (Zhang et al. 2016, Sec. 5.1): a hit when the map's
  maximum lies on the object, within a tolerance of 15 px at 224x224. We scale
  it with the map width: round(15 * W / 224) = 4 px at 64x64, half a cell
  of tiny's 8x8 Grad-CAM map, the coarseness the tolerance forgives. Our masks are exact, so pass ``tolerance=0`` for the strict game.
- energy inside the mask (the "energy-based pointing game" of Wang et al.
  2020, Score-CAM): the share of ``max(map, 0)`` on the object. Score-CAM used
  the box; the mask is stricter.

Example:
    >>> box_iou((0, 0, 4, 4), (2, 2, 6, 6))           # (x0, y0, x1, y1), end exclusive
    array(0.14285714)
"""

import numpy as np
from scipy import ndimage

from minicnn.backend import asnumpy
from minicnn.preprocessing import preprocess
from minicnn.progress import Progress

from .segmentation import localize


def box_iou(a, b):
    """Intersection over union of boxes (x0, y0, x1, y1), end exclusive.

    Args:
        a, b: (..., 4) boxes; they broadcast.

    Returns:
        (...) float IoU in [0, 1] (0 when both are empty).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area = lambda c: (c[..., 2] - c[..., 0]) * (c[..., 3] - c[..., 1])  # noqa: E731
    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def pointing_game(maps, masks, tolerance=None):
    """Zhang et al. 2016: is each map's maximum on (or near) the object?

    Args:
        maps: (N, H, W) maps; ties go to the first maximum in row-major order.
        masks: (N, H, W) bool object masks.
        tolerance: pixels; a hit when the maximum is at most this (Euclidean)
            distance from a mask pixel. None: round(15 * W / 224), the paper's
            15 px at 224 scaled to the map (4 px at 64).

    Returns:
        (N,) bool hits; their mean is the pointing-game accuracy.
    """
    maps, masks = np.asarray(asnumpy(maps)), np.asarray(masks, dtype=bool)
    N, H, W = maps.shape
    tol = round(15 * W / 224) if tolerance is None else tolerance
    hits = np.zeros(N, dtype=bool)
    for n in range(N):
        i, j = np.unravel_index(np.argmax(maps[n]), (H, W))
        if masks[n].any():
            hits[n] = ndimage.distance_transform_edt(~masks[n])[i, j] <= tol
    return hits


def energy_inside(maps, masks):
    """Share of ``max(map, 0)`` on the object: maps, masks (N, H, W) -> (N,) in [0, 1].

    A map with no positive value scores 0.
    """
    pos = np.clip(np.asarray(asnumpy(maps), dtype=np.float64), 0, None)
    total = pos.sum(axis=(1, 2))
    inside = (pos * masks).sum(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1), 0.0)


def evaluate(method, net, shapes, batch_size=32, tolerance=None, progress=True, **kwargs):
    """Score a map method on a shapes set: pointing game, box IoU, energy.

    Args:
        method: ``method(net, x) -> maps (N, H, W)`` on a preprocessed batch
            x (N, 3, H, W); maps of another size are resized (bilinear).
        net: the Net (its ``meta`` says how to preprocess).
        shapes: a ``minicnn.data.Shapes`` set.
        batch_size: images per call of ``method``.
        tolerance: for :func:`pointing_game`. progress: show a progress bar.
        **kwargs: passed to :func:`localize` (via :func:`segment`).

    Returns:
        dict with floats ``pointing`` (against the masks, Zhang et al.'s COCO
        protocol), ``pointing_box`` (against the true boxes, their VOC07
        protocol), ``box_iou``, ``energy`` (means) and per-image arrays
        ``hits``, ``hits_box`` (N,) bool, ``ious`` (N,), ``energies`` (N,),
        ``boxes`` (N, 4) int64 (the predicted boxes).
    """
    N, _, H, W = shapes.images.shape
    hits, ious, energies = np.zeros(N, bool), np.zeros(N), np.zeros(N)
    hits_box = np.zeros(N, bool)
    box_masks = np.zeros((N, H, W), bool)
    for n, (x0, y0, x1, y1) in enumerate(shapes.boxes):
        box_masks[n, y0:y1, x0:x1] = True
    boxes = np.zeros((N, 4), np.int64)
    bar = Progress(N, "localize", enabled=progress)
    for start in range(0, N, batch_size):
        sl = slice(start, min(N, start + batch_size))
        maps = np.asarray(asnumpy(method(net, preprocess(shapes.images[sl], net.meta))),
                          dtype=np.float64)
        if maps.shape[1:] != (H, W):
            maps = ndimage.zoom(maps, (1, H / maps.shape[1], W / maps.shape[2]), order=1)
        hits[sl] = pointing_game(maps, shapes.masks[sl], tolerance)
        hits_box[sl] = pointing_game(maps, box_masks[sl], tolerance)
        energies[sl] = energy_inside(maps, shapes.masks[sl])
        for n in range(sl.start, sl.stop):
            boxes[n] = localize(shapes.images[n], maps[n - start], **kwargs)[1]
            bar.update()
    bar.close()
    ious = box_iou(boxes, shapes.boxes)
    return {"pointing": float(hits.mean()), "pointing_box": float(hits_box.mean()),
            "box_iou": float(ious.mean()), "energy": float(energies.mean()),
            "hits": hits, "hits_box": hits_box, "ious": ious,
            "energies": energies, "boxes": boxes}

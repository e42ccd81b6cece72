"""Weakly supervised localization: saliency -> graph cut -> box, and its scores.

Simonyan, Vedaldi & Zisserman 2014, Sec. 6: a class saliency map marks the
most discriminative pixels, often only a part of the object (a dog's face).
A colour segmentation grows that part to the whole object:

1. **Seeds.** Pixels whose saliency lies above the 95% quantile of the map are
   foreground seeds, those below the 30% quantile background seeds (the
   paper's defaults, ``fg_quantile=0.95``, ``bg_quantile=0.30``).
2. **Colour models.** One Gaussian mixture per seed set, K = 5 components as
   in GrabCut (Rother et al. 2004). SciPy has no GMM, so we fit it as
   GrabCut's own loop does (Fig. 3, steps 1-2): assign each seed pixel to a
   component (seeded k-means, ``scipy.cluster.vq.kmeans2``), then give every
   component the mean, covariance and weight of its pixels. No EM iterations.
3. **Graph cut** (Boykov & Jolly 2001; Rother et al. 2004, Sec. 2.1, 3.1).
   Minimise over labels L_p in {fg, bg}::

       E(L) = sum_p D_p(L_p)
              + gamma * sum_{p~q} [L_p != L_q] exp(-beta ||z_p - z_q||^2) / dist(p, q)

       D_p(L) = -log p(z_p | GMM_L)             (unary: colour likelihood)
       beta   = 1 / (2 <||z_p - z_q||^2>)       (mean over all neighbour pairs)

   on the 8-neighbourhood with GrabCut's gamma = 50. An edge between unlike
   colours is cheap to cut, so the boundary follows colour edges (a
   contrast-sensitive Potts model). Seeds are hard constraints: their edge to
   their own terminal has Boykov & Jolly's "infinite" capacity
   K = 1 + max_p sum_q B_pq, more than all the pairwise edges of a pixel.
4. **Box.** The mask is the largest connected component of the foreground;
   its bounding box is the localization (the paper: "the object segmentation
   mask is set to the largest connected component").

Why PyMaxflow and not OpenCV's ``grabCut``: PyMaxflow is a small wrapper of
the Boykov-Kolmogorov max-flow (the solver inside GrabCut) that exposes the
graph, so the energy above is visible in the twenty lines of :func:`segment`;
OpenCV is a ~60 MB dependency and a black box. As in the paper, one cut
(no GrabCut re-estimation loop); unlike it, the GMMs are fitted by hard
assignment, not EM.

Scores (``minicnn.data`` gives every image its mask and box):

- ``box_iou``: area of intersection over area of union of two boxes.
- ``pointing_game`` (Zhang et al. 2016, Sec. 5.1): a hit when the map's
  maximum lies on the object, within a tolerance of 15 px at 224x224. We scale
  it with the map width: round(15 * W / 224) = 4 px at 64x64, which is also
  one cell of a 16x16 CAM map (tiny's last conv), the coarseness the tolerance
  forgives. Our masks are exact, so pass ``tolerance=0`` for the strict game.
- energy inside the mask (the "energy-based pointing game" of Wang et al.
  2020, Score-CAM): the share of ``max(map, 0)`` on the object. Score-CAM used
  the box; the mask is stricter.

Example:
    >>> img = np.full((3, 32, 32), 0.2)
    >>> img[0, 8:20, 10:24] = 0.9                     # a red rectangle
    >>> y, x = np.mgrid[0:32, 0:32]
    >>> sal = np.exp(-((x - 17) ** 2 + (y - 14) ** 2) / 8)  # salient: its middle
    >>> localize(img, sal)[1]                         # (x0, y0, x1, y1)
    (10, 8, 24, 20)
"""

import warnings

import maxflow
import numpy as np
from scipy import ndimage
from scipy.cluster.vq import kmeans2

from minicnn.backend import asnumpy
from minicnn.preprocessing import preprocess
from minicnn.progress import Progress

#: 8-neighbourhood as the four "forward" offsets (dy, dx); the reverse edges
#: come from ``symmetric=True``.
OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _hwc(image01):
    """(3, H, W) or (H, W, 3) RGB image -> (H, W, 3) float64."""
    img = np.asarray(image01, dtype=np.float64)
    if img.ndim == 3 and img.shape[0] == 3 and img.shape[-1] != 3:
        img = img.transpose(1, 2, 0)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f"expected an RGB image (3, H, W) or (H, W, 3), got {img.shape}")
    return img


def fit_gmm(z, n_components=5, seed=0):
    """Gaussian mixture by hard assignment: k-means, then one Gaussian per cluster.

    Args:
        z: (P, 3) colours. n_components: K (5 in GrabCut). seed: k-means seed.

    Returns:
        (weights (K,), means (K, 3), covs (K, 3, 3)); K may shrink when there are
        fewer distinct colours or a cluster ends up empty.
    """
    k = min(n_components, len(np.unique(z, axis=0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # "one of the clusters is empty"
        _, labels = kmeans2(z, k, minit="++", seed=np.random.default_rng(seed))
    ks = [j for j in range(k) if np.any(labels == j)]
    weights = np.array([np.mean(labels == j) for j in ks])
    means = np.array([z[labels == j].mean(axis=0) for j in ks])
    # eps * I keeps a cluster of one colour (or of one pixel) invertible.
    covs = np.array([np.cov(z[labels == j].T, bias=True).reshape(3, 3) + 1e-4 * np.eye(3)
                     for j in ks])
    return weights, means, covs


def gmm_nll(z, gmm):
    """-log p(z | GMM) for (P, 3) colours -> (P,), by log-sum-exp over components."""
    weights, means, covs = gmm
    logp = []
    for w, mu, cov in zip(weights, means, covs):
        d = z - mu
        maha = np.einsum("pi,ij,pj->p", d, np.linalg.inv(cov), d)
        logp.append(np.log(w) - 0.5 * (np.linalg.slogdet(2 * np.pi * cov)[1] + maha))
    logp = np.array(logp)
    top = logp.max(axis=0)
    return -(top + np.log(np.exp(logp - top).sum(axis=0)))


def _seeds(saliency, fg_quantile, bg_quantile):
    hi, lo = np.quantile(saliency, [fg_quantile, bg_quantile])
    fg = saliency > hi
    if not fg.any():                                   # a flat top: take the ties
        fg = saliency >= hi
    bg = (saliency < lo) & ~fg
    if not bg.any():                                   # a flat bottom: likewise
        bg = (saliency <= lo) & ~fg
    return fg, bg


def segment(image01, saliency_map, fg_quantile=0.95, bg_quantile=0.30,
            n_components=5, gamma=50.0, seed=0):
    """Foreground mask from a saliency map by a seeded graph cut (steps 1-3 above).

    Args:
        image01: (3, H, W) or (H, W, 3) RGB image in [0, 1].
        saliency_map: (H, W) map, larger = more salient.
        fg_quantile, bg_quantile: seed thresholds (Simonyan et al.: 0.95, 0.30).
        n_components: GMM components per colour model (GrabCut: 5).
        gamma: weight of the pairwise term (GrabCut: 50).
        seed: k-means seed.

    Returns:
        (H, W) bool, True on foreground; every foreground seed is True and every
        background seed False. With no background seeds (a flat map) it is the
        foreground seeds alone.
    """
    img = _hwc(image01)
    H, W, _ = img.shape
    sal = np.asarray(asnumpy(saliency_map), dtype=np.float64)
    if sal.shape != (H, W):
        raise ValueError(f"saliency map {sal.shape} does not match the image {(H, W)}")
    fg, bg = _seeds(sal, fg_quantile, bg_quantile)
    if not bg.any():
        return fg
    z = img.reshape(-1, 3)
    # Unary: -log-likelihood under each colour model, shifted so the smaller is 0.
    d_fg = gmm_nll(z, fit_gmm(z[fg.ravel()], n_components, seed)).reshape(H, W)
    d_bg = gmm_nll(z, fit_gmm(z[bg.ravel()], n_components, seed)).reshape(H, W)
    low = np.minimum(d_fg, d_bg)
    d_fg, d_bg = d_fg - low, d_bg - low
    # Pairwise: squared colour differences to each forward neighbour.
    rows, cols = np.mgrid[0:H, 0:W]
    diffs, valid = [], []
    for dy, dx in OFFSETS:
        nb = img[np.minimum(rows + dy, H - 1), np.clip(cols + dx, 0, W - 1)]
        diffs.append(((img - nb) ** 2).sum(axis=2))
        valid.append((rows + dy < H) & (cols + dx >= 0) & (cols + dx < W))
    mean_d2 = np.mean(np.concatenate([d[v] for d, v in zip(diffs, valid)]))
    beta = 1.0 / (2.0 * mean_d2) if mean_d2 > 0 else 0.0
    g = maxflow.Graph[float]()
    nodes = g.add_grid_nodes((H, W))
    K = 1.0
    for (dy, dx), d2, ok in zip(OFFSETS, diffs, valid):
        B = np.where(ok, gamma / np.hypot(dy, dx) * np.exp(-beta * d2), 0.0)
        structure = np.zeros((3, 3))
        structure[1 + dy, 1 + dx] = 1
        g.add_grid_edges(nodes, weights=B, structure=structure, symmetric=True)
        K += 2 * B.max()                       # each pixel has two edges per offset
    # Terminals: source = foreground. A pixel left on the source side cuts its
    # sink edge, so the sink capacity is the cost of calling it foreground.
    g.add_grid_tedges(nodes, np.where(fg, K, np.where(bg, 0, d_bg)),
                      np.where(bg, K, np.where(fg, 0, d_fg)))
    g.maxflow()
    return ~g.get_grid_segments(nodes)         # True = sink side = background


def largest_component(mask):
    """(H, W) bool -> the largest 8-connected component, (H, W) bool (empty stays empty)."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = np.bincount(labels.ravel())[1:]
    return labels == 1 + int(np.argmax(sizes))


def bounding_box(mask):
    """Box of the largest 8-connected component of ``mask``.

    Args:
        mask: (H, W) bool.

    Returns:
        (x0, y0, x1, y1) ints, end exclusive as in ``minicnn.data`` boxes
        (columns x0 <= x < x1, rows y0 <= y < y1); (0, 0, 0, 0) for an empty mask.
    """
    ys, xs = np.nonzero(largest_component(mask))
    if ys.size == 0:
        return (0, 0, 0, 0)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def localize(image01, saliency_map, **kwargs):
    """Simonyan et al. 2014, Sec. 6: ``segment``, keep the largest component, box it.

    Args:
        image01: (3, H, W) or (H, W, 3) RGB in [0, 1]. saliency_map: (H, W).
        **kwargs: passed to :func:`segment`.

    Returns:
        (mask (H, W) bool, box (x0, y0, x1, y1) end exclusive).
    """
    mask = largest_component(segment(image01, saliency_map, **kwargs))
    return mask, bounding_box(mask)


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

"""Weakly supervised localization: saliency -> graph cut -> box.

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

The scores of a localization are in ``vis/localization/scores.py``.

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

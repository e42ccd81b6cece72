"""The *shapes* dataset: one coloured shape per image, with its label and mask.

Why a synthetic dataset? The ImageNet demos show *that* a saliency map or a
Grad-CAM heat map looks plausible; they cannot say *how well* it localizes,
because nobody marked the object's pixels. Here every image comes with the
object's binary mask and bounding box, so localization becomes a number:

- **pointing game** (Zhang et al. 2016): is the maximum of the map inside the
  mask?
- **box IoU**: threshold the map, take the box of the largest region, compare
  it with ``boxes`` (the weakly supervised localization of Simonyan et al.
  2014, Sec. 6, and of CAM, Zhou et al. 2016, Sec. 3).

Recipe for one image (all drawn from a NumPy ``Generator`` seeded by ``seed``):

1. Background: a smooth linear gradient between two random colours, plus
   ``N_LINES`` thin straight lines and ``N_BLOBS`` Gaussian blobs, each only a
   little lighter or darker than what lies under it (clutter, never a class).
2. Object: a class, a diameter of 14-40 px (scaled by ``size / 64``, never
   below 6 px), a rotation, and a position that keeps it fully inside the
   image (1 px clear of the edges). Each shape is defined in "unit"
   coordinates ``(u, v)`` inside the unit disc; the pixel grid is mapped into
   those coordinates (shift, rotate, scale) and the shape is an inequality on
   ``(u, v)`` evaluated for all pixels of a chunk of images at once: an
   implicit curve (circle, ring, square, heart) or an even-odd crossing-number
   test against a polygon (triangle, star, cross, arrow).
3. Colour: the first of ``N_CANDIDATES`` random colours whose RGB distance to
   the mean background under the mask is at least ``MIN_CONTRAST`` (else the
   farthest one), so the object never disappears into its background.
   Colour, size and position are independent of the class: a classifier has
   to look at the shape.
4. Pixel noise: uniform in [-``NOISE``, ``NOISE``] (cheaper to draw than
   Gaussian); the image is clipped to [0, 1].

Determinism: ``make_shapes(n, seed, size, classes)`` is bit-identical on every
call (on one machine and NumPy version; other CPUs may differ in the last bits
of float math such as ``exp`` or matmul, so compare images with a tolerance
across machines). Images are generated in chunks of ``CHUNK`` with one child seed per chunk
(``np.random.SeedSequence(seed).spawn``), so the first k images do not depend
on ``n``: ``make_shapes(10, seed)`` equals the first ten of
``make_shapes(1000, seed)``. Changing ``size`` or ``classes`` changes the data.

Example:
    >>> data = make_shapes(8, seed=0)
    >>> data.images.shape, data.images.dtype, data.labels.shape
    ((8, 3, 64, 64), dtype('float32'), (8,))
    >>> data.masks.shape, data.boxes.shape, data.class_names[data.labels[0]] in CLASS_NAMES
    ((8, 64, 64), (8, 4), True)
    >>> test = make_shapes(2000, seed=TEST_SEED)     # the split the shipped model is scored on
"""
from typing import NamedTuple, Optional, Sequence

import numpy as np

CLASS_NAMES = ("circle", "square", "triangle", "star", "cross", "ring", "heart", "arrow")

# The seeds of the three splits. They are separate so that no image is in two
# splits: the validation images that chose the training recipe and the test
# images that measure the shipped model were never trained on, and the test
# images never steered a training decision. (Different seeds give independent
# streams: ``np.random.SeedSequence`` hashes them.)
TRAIN_SEED = 1
VAL_SEED = 2
TEST_SEED = 12345

CHUNK = 256           # images per child seed (and per vectorized batch)
MIN_DIAMETER = 14.0   # object diameter range in pixels at size 64
MAX_DIAMETER = 40.0
N_LINES = 3           # clutter lines per image
N_BLOBS = 3           # clutter blobs per image
CLUTTER_CONTRAST = 0.15  # max per-channel change a line or blob makes
N_CANDIDATES = 16     # object colours tried per image
MIN_CONTRAST = 0.4    # min RGB distance object colour <-> background under mask
NOISE = 0.05          # uniform pixel noise in [-NOISE, NOISE] (std 0.029)


class Shapes(NamedTuple):
    """A batch of the shapes dataset.

    Attributes:
        images: (N, 3, H, W) float32 RGB in [0, 1], H = W = size.
        labels: (N,) int64, indices into ``class_names``.
        masks: (N, H, W) bool, True on the object's pixels.
        boxes: (N, 4) int64 ``(x0, y0, x1, y1)``: the mask's bounding box,
            columns x0 <= x < x1 and rows y0 <= y < y1.
        class_names: tuple of str, the classes in label order.
    """
    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    class_names: tuple


def _polygon(u, v, vertices):
    """Even-odd crossing test: is (u, v) inside the polygon?

    Casts a ray from each point towards +u and counts the edges it crosses; an
    odd count means inside. The loop runs over the polygon's edges, never over
    pixels. Works for non-convex polygons (star, cross, arrow).

    Args:
        u, v: (N, H, W) point coordinates in the shape's unit frame.
        vertices: list of (u, v) corners in order.

    Returns:
        (N, H, W) bool.
    """
    inside = np.zeros(u.shape, dtype=bool)
    for (u0, v0), (u1, v1) in zip(vertices, vertices[1:] + vertices[:1]):
        if v0 == v1:
            continue  # a horizontal edge is never crossed by a horizontal ray
        straddles = (v0 > v) != (v1 > v)
        u_cross = u0 + (v - v0) * (u1 - u0) / (v1 - v0)
        inside ^= straddles & (u < u_cross)
    return inside


def _regular(n_points, radius, phase=np.pi / 2):
    angles = phase + 2 * np.pi * np.arange(n_points) / n_points
    return [(radius * np.cos(a), radius * np.sin(a)) for a in angles]


# Star: 10 corners alternating between radius 1 (points) and 0.5 (notches).
_STAR = [p for outer, inner in zip(_regular(5, 1.0), _regular(5, 0.5, np.pi / 2 + np.pi / 5))
         for p in (outer, inner)]
_CROSS = [(0.3, 0.95), (0.3, 0.3), (0.95, 0.3), (0.95, -0.3), (0.3, -0.3), (0.3, -0.95),
          (-0.3, -0.95), (-0.3, -0.3), (-0.95, -0.3), (-0.95, 0.3), (-0.3, 0.3), (-0.3, 0.95)]
_ARROW = [(-0.95, 0.25), (0.05, 0.25), (0.05, 0.7), (0.95, 0.0), (0.05, -0.7), (0.05, -0.25),
          (-0.95, -0.25)]

# Each shape: (u, v) arrays in the unit frame -> bool mask. All fit in the
# unit disc, so a shape of diameter d centred >= d/2 + 1 px from every edge
# is fully inside the image and never touches its outermost pixels.
_SHAPES = {
    "circle": lambda u, v: u ** 2 + v ** 2 <= 0.8 ** 2,
    "square": lambda u, v: np.maximum(np.abs(u), np.abs(v)) <= 0.7,
    "triangle": lambda u, v: _polygon(u, v, _regular(3, 1.0)),
    "star": lambda u, v: _polygon(u, v, _STAR),
    "cross": lambda u, v: _polygon(u, v, _CROSS),
    "ring": lambda u, v: (u ** 2 + v ** 2 <= 0.95 ** 2) & (u ** 2 + v ** 2 >= 0.55 ** 2),
    # (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, scaled by 1.4 and centred on the disc.
    "heart": lambda u, v: ((1.4 * u) ** 2 + (1.4 * v + 0.2) ** 2 - 1) ** 3
                          - (1.4 * u) ** 2 * (1.4 * v + 0.2) ** 3 <= 0,
    "arrow": lambda u, v: _polygon(u, v, _ARROW),
}


def _check_args(n, size, classes):
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer >= 16, got {size!r}")
    if classes is None:
        return CLASS_NAMES
    if isinstance(classes, str):
        raise ValueError(f"classes must be a sequence of names such as ('{classes}',), "
                         f"not a string; valid class names: {', '.join(CLASS_NAMES)}")
    classes = tuple(classes)
    unknown = [c for c in classes if c not in CLASS_NAMES]
    if unknown or not classes or len(set(classes)) != len(classes):
        problem = (f"unknown class name(s) {unknown}" if unknown else
                   "classes is empty" if not classes else f"repeated class names in {classes}")
        raise ValueError(f"{problem}; valid class names: {', '.join(CLASS_NAMES)}")
    return classes


def _make_chunk(rng, m, size, class_names):
    """Draws CHUNK images' parameters from ``rng`` and renders the first m.

    Every parameter is drawn for all CHUNK images before slicing to m, and the
    pixel noise is drawn last, so image i never depends on m.

    Returns:
        images (m, 3, H, W) float32, labels (m,) int64, masks (m, H, W) bool.
    """
    C, K, s = CHUNK, len(class_names), size / 64
    labels = rng.integers(K, size=C)
    radius = np.maximum(rng.uniform(MIN_DIAMETER, MAX_DIAMETER, C) * s, 6) / 2  # >= 6 px across
    theta = rng.uniform(0, 2 * np.pi, C)
    cx, cy = 1 + radius + rng.random((2, C)) * (size - 2 - 2 * radius)  # 1 px from edges
    ends = rng.uniform(0.05, 0.95, (C, 2, 3))                 # gradient colours
    phi = rng.uniform(0, 2 * np.pi, C)                        # gradient direction
    lines = rng.random((C, N_LINES, 3)) * [size, size, np.pi]  # point (x, y), angle
    blobs = rng.random((C, N_BLOBS, 3)) * [size, size, 4 * s] + [0, 0, 2 * s]  # x, y, sigma
    deltas = rng.uniform(-CLUTTER_CONTRAST, CLUTTER_CONTRAST, (C, N_LINES + N_BLOBS, 3))
    candidates = rng.random((C, N_CANDIDATES, 3))
    params = (labels, radius, theta, cx, cy, ends, phi, lines, blobs, deltas, candidates)
    (labels, radius, theta, cx, cy, ends, phi, lines, blobs, deltas, candidates) = (
        a[:m] for a in params)

    # Pixel-centre grid, broadcast against per-image parameters: (m, H, W).
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    x, y = x[None], y[None]

    def col(a):  # per-image parameter (m,) -> (m, 1, 1), to broadcast over pixels
        return a.astype(np.float32)[:, None, None]

    # 1. Background = a per-image linear combination of basis maps, one matmul:
    #    bg[c] = ends0[c] * 1 + (ends1 - ends0)[c] * t + sum_k deltas[k, c] * map_k
    maps = np.empty((m, 2 + N_LINES + N_BLOBS, size, size), np.float32)
    maps[:, 0] = 1
    maps[:, 1] = (((x - size / 2) * col(np.cos(phi)) + (y - size / 2) * col(np.sin(phi))) / size
                  + 0.5)  # t: position along the gradient direction, about 0..1
    for k in range(N_LINES):  # thin lines: |distance| < 0.75 px (at size <= 64)
        px, py, a = lines[:, k].T
        dist = (x - col(px)) * col(-np.sin(a)) + (y - col(py)) * col(np.cos(a))
        maps[:, 2 + k] = np.abs(dist) < 0.75 * max(s, 1)
    for k in range(N_BLOBS):  # soft Gaussian blobs
        bx, by, sigma = blobs[:, k].T
        maps[:, 2 + N_LINES + k] = np.exp(-((x - col(bx)) ** 2 + (y - col(by)) ** 2)
                                          / (2 * col(sigma) ** 2))
    coef = np.concatenate([ends[:, :1], ends[:, 1:] - ends[:, :1], deltas], axis=1)  # (m, 8, 3)
    bg = coef.transpose(0, 2, 1).astype(np.float32) @ maps.reshape(m, -1, size * size)
    bg = bg.reshape(m, 3, size, size)

    # 2. Object mask: map pixels into the unit frame (shift, rotate by -theta, scale).
    dx, dy = (x - col(cx)) / col(radius), (y - col(cy)) / col(radius)
    u = dx * col(np.cos(theta)) + dy * col(np.sin(theta))
    v = -dx * col(np.sin(theta)) + dy * col(np.cos(theta))
    masks = np.zeros((m, size, size), dtype=bool)
    for k, name in enumerate(class_names):
        idx = np.flatnonzero(labels == k)
        masks[idx] = _SHAPES[name](u[idx], v[idx])

    # 3. Colour: first candidate far enough from the background under the mask.
    area = masks.sum(axis=(1, 2))[:, None]
    bg_mean = (bg * masks[:, None]).sum(axis=(2, 3)) / np.maximum(area, 1)   # (m, 3)
    dist = np.linalg.norm(candidates - bg_mean[:, None], axis=2)            # (m, N_CANDIDATES)
    ok = dist >= MIN_CONTRAST
    pick = np.where(ok.any(axis=1), ok.argmax(axis=1), dist.argmax(axis=1))
    colour = candidates[np.arange(m), pick]                                 # (m, 3)
    images = np.where(masks[:, None], colour[:, :, None, None].astype(np.float32), bg)

    # 4. Pixel noise, drawn last (its length depends on m).
    images += NOISE * (2 * rng.random(images.shape, dtype=np.float32) - 1)
    return np.clip(images, 0, 1, out=images), labels, masks


def _bounding_boxes(masks):
    """(N, H, W) bool -> (N, 4) int64 boxes (x0, y0, x1, y1), end exclusive."""
    rows, cols = masks.any(axis=2), masks.any(axis=1)      # (N, H), (N, W)
    y0, x0 = rows.argmax(axis=1), cols.argmax(axis=1)
    y1 = rows.shape[1] - rows[:, ::-1].argmax(axis=1)
    x1 = cols.shape[1] - cols[:, ::-1].argmax(axis=1)
    return np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)


def make_shapes(n: int, seed: int = 0, size: int = 64,
                classes: Optional[Sequence[str]] = None) -> Shapes:
    """Generates n images of the shapes dataset, deterministically from seed.

    Args:
        n: number of images N (>= 1).
        seed: any non-negative integer; same arguments give bit-identical
            arrays, and the first k images do not depend on n.
        size: image height = width H = W in pixels (>= 16); the object's
            diameter is 14-40 px at size 64 and scales with size.
        classes: optional subset of ``CLASS_NAMES`` (in any order); labels then
            index into this tuple. None means all of ``CLASS_NAMES``.

    Returns:
        Shapes with images (N, 3, H, W) float32 in [0, 1], labels (N,) int64,
        masks (N, H, W) bool, boxes (N, 4) int64 (x0, y0, x1, y1) and
        class_names (tuple of str).

    Raises:
        ValueError: n < 1, size < 16, or an unknown/repeated/empty classes; the
            message lists the valid class names.
    """
    class_names = _check_args(n, size, classes)
    images = np.empty((n, 3, size, size), np.float32)
    labels = np.empty(n, np.int64)
    masks = np.empty((n, size, size), bool)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn((n + CHUNK - 1) // CHUNK)):
        sl = slice(i * CHUNK, min(n, (i + 1) * CHUNK))
        rng = np.random.default_rng(child)
        images[sl], labels[sl], masks[sl] = _make_chunk(rng, sl.stop - sl.start, size, class_names)
    return Shapes(images, labels, masks, _bounding_boxes(masks), class_names)

r"""The adversarial patch: a sticker that makes the net see the target anywhere.

Brown, Mané, Roy, Abadi & Gilmer 2017, "Adversarial patch", Sec. 2, Eq. 1:
train a patch ``p`` to maximize the expected log-probability of a target
class ``y^`` when it is pasted on an image ``x`` at a location ``l`` under a
transformation ``t`` (expectation over transformation, Athalye et al. 2018)::

    p^ = argmax_p  E_{x ~ X, t ~ T, l ~ L} [ log Pr( y^ | A(p, x, l, t) ) ]

``A`` pastes the patch, after ``t``, over the image: no norm bound, the
patch's pixels simply replace the image's. Here ``T`` is a rotation and a
scale and ``L`` a position where the patch fits; the patch is a disc (the
paper's printed stickers are round), stored at the image's resolution and
resampled by nearest neighbour, so ``A`` is a gather and its gradient a
scatter-add::

    A(p, x)[c, i, j] = p[c, u(i, j), v(i, j)]   inside the disc, x[c, i, j] outside
    dJ/dp[c, u, v]   = sum of dJ/dA[c, i, j] over the pixels (i, j) that read (u, v)

Settings after the authors' notebook: the patch's diameter is drawn between
``scale_min = 0.1`` and ``scale_max = 1.0`` of the image side, rotations
within +-22.5 degrees, 16 images per step. The optimizer is Adam (Kingma &
Ba 2015; ours: lr 0.01 on [0, 1] pixel values, the notebook takes plain
steps of its own scale), and the patch is clipped to [0, 1] after each step.
:func:`patch_success` then pastes the patch on held-out images at a fixed
scale and random positions and rotations, and counts how often the net says
the target (Brown et al., Fig. 2: success against the patch's share of the image).

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> from minicnn.preprocessing import preprocess
    >>> net = models.load("tiny")
    >>> x = preprocess(make_shapes(8, seed=12345).images, net.meta)
    >>> r = adversarial_patch(net, x, target=3, steps=2, batch_size=4)
    >>> r.patch.shape, r.mask.shape, r.loss_history.shape
    ((3, 64, 64), (64, 64), (2,))
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy, get_array_module
from minicnn.optim import Adam
from minicnn.progress import Progress

from ..netinfo import score_layer
from .common import (check_batch, check_epsilon, check_labels, check_positive,
                     predicted_scores, scores, softmax)
from .pixels import image_gradient, pixel_space, to_image, to_input

#: The authors' notebook: scale range, rotation (degrees), batch.
SCALE_MIN, SCALE_MAX, MAX_ROTATION, BATCH = 0.1, 1.0, 22.5, 16


class Placement(NamedTuple):
    """Where and how the patch lands on each image: (N,) arrays.

    scale: diameter / image side; angle: radians; cy, cx: centre in pixels.
    """
    scale: np.ndarray
    angle: np.ndarray
    cy: np.ndarray
    cx: np.ndarray


class PatchResult(NamedTuple):
    """Result of :func:`adversarial_patch`.

    Attributes:
        patch: (3, R, R) RGB in [0, 1], R = min(H, W); only the disc ``mask`` is used.
        mask: (R, R) bool, the disc.
        target: the target class.
        loss_history: (steps,) mean -log p_target over each step's batch.
        success_history: (steps,) fraction of each step's batch predicted as target.
        x: (N, C, H, W) the training images with the patch pasted at one seeded
            placement at the middle of the scale range (for display), preprocessed.
        image: (N, 3, H, W) the same, RGB in [0, 1].
        forward, backward: passes spent in total (images).
    """
    patch: np.ndarray
    mask: np.ndarray
    target: int
    loss_history: np.ndarray
    success_history: np.ndarray
    x: object
    image: np.ndarray
    forward: int
    backward: int


def disc(R):
    """(R, R) bool: the pixels whose centre lies in the disc inscribed in the square."""
    c = (np.arange(R) + 0.5 - R / 2) ** 2
    return c[:, None] + c[None, :] <= (R / 2) ** 2


def random_placement(rng, n, H, W, scale, max_rotation):
    """Draw ``n`` placements: scale in ``scale`` (a number or (min, max)), angle
    within +-max_rotation degrees, centre where the disc fits in the image."""
    lo, hi = (scale, scale) if np.ndim(scale) == 0 else scale
    s = rng.uniform(lo, hi, n)
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation, n))
    rad = s * min(H, W) / 2
    cy = rng.uniform(rad, H - rad)
    cx = rng.uniform(rad, W - rad)
    return Placement(s, angle, cy, cx)


def _sampling(place, H, W, R):
    """For each image pixel, the patch pixel it shows: flat index (n, H, W), and the mask."""
    i = np.arange(H)[None, :, None] + 0.5 - place.cy[:, None, None]
    j = np.arange(W)[None, None, :] + 0.5 - place.cx[:, None, None]
    cos, sin = np.cos(place.angle)[:, None, None], np.sin(place.angle)[:, None, None]
    diameter = (place.scale * min(H, W))[:, None, None]
    u = (cos * i + sin * j) * (R / diameter) + R / 2        # rotate back, rescale
    v = (-sin * i + cos * j) * (R / diameter) + R / 2
    inside = (i * i + j * j) <= (diameter / 2) ** 2
    ui, vi = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    inside &= (ui >= 0) & (ui < R) & (vi >= 0) & (vi < R)
    return np.where(inside, ui * R + vi, 0), inside


def apply_patch(images, patch, place):
    """A(p, x): paste the patch on RGB images (N, 3, H, W) at ``place``; NumPy or CuPy.

    Returns:
        (pasted images (N, 3, H, W), flat patch index (N, H, W), mask (N, H, W)).
    """
    xp = get_array_module(images)
    N, _, H, W = images.shape
    R = patch.shape[-1]
    flat, inside = _sampling(place, H, W, R)
    flat, inside = xp.asarray(flat), xp.asarray(inside)
    shown = patch.reshape(3, -1)[:, flat].transpose(1, 0, 2, 3)     # (N, 3, H, W)
    return xp.where(inside[:, None], shown.astype(images.dtype), images), flat, inside


def _patch_gradient(d_images, flat, inside, R):
    """Scatter-add dJ/dA (N, 3, H, W) onto the patch pixels that were shown: (3, R, R)."""
    xp = get_array_module(d_images)
    idx = flat[inside]
    out = xp.zeros((3, R * R), dtype=d_images.dtype)
    for c in range(3):
        out[c] = xp.bincount(idx, weights=d_images[:, c][inside], minlength=R * R)
    return out.reshape(3, R, R)


def adversarial_patch(net, x, target, scale=(SCALE_MIN, SCALE_MAX), steps=500,
                      batch_size=BATCH, lr=0.01, max_rotation=MAX_ROTATION, seed=0,
                      progress=False):
    """Train a round patch over random images, positions, scales and rotations (Brown 2017).

    Args:
        net: a Net with class scores.
        x: (N, C, H, W) preprocessed training images.
        target: the class the patch should make the net see.
        scale: patch diameter / image side, a number or a (min, max) range
            drawn per image (notebook: 0.1 .. 1.0).
        steps: optimizer steps (ours: 500); batch_size: images per step (notebook: 16).
        lr: Adam's learning rate on [0, 1] pixel values (ours: 0.01).
        max_rotation: rotations drawn within +-max_rotation degrees (notebook: 22.5).
        seed: seeds the initial patch, the images drawn and the placements.
        progress: show a progress bar.

    Returns:
        :class:`PatchResult`.

    Raises:
        ValueError: a target out of range, a scale outside (0, 1], steps or
            batch_size < 1, lr <= 0.
    """
    check_batch(x)
    t = int(check_labels(net, target, 1, name="target")[0])
    scale = _check_scale(scale)
    steps = check_positive(steps, "steps", integer=True)
    batch_size = check_positive(batch_size, "batch_size", integer=True)
    lr = check_positive(lr, "lr")
    max_rotation = check_epsilon(max_rotation, "max_rotation")
    xp = get_array_module(x)
    space = pixel_space(net, x)
    N, _, H, W = x.shape
    R = min(H, W)
    rng = np.random.default_rng(seed)
    images = xp.asarray(to_image(x, net))
    patch = xp.asarray(rng.random((3, R, R)), dtype=x.dtype)
    opt, name = Adam(lr=lr), score_layer(net)
    losses, hits = [], []
    bar = Progress(steps, "patch", enabled=progress)
    for _ in range(steps):
        pick = rng.integers(0, N, batch_size)
        place = random_placement(rng, batch_size, H, W, scale, max_rotation)
        pasted, flat, inside = apply_patch(images[xp.asarray(pick)], patch, place)
        s = scores(net, to_input(pasted, space, net))
        p = softmax(s)
        ds = p.copy()
        ds[:, t] -= 1                                         # d(-log p_t)/dS per image
        d_img = image_gradient(net.backward({name: ds / batch_size}), space)
        opt.step({"patch": patch}, {"patch": _patch_gradient(d_img, flat, inside, R)})
        xp.clip(patch, 0, 1, out=patch)
        p_np = asnumpy(p)
        losses.append(float(-np.log(np.maximum(p_np[:, t], 1e-30)).mean()))
        hits.append(float((p_np.argmax(axis=1) == t).mean()))
        bar.update(info=f"loss {losses[-1]:.3f}")
    bar.close()
    show = random_placement(np.random.default_rng(seed), N, H, W, float(np.mean(scale)),
                            max_rotation)
    x_show = to_input(apply_patch(images, patch, show)[0], space, net).astype(x.dtype)
    return PatchResult(patch=asnumpy(patch), mask=disc(R), target=t,
                       loss_history=np.array(losses), success_history=np.array(hits),
                       x=x_show, image=to_image(x_show, net), forward=steps * batch_size,
                       backward=steps * batch_size)


class PatchSuccess(NamedTuple):
    """Result of :func:`patch_success`: one entry per scale.

    Attributes:
        scales: (S,) patch diameter / image side.
        area: (S,) share of the image the disc covers, ``pi/4 * scale^2 * R^2 / (H W)``.
        success: (S,) fraction of the counted images predicted as the target.
        counted: images counted (those whose true label, or clean prediction
            without labels, is not already the target).
    """
    scales: np.ndarray
    area: np.ndarray
    success: np.ndarray
    counted: int


def patch_success(net, x, patch, target, scales, labels=None, max_rotation=MAX_ROTATION,
                  seed=0, batch_size=256):
    """Targeted success of a patch on (held-out) images, against its scale.

    Args:
        x: (N, C, H, W) preprocessed images; patch: (3, R, R) from :func:`adversarial_patch`.
        target: the target class; scales: diameters / image side to test.
        labels: (N,) true classes; images of the target class are not counted.
        max_rotation: rotations within +-max_rotation degrees; seed: placements.

    Returns:
        :class:`PatchSuccess`.
    """
    check_batch(x)
    N, _, H, W = x.shape
    t = int(check_labels(net, target, 1, name="target")[0])
    xp = get_array_module(x)
    space = pixel_space(net, x)
    images = xp.asarray(to_image(x, net))
    patch = xp.asarray(patch, dtype=x.dtype)
    truth = (asnumpy(scores(net, x)).argmax(axis=1) if labels is None
             else check_labels(net, labels, N, name="labels"))
    keep = truth != t
    scales = np.atleast_1d(np.asarray(scales, np.float64))
    out = []
    for s in scales:
        _check_scale(float(s))
        place = random_placement(np.random.default_rng(seed), N, H, W, float(s), max_rotation)
        pasted = apply_patch(images, patch, place)[0]
        pred = np.concatenate([asnumpy(predicted_scores(net, to_input(
                                   pasted[i:i + batch_size], space, net))).argmax(axis=1)
                               for i in range(0, N, batch_size)])
        out.append(float((pred[keep] == t).mean()) if keep.any() else float("nan"))
    R = patch.shape[-1]
    area = np.pi / 4 * (scales * R) ** 2 / (H * W)
    return PatchSuccess(scales, area, np.array(out), int(keep.sum()))


def _check_scale(scale):
    vals = np.atleast_1d(np.asarray(scale, dtype=np.float64))
    if vals.size not in (1, 2) or not np.all(np.isfinite(vals)) or (vals <= 0).any() \
            or (vals > 1).any() or (vals.size == 2 and vals[0] > vals[1]):
        raise ValueError(f"scale must be a number or a (min, max) range in (0, 1] "
                         f"(patch diameter / image side), got {scale!r}")
    return float(vals[0]) if vals.size == 1 else (float(vals[0]), float(vals[1]))

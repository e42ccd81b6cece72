r"""Per-step regularizers: what the loop does to the image around each step.

Yosinski et al. (2015, Sec. 3, "Understanding Neural Networks Through Deep
Visualization") write activation maximization with a regularizer ``r``
applied after every gradient step::

    x <- r(x + lr * da/dx)                                     (Sec. 3)

and propose four ``r``, combined with the hyperparameters of their Table 1:

=============================  ===============================================
``decay(theta)``               ``x <- (1 - theta) x``: L2 decay toward the
                               mean image (x = 0 in network input space)
``blur_every(k, sigma)``       Gaussian blur of width sigma every k steps
``clip_small_norm(pct)``       zero the pixels whose norm over the colour
                               channels is below the pct-th percentile
``clip_small_contribution``    zero the pixels whose contribution
                               ``|sum_c x * da/dx|`` (the first-order change
                               of the activation if the pixel were set to 0)
                               is below the pct-th percentile
=============================  ===============================================

The order is the toolbox's (``optimize/gradient_optimizer.py``): decay, blur
(at steps 0, k, 2k, ...), norm clipping, contribution clipping; percentiles
are taken per image. Two more transforms come from elsewhere:

* ``jitter(d)`` — Mordvintsev et al. 2015 (DeepDream notebook, ``make_step``):
  roll the image by a random ``(dy, dx)`` in ``[-d, d]`` before the forward
  pass and roll back after the step. Here the image itself is never rolled:
  the network sees the rolled copy and the gradient is rolled back before
  the step, which is the same update for element-wise steps and keeps Adam's
  moments aligned with the pixels.
* ``project_norm(rho)`` — Erhan et al. 2009 (Sec. 3.1): maximize subject to
  ``||x|| = rho``, by rescaling every image to norm rho after each step.

**Octaves** (DeepDream): :func:`octave_sizes` and :func:`zoom` give the image
pyramid of Mordvintsev's ``deepdream`` (``octave_n = 4``, ``octave_scale =
1.4``). ``zoom`` is bilinear with half-pixel centres; the notebook's
``scipy.ndimage.zoom(order=1)`` aligns the corner pixels instead.

A transform is a :class:`Transform` made by a factory (after Lucent's
``transform.py``): ``before(x, info)`` changes what the network sees,
``back(g, info)`` maps the gradient back, ``after(x, info)`` regularizes the
image after the step; ``info`` is a :class:`StepInfo` (step number, the
loop's seeded generator, the gradient). Every random choice uses
``info.rng``, so the same seed gives the same image.

Example:
    >>> import numpy as np
    >>> [t.name for t in yosinski(YOSINSKI_2015_TABLE_1[2])]
    ['decay 0.0001', 'blur 1 every 4']
    >>> octave_sizes((224, 224), 4, 1.4)
    [(81, 81), (114, 114), (160, 160), (224, 224)]
"""

from typing import Callable, NamedTuple, Optional

import numpy as np

from minicnn.backend import get_array_module

from .image import resize_maps


class StepInfo(NamedTuple):
    """What a transform sees: step ``i`` (from 0), the loop's ``rng`` and
    ``grad``, dObjective/dx of this step in image coordinates (None in ``before``)."""
    i: int
    rng: np.random.Generator
    grad: object = None


class Transform(NamedTuple):
    """``before(x, info) -> x seen by the net``, ``back(g, info) -> g``,
    ``after(x, info) -> x``; any of them may be None."""
    name: str
    before: Optional[Callable] = None
    back: Optional[Callable] = None
    after: Optional[Callable] = None


#: Yosinski et al. 2015, Table 1: the four hyperparameter rows
#: (decay, blur width, blur every, norm percentile, contribution percentile).
YOSINSKI_2015_TABLE_1 = (
    {"decay": 0.0, "blur_sigma": 0.5, "blur_every": 4, "norm_pct": 50, "contribution_pct": 0},
    {"decay": 0.3, "blur_sigma": 0.0, "blur_every": 0, "norm_pct": 20, "contribution_pct": 0},
    {"decay": 0.0001, "blur_sigma": 1.0, "blur_every": 4, "norm_pct": 0, "contribution_pct": 0},
    {"decay": 0.0, "blur_sigma": 0.5, "blur_every": 4, "norm_pct": 0, "contribution_pct": 90},
)


def jitter(d):
    """Random roll by ``(dy, dx)``, each uniform in ``[-d, d]`` (Mordvintsev: d = 32)."""
    shift = {}

    def before(x, info):
        shift["s"] = tuple(int(v) for v in info.rng.integers(-d, d + 1, size=2))
        xp = get_array_module(x)
        return xp.roll(x, shift["s"], axis=(-2, -1))

    def back(g, info):
        xp = get_array_module(g)
        return xp.roll(g, (-shift["s"][0], -shift["s"][1]), axis=(-2, -1))
    return Transform(f"jitter {d}", before=before, back=back)


def decay(theta):
    """``x <- (1 - theta) x`` (Yosinski et al. 2015, Sec. 3, "L2 decay")."""
    return Transform(f"decay {theta:g}", after=lambda x, info: x * (1 - theta))


def gaussian_kernel(sigma, truncate=4.0):
    """1-D Gaussian weights over ``[-r, r]``, ``r = int(truncate * sigma + 0.5)``, summing to 1
    (``scipy.ndimage.gaussian_filter``'s kernel)."""
    r = int(truncate * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(x, sigma):
    """Blur each channel of ``x: (N, C, H, W)`` with a Gaussian of width ``sigma`` pixels.

    Separable, borders mirrored (``scipy.ndimage.gaussian_filter`` with its
    default ``mode="reflect"``, ``truncate=4``), on NumPy or CuPy arrays.
    """
    xp = get_array_module(x)
    k = gaussian_kernel(sigma)
    r = len(k) // 2
    H, W = x.shape[-2:]
    rows = xp.pad(x, [(0, 0)] * (x.ndim - 2) + [(r, r), (0, 0)], mode="symmetric")
    x = sum(float(w) * rows[..., t:t + H, :] for t, w in enumerate(k))
    cols = xp.pad(x, [(0, 0)] * (x.ndim - 1) + [(r, r)], mode="symmetric")
    x = sum(float(w) * cols[..., t:t + W] for t, w in enumerate(k))
    return x


def blur_every(every, sigma):
    """Gaussian blur of width ``sigma`` at steps 0, every, 2*every, ... (Yosinski 2015)."""
    def after(x, info):
        return gaussian_blur(x, sigma) if info.i % every == 0 else x
    return Transform(f"blur {sigma:g} every {every}", after=after)


def _zero_below(x, score, pct):
    """Zero the pixels (all channels) whose score (N, H, W) is below the per-image percentile."""
    xp = get_array_module(x)
    N = x.shape[0]
    cut = xp.percentile(score.reshape(N, -1), pct, axis=1).reshape(N, 1, 1)
    return x * (score >= cut)[:, None].astype(x.dtype)


def clip_small_norm(pct):
    """Zero pixels whose norm over channels is below the ``pct``-th percentile (Yosinski 2015)."""
    def after(x, info):
        xp = get_array_module(x)
        return _zero_below(x, xp.sqrt((x * x).sum(axis=1)), pct)
    return Transform(f"clip norm < {pct:g}%", after=after)


def clip_small_contribution(pct):
    """Zero pixels whose ``|sum_c x * grad|`` is below the ``pct``-th percentile (Yosinski 2015)."""
    def after(x, info):
        xp = get_array_module(x)
        return _zero_below(x, xp.abs((x * info.grad).sum(axis=1)), pct)
    return Transform(f"clip contribution < {pct:g}%", after=after)


def project_norm(rho):
    """Rescale every image to ``||x|| = rho`` (Erhan et al. 2009, Sec. 3.1)."""
    def after(x, info):
        xp = get_array_module(x)
        norm = xp.sqrt((x * x).reshape(x.shape[0], -1).sum(axis=1))
        return x * (rho / xp.maximum(norm, 1e-12)).reshape(-1, 1, 1, 1).astype(x.dtype)
    return Transform(f"norm {rho:g}", after=after)


def yosinski(row):
    """The transforms of one row of :data:`YOSINSKI_2015_TABLE_1`, in the toolbox's order.

    Args:
        row: a dict with ``decay``, ``blur_sigma``, ``blur_every``,
            ``norm_pct``, ``contribution_pct`` (0 switches a regularizer off).
    """
    out = []
    if row["decay"]:
        out.append(decay(row["decay"]))
    if row["blur_every"] and row["blur_sigma"]:
        out.append(blur_every(row["blur_every"], row["blur_sigma"]))
    if row["norm_pct"]:
        out.append(clip_small_norm(row["norm_pct"]))
    if row["contribution_pct"]:
        out.append(clip_small_contribution(row["contribution_pct"]))
    return out


def octave_sizes(size, octaves=4, scale=1.4):
    """Image sizes of an octave pyramid, smallest first (Mordvintsev 2015: 4 octaves, 1.4).

    Each octave is the previous one divided by ``scale`` and rounded, as
    ``scipy.ndimage.zoom`` rounds its output shape.
    """
    sizes = [tuple(int(s) for s in size)]
    for _ in range(octaves - 1):
        sizes.append(tuple(int(round(s / scale)) for s in sizes[-1]))
    return sizes[::-1]


def zoom(x, size):
    """Bilinear resize of ``x: (N, C, h, w)`` to ``(N, C, H, W)``; ``size = (H, W)``."""
    return resize_maps(x, tuple(size)).astype(x.dtype, copy=False)

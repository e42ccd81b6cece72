r"""Pixel units: every budget is a statement about pictures, not network inputs.

"epsilon = 8/255" means eight grey levels, whatever the model does to the pixels
first. The network sees, per channel ``c`` of *its* channel order
(``minicnn/preprocessing.py``)::

    x[c] = (img[order][c] * scale - mean[c]) / std[c]        img: RGB in [0, 1]

so one pixel unit and the valid range are, in network-input units::

    k[c]  = scale / std[c]                       (input units per pixel unit)
    lo[c] = (0     * scale - mean[c]) / std[c]   (a black pixel)
    hi[c] = (1     * scale - mean[c]) / std[c]   (a white pixel)

Because ``k > 0`` the chain rule gives ``dJ/dimg[c] = k[c] * dJ/dx[c]``: the
gradient keeps its sign, so an L-inf step is ``x + eps * k * sign(dJ/dx)``, and
an L2 norm of a change is ``|| dx / k ||_2`` (the channel order does not
change a norm). Every attack here converts with these three arrays, so a
Caffe-style BGR, 0-255 VGG and the [0, 1] shapes model take the same epsilon.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.load("tiny")                # mean 0.5, std 0.25
    >>> space = pixel_space(net, np.zeros((1, 3, 64, 64), np.float32))
    >>> space.k.ravel().tolist(), space.lo.ravel().tolist(), space.hi.ravel().tolist()
    ([4.0, 4.0, 4.0], [-2.0, -2.0, -2.0], [2.0, 2.0, 2.0])
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy, get_array_module


class PixelSpace(NamedTuple):
    """Per-channel constants of a net's preprocessing, shaped (1, C, 1, 1).

    Attributes:
        k: input units per pixel unit, ``scale / std``.
        lo, hi: the network input of a pixel at the low and high bound
            (black and white for the default bounds (0, 1)).
        bgr: True when the network's channel order is BGR.
    """
    k: object
    lo: object
    hi: object
    bgr: bool


def _recipe(net):
    pre = getattr(net, "meta", {}).get("preprocess")
    if pre is None:
        raise ValueError(f"{net!r} has no meta['preprocess']: pixel units are undefined")
    return pre


def pixel_space(net, like, bounds=(0.0, 1.0)):
    """The constants of :class:`PixelSpace` with the dtype and array module of ``like``.

    Args:
        net: a Net whose ``meta["preprocess"]`` holds scale, mean, std, channel order.
        like: an array (N, C, H, W) whose dtype and module (NumPy/CuPy) to use.
        bounds: (low, high) valid pixel values; ``None`` for no bounds (-inf, inf).

    Raises:
        ValueError: no preprocessing recipe, a non-positive std or scale,
            or ``bounds`` with low >= high.
    """
    xp = get_array_module(like)
    pre = _recipe(net)
    C = like.shape[1]
    scale = float(pre.get("scale", 1.0))
    mean = np.asarray(pre.get("mean", [0.0] * C), dtype=np.float64).reshape(1, -1, 1, 1)
    std = np.asarray(pre.get("std", [1.0] * C), dtype=np.float64).reshape(1, -1, 1, 1)
    if scale <= 0 or (std <= 0).any():
        raise ValueError(f"preprocessing scale {scale} and std {std.ravel().tolist()} must be "
                         f"positive for pixel units")
    if bounds is None:
        lo_px, hi_px = -np.inf, np.inf
    else:
        try:
            lo_px, hi_px = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise ValueError(f"bounds must be (low, high) pixel values or None, got "
                             f"{bounds!r}") from None
        if not lo_px < hi_px:
            raise ValueError(f"bounds must be (low, high) with low < high, got {bounds!r}")
    k = scale / std
    lo, hi = (lo_px * scale - mean) / std, (hi_px * scale - mean) / std
    bgr = pre.get("channel_order", "RGB").upper() == "BGR"
    as_ = lambda a: xp.asarray(np.broadcast_to(a, (1, C, 1, 1)), dtype=like.dtype)  # noqa: E731
    return PixelSpace(as_(k), as_(lo), as_(hi), bgr)


def clip(x, space):
    """``x`` clipped channel by channel to ``[space.lo, space.hi]``."""
    xp = get_array_module(x)
    return xp.minimum(xp.maximum(x, space.lo), space.hi)


def to_rgb(a, space):
    """Network channel order -> RGB (a reversal for BGR nets), NumPy or CuPy."""
    return a[:, ::-1] if space.bgr else a


def image_gradient(dx, space):
    """dJ/dx (N, C, H, W) -> dJ/dimg, RGB, per pixel unit (the chain rule ``k * dJ/dx``)."""
    return to_rgb(dx * space.k, space)


def to_input(images, space, net):
    """RGB images in pixel units (N, 3, H, W) -> network input, on the images' device.

    The inverse of :func:`to_image` (without its clipping), written with the
    constants of ``space`` so that it runs on NumPy and CuPy arrays alike.
    """
    pre = _recipe(net)
    xp = get_array_module(images)
    mean = xp.asarray(np.asarray(pre.get("mean", [0.0] * images.shape[1]), np.float64)
                      .reshape(1, -1, 1, 1), dtype=images.dtype)
    scale = float(pre.get("scale", 1.0))
    ordered = to_rgb(images, space)             # RGB <-> BGR is its own inverse
    return ordered * space.k - mean * (space.k / scale)


def to_image(x, net):
    """Network input (N, C, H, W) -> RGB NumPy in [0, 1] (rounding clipped away)."""
    space = pixel_space(net, x)
    pre = _recipe(net)
    xn = np.asarray(asnumpy(x), dtype=np.float64)
    mean = np.asarray(pre.get("mean", [0.0] * x.shape[1]), np.float64).reshape(1, -1, 1, 1)
    scale = float(pre.get("scale", 1.0))
    k = np.asarray(asnumpy(space.k), np.float64)
    img = (xn + mean * (k / scale)) / k
    img = img[:, ::-1] if space.bgr else img
    return np.clip(img, 0.0, 1.0).astype(x.dtype, copy=False)


def change_norms(delta):
    """L0, L2 and L-inf of a change in pixel units, per sample.

    Args:
        delta: (N, 3, H, W) image difference, RGB pixel units (NumPy).

    Returns:
        (l0, l2, linf), each (N,): L0 counts *pixels* (positions where any
        channel changed), as Su et al. 2019 do; L2 and L-inf are over all values.
    """
    d = np.asarray(delta, dtype=np.float64)
    N = d.shape[0]
    l0 = (np.abs(d) > 0).any(axis=1).reshape(N, -1).sum(axis=1)
    l2 = np.sqrt((d.reshape(N, -1) ** 2).sum(axis=1))
    linf = np.abs(d).reshape(N, -1).max(axis=1) if d.size else np.zeros(N)
    return l0, l2, linf

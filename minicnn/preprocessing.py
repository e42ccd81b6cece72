"""From pixels to network input and back, as each model's ``meta`` says.

Every model was trained on inputs prepared one way; feeding it anything else
silently changes its answers. ``meta["preprocess"]`` records the recipe:

* ``channel_order``: "RGB" or "BGR" (Caffe and Keras' VGG expect BGR);
* ``scale``: multiply [0, 1] pixels by this first (255 for Caffe/Keras, 1 for
  torchvision);
* ``mean``, ``std``: per channel, in the network's channel order.

::

    x[c] = (img[order][c] * scale - mean[c]) / std[c]     img: RGB in [0, 1]
    img  = (x * std + mean) / scale, channels back to RGB   (deprocess)

**One input rule.** Images are RGB in [0, 1], always. Integer arrays are
converted to floating point first (never computed in integer arithmetic, where
``- mean`` would wrap around). A 0-255 image is *refused*, never rescaled
behind your back: guessing the range from the values fails on a dark image.

Both functions take the recipe as a ``meta`` dict or as a ``Net`` (its
``net.meta``), and one image ``(C, H, W)`` or a batch ``(N, C, H, W)``;
one image in gives one image out.

Example:
    >>> meta = {"preprocess": {"channel_order": "BGR", "scale": 255.0,
    ...                        "mean": [1.0, 2.0, 3.0], "std": [1, 1, 1]}}
    >>> x = preprocess(np.ones((3, 1, 1)), meta)
    >>> x[:, 0, 0], x.dtype
    (array([254., 253., 252.], dtype=float32), dtype('float32'))
    >>> deprocess(x, meta)[:, 0, 0]
    array([1., 1., 1.], dtype=float32)
    >>> preprocess(np.full((3, 1, 1), 255, np.uint8), meta)
    Traceback (most recent call last):
    ...
    ValueError: images must be RGB in [0, 1], found values in [255, 255]: divide a 0-255 image by 255
"""

import numpy as np

from .backend import asnumpy

#: How far outside [0, 1] an image may stray (rounding) before it is refused.
RANGE_TOLERANCE = 1e-3


def _recipe(meta_or_net):
    """``meta["preprocess"]`` of a meta dict or of a Net."""
    meta = getattr(meta_or_net, "meta", meta_or_net)
    if not isinstance(meta, dict) or "preprocess" not in meta:
        raise ValueError("expected a model's meta dict (with 'preprocess') or a Net, got "
                         f"{type(meta_or_net).__name__}")
    return meta["preprocess"]


def _params(pre, dtype):
    """(channel order, scale, mean (1, C, 1, 1), std (1, C, 1, 1)) of a recipe."""
    order = pre.get("channel_order", "RGB").upper()
    if order not in ("RGB", "BGR"):
        raise ValueError(f"unknown channel_order {order!r}: use 'RGB' or 'BGR'")
    mean = np.asarray(pre.get("mean", [0, 0, 0]), dtype=dtype).reshape(1, -1, 1, 1)
    std = np.asarray(pre.get("std", [1, 1, 1]), dtype=dtype).reshape(1, -1, 1, 1)
    return order, float(pre.get("scale", 1.0)), mean, std


def _as_batch(a, what):
    """``a`` as a float (N, 3, H, W) batch, and whether it came as one (3, H, W) image."""
    a = np.asarray(asnumpy(a))
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{what} must hold numbers, got dtype {a.dtype}")
    if a.ndim not in (3, 4) or a.shape[-3] != 3:
        raise ValueError(f"expected {what} (3, H, W) or (N, 3, H, W), got shape {a.shape}")
    single = a.ndim == 3
    return a[None] if single else a, single


def check_range(images):
    """Raise ``ValueError`` unless ``images`` lie in [0, 1] (within ``RANGE_TOLERANCE``).

    The message names the range found, so a 0-255 image says so.
    """
    if images.size == 0:
        return
    lo, hi = float(images.min()), float(images.max())
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        hint = ": divide a 0-255 image by 255" if hi > 1 + RANGE_TOLERANCE and lo >= 0 else ""
        raise ValueError(f"images must be RGB in [0, 1], found values in [{lo:g}, {hi:g}]{hint}")


def preprocess(images, meta, dtype=np.float32):
    """RGB images in [0, 1] -> network input.

    Args:
        images: (3, H, W) or (N, 3, H, W), RGB in [0, 1]; float, or integer
            (then converted to ``dtype``: an integer array can only hold 0 and 1).
        meta: a model's ``meta`` dict, or a ``Net``.
        dtype: floating dtype of the result (float64 for gradient checks).

    Returns:
        (3, H, W) or (N, 3, H, W) ``dtype``, like ``images``.

    Raises:
        ValueError: values outside [0, 1] (a 0-255 image), a shape that is not
            RGB, or no preprocessing recipe.
    """
    pre = _recipe(meta)
    batch, single = _as_batch(images, "RGB images")
    batch = batch.astype(dtype, copy=False)
    check_range(batch)
    order, scale, mean, std = _params(pre, dtype)
    if order == "BGR":
        batch = batch[:, ::-1]
    x = np.ascontiguousarray((batch * scale - mean) / std, dtype=dtype)
    return x[0] if single else x


def deprocess(x, meta):
    """Network input -> RGB images, nominally in [0, 1] (not clipped).

    Args:
        x: (3, H, W) or (N, 3, H, W) network input (NumPy or CuPy; integer
            arrays are converted to float32).
        meta: a model's ``meta`` dict, or a ``Net``.

    Returns:
        NumPy (3, H, W) or (N, 3, H, W), float32 (float64 if ``x`` is float64).
    """
    pre = _recipe(meta)
    batch, single = _as_batch(x, "network input")
    if batch.dtype.kind != "f":
        batch = batch.astype(np.float32)
    order, scale, mean, std = _params(pre, batch.dtype)
    images = (batch * std + mean) / scale
    if order == "BGR":
        images = images[:, ::-1]
    images = np.ascontiguousarray(images)
    return images[0] if single else images

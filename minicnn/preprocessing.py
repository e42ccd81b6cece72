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
"""

import numpy as np


def _params(meta, like):
    pre = meta["preprocess"]
    order = pre.get("channel_order", "RGB").upper()
    if order not in ("RGB", "BGR"):
        raise ValueError(f"unknown channel_order {order!r}: use 'RGB' or 'BGR'")
    mean = np.asarray(pre.get("mean", [0, 0, 0]), dtype=like.dtype).reshape(1, -1, 1, 1)
    std = np.asarray(pre.get("std", [1, 1, 1]), dtype=like.dtype).reshape(1, -1, 1, 1)
    return order, float(pre.get("scale", 1.0)), mean, std


def preprocess(images, meta):
    """RGB images in [0, 1], (N, 3, H, W) -> network input (N, 3, H, W) float32.

    Example:
        >>> meta = {"preprocess": {"channel_order": "BGR", "scale": 255.0,
        ...                        "mean": [1.0, 2.0, 3.0], "std": [1, 1, 1]}}
        >>> preprocess(np.ones((1, 3, 1, 1)), meta)[0, :, 0, 0]
        array([254., 253., 252.], dtype=float32)
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected RGB images (N, 3, H, W), got shape {images.shape}")
    order, scale, mean, std = _params(meta, images)
    if order == "BGR":
        images = images[:, ::-1]
    return np.ascontiguousarray((images * scale - mean) / std, dtype=np.float32)


def deprocess(x, meta):
    """Network input (N, 3, H, W) -> RGB (N, 3, H, W), nominally in [0, 1] (not clipped)."""
    x = np.asarray(x)
    order, scale, mean, std = _params(meta, x)
    images = (x * std + mean) / scale
    if order == "BGR":
        images = images[:, ::-1]
    return np.ascontiguousarray(images)

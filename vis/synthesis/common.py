"""What the synthesis recipes share: presets, units, start images, size checks.

**Units.** Published step sizes and loss weights assume one input range —
Caffe's 0-255 BGR (Gatys, Yosinski, Mordvintsev, Mahendran's MatConvNet) or
torchvision's ``(x - mean) / std`` on [0, 1] (PyTorch tutorial, cs231n). A
model's own range is ``input_scale(net)``: network-input units per unit of
[0, 1] RGB (255 for Caffe's VGG, ``1 / 0.226`` for torchvision's, 4 for the
shapes model). A preset records its range, and the recipes convert:

* a length in input units (a pixel step of Adam, a noise std, a bound) scales
  by ``s = input_scale(net) / input_scale(preset)``;
* a plain gradient step ``lr * g`` scales by ``s**2`` (g scales by ``1/s``);
* a loss weight scales by ``s**-d`` where the loss has degree d in the
  features, assuming features scale with the input (exact for a bias-free
  ReLU net): content 2, style 4 (Gram of Gram-normalised features), TV 2.

Example:
    >>> from minicnn import models
    >>> round(input_scale(models.vgg16_hed(seed=None)), 1), input_scale(models.tiny(seed=None))
    (255.0, 4.0)
    >>> min_input_size(models.vgg16_hed(seed=None), "relu5_1")
    16
"""

import re

import numpy as np

from minicnn.backend import get_array_module

from ..netinfo import conv_layers

#: Input ranges of the presets: network-input units per unit of [0, 1] RGB.
CAFFE = 255.0                      # Caffe / MatConvNet VGG: 0-255, mean subtracted
TORCHVISION = 1.0 / 0.226          # (x - mean) / std, std ~ (0.229, 0.224, 0.225)


def input_scale(net):
    """Network-input units per unit of [0, 1] RGB: ``scale / mean(std)`` of ``net.meta``."""
    pre = net.meta.get("preprocess", {})
    return float(pre.get("scale", 1.0)) / float(np.mean(pre.get("std", [1.0, 1.0, 1.0])))


def choose(kind, name, table):
    """``table[name]``, or a KeyError listing the valid names."""
    if name not in table:
        raise KeyError(f"unknown {kind} {name!r}: use one of {', '.join(map(str, table))}")
    return table[name]


def resolve_layer(net, name):
    """``name`` on ``net``: itself, or for a net named by block only (AlexNet's
    ``relu1 .. relu5``) ``reluB_I -> reluB`` / ``convB_I -> convB``; else None."""
    if name in net.layer_names:
        return name
    m = re.fullmatch(r"(relu|conv|pool)(\d+)_\d+", str(name))
    if m and f"{m.group(1)}{m.group(2)}" in net.layer_names:
        return f"{m.group(1)}{m.group(2)}"
    return None


def check_layers(net, layers, what="layer"):
    """Resolve layer names on ``net`` (:func:`resolve_layer`), in order.

    Raises:
        KeyError: a name the net does not have, listing its layers.
    """
    out = []
    for name in layers:
        found = resolve_layer(net, name)
        if found is None:
            raise KeyError(f"{what} {name!r} is not a layer of {net.meta.get('arch', 'this net')} "
                           f"(layers: {', '.join(net.layer_names)})")
        out.append(found)
    return out


def shapes_upto(net, in_shape, layer):
    """``{name: (C, h, w)}`` of one sample of ``in_shape`` up to ``layer`` (no computation)."""
    shapes, shape = {}, tuple(in_shape)
    for lay in net.layers[:net.index(layer) + 1]:
        shape = lay.output_shape(shape)
        shapes[lay.name] = shape
    return shapes


def min_input_size(net, layer, limit=4096):
    """Smallest square input size S for which ``layer`` still has an output (at least 1x1)."""
    upto = net.layers[:net.index(layer) + 1]
    for s in range(1, limit):
        shape = (net.input_shape()[0], s, s)
        try:
            for lay in upto:
                shape = lay.output_shape(shape)
        except ValueError:
            continue
        if all(v > 0 for v in shape):
            return s
    raise ValueError(f"{layer}: no input size up to {limit} reaches it")


def check_size(net, x, layers, what):
    """ValueError naming ``what``, the deepest layer and the minimum size if x is too small."""
    H, W = x.shape[-2:]
    for layer in sorted(layers, key=net.index, reverse=True):
        need = min_input_size(net, layer)
        if min(H, W) < need:
            raise ValueError(f"{what} is {H}x{W}, too small for {layer}: it needs at least "
                             f"{need}x{need} pixels")


def check_batch(x, what="x"):
    """A preprocessed batch (N, C, H, W), else ValueError."""
    if getattr(x, "ndim", None) != 4:
        raise ValueError(f"{what}: expected a preprocessed batch (N, C, H, W), got shape "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    return x


def on_device(net, a):
    """``a`` as an array on the device of ``net``'s parameters (NumPy or CuPy)."""
    first = next((v for layer in net.layers for v in layer.params.values()), None)
    return get_array_module(first).asarray(a) if first is not None else a


def noise(shape, std, seed, like=None):
    """Seeded Gaussian noise N(0, std^2) of ``shape``, float32 (on the device of ``like``)."""
    z = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * np.float32(std)
    return z if like is None else get_array_module(like).asarray(z, dtype=like.dtype)


def middle_conv(net, fraction=5 / 9):
    """The conv layer (its ReLU) ``fraction`` of the way up the conv stack.

    DeepDream's default ``inception_4c/output`` is the 5th of GoogLeNet's 9
    inception blocks; this picks the same relative depth in any net.
    """
    names = conv_layers(net)
    if not names:
        raise ValueError(f"{net.meta.get('arch', 'this net')} has no conv layer: give a layer")
    return names[int(round(fraction * (len(names) - 1)))]

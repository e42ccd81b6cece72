"""Questions every method asks about a Net: where are the scores, the conv layers, the classes?

A method should not care which model it runs on. These functions read the
answer off ``net.layers`` and ``net.meta``, so the same recipe runs on the
shapes model, VGG16 or AlexNet, and a net that cannot answer (a trunk without
class scores, a head without global average pooling) says so in one sentence.

==================  ========================================================
``score_layer``     the layer whose output is the class score S_c (before a
                    trailing Softmax: Simonyan et al. 2014, Sec. 2)
``class_count``     K, the width of the score layer (ValueError for a trunk)
``class_names``     K names from ``net.meta``, or "0" .. "K-1"
``conv_layers``     the output of each conv layer (the ReLU after each Conv2d)
``first_conv``      the first Conv2d layer (its filters face the pixels)
``last_conv``       the ReLU after the last Conv2d: Grad-CAM's default layer
``spatial_layers``  layers with a (C, h, w) output
``gap_head``        (feature layer, linear layer) of a GAP -> Linear head (CAM)
``code_layer``      the input of the last Linear: the "CNN code" (Krizhevsky 2012)
``input_size``      (H, W) the model was trained at
``channel_order``   "RGB" or "BGR", how the input stores colours
==================  ========================================================

Example:
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> score_layer(net), class_count(net), last_conv(net), first_conv(net).name
    ('fc', 8, 'relu4_2', 'conv1_1')
    >>> net.output_shapes()[last_conv(net)]     # Grad-CAM's map: 8x8
    (64, 8, 8)
    >>> gap_head(net), code_layer(net)
    (('relu4_2', 'fc'), 'gap')
"""

from minicnn.layers import Conv2d, Dropout, GlobalAvgPool, Linear, ReLU, Softmax


def _arch(net):
    return net.meta.get("arch", "this net")


def score_layer(net):
    """Name of the layer whose output is the class score (the last one, or the
    one before a trailing ``Softmax``)."""
    layers = net.layers
    if isinstance(layers[-1], Softmax) and len(layers) > 1:
        return layers[-2].name
    return layers[-1].name


def has_scores(net):
    """True when the score layer outputs a vector (N, K), not a map."""
    return len(net.output_shapes()[score_layer(net)]) == 1


def class_count(net):
    """Number of classes K (the score layer's width).

    Raises:
        ValueError: a net without class scores (e.g. the ``vgg16_hed`` trunk),
            saying which methods still apply.
    """
    name = score_layer(net)
    shape = net.output_shapes()[name]
    if len(shape) != 1:
        raise ValueError(f"{_arch(net)} has no class scores (its last layer {name} outputs "
                         f"{tuple(shape)}): explain a unit instead, e.g. --target "
                         f"{last_conv(net).replace('relu', 'conv')}:0 or --unit top")
    return shape[0]


def class_names(net):
    """The K class names of ``net.meta``, or "0" .. "K-1"."""
    K = class_count(net)
    names = net.meta.get("class_names")
    return list(names) if names and len(names) == K else [str(k) for k in range(K)]


def conv_layers(net):
    """The ReLU after each Conv2d (or the conv itself): a Keras-style "conv layer" output."""
    names = []
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Conv2d):
            nxt = net.layers[i + 1] if i + 1 < len(net.layers) else None
            names.append((nxt if isinstance(nxt, ReLU) else layer).name)
    return names


def first_conv(net):
    """The first ``Conv2d`` layer (the one whose filters can be shown as images).

    Raises:
        ValueError: the net has no Conv2d layer.
    """
    for layer in net.layers:
        if isinstance(layer, Conv2d):
            return layer
    raise ValueError(f"{_arch(net)} has no Conv2d layer")


def last_conv(net):
    """The ReLU after the last ``Conv2d`` (or that conv): Grad-CAM's default layer.

    Raises:
        ValueError: the net has no Conv2d layer.
    """
    names = conv_layers(net)
    if not names:
        raise ValueError(f"{_arch(net)} has no Conv2d layer: give the method a layer")
    return names[-1]


def spatial_layers(net):
    """Names of the layers with a spatial output (C, h, w), for Grad-CAM and activations."""
    return [name for name, shape in net.output_shapes().items() if len(shape) == 3]


def gap_head(net):
    """``(feature layer, linear layer)`` of a net ending ``GAP -> Linear [-> Softmax]``.

    Raises:
        ValueError: another head; the message points to Grad-CAM.
    """
    layers = net.layers[:-1] if isinstance(net.layers[-1], Softmax) else net.layers
    ok = (len(layers) >= 3 and isinstance(layers[-1], Linear)
          and isinstance(layers[-2], GlobalAvgPool))
    if not ok:
        tail = " -> ".join(type(layer).__name__ for layer in net.layers[-3:])
        raise ValueError(f"CAM needs a net ending GlobalAvgPool -> Linear (Zhou et al. "
                         f"2016); {_arch(net)} ends {tail}. Use Grad-CAM, which works "
                         f"for any net")
    return layers[-3].name, layers[-1].name


def input_size(net):
    """(H, W) of the model's training input (``net.meta["input_size"]``, default 224x224)."""
    return tuple(int(v) for v in net.meta.get("input_size", (224, 224)))


def channel_order(net):
    """"RGB" or "BGR": the colour order of the network input (Caffe/Keras VGG: BGR)."""
    return net.meta.get("preprocess", {}).get("channel_order", "RGB").upper()


def code_layer(net):
    """The layer whose output feeds the last ``Linear`` (Dropouts skipped): the CNN code.

    Krizhevsky et al. 2012, Sec. 6.1 use "the last, 4096-dimensional hidden
    layer" (``relu7`` in VGG16/AlexNet); on ``tiny`` it is ``gap``. A net
    without a Linear layer (a trunk) gives its last conv output.
    """
    linears = [i for i, layer in enumerate(net.layers) if isinstance(layer, Linear)]
    if not linears or linears[-1] == 0:
        return last_conv(net)
    i = linears[-1] - 1
    while i > 0 and isinstance(net.layers[i], Dropout):
        i -= 1
    return net.layers[i].name

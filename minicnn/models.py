"""The architectures, with the papers' layer names.

* ``vgg16()``, ``vgg19()`` — Simonyan & Zisserman 2015, Table 1 (D and E):
  3x3 convs, pad 1, 2x2/2 max-pools, three fully connected layers.
  Names ``conv1_1 … conv5_3, pool5, flatten, fc6, relu6, drop6, fc7, relu7,
  drop7, fc8``.
* ``vgg16_hed()`` — the VGG16 trunk of HED (Xie & Tu 2015): conv1_1 … conv5_3
  with pool1 … pool4 and no pool5 or fc layers.
* ``alexnet()`` — torchvision's layout ("one weird trick", Krizhevsky 2014):
  64/192/384/256/256 filters, 11x11/4 pad 2 first conv, 3x3/2 pools, dropout
  *before* fc6 and fc7. Names ``conv1 … conv5, fc6, fc7, fc8``.
* ``alexnet_caffe()`` — Krizhevsky et al. 2012 as in Caffe's reference model:
  96/256/384/384/256 filters, groups of 2 in conv2/4/5, LRN after conv1/conv2.
* ``tiny()`` — the embedded default for the shapes data: small VGG blocks,
  then ``GlobalAvgPool -> Linear`` so that CAM applies directly (Zhou et al.
  2016).

The constructors return *untrained* networks: weights He-initialised from
``seed`` (``seed=None``: left at zero, for loading weights without paying for
random numbers). ``load(name)`` returns a model with trained weights from the
weights folder, or says in one sentence how to get them.

Example:
    >>> net = tiny()
    >>> net.output_shapes()["relu4_2"], net.layer_names[-2:]
    ((64, 8, 8), ['gap', 'fc'])
"""

import numpy as np

from .layers import (LRN, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear,
                     MaxPool2d, ReLU)
from .net import Net

#: Caffe/Keras ImageNet preprocessing: BGR, 0–255, mean subtracted (no std).
CAFFE_BGR = {"channel_order": "BGR", "scale": 255.0,
             "mean": [103.939, 116.779, 123.68], "std": [1.0, 1.0, 1.0]}
#: torchvision ImageNet preprocessing: RGB, 0–1, mean/std normalised.
TORCHVISION_RGB = {"channel_order": "RGB", "scale": 1.0,
                   "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
#: HED (Xie & Tu 2015) BGR means of BSDS500 training images.
HED_BGR = {"channel_order": "BGR", "scale": 255.0,
           "mean": [104.00699, 116.66877, 122.67892], "std": [1.0, 1.0, 1.0]}
#: The shapes model: RGB in [0, 1], centred.
SHAPES_RGB = {"channel_order": "RGB", "scale": 1.0,
              "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}


def _meta(arch, input_size, preprocess, class_names=None, in_channels=3):
    return {"arch": arch, "input_size": list(input_size), "in_channels": in_channels,
            "preprocess": dict(preprocess), "class_names": class_names, "source": None}


def _vgg_trunk(blocks, rng, pool_after=(1, 2, 3, 4, 5)):
    """VGG conv blocks: ``blocks`` is the list of (filters, number of convs)."""
    layers, C = [], 3
    for b, (F, n) in enumerate(blocks, start=1):
        for i in range(1, n + 1):
            layers += [Conv2d(f"conv{b}_{i}", C, F, 3, padding=1, rng=rng),
                       ReLU(f"relu{b}_{i}")]
            C = F
        if b in pool_after:
            layers.append(MaxPool2d(f"pool{b}", 2))
    return layers


def _vgg_head(rng, num_classes, in_features=512 * 7 * 7, seed=0):
    return [Flatten("flatten"),
            Linear("fc6", in_features, 4096, rng=rng), ReLU("relu6"), Dropout("drop6", 0.5, seed or 0),
            Linear("fc7", 4096, 4096, rng=rng), ReLU("relu7"), Dropout("drop7", 0.5, (seed or 0) + 1),
            Linear("fc8", 4096, num_classes, rng=rng)]


def _vgg(arch, convs_per_block, num_classes, include_top, seed):
    rng = None if seed is None else np.random.default_rng(seed)
    blocks = list(zip((64, 128, 256, 512, 512), convs_per_block))
    layers = _vgg_trunk(blocks, rng)
    if include_top:
        layers += _vgg_head(rng, num_classes, seed=seed)
    return Net(layers, _meta(arch, (224, 224), TORCHVISION_RGB))


def vgg16(num_classes=1000, include_top=True, seed=0):
    """VGG16 (configuration D): 13 convs + 3 fc, 138,357,544 parameters."""
    return _vgg("vgg16", (2, 2, 3, 3, 3), num_classes, include_top, seed)


def vgg19(num_classes=1000, include_top=True, seed=0):
    """VGG19 (configuration E): 16 convs + 3 fc, 143,667,240 parameters."""
    return _vgg("vgg19", (2, 2, 4, 4, 4), num_classes, include_top, seed)


def vgg16_hed(seed=0):
    """HED's VGG16 trunk: conv1_1 … conv5_3, pool1 … pool4, BGR input."""
    rng = None if seed is None else np.random.default_rng(seed)
    blocks = list(zip((64, 128, 256, 512, 512), (2, 2, 3, 3, 3)))
    layers = _vgg_trunk(blocks, rng, pool_after=(1, 2, 3, 4))
    return Net(layers, _meta("vgg16_hed", (224, 224), HED_BGR))


def alexnet(num_classes=1000, seed=0):
    """AlexNet as in torchvision (61,100,840 parameters at 1000 classes)."""
    rng = None if seed is None else np.random.default_rng(seed)
    layers = [
        Conv2d("conv1", 3, 64, 11, stride=4, padding=2, rng=rng), ReLU("relu1"),
        MaxPool2d("pool1", 3, stride=2),
        Conv2d("conv2", 64, 192, 5, padding=2, rng=rng), ReLU("relu2"),
        MaxPool2d("pool2", 3, stride=2),
        Conv2d("conv3", 192, 384, 3, padding=1, rng=rng), ReLU("relu3"),
        Conv2d("conv4", 384, 256, 3, padding=1, rng=rng), ReLU("relu4"),
        Conv2d("conv5", 256, 256, 3, padding=1, rng=rng), ReLU("relu5"),
        MaxPool2d("pool5", 3, stride=2),
        Flatten("flatten"),
        Dropout("drop6", 0.5, seed or 0), Linear("fc6", 256 * 6 * 6, 4096, rng=rng), ReLU("relu6"),
        Dropout("drop7", 0.5, (seed or 0) + 1), Linear("fc7", 4096, 4096, rng=rng), ReLU("relu7"),
        Linear("fc8", 4096, num_classes, rng=rng),
    ]
    return Net(layers, _meta("alexnet", (224, 224), TORCHVISION_RGB))


def alexnet_caffe(num_classes=1000, seed=0):
    """AlexNet as in the paper / Caffe's bvlc_alexnet: groups and LRN, 227x227 input."""
    rng = None if seed is None else np.random.default_rng(seed)
    layers = [
        Conv2d("conv1", 3, 96, 11, stride=4, rng=rng), ReLU("relu1"),
        LRN("norm1", 5, 1e-4, 0.75, 1.0), MaxPool2d("pool1", 3, stride=2),
        Conv2d("conv2", 96, 256, 5, padding=2, groups=2, rng=rng), ReLU("relu2"),
        LRN("norm2", 5, 1e-4, 0.75, 1.0), MaxPool2d("pool2", 3, stride=2),
        Conv2d("conv3", 256, 384, 3, padding=1, rng=rng), ReLU("relu3"),
        Conv2d("conv4", 384, 384, 3, padding=1, groups=2, rng=rng), ReLU("relu4"),
        Conv2d("conv5", 384, 256, 3, padding=1, groups=2, rng=rng), ReLU("relu5"),
        MaxPool2d("pool5", 3, stride=2),
        Flatten("flatten"),
        Linear("fc6", 256 * 6 * 6, 4096, rng=rng), ReLU("relu6"), Dropout("drop6", 0.5, seed or 0),
        Linear("fc7", 4096, 4096, rng=rng), ReLU("relu7"), Dropout("drop7", 0.5, (seed or 0) + 1),
        Linear("fc8", 4096, num_classes, rng=rng),
    ]
    return Net(layers, _meta("alexnet_caffe", (227, 227), CAFFE_BGR))


def tiny(num_classes=8, width=(8, 16, 32, 64), seed=0, class_names=None):
    """The shapes model, UNTRAINED: ``models.load("tiny")`` is the trained one.

    One VGG block of two 3x3 convs (pad 1) per entry of ``width``, a 2x2/2
    max-pool between blocks, then GlobalAvgPool and Linear (Zhou et al.
    2016's CAM head). With the default four blocks a 64x64 input is halved
    three times; the last block's maps are the ones CAM and Grad-CAM weigh,
    and each of their units sees the whole image:

    >>> net = tiny()
    >>> [net.output_shapes()[f"relu{b}_2"] for b in (1, 2, 3, 4)]
    [(8, 64, 64), (16, 32, 32), (32, 16, 16), (64, 8, 8)]
    >>> net.receptive_field("relu4_2").size
    (68, 68)
    >>> load("tiny").output_shapes()["relu4_2"]        # the shipped, trained model
    (64, 8, 8)

    Args:
        num_classes: K, the outputs of ``fc``.
        width: filters per block; its length is the number of blocks.
        seed: He initialisation seed (None: zeros, to be loaded).
        class_names: stored in ``meta["class_names"]``.

    Returns:
        ``Net`` with layers ``conv{b}_{1,2}``, ``relu{b}_{1,2}``, ``pool{b}``
        (not after the last block), ``gap``, ``fc``.
    """
    rng = None if seed is None else np.random.default_rng(seed)
    blocks = [(w, 2) for w in width]
    layers = _vgg_trunk(blocks, rng, pool_after=tuple(range(1, len(width))))
    layers += [GlobalAvgPool("gap"), Linear("fc", width[-1], num_classes, rng=rng)]
    return Net(layers, _meta("tiny", (64, 64), SHAPES_RGB, class_names))


ARCHITECTURES = {"vgg16": vgg16, "vgg19": vgg19, "vgg16_hed": vgg16_hed,
                 "alexnet": alexnet, "alexnet_caffe": alexnet_caffe, "tiny": tiny}


def load(name):
    """A model with its trained weights, e.g. ``load("tiny")``, ``load("vgg16")``.

    Reads ``<weights folder>/<name>.npz`` (``minicnn.io.weights_dir()``: the
    package's ``minicnn/weights/`` or ``$MINICNN_WEIGHTS``); a path to an ``.npz``
    works too. ``minicnn weights list`` (``minicnn.zoo.list_models()``) shows
    the known names.

    >>> load("tiny").meta["class_names"][:3]
    ['circle', 'square', 'triangle']

    Raises:
        FileNotFoundError: the weights are not installed; the message gives the
            command that gets them.
        KeyError: an unknown name, with the close ones.
    """
    # The one import that points back up: the zoo reads files with minicnn.io,
    # and io rebuilds architectures from this module, so the zoo can only be
    # imported when load() runs (tests/minicnn/test_imports.py pins this).
    from .zoo import load as load_installed
    return load_installed(name)

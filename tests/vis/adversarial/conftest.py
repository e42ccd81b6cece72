"""Fixtures for the attack tests: the shipped tiny, a few test shapes, small nets."""

import numpy as np
import pytest

from minicnn import models
from minicnn.data import make_shapes
from minicnn.layers import Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool2d, ReLU
from minicnn.net import Net
from minicnn.preprocessing import preprocess
from minicnn.tiny import TEST_SEED

IDENTITY = {"channel_order": "RGB", "scale": 1.0, "mean": [0.0, 0.0, 0.0],
            "std": [1.0, 1.0, 1.0]}


@pytest.fixture(scope="module")
def tiny():
    return models.load("tiny")


@pytest.fixture(scope="module")
def shapes():
    """Eight test shapes (the test seed, never used in training)."""
    return make_shapes(8, seed=TEST_SEED)


@pytest.fixture(scope="module")
def batch(tiny, shapes):
    """(x, labels): the eight shapes preprocessed for tiny."""
    return preprocess(shapes.images, tiny.meta), shapes.labels


def small_net(meta_pre=None, K=4, seed=0, size=16, channel_order=None):
    """Conv-ReLU-pool-conv-ReLU-GAP-Linear, random weights, float64, ``size`` x ``size``."""
    rng = np.random.default_rng(seed)
    layers = [Conv2d("conv1", 3, 6, 3, padding=1, rng=rng), ReLU("relu1"),
              MaxPool2d("pool1", 2),
              Conv2d("conv2", 6, 8, 3, padding=1, rng=rng), ReLU("relu2"),
              GlobalAvgPool("gap"), Linear("fc", 8, K, rng=rng)]
    pre = dict(meta_pre or IDENTITY)
    if channel_order:
        pre["channel_order"] = channel_order
    meta = {"arch": "small", "input_size": [size, size], "in_channels": 3,
            "preprocess": pre, "class_names": None}
    net = Net(layers, meta).astype(np.float64)
    for layer in net.layers:                      # visible biases: no exact ties at 0
        if "b" in layer.params:
            layer.params["b"] = rng.standard_normal(layer.params["b"].shape) * 0.1
    return net


def logistic_net(D_shape=(3, 4, 5), meta_pre=None, seed=0):
    """Logistic regression as a net: Flatten -> Linear(D, 2), float64."""
    rng = np.random.default_rng(seed)
    D = int(np.prod(D_shape))
    meta = {"arch": "logistic", "input_size": list(D_shape[1:]), "in_channels": D_shape[0],
            "preprocess": dict(meta_pre or IDENTITY), "class_names": None}
    net = Net([Flatten("flatten"), Linear("fc", D, 2, rng=rng)], meta).astype(np.float64)
    net["fc"].params["b"] = rng.standard_normal(2)
    return net


def prep(img, meta):
    """The preprocessing equation, written out in float64 (an oracle for pixels.py)."""
    pre = meta["preprocess"]
    mean = np.asarray(pre["mean"], np.float64).reshape(1, -1, 1, 1)
    std = np.asarray(pre["std"], np.float64).reshape(1, -1, 1, 1)
    img = np.asarray(img, np.float64)
    if pre.get("channel_order", "RGB").upper() == "BGR":
        img = img[:, ::-1]
    return (img * pre["scale"] - mean) / std


def images_for(net, n, seed=0, lo=0.0, hi=1.0):
    """(RGB images in [lo, hi], preprocessed x) for ``net``, float64."""
    C, H, W = net.input_shape()
    img = np.random.default_rng(seed).uniform(lo, hi, (n, 3, H, W))
    return img, prep(img, net.meta)

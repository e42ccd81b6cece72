"""The receptive-field cone: the same scores as a full forward pass, for any position."""

import numpy as np
import pytest

from minicnn import models
from minicnn.layers import LRN, Conv2d, GlobalAvgPool, Linear, MaxPool2d, ReLU
from minicnn.net import Net
from vis.adversarial.cone import PixelCone

from .conftest import IDENTITY


def _full(net, x0, rows, cols, values):
    batch = np.repeat(x0, len(rows), axis=0)
    batch[np.arange(len(rows)), :, rows, cols] = values
    return net.forward(batch)


def _positions(H, W, n, rng):
    """Corners and edges first, then random positions."""
    fixed = [(0, 0), (0, W - 1), (H - 1, 0), (H - 1, W - 1), (0, W // 2), (H // 2, 0),
             (H - 1, W // 2), (H // 2, W - 1), (1, 1), (H - 2, W - 2)]
    r = np.array([p[0] for p in fixed] + list(rng.integers(0, H, n)))
    c = np.array([p[1] for p in fixed] + list(rng.integers(0, W, n)))
    return r, c


def test_tiny_cone_equals_full_forward_and_shrinks_the_early_layers():
    net = models.load("tiny").astype(np.float64)
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((1, 3, 64, 64))
    cone = PixelCone(net, x0)
    windows = dict(cone.windows)
    assert windows["conv1_1"] == (3, 3) and windows["conv1_2"] == (5, 5)
    assert windows["pool1"] == (3, 3) and windows["conv4_2"] == (8, 8)
    assert cone.rest == ["relu4_2", "gap", "fc"]
    rows, cols = _positions(64, 64, 30, rng)
    values = rng.standard_normal((len(rows), 3)) * 2
    assert np.allclose(cone.scores(rows, cols, values), _full(net, x0, rows, cols, values),
                       rtol=1e-10, atol=1e-10)


def _odd_net():
    """Odd non-square maps (a 2x2 pool drops the last row and column), a
    strided 5x5 conv, an overlapping padded 3x3/2 pool, LRN."""
    rng = np.random.default_rng(3)
    layers = [Conv2d("c1", 3, 5, 3, padding=1, rng=rng), ReLU("r1"),
              LRN("n1", 3, 1e-2, 0.75, 1.0),
              MaxPool2d("p1", 2),
              Conv2d("c2", 5, 6, 5, stride=2, padding=2, rng=rng), ReLU("r2"),
              MaxPool2d("p2", 3, stride=2, padding=1),
              Conv2d("c3", 6, 7, 3, padding=1, rng=rng), ReLU("r3"),
              GlobalAvgPool("gap"), Linear("fc", 7, 4, rng=rng)]
    meta = {"arch": "odd", "input_size": [37, 51], "in_channels": 3,
            "preprocess": dict(IDENTITY), "class_names": None}
    net = Net(layers, meta).astype(np.float64)
    for layer in net.layers:
        if "b" in layer.params:
            layer.params["b"] = rng.standard_normal(layer.params["b"].shape) * 0.1
    return net


def test_general_geometry_cone_equals_full_forward():
    net = _odd_net()
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((1, 3, 37, 51))
    cone = PixelCone(net, x0)
    assert [name for name, _ in cone.windows][:2] == ["c1", "p1"]
    rows, cols = _positions(37, 51, 60, rng)
    values = rng.standard_normal((len(rows), 3)) * 3
    assert np.allclose(cone.scores(rows, cols, values), _full(net, x0, rows, cols, values),
                       rtol=1e-10, atol=1e-10)


def test_float32_tiny_cone_within_rounding(tiny):
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((1, 3, 64, 64)).astype(np.float32)
    rows, cols = _positions(64, 64, 50, rng)
    values = rng.standard_normal((len(rows), 3)).astype(np.float32)
    s = PixelCone(tiny, x0).scores(rows, cols, values)
    full = _full(tiny, x0, rows, cols, values)
    assert np.abs(s - full).max() <= 1e-5 * np.abs(full).max()


def test_grouped_conv_stops_the_cone_and_still_agrees():
    rng = np.random.default_rng(4)
    layers = [Conv2d("c1", 3, 4, 3, padding=1, rng=rng), ReLU("r1"),
              Conv2d("c2", 4, 4, 3, padding=1, groups=2, rng=rng), ReLU("r2"),
              GlobalAvgPool("gap"), Linear("fc", 4, 3, rng=rng)]
    net = Net(layers, {"arch": "g", "input_size": [12, 12], "in_channels": 3,
                       "preprocess": dict(IDENTITY)}).astype(np.float64)
    x0 = rng.standard_normal((1, 3, 12, 12))
    cone = PixelCone(net, x0)
    assert cone.rest[0] == "c2"
    rows, cols = _positions(12, 12, 10, rng)
    values = rng.standard_normal((len(rows), 3))
    assert np.allclose(cone.scores(rows, cols, values), _full(net, x0, rows, cols, values),
                       rtol=1e-10, atol=1e-10)


def test_cone_wants_one_image(tiny):
    with pytest.raises(ValueError, match="one image"):
        PixelCone(tiny, np.zeros((2, 3, 64, 64), np.float32))


@pytest.mark.parametrize("make, shape", [(lambda: models.load("tiny").astype(np.float64),
                                          (64, 64)), (_odd_net, (37, 51))], ids=["tiny", "odd"])
def test_several_pixels_per_candidate(make, shape):
    """d = 3 and 5 pixels: near ones share their cones, far ones do not; a pixel
    listed twice keeps its last colour, as in a NumPy assignment."""
    net = make()
    H, W = shape
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal((1, 3, H, W))
    cone = PixelCone(net, x0)
    for d in (3, 5):
        P = 40
        rows = rng.integers(0, H, (P, d))
        cols = rng.integers(0, W, (P, d))
        rows[:10, 1] = np.minimum(rows[:10, 0] + 1, H - 1)     # neighbours
        rows[10:15, 2], cols[10:15, 2] = rows[10:15, 0], cols[10:15, 0]   # repeated
        values = rng.standard_normal((P, d, 3))
        batch = np.repeat(x0, P, axis=0)
        for i in range(d):
            batch[np.arange(P), :, rows[:, i], cols[:, i]] = values[:, i]
        assert np.allclose(cone.scores(rows, cols, values), net.forward(batch),
                           rtol=1e-10, atol=1e-10)

"""First-layer filter display (vis/filters.py)."""

import numpy as np

from minicnn import models
from minicnn.layers import Conv2d, ReLU
from minicnn.net import Net
from vis.features.filters import filter_grid, filter_norms, first_layer_filters


def tiny_net(order):
    conv = Conv2d("conv1", 3, 4, (2, 3), rng=np.random.default_rng(0))   # non-square kernel
    return Net([conv, ReLU("relu1")], {"preprocess": {"channel_order": order}})


def test_shape_and_each_filter_spans_0_to_1():
    f = first_layer_filters(models.tiny())
    assert f.shape == (8, 3, 3, 3)
    np.testing.assert_allclose(f.min(axis=(1, 2, 3)), 0)
    np.testing.assert_allclose(f.max(axis=(1, 2, 3)), 1)


def test_layout_and_bgr_flip():
    rgb, bgr = tiny_net("RGB"), tiny_net("BGR")
    W = rgb["conv1"].params["W"].astype(np.float64)                   # (F, C, KH, KW)
    f_rgb, f_bgr = first_layer_filters(rgb), first_layer_filters(bgr)
    assert f_rgb.shape == (4, 2, 3, 3)
    k = 2
    lo, hi = W[k].min(), W[k].max()
    np.testing.assert_allclose(f_rgb[k, 1, 0, 2], (W[k, 2, 1, 0] - lo) / (hi - lo))
    np.testing.assert_allclose(f_bgr, f_rgb[..., ::-1])
    np.testing.assert_allclose(f_bgr[k, 1, 0, 0], f_rgb[k, 1, 0, 2])


def test_constant_filter_is_grey():
    net = tiny_net("RGB")
    net["conv1"].params["W"][1] = 0.3
    f = first_layer_filters(net)
    assert (f[1] == 0.5).all()


def test_filter_grid_upscales_and_tiles():
    f = first_layer_filters(tiny_net("RGB"))                            # (4, 2, 3, 3)
    grid = filter_grid(f, ncols=3, pad=2, upscale=4)
    assert grid.shape == (2 * (8 + 2) - 2, 3 * (12 + 2) - 2, 3) and grid.dtype == np.uint8
    expect = np.round(f[3] * 255).astype(np.uint8).repeat(4, 0).repeat(4, 1)
    np.testing.assert_array_equal(grid[10:18, 0:12], expect)           # tile (1, 0)
    assert (grid[8:10] == 0).all() and (grid[:, 12:14] == 0).all()      # gaps
    assert (grid[10:, 14:26] == 255).all() and (grid[10:, 28:] == 255).all()  # unused: white
    assert filter_grid(first_layer_filters(models.tiny())).shape[0] == 3 * 34 - 1  # 8 filters in 3 rows; 3x3 -> 33 px


def test_filter_norms():
    net = models.tiny()
    W = net["conv2_1"].params["W"]
    np.testing.assert_allclose(filter_norms(net, "conv2_1"),
                               np.linalg.norm(W.reshape(len(W), -1), axis=1), rtol=1e-6)
    assert filter_norms(net, "fc").shape == (8,)

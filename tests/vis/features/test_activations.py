"""Activation grids (vis/activations.py)."""

import numpy as np

from minicnn import models
from vis.features.activations import activation_grid, activations


def chollet(a):
    """Chollet's display formula, written out independently of the code under test."""
    return np.clip(64 * (a - a.mean()) / (a.std() + 1e-5) + 128, 0, 255).astype(np.uint8)


def test_grid_layout_and_formula():
    rng = np.random.default_rng(0)
    C, h, w = 5, 3, 4                                    # non-square tiles
    act = rng.standard_normal((C, h, w)) * np.arange(1, C + 1)[:, None, None]
    act[1, 0, 0] = 40.0                                  # an outlier: clipped at 255
    act[3] = 7.0                                         # a dead channel: flat 128
    grid = activation_grid(act, ncols=2, pad=1)
    assert grid.shape == (3 * (h + 1) - 1, 2 * (w + 1) - 1)
    for k in range(C):
        r, c = divmod(k, 2)
        np.testing.assert_array_equal(grid[r * (h + 1):r * (h + 1) + h,
                                           c * (w + 1):c * (w + 1) + w], chollet(act[k]))
    assert grid[0, w + 1] == 255                                        # channel 1's outlier
    assert (grid[h, :] == 0).all() and (grid[:, w] == 0).all()          # gaps
    assert (grid[2 * (h + 1):, w + 1:] == 255).all()                    # the unused 6th tile
    assert (grid[h + 1:2 * h + 1, w + 1:] == 128).all()                 # channel 3, dead


def test_default_grid_is_square_ish():
    assert activation_grid(np.ones((16, 2, 2))).shape == (11, 11)
    assert activation_grid(np.ones((5, 2, 2))).shape == (5, 8)          # 2 rows, 3 columns


def test_activations_equal_forward():
    net = models.tiny()
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    acts = activations(net, x, ["conv1_1"])
    assert list(acts) == ["conv1_1"]
    np.testing.assert_array_equal(acts["conv1_1"], net.forward(x, until="conv1_1"))
    both = activations(net, x, ["pool2", "relu1_2"])
    assert list(both) == ["relu1_2", "pool2"] and both["pool2"].shape == (2, 16, 16, 16)


def test_all_conv_side_layers_by_default():
    net = models.tiny()
    acts = activations(net, np.zeros((1, 3, 64, 64), np.float32))
    four_d = [n for n, s in net.output_shapes().items() if len(s) == 3]
    assert list(acts) == four_d and "gap" not in acts and "fc" not in acts
    assert all(a.ndim == 4 for a in acts.values())

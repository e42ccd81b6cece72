"""Occlusion: exact zeros where the net does not look, exact drops for a linear net."""

import numpy as np
import pytest

from minicnn import models
from minicnn.layers import Flatten, Linear
from minicnn.net import Net
from minicnn.losses import softmax
from vis.attribution.occlusion import occlusion, window_starts

C, H, W = 3, 20, 24
ROWS, COLS = slice(6, 10), slice(13, 17)         # the only pixels the net reads


@pytest.fixture
def region_net(rng):
    """Flatten -> Linear whose weights are zero outside the ROWS x COLS rectangle."""
    net = Net([Flatten("flatten"), Linear("fc", C * H * W, 4, rng=rng)]).astype(np.float64)
    mask = np.zeros((C, H, W))
    mask[:, ROWS, COLS] = 1
    net["fc"].params["W"] *= mask.ravel()
    return net


def test_window_starts_cover_the_border():
    assert window_starts(10, 4, 4) == [0, 4, 6]
    assert window_starts(64, 8, 4) == list(range(0, 57, 4))
    with pytest.raises(ValueError, match="window 12"):
        window_starts(10, 12, 4)


@pytest.mark.task("occlusion")
def test_zero_outside_what_the_net_reads(region_net, rng):
    x = rng.standard_normal((2, C, H, W))
    window, stride = 5, 3
    r = occlusion(region_net, x, window=window, stride=stride)
    # A pixel can be non-zero only if some window covering it meets the rectangle:
    # the rectangle grown by window - 1 on each side (clipped to the image).
    reach = np.zeros((H, W), bool)
    reach[ROWS.start - window + 1:ROWS.stop + window - 1,
          COLS.start - window + 1:COLS.stop + window - 1] = True
    assert np.all(r.score_drop[:, ~reach] == 0) and np.all(r.prob_drop[:, ~reach] == 0)
    assert np.all(r.score_drop[:, ROWS, COLS] != 0)
    ys, xs = window_starts(H, window, stride), window_starts(W, window, stride)
    for a, y in enumerate(ys):                     # per window: zero iff no overlap
        for b, x0 in enumerate(xs):
            meets = (y < ROWS.stop and y + window > ROWS.start
                     and x0 < COLS.stop and x0 + window > COLS.start)
            assert np.all((r.grid_score_drop[:, a, b] != 0) == meets)


@pytest.mark.task("occlusion")
def test_linear_net_drops_are_exact(region_net, rng):
    """S(x) - S(x occluded) = sum over the window of w_c * (x - fill)."""
    x = rng.standard_normal((1, C, H, W))
    r = occlusion(region_net, x, target=2, window=4, stride=2, fill=0.5)
    w = region_net["fc"].params["W"][2].reshape(C, H, W)
    ys, xs = window_starts(H, 4, 2), window_starts(W, 4, 2)
    expected = np.array([[np.sum((w * (x[0] - 0.5))[:, y:y + 4, x0:x0 + 4]) for x0 in xs]
                         for y in ys])
    assert np.allclose(r.grid_score_drop[0], expected)
    scores = region_net.forward(x)
    p0 = softmax(scores)[0, 2]
    assert np.isclose(r.grid_prob_drop[0, 0, 0],
                      p0 - softmax(scores - expected[0, 0] * np.eye(4)[2])[0, 2])
    assert list(r.target) == [2]


@pytest.mark.task("occlusion")
def test_per_pixel_value_is_the_mean_of_the_covering_windows(region_net, rng):
    x = rng.standard_normal((1, C, H, W))
    r = occlusion(region_net, x, window=4, stride=4)           # no overlap: blocks
    assert np.allclose(r.score_drop[0, 4:8, 12:16], r.grid_score_drop[0, 1, 3])
    r = occlusion(region_net, x, window=4, stride=2)
    g = r.grid_score_drop[0]                                    # pixel (7, 15): windows
    assert np.isclose(r.score_drop[0, 7, 15], g[2:4, 6:8].mean())   # at y, x in {4, 6}, {12, 14}


@pytest.mark.task("occlusion")
def test_batching_does_not_change_the_result(rng):
    net = models.tiny(seed=2).astype(np.float64)
    x = rng.standard_normal((2, 3, 32, 32))
    a = occlusion(net, x, window=8, stride=8, batch_size=5)
    b = occlusion(net, x, window=8, stride=8, batch_size=64, progress=False)
    assert np.allclose(a.grid_score_drop, b.grid_score_drop, atol=1e-12)
    assert np.array_equal(a.target, net.forward(x).argmax(axis=1))


@pytest.mark.task("occlusion")
def test_progress_bar_and_errors(region_net, rng, capsys):
    x = rng.standard_normal((1, C, H, W))
    occlusion(region_net, x, window=4, stride=4, batch_size=1, progress=True)
    assert "occlusion" in capsys.readouterr().err
    # the unit ("fc", k) is the class score S_k itself: the same drops, no probabilities
    unit, score = occlusion(region_net, x, target=("fc", 0)), occlusion(region_net, x, 0)
    np.testing.assert_allclose(unit.score_drop, score.score_drop, rtol=1e-12, atol=1e-12)
    assert unit.prob_drop is None and unit.target == [("fc", 0)]
    with pytest.raises(ValueError, match="dtype int64"):
        occlusion(region_net, np.ones((1, C, H, W), np.int64))
    with pytest.raises(ValueError, match=r"4 classes, 0 \.\. 3"):
        occlusion(region_net, x, target=4)

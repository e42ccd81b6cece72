"""Inversion, DeepDream and activation maximization: measured properties on real weights."""

import numpy as np
import pytest

from minicnn import models
from vis.synthesis import activation_maximization, deepdream, invert, invert_layers
from vis.synthesis.invert import depth, inversion_layers
from vis.synthesis.maximize import PRESETS

from .conftest import sample


def test_inversion_error_grows_with_depth(hed):
    """Mahendran & Vedaldi 2015, Fig. 6: conv1 keeps the photograph, conv5 little of it."""
    x = sample(hed, "grace_hopper.jpg", 48)
    res = invert_layers(hed, x, ["relu1_2", "relu3_3", "relu5_3"], steps=40, progress=False)
    err = [r.info["image_error"][0] for r in res.values()]
    corr = [r.info["image_correlation"][0] for r in res.values()]
    assert err[0] < err[1] < err[2], err
    assert corr[0] > 0.98 and corr[0] > corr[1] > corr[2], corr
    assert [r.info["depth"] for r in res.values()] == ["early", "middle", "late"]
    assert res["relu1_2"].info["feature_error"][0] < 0.1


def test_depth_and_default_layers():
    net = models.vgg16_hed(seed=None)
    assert inversion_layers(net) == ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"]
    assert [depth(net, n) for n in ("relu1_1", "relu2_2", "relu3_3", "pool3", "relu5_1")] == \
        ["early", "early", "middle", "middle", "late"]


def test_invert_bad_input(hed):
    x = sample(hed, "grace_hopper.jpg", 48)
    with pytest.raises(KeyError, match="'fc7' is not a layer of vgg16_hed"):
        invert(hed, x, "fc7")
    with pytest.raises(ValueError, match=r"the image is 8x8, too small for relu5_3: .* 16x16"):
        invert(hed, x[:, :, :8, :8], "relu5_3")


def test_deepdream_amplifies_the_layer_across_octaves(hed):
    x = sample(hed, "grace_hopper.jpg", 96)
    r = deepdream(hed, x, "relu3_3", octaves=2, steps=4, progress=False)
    h = r.history["dream relu3_3"][:, 0]
    assert r.info["octave_sizes"] == [(69, 69), (96, 96)] and len(h) == 8
    assert h[3] > h[0] and h[7] > h[4] and r.final["dream relu3_3"][0] > h[4]
    assert r.image.min() >= 0 and r.image.max() <= 1
    again = deepdream(hed, x, "relu3_3", octaves=2, steps=4, progress=False)
    assert np.array_equal(r.x, again.x)


def test_deepdream_too_small_for_its_octaves(hed):
    x = sample(hed, "grace_hopper.jpg", 16)                  # octaves 6, 8, 11, 16
    with pytest.raises(ValueError, match=r"octave of 4 is 6x6, too small for relu4_1: .* 8x8"):
        deepdream(hed, x)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_raises_its_units(preset):
    net = models.load("tiny")
    r = activation_maximization(net, "relu3_1", [2, 9], preset=preset, steps=25, seed=1,
                                progress=False)
    key = "neuron conv3_1"
    assert (r.final[key] > r.history[key][0]).all(), (preset, r.history[key][[0, -1]])
    assert r.image.min() >= 0 and r.image.max() <= 1


@pytest.mark.parametrize("preset", [p for p in PRESETS if p.startswith("yosinski")])
def test_a_yosinski_preset_makes_a_visible_image(preset):
    """The toolbox's plain steps left tiny's image a flat grey (std < 0.002 of the range
    after 300 steps); the normalized step draws a pattern the unit likes."""
    net = models.load("tiny")
    r = activation_maximization(net, "relu4_2", [0, 1], preset=preset, steps=150, seed=0,
                                progress=False)
    key = "neuron conv4_2"
    assert (r.final[key] > r.history[key][0] + 20).all(), r.history[key][[0, -1]]
    assert (r.image.std(axis=(1, 2, 3)) > 0.01).all(), r.image.std(axis=(1, 2, 3))


def test_the_yosinski_step_does_not_depend_on_the_gradient_scale():
    """Scaling the maximized layer by 1000 scales the gradient, not the image made."""
    net, loud = models.load("tiny"), models.load("tiny")
    for name in ("W", "b"):
        loud["conv3_1"].params[name] *= 1000.0
    a, b = (activation_maximization(n, "conv3_1", [2], steps=20, seed=3, progress=False)
            for n in (net, loud))
    assert np.ptp(a.x) > 0.05
    np.testing.assert_allclose(a.x, b.x, atol=1e-3 * np.ptp(a.x))


def test_erhan_keeps_the_norm_fixed():
    net = models.load("tiny")
    r = activation_maximization(net, "conv2_2", [0, 1, 2], preset="erhan", unit="channel",
                                steps=5, progress=False)
    norms = np.sqrt((r.x ** 2).reshape(3, -1).sum(axis=1))
    rho = 80.0 * 4 / 255 * 64
    assert np.allclose(norms, rho, rtol=0.05)                # up to the pixel clip
    assert set(r.history) == {"objective", "channel conv2_2"}


def test_maximize_bad_input():
    net = models.load("tiny")
    with pytest.raises(KeyError, match="erhan, yosinski-1, yosinski-2, yosinski-3, yosinski-4"):
        activation_maximization(net, "relu3_1", 0, preset="nguyen")
    with pytest.raises(ValueError, match="unknown unit"):
        activation_maximization(net, "relu3_1", 0, unit="pixel")
    with pytest.raises(ValueError, match="out of range"):
        activation_maximization(net, "relu3_1", 99, steps=1, progress=False)

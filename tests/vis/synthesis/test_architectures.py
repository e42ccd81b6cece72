"""Every recipe's defaults resolve on VGG16, VGG19 and AlexNet (random weights, tiny inputs)."""

import numpy as np
import pytest

from minicnn import models
from vis.synthesis import (activation_maximization, class_model, deepdream, invert_layers,
                           style_transfer, texture)
from vis.synthesis.common import middle_conv
from vis.synthesis.style import PRESETS


@pytest.fixture(scope="module", params=["vgg16", "vgg19", "alexnet"])
def arch(request):
    name = request.param
    if name == "alexnet":
        return models.alexnet(seed=0), 64
    return getattr(models, name)(include_top=False, seed=0), 32


def image(size, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_style_transfer_presets(arch, preset):
    net, size = arch
    r = style_transfer(net, image(size), image(size, 1), preset=preset, steps=2, progress=False)
    assert r.x.shape == (1, 3, size, size) and np.isfinite(r.history["objective"]).all()
    assert r.history["style"].shape[0] == r.steps <= 2


def test_texture_invert_dream_maximize(arch):
    net, size = arch
    t = texture(net, image(size), steps=2, progress=False)
    assert len(t.info["layers"]) >= 4 and t.steps <= 2
    inv = invert_layers(net, image(size), steps=2, progress=False)
    assert len(inv) >= 3 and all(r.x.shape == (1, 3, size, size) for r in inv.values())
    d = deepdream(net, image(size), octaves=1, steps=2, progress=False)
    assert d.info["layer"] == middle_conv(net) and d.steps == 2
    m = activation_maximization(net, middle_conv(net), [0, 1], steps=2, size=(size, size),
                                progress=False)
    assert m.x.shape == (2, 3, size, size)


def test_class_model_on_alexnet():
    net = models.alexnet(seed=0)
    r = class_model(net, [3, 999], steps=1, progress=False)
    assert r.x.shape == (2, 3, 224, 224) and r.info["scores"].shape == (2, 1000)

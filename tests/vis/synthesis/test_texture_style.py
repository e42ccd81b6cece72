"""Texture synthesis and style transfer on the real VGG16 trunk, at 64 px.

Reduced versions of the README's figures (128 px, 100-200 evaluations, in
``benchmarks/synthesis_bench.py``): the same recipes, fewer pixels and steps.
"""

import pytest

from vis.optimize import pixel_bounds
from vis.synthesis import style_transfer, texture
from vis.synthesis.style import PRESETS


def test_style_transfer_lowers_the_style_loss_and_keeps_the_content(hed, images64):
    content, style = images64
    r = style_transfer(hed, content, style, init="content", steps=30, progress=False)
    start, end = r.history["style"][0, 0], r.final["style"][0]
    assert start / end >= 10, start / end
    assert r.final["content relu4_2"][0] < r.info["style_content_loss"]
    assert r.history["content relu4_2"][0, 0] == 0                  # the content start
    lo, hi = pixel_bounds(hed)
    assert (r.x >= lo).all() and (r.x <= hi).all() and r.steps == 30
    layers = [k for k in r.history if k.startswith("style ")]
    assert layers == [f"style relu{b}_1" for b in range(1, 6)]


def test_texture_from_noise_lowers_the_gram_loss_100x(hed, images64):
    _, style = images64
    r = texture(hed, style, steps=50, progress=False)
    assert r.info["layers"] == ["relu1_1", "pool1", "pool2", "pool3", "pool4"]
    assert r.history["style"][0, 0] / r.final["style"][0] >= 100


def test_texture_of_another_size_and_with_max_pooling(hed, images64):
    _, style = images64
    r = texture(hed, style, size=(48, 80), pooling="max", steps=5, progress=False)
    assert r.x.shape == (1, 3, 48, 80) and r.info["pooling"] == "max"
    assert r.history["style"][-1, 0] < r.history["style"][0, 0]


def test_presets_name_their_source_and_range():
    for name, p in PRESETS.items():
        assert p["source"] and p["units"] > 0 and len(p["style_layers"]) == len(p["style_weights"])


def test_bad_input(hed, images64):
    content, style = images64
    with pytest.raises(KeyError, match="gatys2016, gatys-code, pytorch, cs231n"):
        style_transfer(hed, content, style, preset="johnson")
    with pytest.raises(KeyError, match="style layer 'pool5' is not a layer of vgg16_hed"):
        style_transfer(hed, content, style, style_layers=["relu1_1", "pool5"])
    with pytest.raises(ValueError, match=r"style image is 8x8, too small for relu5_1: .* 16x16"):
        style_transfer(hed, content, style[:, :, :8, :8])
    with pytest.raises(ValueError, match=r"texture image is 12x12, too small for pool4: .* 16x16"):
        texture(hed, style[:, :, :12, :12])
    with pytest.raises(ValueError, match="unknown pooling"):
        texture(hed, style, pooling="median")
    with pytest.raises(ValueError, match="unknown init"):
        style_transfer(hed, content, style, init="style")
    with pytest.raises(ValueError, match=r"content: expected a preprocessed batch"):
        style_transfer(hed, content[0], style)

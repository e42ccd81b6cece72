"""Class models on the shipped shapes model: score versus posterior (Simonyan 2014, Sec. 2)."""

import numpy as np
import pytest

from minicnn import models
from vis.synthesis import class_model


@pytest.fixture(scope="module")
def net():
    return models.load("tiny")


@pytest.fixture(scope="module")
def both(net):
    classes = list(range(8))
    return (class_model(net, classes, "score", progress=False),
            class_model(net, classes, "probability", progress=False))


def test_the_score_image_raises_every_target_score_far_above_the_start(both):
    score, _ = both
    k = np.arange(8)
    start = score.info["scores_start"][k, k]
    final = score.info["scores"][k, k]
    assert (final > start + 100).all(), final - start
    assert np.allclose(score.final["score"], final, rtol=1e-4)


def test_the_probability_image_is_classified_as_its_class_with_p_above_099(both):
    _, prob = both
    k = np.arange(8)
    assert (prob.info["predicted"] == k).all()
    assert (prob.info["probabilities"][k, k] > 0.99).all(), prob.info["probabilities"][k, k]


def test_the_score_alone_can_drive_an_image_to_another_class(both):
    """Why Simonyan maximize the score *and* why the slide contrasts it with the posterior:
    the unnormalised score of the target grows, but another class's grows faster."""
    score, _ = both
    k = np.arange(8)
    assert (score.info["predicted"] != k).any()


def test_start_is_the_mean_image_and_pixels_stay_in_range(net, both):
    score, prob = both
    for r in (score, prob):
        assert r.image.min() >= 0 and r.image.max() <= 1
        assert r.history["l2"][0].max() == 0                 # the zero image
    one = class_model(net, 5, steps=3, seed=1, progress=False)
    assert one.x.shape == (1, 3, 64, 64) and one.info["classes"].tolist() == [5]


def test_bad_input(net):
    with pytest.raises(KeyError, match="score, probability"):
        class_model(net, 1, objective="posterior")
    with pytest.raises(ValueError, match="0 .. 7"):
        class_model(net, 8)
    with pytest.raises(ValueError, match="no class scores"):
        class_model(models.vgg16_hed(seed=None), 1)

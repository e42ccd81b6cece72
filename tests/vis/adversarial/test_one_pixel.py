"""The one-pixel attack, on reduced budgets (the paper's 400 x 100 runs in the benchmark).

``benchmarks/adversarial_tables.py`` measures the success table with the
paper's budget; here popsize and maxiter are a few dozen at most, so these
tests check properties, not success rates.
"""

import numpy as np
import pytest

from vis.adversarial.few_pixels import one_pixel
from vis.adversarial.pixels import change_norms

from .conftest import images_for, logistic_net, small_net


@pytest.mark.parametrize("pixels", [1, 3])
def test_changes_at_most_d_pixels_within_budget(tiny, batch, pixels):
    x, y = batch
    x, y = x[:3], y[:3]
    r = one_pixel(tiny, x, y, pixels=pixels, popsize=30, maxiter=3, seed=0)
    l0, _, _ = change_norms(r.delta)
    assert (l0 <= pixels).all() and (l0[r.attacked] >= 1).all()
    assert (r.forward <= 1 + 30 * (3 + 1)).all()           # + the clean check
    assert (r.generations <= 3).all() and r.pixels.shape == (3, pixels, 5)
    assert r.image.min() >= 0 and r.image.max() <= 1
    # the pixels reported are the pixels changed, with their new colours
    for n in np.flatnonzero(r.attacked):
        for row, col, *rgb in r.pixels[n]:
            assert np.allclose(r.image[n, :, int(row), int(col)], rgb, atol=1e-6)
    assert np.array_equal(r.success, r.pred != y)


def test_reproducible_from_its_seed(tiny, batch):
    x, y = batch[0][:2], batch[1][:2]
    a = one_pixel(tiny, x, y, popsize=20, maxiter=2, seed=7)
    b = one_pixel(tiny, x, y, popsize=20, maxiter=2, seed=7)
    c = one_pixel(tiny, x, y, popsize=20, maxiter=2, seed=8)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.pixels, b.pixels)
    assert not np.array_equal(a.pixels, c.pixels)
    # image n's search depends on the seed and n only, not on the batch
    one = one_pixel(tiny, x[:1], y[:1], popsize=20, maxiter=2, seed=7)
    assert np.array_equal(one.pixels[0], a.pixels[0])


@pytest.mark.parametrize("pixels", [1, 3])
def test_cone_and_full_forward_find_the_same_pixels(pixels):
    net = small_net(K=3, size=16)
    _, x = images_for(net, 2, seed=1)
    y = net.forward(x).argmax(axis=1)
    a = one_pixel(net, x, y, pixels, popsize=16, maxiter=4, seed=1, cone=True)
    b = one_pixel(net, x, y, pixels, popsize=16, maxiter=4, seed=1, cone=False, batch_size=5)
    assert np.array_equal(a.pixels, b.pixels) and np.allclose(a.x, b.x)
    assert np.array_equal(a.forward, b.forward)


def test_early_stop():
    """A logistic regression on the fence (margin 1e-4) falls to the initial
    population: the search stops before the first generation, at p(target) > 1/2."""
    net = logistic_net(D_shape=(3, 6, 6))
    _, x = images_for(net, 1, seed=2)
    z = net.forward(x)[0]
    net["fc"].params["b"] += np.array([z[1] - z[0] + 1e-4, 0.0])   # class 0 by 1e-4
    r = one_pixel(net, x, 0, targeted=1, popsize=10, maxiter=50, seed=0)
    assert r.generations[0] == 0 and r.forward[0] == 1 + 10 and r.success[0]
    assert r.confidence[0] > 0.5 and r.pred[0] == 1
    # untargeted, the stop needs p(true) < 5 %: a flip alone does not end the search
    u = one_pixel(net, x, 0, popsize=10, maxiter=5, seed=0)
    p_true = 1 - u.confidence[0] if u.pred[0] == 1 else u.confidence[0]
    assert u.success[0] and (u.generations[0] == 5 or p_true < 0.05)


def test_failure_is_reported_with_the_best_attempt(tiny, batch):
    x, y = batch
    r = one_pixel(tiny, x[:2], y[:2], popsize=5, maxiter=0, seed=0)
    assert not r.success.any()                       # 5 random pixels cannot fool it
    assert np.isfinite(r.pixels[r.attacked]).all()   # the best attempt is returned
    assert (r.forward[r.attacked] == 1 + 5).all() and (r.generations == 0).all()


def test_already_misclassified_images_are_not_attacked(tiny, batch):
    x, y = batch
    wrong = (y[:2] + 1) % 8                          # pretend the truth is another class
    r = one_pixel(tiny, x[:2], wrong, popsize=10, maxiter=1)
    assert not r.attacked.any() and np.array_equal(r.x, x[:2])
    assert (r.forward == 1).all() and np.isnan(r.pixels).all()


@pytest.mark.parametrize("kwargs, word", [({"pixels": 0}, "pixels"), ({"pixels": 1.5}, "pixels"),
                                          ({"popsize": 3}, "popsize"), ({"maxiter": -1}, "maxiter"),
                                          ({"targeted": 9}, "targeted"),
                                          ({"pixels": 4097}, "at most the image's 64x64 = 4096"),
                                          ({"cone": "no"}, "cone must be True or False"),
                                          ({"batch_size": 0}, "batch_size"),
                                          ({"batch_size": 2.5}, "batch_size")])
def test_bad_arguments_name_themselves(tiny, batch, kwargs, word):
    with pytest.raises(ValueError, match=word):
        one_pixel(tiny, batch[0][:2], batch[1][:2], **kwargs)


def test_target_equal_to_the_true_class_is_refused(tiny, batch):
    x, y = batch
    with pytest.raises(ValueError, match="targeted.*true class"):
        one_pixel(tiny, x[:2], y[:2], targeted=y[:2])

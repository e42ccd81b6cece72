"""Pixel units and FGSM: the closed form on logistic regression, bounds, zeros, errors."""

import numpy as np
import pytest

from minicnn.models import CAFFE_BGR, SHAPES_RGB, vgg16_hed
from vis.adversarial.common import loss_gradient
from vis.adversarial.fast_gradient import fgsm
from vis.adversarial.pixels import image_gradient, pixel_space, to_image, to_input

from .conftest import images_for, logistic_net, prep, small_net


@pytest.mark.parametrize("pre", [SHAPES_RGB, CAFFE_BGR])
def test_pixel_space_constants_and_round_trip(pre):
    net = small_net(pre)
    img, x = images_for(net, 2)
    space = pixel_space(net, x)
    std = np.asarray(pre["std"]).reshape(1, 3, 1, 1)
    mean = np.asarray(pre["mean"]).reshape(1, 3, 1, 1)
    assert np.allclose(space.k, pre["scale"] / std)
    assert np.allclose(space.lo, -mean / std) and np.allclose(space.hi, (pre["scale"] - mean) / std)
    assert np.allclose(to_input(img, space, net), x, atol=1e-12)
    assert np.allclose(to_image(x, net), img, atol=1e-12)


def test_image_gradient_is_the_chain_rule_by_finite_differences():
    """dJ/dimg (RGB, pixel units) against central differences through the preprocessing."""
    net = small_net(CAFFE_BGR)                     # BGR, scale 255: order and units matter
    img, x = images_for(net, 1, lo=0.2, hi=0.8)
    y = np.array([2])
    _, _, dx = loss_gradient(net, x, y, normalize=False)
    g = image_gradient(dx, pixel_space(net, x))
    rng = np.random.default_rng(1)
    for _ in range(6):
        c, i, j = rng.integers(0, 3), rng.integers(0, 16), rng.integers(0, 16)
        h = 1e-6
        plus, minus = img.copy(), img.copy()
        plus[0, c, i, j] += h
        minus[0, c, i, j] -= h
        num = (loss_gradient(net, prep(plus, net.meta), y)[0][0]
               - loss_gradient(net, prep(minus, net.meta), y)[0][0]) / (2 * h)
        assert np.isclose(g[0, c, i, j], num, rtol=1e-5, atol=1e-9)


@pytest.mark.task("fgsm")
@pytest.mark.parametrize("pre", [None, SHAPES_RGB, CAFFE_BGR])
def test_fgsm_moves_a_logistic_regression_logit_by_eps_w_l1(pre):
    """Goodfellow et al. 2015, Sec. 3: the logit changes by exactly eps * ||w||_1
    (w in pixel units: k * w per input value; no clipping inside (0.3, 0.7))."""
    net = logistic_net(meta_pre=pre)
    img, x = images_for(net, 3, lo=0.3, hi=0.7)
    W = net["fc"].params["W"]
    W *= 0.1 / float(pixel_space(net, x).k.max())   # moderate logits: no saturated softmax
    z = lambda a: a.reshape(len(a), -1) @ (W[1] - W[0])          # noqa: E731  logit of class 1
    eps = 0.02
    k = pixel_space(net, x).k
    w_px = np.abs((W[1] - W[0]).reshape(1, *x.shape[1:]) * k).sum()
    up = fgsm(net, x, 0, eps)                                    # label 0: raise class 1
    assert np.allclose(z(up.x) - z(x), eps * w_px, rtol=1e-12)
    down = fgsm(net, x, 0, eps, targeted=True)                   # target 0: lower class 1
    assert np.allclose(z(down.x) - z(x), -eps * w_px, rtol=1e-12)
    assert np.allclose(np.abs(up.delta), eps)                    # every value moved by eps


@pytest.mark.task("fgsm")
def test_fgsm_moves_nothing_where_the_gradient_is_zero():
    net = logistic_net()
    W = net["fc"].params["W"]
    W[:, :20] = 0                                    # the first 20 inputs do not matter
    img, x = images_for(net, 2, lo=0.3, hi=0.7)
    r = fgsm(net, x, 1, 0.05)
    d = r.delta.reshape(2, -1)
    assert (d[:, :20] == 0).all() and (np.abs(d[:, 20:]) > 0.049).all()


@pytest.mark.task("fgsm")
@pytest.mark.parametrize("pre", [SHAPES_RGB, CAFFE_BGR])
def test_fgsm_stays_in_the_pixel_range_and_the_ball(pre):
    net = small_net(pre)
    img, x = images_for(net, 4)                      # values up to the bounds
    r = fgsm(net, x, [0, 1, 2, 3], 16 / 255)
    assert r.image.min() >= 0 and r.image.max() <= 1
    assert np.abs(r.delta).max() <= 16 / 255 + 1e-9
    space = pixel_space(net, x)
    assert (r.x >= space.lo - 1e-9).all() and (r.x <= space.hi + 1e-9).all()
    # where no clip happened the step is exactly eps along sign(dJ/dimg)
    g = image_gradient(loss_gradient(net, x, np.arange(4))[2], space)
    free = (img + 16 / 255 * np.sign(g) >= 0) & (img + 16 / 255 * np.sign(g) <= 1)
    assert np.allclose(r.delta[free], 16 / 255 * np.sign(g[free]), atol=1e-9)


@pytest.mark.task("fgsm")
def test_fgsm_on_tiny_lowers_accuracy_and_counts_passes(tiny, batch):
    x, y = batch
    r0 = fgsm(tiny, x, y, 0.0)
    assert np.array_equal(r0.x, x) and np.array_equal(r0.pred, r0.clean_pred)
    r = fgsm(tiny, x, y, 8 / 255)
    assert (r.pred == y).mean() < (r.clean_pred == y).mean()
    assert r.forward == 2 and r.backward == 1
    assert np.array_equal(r.success, r.pred != y)


@pytest.mark.parametrize("eps", [-0.1, float("nan"), float("inf"), "big", None])
def test_bad_epsilon_names_it(tiny, batch, eps):
    with pytest.raises(ValueError, match="epsilon"):
        fgsm(tiny, batch[0], batch[1], eps)


def test_linf_epsilon_above_one_is_refused_l2_is_not(tiny, batch):
    from vis.adversarial.iterative import pgd
    with pytest.raises(ValueError, match="epsilon must be at most 1 for the L-inf norm.*got 5"):
        fgsm(tiny, batch[0], batch[1], 5)
    with pytest.raises(ValueError, match="epsilon must be at most 1 for the L-inf norm"):
        pgd(tiny, batch[0], batch[1], 1.5, steps=1)
    assert pgd(tiny, batch[0], batch[1], 1.5, norm="2", steps=1).x.shape == batch[0].shape


@pytest.mark.parametrize("label", [8, -1, [0, 1], 2.5])
def test_bad_label_names_it(tiny, batch, label):
    with pytest.raises(ValueError, match="label"):
        fgsm(tiny, batch[0], label, 0.01)


def test_a_trunk_without_class_scores_is_refused():
    net = vgg16_hed(seed=None)
    with pytest.raises(ValueError, match="no class scores"):
        fgsm(net, np.zeros((1, 3, 32, 32), np.float32), 0, 0.01)


def test_a_batch_that_is_not_nchw_floats_is_refused(tiny, batch):
    with pytest.raises(ValueError, match="x must be"):
        fgsm(tiny, batch[0][0], 0, 0.01)
    with pytest.raises(ValueError, match=r"x must be.*got uint8 \(1, 3, 64, 64\) \(preprocess"):
        fgsm(tiny, np.zeros((1, 3, 64, 64), np.uint8), 0, 0.01)


@pytest.mark.parametrize("targeted", [np.array([1, 2, 3, 4]), 1, "yes", None])
def test_targeted_takes_only_true_or_false(tiny, batch, targeted):
    with pytest.raises(ValueError, match="targeted must be True or False"):
        fgsm(tiny, batch[0], batch[1], 0.01, targeted=targeted)


@pytest.mark.parametrize("bounds", [5, (0, "x"), (1, 0)])
def test_bounds_must_be_a_low_high_pair(tiny, batch, bounds):
    with pytest.raises(ValueError, match=r"bounds must be \(low, high\)"):
        fgsm(tiny, batch[0], batch[1], 0.01, bounds=bounds)

"""Fooling images and DeepFool: the target is reached; DeepFool's closed form on a linear net."""

import numpy as np
import pytest

from vis.adversarial.boundary import deepfool
from vis.adversarial.fooling import fooling_image

from .conftest import images_for, logistic_net, small_net


def _l2(d):
    return np.sqrt((d.reshape(len(d), -1) ** 2).sum(axis=1))


def test_a_fooling_image_is_predicted_as_its_target(tiny, batch):
    """Seven of the eight test shapes reach their target within cs231n's budget.
    The eighth (a cross pushed to "arrow") shows why the recipe can fail: climbing
    S_arrow raises every score with the image's contrast, the leader's fastest;
    it is reported as a failure, never as a success."""
    x, y = batch
    target = (y + 3) % 8
    r = fooling_image(tiny, x, target)
    pred = np.asarray(tiny.forward(r.x)).argmax(axis=1)     # a fresh forward agrees
    assert np.array_equal(pred, r.pred) and np.array_equal(r.success, pred == target)
    assert r.success.sum() == 7 and not r.success[3]
    assert (r.iterations[r.success] >= 1).all() and r.iterations[3] == 100
    # each step has L2 length lr = 1 (pixel units), so the change is at most that many
    assert (_l2(r.delta) <= r.iterations + 1e-4).all()
    assert np.array_equal(r.forward, r.iterations + 1) and np.array_equal(r.backward, r.iterations)
    assert np.allclose(r.magnified, np.clip(0.5 + 10 * r.delta, 0, 1))
    assert r.image.min() >= 0 and r.image.max() <= 1


def test_a_target_already_predicted_takes_no_step(tiny, batch):
    x, y = batch
    clean = np.asarray(tiny.forward(x)).argmax(axis=1)
    r = fooling_image(tiny, x[:2], clean[:2])
    assert (r.iterations == 0).all() and np.array_equal(r.x, x[:2]) and r.success.all()


def test_too_small_a_budget_fails_honestly(tiny, batch):
    x, y = batch
    r = fooling_image(tiny, x[:2], (y[:2] + 1) % 8, lr=1e-4, max_iter=2)
    assert not r.success.any() and (r.iterations == 2).all()
    assert np.allclose(_l2(r.delta), 2e-4, rtol=1e-2)          # two steps of 1e-4


@pytest.mark.parametrize("kwargs, word", [({"target": 8}, "target"), ({"lr": 0}, "lr"),
                                          ({"max_iter": 0}, "max_iter")])
def test_fooling_bad_arguments(tiny, batch, kwargs, word):
    args = dict(target=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        fooling_image(tiny, batch[0][:1], **args)


def test_deepfool_on_an_affine_binary_classifier_is_one_exact_step():
    """Moosavi-Dezfooli et al. 2016, Eq. 3: for an affine f the minimal step is
    r = -f(x) w / ||w||^2, found in one iteration (times 1 + overshoot, + 1e-4)."""
    net = logistic_net()
    img, x = images_for(net, 3, lo=0.4, hi=0.6)
    W, b = net["fc"].params["W"], net["fc"].params["b"]
    b[:] = [(W[1] - W[0]).sum() * 0.5, 0.0]                  # the hyperplane through grey
    r = deepfool(net, x, overshoot=0.02)
    s = net.forward(x)
    w = (W[1] - W[0]).reshape(1, -1)
    dist = np.abs(s[:, 1] - s[:, 0]) / np.linalg.norm(w)     # distance to the hyperplane
    assert (r.iterations == 1).all() and r.success.all()
    assert np.allclose(_l2(r.r), (dist + 1e-4) * 1.02, rtol=1e-9)
    assert np.allclose(_l2(r.delta), (dist + 1e-4) * 1.02, rtol=1e-9)   # no clipping here
    cos = (r.r.reshape(3, -1) @ w.T).ravel() / (_l2(r.r) * np.linalg.norm(w))
    assert np.allclose(np.abs(cos), 1)


def test_deepfool_changes_every_label_with_small_steps(tiny, batch):
    x, _ = batch
    r = deepfool(tiny, x)
    assert r.success.all() and (r.pred != r.clean_pred).all()
    assert np.median(_l2(r.delta)) < 1.0                     # a fraction of one grey image
    assert np.array_equal(r.backward, 8 * r.iterations)      # 8 classes: one backward each


def test_deepfool_bad_arguments(tiny, batch):
    with pytest.raises(ValueError, match="num_classes"):
        deepfool(tiny, batch[0][:1], num_classes=1)
    with pytest.raises(ValueError, match="overshoot"):
        deepfool(small_net(), images_for(small_net(), 1)[1], overshoot=-0.1)

"""Universal perturbations and the adversarial patch, on small budgets.

The fooling rates and patch success figures with the papers' budgets come
from ``benchmarks/adversarial_tables.py``; these tests check the constraints,
the bookkeeping and the patch operator's gradient.
"""

import numpy as np
import pytest

from minicnn.models import CAFFE_BGR
from vis.adversarial.patch import (_patch_gradient, adversarial_patch, apply_patch, disc,
                                   patch_success, Placement)
from vis.adversarial.universal import apply_perturbation, fooling_rate, universal_perturbation

from .conftest import images_for, small_net


@pytest.mark.parametrize("norm, xi", [("inf", 12 / 255), ("2", 1.0)])
def test_universal_perturbation_stays_in_the_ball_and_reports_its_rate(tiny, batch, norm, xi):
    x, _ = batch
    u = universal_perturbation(tiny, x[:6], xi, norm=norm, max_passes=1, x_val=x[6:])
    size = np.abs(u.v).max() if norm == "inf" else np.sqrt((u.v ** 2).sum())
    assert size <= xi + 1e-6 and size > 0
    rate, clean, pred = fooling_rate(tiny, x[:6], u.v)
    assert rate == u.fooling_rate and np.array_equal(pred, u.pred)
    assert u.fooling_rate_val == fooling_rate(tiny, x[6:], u.v)[0]
    assert u.history[0] == 0 and u.history[-1] == u.fooling_rate and u.passes == 1
    assert u.image.min() >= 0 and u.image.max() <= 1


def test_universal_perturbation_is_reproducible_and_stops_at_its_target():
    net = small_net(K=3)
    _, x = images_for(net, 10, seed=3)
    a = universal_perturbation(net, x, 0.2, max_passes=3, seed=1)
    b = universal_perturbation(net, x, 0.2, max_passes=3, seed=1)
    assert np.array_equal(a.v, b.v)
    easy = universal_perturbation(net, x, 0.2, delta=0.99, max_passes=5)   # 1 % fooled is enough
    assert (easy.history[:-1] < 0.01).all()                  # it stops at the first pass
    assert easy.history[-1] >= 0.01 or easy.passes == 5       # that reaches 1 - delta


def test_apply_perturbation_clips_and_reorders_channels():
    net = small_net(CAFFE_BGR)
    img, x = images_for(net, 2)
    v = np.zeros((3, 16, 16))
    v[0] = 0.5                                                 # red only, in RGB
    out = apply_perturbation(net, x, v)
    from vis.adversarial.pixels import to_image
    changed = to_image(out, net) - img
    assert np.allclose(changed[:, 0], np.minimum(0.5, 1 - img[:, 0]))
    assert np.allclose(changed[:, 1:], 0)


@pytest.mark.parametrize("kwargs, word", [({"xi": -1}, "xi"), ({"norm": "1"}, "norm"),
                                          ({"delta": 1.0}, "delta"),
                                          ({"max_passes": 0}, "max_passes")])
def test_universal_bad_arguments(tiny, batch, kwargs, word):
    args = dict(xi=0.05)
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        universal_perturbation(tiny, batch[0][:2], **args)


def test_patch_operator_pastes_a_disc_and_its_gradient_is_the_adjoint():
    rng = np.random.default_rng(0)
    images = rng.random((3, 3, 20, 24))
    patch = rng.random((3, 20, 20))
    place = Placement(scale=np.array([1.0, 0.5, 0.7]), angle=np.array([0.0, 0.4, -0.3]),
                      cy=np.array([10.0, 8.0, 11.0]), cx=np.array([12.0, 9.0, 13.0]))
    out, flat, inside = apply_patch(images, patch, place)
    assert np.array_equal(out[~np.broadcast_to(inside[:, None], out.shape)],
                          images[~np.broadcast_to(inside[:, None], out.shape)])
    # full size, no rotation, centred on a 20x20 window: the patch itself, inside the disc
    window = out[0, :, :, 2:22]
    assert np.array_equal(window[:, disc(20)], patch[:, disc(20)])
    # A is linear in p on the disc: <A(p) - A(0), D> == <p, dA^T D> for any D
    D = rng.standard_normal(out.shape)
    lhs = ((out - apply_patch(images, np.zeros_like(patch), place)[0]) * D).sum()
    assert np.isclose(lhs, (patch * _patch_gradient(D, flat, inside, 20)).sum())


def test_patch_training_lowers_its_loss_and_is_seeded(tiny, batch):
    x, y = batch
    a = adversarial_patch(tiny, x, target=3, scale=0.5, steps=12, batch_size=8, lr=0.05)
    b = adversarial_patch(tiny, x, target=3, scale=0.5, steps=12, batch_size=8, lr=0.05)
    assert np.array_equal(a.patch, b.patch)
    assert a.loss_history[-4:].mean() < a.loss_history[:4].mean()
    assert a.patch.min() >= 0 and a.patch.max() <= 1 and a.forward == 12 * 8
    s = patch_success(tiny, x, a.patch, 3, [0.2, 0.6], labels=y)
    assert s.counted == int((y != 3).sum()) and s.success.shape == (2,)
    assert np.allclose(s.area, np.pi / 4 * np.array([0.2, 0.6]) ** 2)


@pytest.mark.parametrize("scale", [0, 1.5, (0.5, 0.2), (0.1, 0.2, 0.3)])
def test_patch_bad_scale(tiny, batch, scale):
    with pytest.raises(ValueError, match="scale"):
        adversarial_patch(tiny, batch[0], target=1, scale=scale, steps=1)

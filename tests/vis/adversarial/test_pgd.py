"""BIM/PGD: every iterate inside the ball and the pixel range, the L2 step and ball, defaults."""

import numpy as np
import pytest

from minicnn.models import CAFFE_BGR, SHAPES_RGB
from vis.adversarial.common import loss_gradient
from vis.adversarial.iterative import default_steps, pgd, project, random_point
from vis.adversarial.pixels import image_gradient, pixel_space

from .conftest import images_for, small_net


def _l2(d):
    return np.sqrt((d.reshape(len(d), -1) ** 2).sum(axis=1))


@pytest.mark.parametrize("norm, eps, step", [("inf", 6 / 255, 2 / 255), ("2", 0.3, 0.2)])
@pytest.mark.parametrize("pre", [SHAPES_RGB, CAFFE_BGR])
@pytest.mark.parametrize("start", [False, True])
def test_every_iterate_stays_in_the_ball_and_the_pixel_range(norm, eps, step, pre, start):
    """The t-step run is the first t steps of a longer one (deterministic, same seed),
    so checking the final iterate of runs of 1..5 steps checks every step."""
    net = small_net(pre)
    img, x = images_for(net, 3)                         # values reach both bounds
    space = pixel_space(net, x)
    previous = None
    for t in range(1, 6):
        r = pgd(net, x, [0, 1, 2], eps, step=step, steps=t, norm=norm, random_start=start,
                seed=3)
        size = np.abs(r.delta).reshape(3, -1).max(axis=1) if norm == "inf" else _l2(r.delta)
        assert (size <= eps + 1e-9).all()
        assert r.image.min() >= 0 and r.image.max() <= 1
        assert (r.x >= space.lo - 1e-9).all() and (r.x <= space.hi + 1e-9).all()
        if previous is not None:                    # the same path, one step longer
            assert np.array_equal(r.loss_history[:-1], previous.loss_history)
        previous = r
        assert r.loss_history.shape == (t + 1, 3) and r.pred_history.shape == (t + 1, 3)
        assert r.forward == t + 1 + int(start) and r.backward == t


def test_projection_is_onto_the_ball_not_the_sphere():
    rng = np.random.default_rng(0)
    d = rng.standard_normal((4, 3, 5, 6))
    n = _l2(d)
    inside = project(d, float(n.max()) + 1, "2")
    assert np.array_equal(inside, d)                            # inside: left alone
    eps = float(n.min()) / 2
    out = project(d, eps, "2")
    assert np.allclose(_l2(out), eps)                           # outside: onto the boundary
    assert np.allclose(out / _l2(out)[:, None, None, None], d / n[:, None, None, None])
    assert np.array_equal(project(d, 0.5, "inf"), np.clip(d, -0.5, 0.5))


def test_l2_step_is_along_the_normalized_gradient_not_its_sign():
    """One L2 step from an interior image moves by exactly ``step`` along g / ||g||
    (pixel units) — strictly inside the ball when step < eps."""
    net = small_net(CAFFE_BGR)
    img, x = images_for(net, 2, lo=0.3, hi=0.7)
    r = pgd(net, x, [1, 3], epsilon=0.5, step=0.05, steps=1, norm="2")
    g = image_gradient(loss_gradient(net, x, np.array([1, 3]), normalize=False)[2],
                       pixel_space(net, x))
    expected = 0.05 * g / _l2(g)[:, None, None, None]
    assert np.allclose(r.delta, expected, atol=1e-12)
    assert np.allclose(_l2(r.delta), 0.05)
    assert len(np.unique(np.round(np.abs(r.delta), 12))) > 10    # not a sign step


def test_random_start_is_uniform_in_the_ball_and_seeded():
    rng = np.random.default_rng(0)
    p = random_point((2000, 3, 2, 2), 0.5, "2", rng)
    r = _l2(p)
    assert (r <= 0.5 + 1e-12).all()
    # uniform in the 12-ball: P(|p| <= 0.5 t) = t^12; the median radius is 0.5 * 0.5^(1/12)
    assert abs(np.median(r) - 0.5 * 0.5 ** (1 / 12)) < 0.01
    q = random_point((1000, 3, 2, 2), 0.1, "inf", rng)
    assert np.abs(q).max() <= 0.1 and np.abs(q).max() > 0.099
    net = small_net()
    _, x = images_for(net, 2, lo=0.2, hi=0.8)
    a = pgd(net, x, 0, 0.1, steps=2, random_start=True, seed=5)
    b = pgd(net, x, 0, 0.1, steps=2, random_start=True, seed=5)
    c = pgd(net, x, 0, 0.1, steps=2, random_start=True, seed=6)
    assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, c.x)


def test_kurakin_defaults():
    """Kurakin et al. 2017, Sec. 2.2: alpha = 1 grey level, min(eps + 4, 1.25 eps) steps."""
    assert default_steps(8 / 255) == (10, 1 / 255)
    assert default_steps(16 / 255) == (20, 1 / 255)
    assert default_steps(2 / 255) == (2, 1 / 255)
    assert default_steps(1 / 255)[0] == 1 and default_steps(0.0)[0] == 1
    assert default_steps(0.5, "2") == (10, 0.125)


def test_pgd_beats_fgsm_on_tiny_and_raises_the_loss(tiny, batch):
    from vis.adversarial.fast_gradient import fgsm
    x, y = batch
    r = pgd(tiny, x, y, 4 / 255)
    assert r.steps == 5 and np.isclose(r.step, 1 / 255)
    assert (r.pred == y).sum() <= (fgsm(tiny, x, y, 4 / 255).pred == y).sum()
    assert (r.loss_history[-1] >= r.loss_history[0]).all()
    t = pgd(tiny, x, (y + 1) % 8, 8 / 255, targeted=True)
    assert (t.loss_history[-1] <= t.loss_history[0]).all()
    assert np.array_equal(t.success, t.pred == (y + 1) % 8) and t.true_label is None


@pytest.mark.parametrize("kwargs, word", [({"norm": "1"}, "norm"), ({"norm": "fro"}, "norm"),
                                          ({"steps": 0}, "steps"), ({"steps": 2.5}, "steps"),
                                          ({"step": -1}, "step"), ({"epsilon": -1e-3}, "epsilon"),
                                          ({"targeted": np.array([1, 2])}, "targeted must be True"),
                                          ({"random_start": "yes"}, "random_start")])
def test_bad_arguments_name_themselves(tiny, batch, kwargs, word):
    args = dict(epsilon=0.01)
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        pgd(tiny, batch[0], batch[1], **args)

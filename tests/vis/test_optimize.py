"""The loop: each step rule, L-BFGS-B inside its bounds, seeds, non-finite stops."""

import warnings

import numpy as np
import pytest

from minicnn import models
from vis import objectives as O
from vis import transforms as T
from vis.optimize import NonFiniteWarning, optimize, pixel_bounds


@pytest.fixture(scope="module")
def net():
    return models.load("tiny")


def quadratic(c):
    """An image-space term: -||x - c||^2, maximal at x = c."""
    return O.Term("quad", None, lambda x: (-((x - c) ** 2).reshape(len(x), -1).sum(axis=1),
                                          -2 * (x - c)))


def test_adam_reaches_the_maximum_of_a_concave_quadratic(net):
    c = np.random.default_rng(0).uniform(-1, 1, (2, 3, 5, 4))
    r = optimize(net, quadratic(c), np.zeros_like(c), steps=400, step="adam", lr=0.05,
                 progress=False)
    assert np.abs(r.x - c).max() < 1e-3
    assert r.history["quad"].shape == (400, 2)
    assert (r.history["quad"][-1] > r.history["quad"][0]).all()


def test_lbfgs_reaches_it_in_few_evaluations_and_counts_them(net):
    c = np.random.default_rng(1).uniform(-1, 1, (1, 3, 4, 4))
    r = optimize(net, quadratic(c), np.zeros_like(c), steps=8, step="lbfgs", progress=False)
    assert np.abs(r.x - c).max() < 1e-6 and r.steps == len(r.history["objective"]) <= 8


def test_lbfgs_never_leaves_the_pixel_bounds(net):
    seen = []

    def record(x):
        seen.append((x.min(axis=(0, 2, 3)), x.max(axis=(0, 2, 3))))
        return (x * x).reshape(len(x), -1).sum(axis=1), 2 * x   # pushes every pixel outward

    x0 = np.random.default_rng(2).uniform(-0.5, 0.5, (1, 3, 16, 16)).astype(np.float32)
    r = optimize(net, O.Term("push", None, record) + 0.01 * O.class_score(1), x0, steps=12,
                 step="lbfgs", bounds="pixels", progress=False)
    lo, hi = (b.ravel() for b in pixel_bounds(net))
    assert len(seen) >= 5 and all((mn >= lo).all() and (mx <= hi).all() for mn, mx in seen)
    assert np.isclose(np.abs(r.x).max(), 2.0)                # pushed onto the box: (0-.5)/.25
    assert r.image.min() >= 0 and r.image.max() <= 1


def test_pixel_bounds_are_the_rgb_box_through_preprocessing():
    lo, hi = pixel_bounds(models.vgg16_hed(seed=None))
    assert np.allclose(lo.ravel(), [-104.00699, -116.66877, -122.67892])
    assert np.allclose(hi.ravel(), 255 - np.array([104.00699, 116.66877, 122.67892]))


@pytest.mark.task("deepdream-step")
def test_gradient_steps_by_hand(net):
    c = np.zeros((2, 3, 2, 2))
    x0 = np.ones_like(c)
    x0[1] *= 3                                                 # gradient -2 (x - c)
    one = {s: optimize(net, quadratic(c), x0, steps=1, step=s, lr=0.1, progress=False).x
           for s in ("ascent", "normalized", "sgd", "adam", "progress")}
    assert np.allclose(one["ascent"], x0 - 0.2 * x0)
    assert np.allclose(one["normalized"], x0 - 0.1)            # mean |g| = 1 unit of lr, per image
    assert np.allclose(one["sgd"], x0 - 0.2 * x0)              # first momentum step = plain step
    assert np.allclose(one["adam"], x0 - 0.1, atol=1e-7)       # Adam's first step is lr * sign
    g2 = (4 * x0 ** 2).reshape(2, -1).sum(axis=1).reshape(-1, 1, 1, 1)
    assert np.allclose(one["progress"], x0 - np.minimum(0.1, 2.0 / g2) * 2 * x0)


def test_learning_rate_schedule(net):
    c = np.zeros((1, 3, 1, 2))
    r = optimize(net, quadratic(c), np.ones_like(c), steps=3, step="ascent",
                 lr=lambda i: [0.1, 0.0, 0.25][i], progress=False)
    assert np.allclose(r.x, 0.8 * 0.5)


def test_same_seed_same_image_other_seed_other_image(net):
    x0 = np.random.default_rng(3).standard_normal((2, 3, 32, 32)).astype(np.float32)
    goal = O.channel("conv2_1", [1, 4]) - 1e-3 * O.l2()
    run = lambda seed: optimize(net, goal, x0, steps=6, step="adam", lr=0.1, seed=seed,
                                transforms=[T.jitter(4), T.blur_every(2, 0.5)],
                                bounds="pixels", progress=False).x
    a, b, c = run(7), run(7), run(8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_history_and_final(net):
    x0 = np.zeros((3, 3, 32, 32), np.float32)
    r = optimize(net, O.class_score([0, 1, 2]) - 1e-3 * O.l2(), x0, steps=4, progress=False)
    assert set(r.history) == {"objective", "score", "l2"} and r.history["score"].shape == (4, 3)
    assert np.allclose(r.history["objective"], r.history["score"] - 1e-3 * r.history["l2"])
    assert r.final["score"].shape == (3,) and r.steps == 4 and r.stopped == "steps"
    assert (r.final["score"] > r.history["score"][0]).all()


def test_a_non_finite_objective_stops_and_keeps_the_last_finite_image(net):
    calls = []

    def blows_up(x):
        calls.append(1)
        value = np.full(len(x), np.nan if len(calls) > 3 else 1.0)
        return value, np.ones_like(x)

    x0 = np.zeros((1, 3, 8, 8))
    with pytest.warns(NonFiniteWarning, match="step 3"):
        r = optimize(net, O.Term("bad", None, blows_up), x0, steps=10, step="ascent", lr=1.0,
                     progress=False)
    assert r.stopped == "non-finite objective at step 3" and r.steps == 3
    assert np.allclose(r.x, 3.0) and np.isfinite(r.x).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteWarning)
        calls.clear()
        r = optimize(net, O.Term("bad", None, blows_up), x0, steps=10, step="lbfgs",
                     progress=False)
    assert r.stopped.startswith("non-finite objective at step 3") and np.isfinite(r.x).all()


def test_bad_input(net):
    x0 = np.zeros((1, 3, 8, 8))
    goal = O.l2()
    with pytest.raises(ValueError, match="unknown step 'rmsprop'.*adam, lbfgs"):
        optimize(net, goal, x0, step="rmsprop")
    with pytest.raises(ValueError, match="unknown bounds"):
        optimize(net, goal, x0, bounds="rgb")
    with pytest.raises(ValueError, match="L-BFGS-B"):
        optimize(net, goal, x0, step="lbfgs", transforms=[T.jitter(2)])
    with pytest.raises(ValueError, match=r"x0: expected a batch \(N, C, H, W\)"):
        optimize(net, goal, x0[0])

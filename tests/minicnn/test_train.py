"""Losses, optimizers and the training loop."""

import numpy as np
import pytest

from minicnn import models
from minicnn.gradcheck import numerical_gradient, rel_error
from minicnn.losses import softmax_cross_entropy
from minicnn.optim import SGD, Adam
from minicnn.train import accuracy, train


@pytest.mark.task("softmax-cross-entropy")
@pytest.mark.task("gradient-check")
def test_cross_entropy_value_and_gradient(rng):
    s = rng.standard_normal((4, 5)) * 3
    y = np.array([0, 4, 2, 2])
    loss, d = softmax_cross_entropy(s, y)
    p = np.exp(s) / np.exp(s).sum(1, keepdims=True)
    assert np.isclose(loss, -np.mean(np.log(p[np.arange(4), y])))
    num = numerical_gradient(lambda z: softmax_cross_entropy(z, y)[0], s.copy())
    assert rel_error(num, d) < 1e-8


@pytest.mark.task("softmax-cross-entropy")
def test_cross_entropy_is_stable_for_huge_scores():
    loss, d = softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([1, 0]))
    assert np.isclose(loss, 500.0) and np.isfinite(d).all()


def test_cross_entropy_bad_labels():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


def test_sgd_momentum_by_hand():
    p = {"w": np.array([1.0])}
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step(p, {"w": np.array([2.0])})        # v = 2,        w = 1 - 0.2 = 0.8
    opt.step(p, {"w": np.array([1.0])})        # v = 1.8 + 1,  w = 0.8 - 0.28 = 0.52
    assert np.allclose(p["w"], 0.52)


def test_adam_first_step_is_lr_times_sign():
    p = {"w": np.array([1.0, -1.0])}
    Adam(lr=0.01).step(p, {"w": np.array([3.0, -0.5])})
    assert np.allclose(p["w"], [0.99, -0.99])


def test_adam_minimizes_a_quadratic():
    p = {"x": np.array([5.0, -3.0])}
    opt = Adam(lr=0.1)
    for _ in range(500):
        opt.step(p, {"x": 2 * p["x"]})
    assert np.abs(p["x"]).max() < 1e-2


def _toy(rng, n=96):
    """Bright square in the left or the right half: a task tiny learns in a few steps."""
    x = rng.standard_normal((n, 3, 16, 16)).astype(np.float32) * 0.3
    y = rng.integers(0, 2, n)
    for i in range(n):
        c = 2 if y[i] else 10
        x[i, :, 6:10, c:c + 4] += 2.0
    return x, y


def test_training_learns_and_is_deterministic(rng):
    x, y = _toy(rng)
    runs = []
    for _ in range(2):
        net = models.tiny(num_classes=2, width=(4, 8), seed=0)
        hist = train(net, x, y, epochs=8, batch_size=16, optimizer=Adam(3e-3), seed=1,
                     progress=False, val=(x, y))
        runs.append((net.state_dict(), hist))
    (w1, h1), (w2, h2) = runs
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)          # same seed, same weights
    assert np.mean(h1["loss"][-6:]) < 0.3 * np.mean(h1["loss"][:6])
    assert h1["val_acc"][-1] >= 0.9
    assert accuracy(net, x, y) == h1["val_acc"][-1]

"""softmax and log_softmax: probabilities, stability, the axis."""

import numpy as np
import pytest

from minicnn.losses import log_softmax, softmax


def test_softmax_is_exp_normalised_and_matches_log_softmax(rng):
    s = rng.standard_normal((4, 7)) * 3
    p = softmax(s)
    expected = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p, expected, rtol=1e-13)
    np.testing.assert_allclose(np.log(p), log_softmax(s), rtol=1e-12)


def test_softmax_is_stable_for_huge_scores():
    p = softmax(np.array([[1000.0, 1000.0 + np.log(3.0)], [-1e4, 0.0]]))
    np.testing.assert_allclose(p, [[0.25, 0.75], [0.0, 1.0]], rtol=1e-12, atol=0)
    assert np.isfinite(p).all()


def test_softmax_axis(rng):
    s = rng.standard_normal((3, 5, 2))
    p = softmax(s, axis=-1)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(p, np.moveaxis(softmax(np.moveaxis(s, -1, 1)), 1, -1))
    assert softmax(np.float32([[1, 2]])).dtype == np.float32


def test_softmax_against_torch(rng):
    torch = pytest.importorskip("torch")
    s = rng.standard_normal((5, 9)) * 10
    np.testing.assert_allclose(softmax(s), torch.softmax(torch.from_numpy(s), dim=1).numpy(),
                               rtol=1e-12, atol=1e-15)

"""t-SNE from scratch (vis/features/tsne.py) against its definition and scikit-learn."""

import numpy as np
import pytest

from minicnn import models
from vis.features.codes import codes
from vis.features.sources import ShapesSource
from vis.features.tsne import (conditional_probabilities, kl_divergence, kl_gradient,
                               squared_distances, tsne)


def trustworthiness(X, Y, k):
    """Venna & Kaski 2001, written out: penalise map neighbours that are far in X.

    T(k) = 1 - 2 / (N k (2N - 3k - 1)) sum_i sum_{j in U_k(i)} (r(i, j) - k),
    U_k(i) the map's k nearest neighbours of i that are not among X's k
    nearest, r(i, j) the rank of j among i's neighbours in X.
    """
    N = len(X)
    dx, dy = squared_distances(X), squared_distances(Y)
    np.fill_diagonal(dx, np.inf)
    np.fill_diagonal(dy, np.inf)
    rank_x = np.empty((N, N), np.int64)
    rank_x[np.arange(N)[:, None], np.argsort(dx, axis=1, kind="stable")] = np.arange(N)
    rank_x += 1                                              # nearest = rank 1
    near_y = np.argsort(dy, axis=1, kind="stable")[:, :k]
    ranks = np.take_along_axis(rank_x, near_y, axis=1)
    penalty = np.clip(ranks - k, 0, None).sum()
    return 1 - 2 / (N * k * (2 * N - 3 * k - 1)) * penalty


@pytest.fixture(scope="module")
def gap_codes():
    c = codes(models.load("tiny"), ShapesSource(1000, seed=12345), "gap", progress=False)
    return np.asarray(c.codes, np.float64), c.labels


@pytest.fixture(scope="module")
def ours(gap_codes):
    return tsne(gap_codes[0], seed=0)


@pytest.mark.task("tsne-perplexity")
def test_perplexity_search_hits_the_target():
    X = np.random.default_rng(0).standard_normal((300, 10))
    for target in (5.0, 30.0, 100.0):
        P, beta, reached = conditional_probabilities(squared_distances(X), target)
        assert np.abs(reached - target).max() <= 1e-5
        np.testing.assert_allclose(P.sum(axis=1), 1)
        assert (np.diag(P) == 0).all()
        Pm = np.where(P > 0, P, 1)
        bits = -(P * np.log2(Pm)).sum(axis=1)                 # H in bits, from the rows
        assert np.abs(2 ** bits - target).max() <= 1e-5       # Perp = 2^H (Sec. 2)
        d = squared_distances(X)                              # p_j|i ~ exp(-beta_i d_ij)
        i, j, m = 0, 1, 2
        np.testing.assert_allclose(np.log(P[i, j] / P[i, m]), -beta[i] * (d[i, j] - d[i, m]))


def test_gradient_is_the_derivative_of_kl():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12, 4))
    Pc, _, _ = conditional_probabilities(squared_distances(X), 4.0)
    P = (Pc + Pc.T) / 24
    Y = rng.standard_normal((12, 2))
    g = kl_gradient(P, Y)
    h = 1e-6
    for i, d in [(0, 0), (5, 1), (11, 0)]:
        Yp, Ym = Y.copy(), Y.copy()
        Yp[i, d] += h
        Ym[i, d] -= h
        fd = (kl_divergence(P, Yp, eps=0) - kl_divergence(P, Ym, eps=0)) / (2 * h)
        assert g[i, d] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_first_step_is_the_gradient_step():
    """From a given map, one step is y - lr * gains * grad with gains 0.8, re-centred."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 5))
    Y0 = rng.standard_normal((30, 2))
    r = tsne(X, perplexity=5, n_iter=1, init=Y0, early_exaggeration=1.0, learning_rate=10.0)
    Pc, _, _ = conditional_probabilities(squared_distances(X), 5)
    Y1 = Y0 - 10.0 * 0.8 * kl_gradient((Pc + Pc.T) / 60, Y0)
    np.testing.assert_allclose(r.embedding, Y1 - Y1.mean(0), rtol=1e-5, atol=1e-6)


def test_kl_decreases_and_the_seed_fixes_the_map(ours, gap_codes):
    kl = ours.kl_history
    after = kl[kl[:, 0] >= 300, 1]                     # once the exaggeration is over
    assert after[-1] < after[0] and (np.diff(after) <= 1e-3 * after[0]).mean() > 0.9
    assert ours.kl == kl[-1, 1] and kl[-1, 0] == 1000
    assert np.abs(ours.perplexity - 30).max() <= 1e-5
    small = gap_codes[0][:100]
    a, b = tsne(small, perplexity=10, n_iter=300, seed=3), tsne(small, perplexity=10,
                                                                 n_iter=300, seed=3)
    np.testing.assert_array_equal(a.embedding, b.embedding)
    assert not np.array_equal(a.embedding, tsne(small, perplexity=10, n_iter=300,
                                                 seed=4).embedding)


def test_trustworthiness_on_tiny_codes(ours, gap_codes):
    X = gap_codes[0]
    t = trustworthiness(X, ours.embedding, 10)
    print(f"trustworthiness (k=10) on 1000 tiny gap codes: {t:.4f}")
    assert t >= 0.9
    manifold = pytest.importorskip("sklearn.manifold")
    assert manifold.trustworthiness(X, ours.embedding, n_neighbors=10) == pytest.approx(t)
    ref = manifold.TSNE(method="exact", init="random", learning_rate=200.0, perplexity=30.0,
                        random_state=0).fit(X)
    t_ref = manifold.trustworthiness(X, ref.embedding_, n_neighbors=10)
    print(f"scikit-learn exact: {t_ref:.4f}; KL ours {ours.kl:.4f}, "
          f"scikit-learn {ref.kl_divergence_:.4f}")
    assert abs(t - t_ref) <= 0.02


def test_bad_input():
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValueError, match="perplexity 30"):
        tsne(X)                                           # perplexity >= number of points
    with pytest.raises(ValueError, match="perplexity 19"):
        tsne(X, perplexity=19)
    with pytest.raises(ValueError, match="max_points=10.*choice"):
        tsne(X, perplexity=5, max_points=10)
    with pytest.raises(ValueError, match="NaN"):
        tsne(np.where(np.arange(60).reshape(20, 3) == 7, np.nan, X), perplexity=5)
    with pytest.raises(ValueError, match="init"):
        tsne(X, perplexity=5, init=np.zeros((3, 2)))

r"""t-SNE, exact, from scratch: van der Maaten & Hinton 2008.

A 2-D map of high-dimensional points (CNN codes) that keeps neighbours
together. Three steps, each a few lines below.

**1. Affinities in the input space** (Sec. 2 and 3.1). Point i picks j as its
neighbour with a Gaussian probability of the squared distance::

    p_{j|i} = exp(-beta_i d_ij^2) / sum_{k != i} exp(-beta_i d_ik^2),   beta_i = 1 / (2 sigma_i^2)

and sigma_i is set per point by a binary search so that the row has the
user's *perplexity*, "a smooth measure of the effective number of
neighbours" (Sec. 2; "typical values are between 5 and 50")::

    Perp(P_i) = 2^{H(P_i)} = e^{H_nats},   H_nats = log sum_j e^{-beta d_j} + beta <d>_P

(:func:`conditional_probabilities`; the search stops when ``|Perp - target|
<= tol`` for every row). The joint affinity is symmetric (Sec. 3.1)::

    p_ij = (p_{j|i} + p_{i|j}) / (2N)

**2. Affinities in the map** (Sec. 3.3): a Student t with one degree of
freedom, whose heavy tail lets moderately distant points sit far apart (the
"crowding problem", Sec. 3.2)::

    q_ij = (1 + ||y_i - y_j||^2)^-1 / sum_{k != l} (1 + ||y_k - y_l||^2)^-1

**3. Gradient descent on KL(P || Q) = sum p_ij log(p_ij / q_ij)** with the
gradient (Sec. 3.3, Eq. 5)::

    dC/dy_i = 4 sum_j (p_ij - q_ij) (y_i - y_j) (1 + ||y_i - y_j||^2)^-1

    update = momentum * update - learning_rate * gains * grad;   y += update

* **momentum** 0.5 for the first 250 iterations, then 0.8 (Sec. 4.2);
* **gains** per coordinate (Jacobs 1988, the paper's adaptive learning
  rate, Sec. 4.2): +0.2 where the step keeps its direction (the last
  update and the new gradient have opposite signs), x0.8 where it turns
  back, never below 0.01 (the reference tsne.py and scikit-learn);
* **early exaggeration** (Sec. 3.4): p_ij x 12 for the first 250 iterations
  (van der Maaten 2014, "Accelerating t-SNE using tree-based algorithms",
  and scikit-learn's defaults; the 2008 paper used x4 for 50 iterations),
  so clusters form first and then spread;
* **learning rate** 200 (scikit-learn's default until 1.2; the paper started
  at 100), 1000 iterations (Sec. 4.2 and scikit-learn);
* **initial map** drawn from N(0, 1e-4 I) (Algorithm 1, std 0.01), seeded;
  the map is re-centred after each step (the reference tsne.py).

Where this differs: exact O(N^2) in time and memory (no Barnes-Hut), so it
refuses more than ``max_points`` points — sample them first. The N x N
arrays of the loop are float32 (half the memory traffic; the map, its
gradient and the distances ``1 + |y_i - y_j|^2`` stay float64). A learning
rate of 200 suits hundreds to thousands of points; a few dozen want a
smaller one (scikit-learn's "auto": max(N / 12 / 4, 50)). Input distances
are squared Euclidean on the codes as given; ``pca_dims`` first projects on
that many principal components (the paper used 30, Sec. 4.2; the reference
tsne.py 50). The KL divergence is recorded every ``log_every`` iterations
against the true (not exaggerated) P.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (20, 5)), rng.normal(8, 1, (20, 5))])
    >>> r = tsne(X, perplexity=5, n_iter=300, learning_rate=10, seed=0)   # 40 points: a small step
    >>> r.embedding.shape, bool(np.abs(r.perplexity - 5).max() <= 1e-5)
    ((40, 2), True)
    >>> a, b = r.embedding[:20].mean(0), r.embedding[20:].mean(0)   # two clusters
    >>> bool(np.linalg.norm(a - b) > 3 * r.embedding[:20].std(0).max())
    True
"""

import warnings
from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy
from minicnn.progress import Progress

from .pca import pca

BYTES_PER_PAIR = 24   # the (N, N) arrays alive at once: 3 float64 while P is made


class TSNEResult(NamedTuple):
    """A t-SNE map.

    Attributes:
        embedding: (N, dims) float64 map coordinates.
        kl: final KL(P || Q).
        kl_history: (T, 2) rows (iteration, KL), every ``log_every`` iterations.
        beta: (N,) precisions 1 / (2 sigma_i^2) found by the search.
        perplexity: (N,) perplexity each row reached.
    """
    embedding: np.ndarray
    kl: float
    kl_history: np.ndarray
    beta: np.ndarray
    perplexity: np.ndarray


def squared_distances(X):
    """(N, N) float64 squared Euclidean distances between the rows of X (N, D)."""
    s = (X * X).sum(axis=1)
    d = s[:, None] + s[None, :] - 2 * X @ X.T
    np.fill_diagonal(d, 0)
    return np.maximum(d, 0, out=d)


def conditional_probabilities(sq_dist, perplexity, tol=1e-5, max_iter=200):
    """Sec. 2: p_{j|i} with beta_i found by bisection so that Perp(P_i) = perplexity.

    Args:
        sq_dist: (N, N) squared distances (the diagonal is ignored).
        perplexity: the target, 1 <= perplexity < N - 1.
        tol: stop when ``|Perp(P_i) - perplexity| <= tol`` for every row.

    Returns:
        P (N, N) rows summing to 1 with a zero diagonal, beta (N,), and the
        perplexity reached (N,). Rows that cannot reach it (e.g. all their
        neighbours at one distance) warn.
    """
    D = np.array(sq_dist, dtype=np.float64)
    N = len(D)
    np.fill_diagonal(D, np.inf)
    D -= D.min(axis=1, keepdims=True)        # shifting a row leaves p_{j|i} unchanged
    finite = np.where(np.isfinite(D), D, 0)
    beta = 1.0 / np.maximum(finite.sum(1) / max(N - 1, 1), 1e-300)    # 1 / mean distance
    lo, hi = np.zeros(N), np.full(N, np.inf)
    perp = np.zeros(N)
    active = np.arange(N)
    # BEGIN SOLUTION tsne-perplexity
    for _ in range(max_iter):
        P = np.exp(-D[active] * beta[active, None])
        sumP = P.sum(axis=1)
        H = np.log(sumP) + beta[active] * (finite[active] * P).sum(axis=1) / sumP
        perp[active] = np.exp(H)
        err = perp[active] - perplexity
        keep = np.abs(err) > tol
        up, down = active[keep & (err > 0)], active[keep & (err < 0)]
        lo[up] = beta[up]                     # too many neighbours: narrower Gaussian
        beta[up] = np.where(np.isinf(hi[up]), beta[up] * 2, (beta[up] + hi[up]) / 2)
        hi[down] = beta[down]                 # too few: wider
        beta[down] = (beta[down] + lo[down]) / 2
        active = active[keep]
        if active.size == 0:
            break
    # END SOLUTION tsne-perplexity
    if active.size:
        warnings.warn(f"t-SNE: {active.size} point(s) did not reach perplexity "
                      f"{perplexity} within {tol} (duplicate points?), e.g. point "
                      f"{int(active[0])} at {perp[active[0]]:.6g}", stacklevel=2)
    P = np.exp(-D * beta[:, None])
    P /= P.sum(axis=1, keepdims=True)
    return P, beta, perp


def kl_divergence(P, Y, eps=1e-12):
    """KL(P || Q) of the map Y (N, dims) for joint affinities P (N, N)."""
    num = 1.0 / (1.0 + squared_distances(Y))
    np.fill_diagonal(num, 0)
    Q = np.maximum(num / num.sum(), eps)
    mask = P > 0
    return float((P[mask] * np.log(P[mask] / Q[mask])).sum())


def kl_gradient(P, Y):
    """Eq. 5, written out in float64: dC/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j) num_ij.

    The slow, obvious version of the loop's gradient (a test oracle).

    Args:
        P: (N, N) joint affinities; Y: (N, dims) map.

    Returns:
        (N, dims) gradient of KL(P || Q) with respect to Y.
    """
    diff = Y[:, None, :] - Y[None, :, :]                      # y_i - y_j, (N, N, dims)
    num = 1.0 / (1.0 + (diff ** 2).sum(axis=2))
    np.fill_diagonal(num, 0)
    Q = num / num.sum()
    return 4 * (((P - Q) * num)[:, :, None] * diff).sum(axis=1)


def _check(X, dims, perplexity, max_points):
    if X.ndim != 2 or len(X) < 3:
        raise ValueError(f"t-SNE needs (N, D) codes with N >= 3, got shape {X.shape}")
    N = len(X)
    if N > max_points:
        gb = BYTES_PER_PAIR * N * N / 1e9
        raise ValueError(f"exact t-SNE keeps several N x N arrays: N={N} needs "
                         f"~{gb:.1f} GB, above max_points={max_points}. "
                         f"Sample the points first, e.g. idx = np.random.default_rng(0)"
                         f".choice({N}, {max_points}, replace=False); tsne(codes[idx]) "
                         "(or raise max_points)")
    if not 1 <= perplexity < N - 1:
        raise ValueError(f"perplexity {perplexity} must be in [1, N - 1) for N={N} points "
                         f"(it is an effective number of neighbours); use fewer, e.g. "
                         f"{min(30, max(1, (N - 1) // 3))}, or more points")
    if not np.isfinite(X).all():
        raise ValueError("codes contain NaN or inf")
    if dims < 1:
        raise ValueError(f"dims must be >= 1, got {dims}")


def tsne(codes, dims=2, perplexity=30.0, n_iter=1000, learning_rate=200.0,
         early_exaggeration=12.0, exaggeration_iters=250, momentum=(0.5, 0.8),
         momentum_switch=250, min_gain=0.01, seed=0, init=None, pca_dims=None,
         tol=1e-5, max_points=5000, log_every=50, progress=False):
    """van der Maaten & Hinton 2008: an exact t-SNE map of ``codes`` (N, D).

    Args:
        codes: (N, D) points, 3 <= N <= ``max_points``.
        dims: map dimensions (2).
        perplexity: effective number of neighbours (30: scikit-learn and the
            reference tsne.py; the paper: "typically between 5 and 50").
        n_iter, learning_rate, early_exaggeration, exaggeration_iters,
            momentum (before, after), momentum_switch, min_gain: the
            optimizer, with the defaults and sources of the module docstring.
        seed: seeds the initial map; same seed -> same map, bit for bit.
        init: optional (N, dims) initial map instead of the random one.
        pca_dims: project on this many principal components first (None: no).
        tol: perplexity tolerance of the search. max_points: memory guard.
        log_every: KL recorded every this many iterations (and at the end).
        progress: a progress bar.

    Returns:
        TSNEResult.

    Raises:
        ValueError: perplexity >= N - 1, too many points, bad shapes or values.
    """
    X = np.asarray(asnumpy(codes), dtype=np.float64)
    _check(X, dims, perplexity, max_points)
    N = len(X)
    if pca_dims is not None and pca_dims < X.shape[1]:
        X = pca(X, min(pca_dims, N)).projected
    Pc, beta, perp = conditional_probabilities(squared_distances(X), perplexity, tol)
    P = (Pc + Pc.T) / (2 * N)                                  # Sec. 3.1
    del Pc
    if init is None:
        Y = np.random.default_rng(seed).normal(0.0, 1e-2, (N, dims))   # N(0, 1e-4 I)
    else:
        Y = np.array(init, dtype=np.float64)
        if Y.shape != (N, dims):
            raise ValueError(f"init must have shape ({N}, {dims}), got {Y.shape}")
    update, gains = np.zeros_like(Y), np.ones_like(Y)
    history = []
    P32 = P.astype(np.float32)
    d = np.empty((N, N))                                       # 1 + |yi - yj|^2, float64
    num = np.empty((N, N), np.float32)                         # (1 + |yi - yj|^2)^-1
    W = np.empty((N, N), np.float32)
    ones = np.ones((N, 1))
    bar = Progress(n_iter, "t-SNE", enabled=progress)
    for t in range(n_iter):
        ex = early_exaggeration if t < exaggeration_iters else 1.0
        mu = momentum[0] if t < momentum_switch else momentum[1]
        s = (Y * Y).sum(axis=1, keepdims=True)
        np.matmul(np.hstack([-2 * Y, s + 1, ones]), np.hstack([Y, ones, s]).T, out=d)
        np.reciprocal(d, out=num)                              # one pass, into float32
        np.fill_diagonal(num, 0)
        Z = num.sum(dtype=np.float64)
        np.multiply(num, -1.0 / (Z * ex), out=W)               # W = (p_ij - q_ij / ex) num_ij
        W += P32
        W *= num
        Y32 = Y.astype(np.float32)
        grad = 4 * ex * (W.sum(axis=1, dtype=np.float64)[:, None] * Y - W @ Y32)   # Eq. 5
        inc = update * grad < 0
        gains = np.where(inc, gains + 0.2, gains * 0.8)
        np.maximum(gains, min_gain, out=gains)
        update = mu * update - learning_rate * gains * grad
        Y += update
        Y -= Y.mean(axis=0)
        if (t + 1) % log_every == 0 or t + 1 == n_iter:
            history.append((t + 1, kl_divergence(P, Y)))
        bar.update(info=f"KL {history[-1][1]:.3f}" if history else None)
    bar.close()
    if not history:
        history.append((0, kl_divergence(P, Y)))
    kl_history = np.array(history, dtype=np.float64)
    return TSNEResult(Y, float(kl_history[-1, 1]), kl_history, beta, perp)

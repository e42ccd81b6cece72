r"""Principal component analysis of CNN codes, by the SVD.

The linear view of the code space before t-SNE's non-linear one: project the
centred codes on the directions of largest variance (Pearson 1901; Hotelling
1933). With the codes as rows of X (N, D) and their mean mu::

    X - mu = U S V^T                      thin SVD, S descending
    projected = (X - mu) V_k  = U_k S_k   (N, k)
    explained_variance_i = S_i^2 / (N - 1)
    explained_variance_ratio_i = S_i^2 / sum_j S_j^2

Each component's sign is arbitrary; we make the largest-magnitude entry of
every row of V^T positive, as scikit-learn's ``svd_flip`` does, so the result
is deterministic. Computed in float64.

Example:
    >>> import numpy as np
    >>> X = np.array([[0.0, 0], [2, 1], [4, 2], [6, 3]])      # points on a line
    >>> p = pca(X, 2)
    >>> p.explained_variance_ratio.round(6).tolist(), p.components[0].round(4).tolist()
    ([1.0, 0.0], [0.8944, 0.4472])
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy


class PCAResult(NamedTuple):
    """Principal components.

    Attributes:
        projected: (N, k) coordinates of the codes on the components.
        components: (k, D) unit directions, largest variance first.
        explained_variance: (k,) variance along each (S^2 / (N - 1)).
        explained_variance_ratio: (k,) its share of the total variance.
        mean: (D,) the mean that was subtracted.
    """
    projected: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray


def pca(codes, k=2):
    """The first k principal components of ``codes`` (N, D), by the thin SVD.

    Args:
        codes: (N, D) points, N >= 2. k: components, 1 <= k <= min(N, D)
            (2 for a scatter plot).

    Returns:
        PCAResult; ``projected`` (N, k) float64.

    Raises:
        ValueError: a bad shape or k.
    """
    X = np.asarray(asnumpy(codes), dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"pca needs (N, D) codes with N >= 2, got shape {X.shape}")
    N, D = X.shape
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= min(N, D):
        raise ValueError(f"k must be an integer in 1 .. {min(N, D)} (min(N, D)), got {k!r}")
    mean = X.mean(axis=0)
    U, S, Vt = np.linalg.svd(X - mean, full_matrices=False)
    signs = np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(axis=1)])
    signs[signs == 0] = 1
    U, Vt = U * signs, Vt * signs[:, None]
    total = (S ** 2).sum()
    ratio = (S ** 2 / total) if total > 0 else np.zeros_like(S)
    return PCAResult((U[:, :k] * S[:k]), Vt[:k], S[:k] ** 2 / (N - 1), ratio[:k], mean)

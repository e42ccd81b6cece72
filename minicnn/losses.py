r"""Softmax, log-softmax and softmax cross-entropy, numerically stable.

For scores ``s: (N, K)`` and integer labels ``y: (N,)``::

    p[n, k]     = exp(s[n, k] - max_j s[n, j]) / sum_j exp(s[n, j] - max_j s[n, j])
    log p[n, k] = s[n, k] - max_j s[n, j] - log sum_j exp(s[n, j] - max_j s[n, j])
    L           = -1/N * sum_n log p[n, y[n]]
    dL/ds       = (p - onehot(y)) / N

Subtracting the row maximum keeps ``exp`` from overflowing (cs231n, "Softmax
classifier: practical issues: numeric stability").
"""

from .backend import get_array_module


def softmax(scores, axis=1):
    """scores: (N, K) (any shape) -> probabilities along ``axis``, summing to 1.

    The row maximum is subtracted first, which changes nothing mathematically
    (it cancels in the ratio) but keeps ``exp`` from overflowing.

    Example:
        >>> import numpy as np
        >>> softmax(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0]])).round(6)
        array([[0.25, 0.75],
               [0.5 , 0.5 ]])
    """
    xp = get_array_module(scores)
    e = xp.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(scores, axis=1):
    """scores: (N, K) -> log probabilities (N, K) along ``axis``."""
    xp = get_array_module(scores)
    shifted = scores - scores.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_cross_entropy(scores, labels):
    """Mean cross-entropy and its gradient.

    Args:
        scores: (N, K) unnormalised class scores.
        labels: (N,) integers in [0, K).

    Returns:
        (loss, dscores): a Python float and (N, K).

    Example:
        >>> import numpy as np
        >>> loss, d = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
        >>> round(loss, 6) == round(float(np.log(4)), 6)
        True
    """
    xp = get_array_module(scores)
    N, K = scores.shape
    labels = xp.asarray(labels)
    if labels.shape != (N,):
        raise ValueError(f"labels must have shape ({N},), got {tuple(labels.shape)}")
    if N and (int(labels.min()) < 0 or int(labels.max()) >= K):
        raise ValueError(f"labels must lie in [0, {K}), got range "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    # BEGIN SOLUTION softmax-cross-entropy
    logp = log_softmax(scores)
    rows = xp.arange(N)
    loss = -float(logp[rows, labels].mean())
    dscores = xp.exp(logp)
    dscores[rows, labels] -= 1
    return loss, dscores / N
    # END SOLUTION softmax-cross-entropy

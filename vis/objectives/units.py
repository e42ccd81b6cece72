"""What a unit or a class should do: class score and log-probability, a channel, a
neuron, DeepDream's ``1/2 ||A||^2``. Each returns a :class:`~vis.objectives.terms.Term`."""

import numpy as np

from minicnn.backend import get_array_module

from ..targets import class_indices
from .terms import SCORES, Term

def _per_sample(k, N, what, K):
    """An int or N ints -> (N,) indices in 0 .. K-1 (ValueError otherwise)."""
    idx = np.broadcast_to(np.asarray(k), (N,)) if np.ndim(k) == 0 else np.asarray(k)
    if idx.shape != (N,) or idx.dtype.kind not in "iu":
        raise ValueError(f"{what}: expected one index or {N} indices, got {k!r}")
    if ((idx < 0) | (idx >= K)).any():
        raise ValueError(f"{what} {k!r} out of range: 0 .. {K - 1}")
    return idx


def class_score(c):
    """``S_c``: the class score before the softmax (Simonyan et al. 2014, Sec. 2).

    Args:
        c: a class index, or N indices (one per sample).
    """
    def fn(S):
        xp = get_array_module(S)
        n, idx = xp.arange(S.shape[0]), xp.asarray(class_indices(S, c))
        grad = xp.zeros_like(S)
        grad[n, idx] = 1
        return S[n, idx], grad
    return Term("score", SCORES, fn)


def class_probability(c):
    """``log p_c = S_c - log sum_k exp S_k`` (log-softmax); gradient ``e_c - softmax(S)``.

    Simonyan et al. (2014, Sec. 2) maximize the score instead: the posterior
    can also be raised by pushing the *other* scores down.
    """
    def fn(S):
        xp = get_array_module(S)
        n, idx = xp.arange(S.shape[0]), xp.asarray(class_indices(S, c))
        shifted = S - S.max(axis=1, keepdims=True)
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        grad = -xp.exp(logp)
        grad[n, idx] += 1
        return logp[n, idx], grad
    return Term("log p", SCORES, fn)


def channel(layer, k):
    """Mean of channel k over all positions: ``mean_ij A[n, k, i, j]``.

    Args:
        k: a channel, or N channels (sample n maximizes channel k[n]).
    """
    def fn(A):
        xp = get_array_module(A)
        N = A.shape[0]
        n, idx = xp.arange(N), xp.asarray(_per_sample(k, N, f"{layer} channel", A.shape[1]))
        M = int(A[0, 0].size)
        grad = xp.zeros_like(A)
        grad[n, idx] = 1.0 / M
        return A[n, idx].reshape(N, -1).mean(axis=1), grad
    return Term(f"channel {layer}", layer, fn)


def neuron(layer, k, i=None, j=None):
    """One unit ``A[n, k, i, j]``; (i, j) defaults to the centre ``(h // 2, w // 2)``,
    the unit Yosinski et al.'s toolbox recommends (edge units see padding)."""
    def fn(A):
        xp = get_array_module(A)
        N = A.shape[0]
        n, idx = xp.arange(N), xp.asarray(_per_sample(k, N, f"{layer} channel", A.shape[1]))
        grad = xp.zeros_like(A)
        if A.ndim == 2:
            grad[n, idx] = 1
            return A[n, idx], grad
        h, w = A.shape[2:]
        ii, jj = (h // 2 if i is None else i), (w // 2 if j is None else j)
        if not (0 <= ii < h and 0 <= jj < w):
            raise ValueError(f"position ({ii}, {jj}) outside {layer}'s {h}x{w} map")
        grad[n, idx, ii, jj] = 1
        return A[n, idx, ii, jj], grad
    return Term(f"neuron {layer}", layer, fn)


def deepdream(layer):
    """``1/2 sum A^2`` of one layer; the gradient is A itself (Mordvintsev 2015,
    ``objective_L2``: ``dst.diff[:] = dst.data``)."""
    def fn(A):
        return 0.5 * (A * A).reshape(A.shape[0], -1).sum(axis=1), A
    return Term(f"dream {layer}", layer, fn)

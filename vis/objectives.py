r"""Objectives: what a synthesized image should do to the network, as terms that add and scale.

**Sign convention, the one used everywhere in vis: an objective is
maximized.** Every term's value is what its name says — ``class_score`` is
the score, ``content`` is the content *loss*, ``total_variation`` is the
variation — so losses and priors enter with a minus sign::

    class_score(3) - 1e-3 * l2()                        Simonyan et al. 2014, Sec. 2
    -(content("relu4_2", P) + 1e3 * style(L, A))         Gatys et al. 2016, Eq. 7

A term reads one array — a layer's output in ``net.outputs`` or the image
``x`` itself — and returns its value per sample ``(N,)`` and the gradient of
that value with respect to the array. An objective is a weighted sum of
terms; calling it after ``net.forward`` returns an :class:`Evaluation`: the
objective per sample, every named term's own value (for the history), the
gradients ``{layer: dObjective/dA}`` to inject with ``net.backward``, and the
gradient of the image-space terms (priors). Design after Lucid/Lucent's
objectives (small objects that add and scale), with the gradients written out.

=====================  ==========================================================
``class_score(c)``     ``S_c``, the score before the softmax (Simonyan 2014, Sec. 2)
``class_probability``  ``log softmax(S)_c``: raised also by lowering other classes
``channel(layer, k)``  mean of channel k over positions (Olah et al. 2017)
``neuron(layer, k)``   one unit, the centre one by default (Yosinski 2015 toolbox)
``deepdream(layer)``   ``1/2 ||A||^2``; its gradient is A (Mordvintsev's objective_L2)
``content(layer, P)``  ``||F - P||^2``, normalised as in Gatys 2016 Eq. 1 (``1/2 sum``),
                       Mahendran 2015 (``/ ||P||^2``), ``mse`` or ``sum``
``style(layers, A)``   ``sum_l w_l E_l``, E_l in :data:`STYLE_NORMALIZATIONS`
``l2()``               ``||x||^2`` (Simonyan 2014, Sec. 2)
``alpha_norm(a)``      ``sum |x|^a`` (Mahendran & Vedaldi 2015: a = 6)
``total_variation(b)`` ``sum ((x[i,j+1]-x[i,j])^2 + (x[i+1,j]-x[i,j])^2)^(b/2)``
                       (Mahendran & Vedaldi 2015: b = 2), per channel
=====================  ==========================================================

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> x = np.zeros((2, 3, 64, 64), np.float32)
    >>> objective = class_score([1, 5]) - 1e-3 * l2()
    >>> _ = net.forward(x)
    >>> ev = objective(net, x)
    >>> sorted(ev.terms), ev.value.shape, sorted(ev.grads), ev.dx.shape
    (['l2', 'score'], (2,), ['fc'], (2, 3, 64, 64))
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import get_array_module

from .netinfo import score_layer
from .targets import class_indices

#: Marker layer of ``class_score``/``class_probability``: the net's score layer.
SCORES = "<class scores>"


class Evaluation(NamedTuple):
    """An objective evaluated at one batch.

    value: (N,) the objective (maximized); terms: ``{name: (N,)}`` each named
    term's own value; grads: ``{layer: dObjective/d(output)}``; dx: (N, C, H, W)
    gradient of the image-space terms, or None.
    """
    value: object
    terms: dict
    grads: dict
    dx: object


class _Algebra:
    """``a + b``, ``a - b``, ``-a``, ``2 * a``, ``a / 2`` and ``sum([...])``."""

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:
            return self
        return Objective([(1.0, self), (1.0, other)])

    __radd__ = __add__

    def __sub__(self, other):
        return Objective([(1.0, self), (-1.0, other)])

    def __neg__(self):
        return Objective([(-1.0, self)])

    def __mul__(self, weight):
        return Objective([(float(weight), self)])

    __rmul__ = __mul__

    def __truediv__(self, d):
        return Objective([(1.0 / float(d), self)])

    def __call__(self, net, x):
        """Evaluate after ``net.forward(x)`` (which fills ``net.outputs``)."""
        acc = {"terms": {}, "grads": {}, "dx": None}
        value = self._eval(net, x, 1.0, acc)
        return Evaluation(value, acc["terms"], acc["grads"], acc["dx"])


def _record(acc, name, value):
    key, k = name, 2
    while key in acc["terms"]:              # two terms of one name: "name #2"
        key, k = f"{name} #{k}", k + 1
    acc["terms"][key] = value


class Term(_Algebra):
    """One term: ``fn(A) -> (value (N,), dvalue/dA)`` on one array.

    Args:
        name: its key in the history.
        layer: the layer whose output it reads; :data:`SCORES` for the net's
            score layer; None for the image itself (an image-space term).
        fn: the value and its gradient.
    """

    def __init__(self, name, layer, fn):
        self.name, self.layer, self.fn = name, layer, fn

    def layers(self, net):
        """The layer names this term reads (KeyError for a layer not in ``net``)."""
        if self.layer is None:
            return []
        return [score_layer(net) if self.layer == SCORES else net[self.layer].name]

    def _eval(self, net, x, scale, acc):
        layer = self.layers(net)[0] if self.layer is not None else None
        if layer is not None and layer not in net.outputs:
            raise KeyError(f"objective {self.name!r} reads {layer!r}, which the last "
                           f"forward pass did not reach")
        A = x if layer is None else net.outputs[layer]
        value, grad = self.fn(A)
        _record(acc, self.name, value)
        if layer is None:
            acc["dx"] = scale * grad if acc["dx"] is None else acc["dx"] + scale * grad
        else:
            g = acc["grads"].get(layer)
            acc["grads"][layer] = scale * grad if g is None else g + scale * grad
        return value

    def __repr__(self):
        return f"Term({self.name!r})"


class Objective(_Algebra):
    """A weighted sum ``sum_k w_k part_k`` of terms and objectives.

    Args:
        parts: list of ``(weight, Term or Objective)``.
        name: when given, the sum's own value is recorded under it too
            (``style`` records ``"style"`` and each ``"style relu1_1"``).
    """

    def __init__(self, parts, name=None):
        for _, part in parts:
            if not isinstance(part, _Algebra):
                raise TypeError(f"cannot add {type(part).__name__} to an objective")
        self.parts, self.name = list(parts), name

    def layers(self, net):
        """The layer names its terms read, without repeats."""
        seen = []
        for _, part in self.parts:
            seen += [n for n in part.layers(net) if n not in seen]
        return seen

    def _eval(self, net, x, scale, acc):
        total = 0
        for w, part in self.parts:
            total = total + w * part._eval(net, x, scale * w, acc)
        if self.name:
            _record(acc, self.name, total)
        return total

    def __repr__(self):
        inner = " + ".join(f"{w:g} * {p!r}" for w, p in self.parts)
        return f"Objective({self.name + ': ' if self.name else ''}{inner})"


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


#: Content-loss normalisations: name -> (source, value of D = F - P, d value/dF).
CONTENT_NORMALIZATIONS = {
    "gatys": "Gatys et al. 2016, Eq. 1: 1/2 sum (F - P)^2",
    "mahendran": "Mahendran & Vedaldi 2015: sum (F - P)^2 / sum P^2",
    "mse": "mean (F - P)^2 (PyTorch tutorial; Gatys' PyTorch code: nn.MSELoss)",
    "sum": "sum (F - P)^2 (cs231n assignment 3)",
}


def _check_target(layer, A, P):
    same = P.ndim == A.ndim - 1 and tuple(P.shape) == tuple(A.shape[1:])
    if not (same or tuple(P.shape) == tuple(A.shape)):
        raise ValueError(f"{layer}: target of shape {tuple(P.shape)} does not match the "
                         f"layer's output {tuple(A.shape)}")


def _choose(kind, name, table):
    if name not in table:
        raise KeyError(f"unknown {kind} normalization {name!r}: use one of {', '.join(table)}")


def content(layer, target, normalize="gatys"):
    """Content (feature reconstruction) loss of one layer, see :data:`CONTENT_NORMALIZATIONS`.

    Args:
        target: P, (C, h, w) or (N, C, h, w): the layer's output for the content image.
        normalize: ``"gatys"``, ``"mahendran"``, ``"mse"`` or ``"sum"``.
    """
    _choose("content", normalize, CONTENT_NORMALIZATIONS)

    def fn(F):
        P = target[0] if target.ndim == F.ndim and target.shape[0] == 1 else target
        _check_target(layer, F, P)
        D = F - P
        N = F.shape[0]
        sq = (D * D).reshape(N, -1).sum(axis=1)
        if normalize == "gatys":
            return 0.5 * sq, D
        if normalize == "sum":
            return sq, 2 * D
        if normalize == "mse":
            M = D[0].size
            return sq / M, (2.0 / M) * D
        if P.ndim == F.ndim:                         # one target per sample
            P2 = (P * P).reshape(N, -1).sum(axis=1)
            return sq / P2, (2.0 / P2).reshape((N,) + (1,) * (F.ndim - 1)) * D
        P2 = (P * P).sum()
        return sq / P2, (2.0 / P2) * D
    return Term(f"content {layer}", layer, fn)


#: Style normalisations: name -> (source, Gram divisor g(C, M), loss divisor l(C, M)),
#: with ``G = F F^T / g`` and ``E = sum (G - A)^2 / l`` (C channels, M = h*w positions).
STYLE_NORMALIZATIONS = {
    "gatys": ("Gatys et al. 2015 Eq. 4, 2016 Eq. 4: G = F F^T, E = sum (G - A)^2 / (4 C^2 M^2)",
              lambda C, M: 1.0, lambda C, M: 4.0 * C * C * M * M),
    "gatys-code": ("Gatys' PyTorch code: G = F F^T / M, E = mean (G - A)^2 = sum / C^2",
                   lambda C, M: float(M), lambda C, M: float(C * C)),
    "pytorch": ("PyTorch tutorial: G = F F^T / (a b c d) = / (C M), E = mse = sum / C^2",
                lambda C, M: float(C * M), lambda C, M: float(C * C)),
    "cs231n": ("cs231n assignment 3: G = F F^T / (H W C), E = sum (G - A)^2",
               lambda C, M: float(C * M), lambda C, M: 1.0),
}


def gram_matrix(F, normalize="gatys"):
    """Gram matrix of feature maps, ``G[n] = F_n F_n^T / g(C, M)`` (Gatys 2015, Eq. 1).

    Args:
        F: (N, C, h, w) feature maps; M = h * w.
        normalize: a key of :data:`STYLE_NORMALIZATIONS` (it fixes the divisor g).

    Returns:
        (N, C, C) symmetric matrices.

    Example:
        >>> import numpy as np
        >>> F = np.arange(8.0).reshape(1, 2, 2, 2)       # channels [0 1 2 3], [4 5 6 7]
        >>> gram_matrix(F)[0]
        array([[ 14.,  38.],
               [ 38., 126.]])
    """
    _choose("style", normalize, STYLE_NORMALIZATIONS)
    xp = get_array_module(F)
    N, C = F.shape[:2]
    # BEGIN SOLUTION gram-style
    Fm = F.reshape(N, C, -1)
    g = STYLE_NORMALIZATIONS[normalize][1](C, Fm.shape[2])
    return xp.matmul(Fm, Fm.transpose(0, 2, 1)) / g
    # END SOLUTION gram-style


def _style_term(layer, A, normalize):
    _, gdiv, ldiv = STYLE_NORMALIZATIONS[normalize]

    def fn(F):
        xp = get_array_module(F)
        N, C = F.shape[:2]
        if tuple(A.shape[-2:]) != (C, C):
            raise ValueError(f"{layer}: target Gram matrix {tuple(A.shape)} does not fit "
                             f"{C} channels")
        # BEGIN SOLUTION gram-style
        Fm = F.reshape(N, C, -1)
        M = Fm.shape[2]
        D = xp.matmul(Fm, Fm.transpose(0, 2, 1)) / gdiv(C, M) - A
        value = (D * D).reshape(N, -1).sum(axis=1) / ldiv(C, M)
        grad = xp.matmul(D, Fm) * (4.0 / (ldiv(C, M) * gdiv(C, M)))
        return value, grad.reshape(F.shape)
        # END SOLUTION gram-style
    return Term(f"style {layer}", layer, fn)


def style(layers, targets, weights=None, normalize="gatys"):
    """Style loss ``sum_l w_l E_l`` (Gatys et al. 2016, Eq. 5), recorded as "style".

    Args:
        layers: L layer names.
        targets: L Gram matrices A_l, each (C, C) or (N, C, C), made with
            :func:`gram_matrix` and the same ``normalize``.
        weights: L weights w_l; default ``1 / L`` (Gatys 2016, Fig. 2: w_l = 1/5).
        normalize: a key of :data:`STYLE_NORMALIZATIONS`.
    """
    _choose("style", normalize, STYLE_NORMALIZATIONS)
    layers = list(layers)
    weights = [1.0 / len(layers)] * len(layers) if weights is None else list(weights)
    if not (len(targets) == len(weights) == len(layers)):
        raise ValueError(f"style: {len(layers)} layers, {len(targets)} targets and "
                         f"{len(weights)} weights; give one of each per layer")
    parts = [(float(w), _style_term(layer, A, normalize))
             for layer, A, w in zip(layers, targets, weights)]
    return Objective(parts, name="style")


def l2(weight=1.0):
    """``||x||^2`` per sample on the network input (Simonyan et al. 2014, Sec. 2);
    ``l2(lam)`` is ``lam * l2()`` (the history keeps the unweighted value)."""
    def fn(x):
        return (x * x).reshape(x.shape[0], -1).sum(axis=1), 2 * x
    term = Term("l2", None, fn)
    return term if weight == 1 else weight * term


def alpha_norm(alpha=6.0):
    """``sum |x|^alpha`` (Mahendran & Vedaldi 2015: alpha = 6)."""
    def fn(x):
        xp = get_array_module(x)
        a = xp.abs(x)
        value = (a ** alpha).reshape(x.shape[0], -1).sum(axis=1)
        return value, alpha * a ** (alpha - 1) * xp.sign(x)
    return Term("alpha", None, fn)


def total_variation(beta=2.0):
    """Mahendran & Vedaldi 2015's total variation, per channel, forward differences.

    ``sum_{c,i,j} (Dh^2 + Dv^2)^(beta/2)`` with ``Dh = x[i, j+1] - x[i, j]`` and
    ``Dv = x[i+1, j] - x[i, j]``, zero on the last column / row (as in the
    reference PyTorch code of Fong). With beta = 2 this is cs231n's ``tv_loss``.
    Where ``Dh = Dv = 0`` and beta < 2 the gradient is taken as 0.
    """
    def fn(x):
        xp = get_array_module(x)
        # BEGIN SOLUTION total-variation
        Dh, Dv = xp.zeros_like(x), xp.zeros_like(x)
        Dh[..., :, :-1] = x[..., :, 1:] - x[..., :, :-1]
        Dv[..., :-1, :] = x[..., 1:, :] - x[..., :-1, :]
        P = Dh * Dh + Dv * Dv
        if beta == 2:
            value, a = P, 2.0
        else:
            value = P ** (beta / 2)
            safe = xp.where(P > 0, P, 1)
            a = xp.where(P > 0, beta * safe ** (beta / 2 - 1), 0)
        gh, gv = a * Dh, a * Dv                  # d value / d Dh, d Dv
        grad = xp.zeros_like(x)
        grad[..., :, 1:] += gh[..., :, :-1]
        grad[..., :, :-1] -= gh[..., :, :-1]
        grad[..., 1:, :] += gv[..., :-1, :]
        grad[..., :-1, :] -= gv[..., :-1, :]
        return value.reshape(x.shape[0], -1).sum(axis=1), grad
        # END SOLUTION total-variation
    return Term("tv", None, fn)

r"""Content and style losses (Gatys et al. 2015, 2016; Mahendran & Vedaldi 2015).

The content loss compares one layer's features F with the content image's P;
the style loss compares Gram matrices ``G = F F^T`` (channel correlations,
positions summed out) with the style image's A, layer by layer. Papers and
courses divide by different constants: each published choice is a named
option, with its source, in :data:`CONTENT_NORMALIZATIONS` and
:data:`STYLE_NORMALIZATIONS`.
"""

from minicnn.backend import get_array_module

from .terms import Objective, Term

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

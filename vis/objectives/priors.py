"""Image priors: terms on the network input itself (the image), not on a layer.

``l2`` (Simonyan et al. 2014, Sec. 2), ``alpha_norm`` and ``total_variation``
(Mahendran & Vedaldi 2015, Sec. 3.1). They enter objectives with a minus sign.
"""

from minicnn.backend import get_array_module

from .terms import Term

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

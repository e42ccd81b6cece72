r"""Numerical gradients: how every backward in minicnn is tested.

Central differences (cs231n, "Gradient checks")::

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2h)        error O(h^2)

compared with the analytic gradient by the relative error::

    rel_error(a, b) = max |a - b| / max(|a| + |b|, tiny)

Use float64 and h = 1e-5 or so: then a correct backward gives a relative
error around 1e-8 or smaller, a wrong one around 1. Kinks (ReLU at 0, ties in
max-pool) break the check: keep inputs away from them.

For large inputs, checking every coordinate is slow; the *random-direction*
check compares one directional derivative instead::

    (f(x + h u) - f(x - h u)) / (2h)  ~  <grad f(x), u>
"""

import numpy as np


def rel_error(a, b):
    """max |a - b| / max(|a| + |b|): scale-free, 0 for equal arrays."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.maximum(np.abs(a) + np.abs(b), 1e-300).max()
    return float(np.abs(a - b).max() / denom)


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function by central differences, coordinate by coordinate.

    Args:
        f: function of ``x`` returning a float; ``x`` is modified and restored.
        x: float64 array.

    Returns:
        grad: same shape as ``x``.
    """
    # BEGIN SOLUTION gradient-check
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad
    # END SOLUTION gradient-check


def directional_check(f, x, grad, seed=0, h=1e-5):
    """Relative error between ``<grad, u>`` and the numerical slope along a random ``u``.

    Args:
        f: scalar function; x: point (float64); grad: the analytic gradient at x.
        seed: seed of the random unit direction u.

    Returns:
        (relative error, numerical slope, analytic slope).
    """
    u = np.random.default_rng(seed).standard_normal(x.shape)
    u /= np.linalg.norm(u)
    numeric = (f(x + h * u) - f(x - h * u)) / (2 * h)
    analytic = float(np.sum(grad * u))
    return rel_error(numeric, analytic), numeric, analytic


def check_layer(layer, x, seed=0, h=1e-5, param_names=None):
    """Check a layer's ``dx`` (and parameter gradients) against central differences.

    The objective is ``f(x) = sum(forward(x) * r)`` for a fixed random ``r``, so
    ``df/d(out) = r``.

    Returns:
        dict name -> relative error, with ``"x"`` and each checked parameter.
    """
    rng = np.random.default_rng(seed)
    out = layer.forward(x)
    r = rng.standard_normal(out.shape)

    def f(_):
        return float(np.sum(layer.forward(x) * r))

    layer.forward(x)
    dx = layer.backward(r, param_grads=True)
    analytic = {"x": dx, **{k: layer.grads[k] for k in (param_names or layer.params)}}
    errors = {"x": rel_error(numerical_gradient(f, x, h), dx)}
    for k in param_names or layer.params:
        errors[k] = rel_error(numerical_gradient(f, layer.params[k], h), analytic[k])
    return errors

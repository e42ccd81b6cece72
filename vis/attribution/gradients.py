r"""The gradient family: which input pixels move the score?

All of these are one forward pass and one backward pass from a target
(``targets.py``: a class score before the softmax, or one unit), with the
backward ``rule`` of ``minicnn/layers/relu.py``::

    S = net(x)                          (one forward)
    g = dS/dx under rule                (net.backward({layer: e_c}, rule))

* **Gradient** (``rule="gradient"``): the true ``dS_c/dx``.
* **Saliency map** — Simonyan, Vedaldi & Zisserman 2014, Sec. 3.1, Eq. 3:
  ``w = dS_c/dI`` at the image; for an RGB image "the maximum magnitude of
  ``w`` across all colour channels"::

      M[i, j] = max_c |w[c, i, j]|                      (N, H, W)

  ``grayscale=True`` instead *sums* ``|w|`` over the channels, as Smilkov et
  al. 2017 (Sec. 3) do before their display, which also caps outliers at the
  99th percentile (``image.normalize_map(m, clip_percentile=99)``).
* **Deconvnet** — Zeiler & Fergus 2014, Sec. 2.1 (``rule="deconvnet"``), and
  **guided backpropagation** — Springenberg et al. 2015, Sec. 3.4
  (``rule="guided"``). Simonyan et al. 2014, Sec. 4 show that they differ from
  the gradient only at the ReLUs. Zeiler's "projection of one activation" is
  the target ``(layer, channel)``: the channel's strongest activation is kept,
  all other activations of the layer are set to zero, and this map (the
  activation value itself, not 1) is sent down.
* **SmoothGrad** — Smilkov et al. 2017, Eq. 3: average the gradient over
  ``n`` noisy copies ``x + N(0, sigma^2)``, ``sigma`` a fraction of
  ``max(x) - min(x)`` of each sample. Paper defaults: ``n = 50``, ``sigma``
  10-20 % (we use 15 %). The target is resolved on the clean input, so every
  copy explains the same class (or the same unit position).
* **Integrated gradients** — Sundararajan, Taly & Yan 2017, Eq. 1, and its
  Riemann-sum approximation, Eq. 3 ("Computing Integrated Gradients")::

      IG_i(x) = (x_i - b_i) * integral_0^1 dS(b + a (x - b))/dx_i da

  approximated here by the **midpoint rule**: the mean gradient at
  ``a = (k + 1/2) / steps``, ``k = 0 .. steps-1`` (the paper writes a right
  Riemann sum and says 20-300 steps get within 5 %). Why not the trapezoid
  rule? Its end point ``a = 0`` evaluates the gradient *at the baseline*,
  which for a zero baseline sits exactly on the ReLU kinks (and is 0 for a
  bias-free net, whose true integrand is constant): a systematic error of
  ``1 / (2 steps)``. Completeness (Prop. 1): ``sum_i IG_i = S(x) - S(b)``; we
  return the gap so you can see how many steps are enough. Paper default
  baseline: the black image; ours: zeros of the *preprocessed* input, i.e.
  the dataset's mean colour (pass ``baseline=preprocess(black, net)``, ``minicnn.preprocessing``
  for the paper's).

Everything returns NumPy arrays; nothing draws.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.tiny()
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    >>> saliency(net, x, target=3).shape
    (2, 64, 64)
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy, get_array_module

from ..targets import class_indices, injection, is_unit, onehot, resolve, score_layer


def _input_gradient(net, x, target, rule):
    """dS/dx on the array's own device (NumPy or CuPy), and the target used."""
    grads, used = injection(net, x, target, keep=())
    return net.backward(grads, rule), used


def gradients(net, x, target=None, rule="gradient"):
    """The input gradient of a target under a backward rule.

    Args:
        net: a Net; x: (N, C, H, W) preprocessed batch.
        target: class index, None (top class), N indices, or a unit
            ``(layer, channel[, i, j])`` (see ``targets.py``).
        rule: ``"gradient"``, ``"deconvnet"`` or ``"guided"``.

    Returns:
        (N, C, H, W) NumPy array.
    """
    return asnumpy(_input_gradient(net, x, target, rule)[0])


def saliency(net, x, target=None, grayscale=False):
    """Simonyan et al. 2014, Sec. 3.1: ``max_c |dS/dx|``, or ``sum_c`` if grayscale.

    Args:
        x: (N, C, H, W).

    Returns:
        (N, H, W) non-negative map.
    """
    # BEGIN SOLUTION saliency
    g = np.abs(gradients(net, x, target))
    return g.sum(axis=1) if grayscale else g.max(axis=1)
    # END SOLUTION saliency


def deconvnet(net, x, target=None):
    """Zeiler & Fergus 2014: the backward pass with the deconvnet ReLU rule. (N, C, H, W)."""
    return gradients(net, x, target, rule="deconvnet")


def guided_backprop(net, x, target=None):
    """Springenberg et al. 2015: the backward pass with the guided ReLU rule. (N, C, H, W)."""
    return gradients(net, x, target, rule="guided")


def _per_sample(net, x, target):
    """Fix the target of each sample on the clean input: N ints or N unit tuples."""
    _, used = injection(net, x, target)
    return [int(u) for u in used] if not is_unit(target) else used


def smoothgrad(net, x, target=None, n=50, sigma=0.15, seed=0, rule="gradient",
               batch_size=16):
    """Smilkov et al. 2017: the mean gradient over ``n`` noisy copies.

    Args:
        x: (N, C, H, W).
        n: copies per sample; sigma: noise std as a fraction of
            ``x[s].max() - x[s].min()``; seed: for the noise (same seed, same
            result); rule: backward rule (SmoothGrad of guided backprop works too).
        batch_size: noisy copies per forward/backward pass (memory vs. speed).

    Returns:
        (N, C, H, W) averaged gradient; take ``np.abs(...).max(1)`` for a map.
    """
    xp = get_array_module(x)
    rng = np.random.default_rng(seed)
    targets = _per_sample(net, x, target)
    out = np.zeros(x.shape, dtype=x.dtype)
    for s in range(x.shape[0]):
        xs = x[s:s + 1]
        std = sigma * float(xs.max() - xs.min())
        for b0 in range(0, n, batch_size):
            m = min(batch_size, n - b0)
            noise = rng.standard_normal((m,) + x.shape[1:]) * std
            g, _ = _input_gradient(net, xs + xp.asarray(noise, dtype=x.dtype),
                                   targets[s] if is_unit(target) else [targets[s]] * m, rule)
            out[s] += asnumpy(g.sum(axis=0))
    return out / n


class IGResult(NamedTuple):
    """Integrated gradients and how well they add up.

    Attributes:
        attribution: (N, C, H, W).
        gap: (N,) ``sum(attribution) - (S(x) - S(baseline))`` (0 if exact).
        score_diff: (N,) ``S(x) - S(baseline)``.
        target: (N,) class indices.
    """
    attribution: np.ndarray
    gap: np.ndarray
    score_diff: np.ndarray
    target: np.ndarray


def integrated_gradients(net, x, target=None, baseline=None, steps=50, batch_size=16):
    """Sundararajan et al. 2017, Eq. 1, by the midpoint rule with ``steps`` points.

    Args:
        x: (N, C, H, W).
        target: a class target (None, int or N ints); units are not supported.
        baseline: (C, H, W) or (N, C, H, W); default zeros (the mean image).
        steps: points on the path (gradient evaluations per sample).
        batch_size: path points per forward/backward pass.

    Returns:
        IGResult(attribution, gap, score_diff, target).
    """
    if is_unit(target):
        raise ValueError("integrated_gradients explains a class score; "
                         "give a class index (or None), not a unit")
    xp = get_array_module(x)
    baseline = xp.zeros_like(x) if baseline is None else xp.broadcast_to(
        xp.asarray(baseline, dtype=x.dtype), x.shape)
    name = score_layer(net)
    N = x.shape[0]
    ends = asnumpy(net.forward(xp.concatenate([x, baseline]), until=name))
    idx = class_indices(ends[:N], resolve(net, target))
    diff = (ends[np.arange(N), idx] - ends[N + np.arange(N), idx]).astype(np.float64)
    alphas = (np.arange(steps) + 0.5) / steps
    attr = np.zeros(x.shape, dtype=x.dtype)
    for s in range(N):
        delta = x[s] - baseline[s]
        for b0 in range(0, steps, batch_size):
            a = xp.asarray(alphas[b0:b0 + batch_size], dtype=x.dtype)[:, None, None, None]
            scores = net.forward(baseline[s] + a * delta, until=name)
            g = net.backward({name: onehot([idx[s]] * len(a), scores.shape[1], scores)})
            attr[s] += asnumpy(g.sum(axis=0))
        attr[s] *= asnumpy(delta) / steps
    gap = attr.reshape(N, -1).sum(axis=1, dtype=np.float64) - diff
    return IGResult(attr, gap, diff, idx)

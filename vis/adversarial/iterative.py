r"""Iterative attacks: the basic iterative method (BIM) and projected gradient descent (PGD).

Kurakin, Goodfellow & Bengio 2017, "Adversarial examples in the physical
world", Sec. 2.2, repeat small FGSM steps and clip back into the epsilon-box
of the original ``X`` (and into the pixel range) after each::

    X_0 = X,     X_{N+1} = Clip_{X, eps}{ X_N + alpha * sign(grad_X J(X_N, y_true)) }

with "alpha = 1" (one grey level on 0-255) and "the number of iterations
min(eps + 4, 1.25 eps)" (eps on 0-255): the defaults here, in pixel units
``step = 1/255`` and ``steps = floor(min(255 eps + 4, 1.25 * 255 eps))`` (at
least 1). Their targeted variant (iterative least-likely class) steps *down*
the loss of a target class: ``targeted=True``.

Madry et al. 2018, "Towards deep learning models resistant to adversarial
attacks", Sec. 2.1, Eq. 2, read this as projected gradient ascent on the loss
over the set ``S`` of allowed changes, and start at a uniformly random point
of the ball (``random_start=True``; Sec. 3 and Appendix A)::

    x^{t+1} = Proj_{x + S}( x^t + alpha * sgn(grad_x L(theta, x^t, y)) )

**The L2 version** (``norm="2"``) is not a sign step. It steps along the
normalized gradient and projects onto the *ball*::

    x^{t+1} = Proj_{||x' - x||_2 <= eps}( x^t + alpha * g / ||g||_2 )
    Proj(d) = d * min(1, eps / ||d||_2)         (shrink only if outside)

Two slips in popular code: a sign step inside an L2 attack (Captum's ``PGD``
does that, ``norm="L2"`` only changes its projection), and renormalizing
every iterate *onto the sphere* ``||d|| = eps`` instead of into the ball.
For L2 there is no BIM rule; the defaults are ``steps = 10`` and
``step = 2.5 * eps / steps``, the rule of thumb of the MadryLab
``robustness`` library (also RobustBench's convention).

All norms and steps are in [0, 1] RGB pixel units (``pixels.py``); the box
projection and the pixel-range clip are applied in that order, which keeps
the iterate inside both (clipping to a box that contains ``x`` never moves a
point farther from ``x``).

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> from minicnn.preprocessing import preprocess
    >>> net = models.load("tiny")
    >>> data = make_shapes(2, seed=12345)
    >>> r = pgd(net, preprocess(data.images, net.meta), data.labels, epsilon=4 / 255)
    >>> r.steps, r.loss_history.shape, bool(np.abs(r.delta).max() <= 4 / 255 + 1e-6)
    (5, (6, 2), True)
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy, get_array_module
from minicnn.losses import log_softmax

from .common import (FIELDS_DOC, check_batch, check_epsilon, check_flag, check_labels, check_norm,
                     check_positive, loss_gradient, outcome, scores)
from .pixels import clip, pixel_space


class PGDResult(NamedTuple):
    x: object
    image: object
    delta: object
    pred: object
    confidence: object
    clean_pred: object
    true_label: object
    target: object
    success: object
    forward: int
    backward: int
    loss_history: object
    pred_history: object
    steps: int
    step: float


PGDResult.__doc__ = f"""Result of :func:`pgd`.

    Attributes:
        {FIELDS_DOC}
        loss_history: (steps + 1, N) cross-entropy of ``label`` at each
            iterate (row 0: the start, after a random start if any).
        pred_history: (steps + 1, N) prediction at each iterate.
        steps, step: the iteration count and step size used (pixel units).
    """


def default_steps(epsilon, norm="inf"):
    """(steps, step) defaults: Kurakin et al. 2017, Sec. 2.2 (L-inf); robustness lib (L2)."""
    if check_norm(norm) == "inf":
        e = 255.0 * epsilon
        return max(1, int(min(e + 4, 1.25 * e))), 1.0 / 255
    return 10, 2.5 * epsilon / 10


def _norm2(a):
    """Per-sample L2 norm, shaped (N, 1, 1, 1)."""
    xp = get_array_module(a)
    return xp.sqrt((a * a).reshape(a.shape[0], -1).sum(axis=1)).reshape(-1, 1, 1, 1)


def project(d, epsilon, norm):
    """A change ``d`` (N, C, H, W) in pixel units, projected into the epsilon-ball.

    L-inf: clip each value to [-eps, eps]. L2: ``d * min(1, eps / ||d||_2)``,
    the nearest point of the ball (a point inside is left alone).
    """
    xp = get_array_module(d)
    if norm == "inf":
        return xp.clip(d, -epsilon, epsilon)
    n = _norm2(d)
    return d * xp.minimum(1.0, epsilon / xp.maximum(n, 1e-30)).astype(d.dtype)


def random_point(shape, epsilon, norm, rng):
    """A uniform random point of the epsilon-ball (pixel units), NumPy float64.

    L-inf: uniform in [-eps, eps] per value (Madry et al. 2018). L2: a
    Gaussian direction times ``eps * u^(1/D)``, uniform in the D-ball.
    """
    if norm == "inf":
        return rng.uniform(-epsilon, epsilon, size=shape)
    N, D = shape[0], int(np.prod(shape[1:]))
    g = rng.standard_normal((N, D))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    r = epsilon * rng.random(N) ** (1.0 / D)
    return (g * r[:, None]).reshape(shape)


def pgd(net, x, label, epsilon, step=None, steps=None, norm="inf", random_start=False,
        targeted=False, seed=0, bounds=(0.0, 1.0)):
    """BIM / PGD: ``steps`` projected gradient steps inside the epsilon-ball.

    Args:
        net: a Net with class scores; x: (N, C, H, W) preprocessed batch.
        label: true class per sample (int or N ints); the target with
            ``targeted=True``.
        epsilon: radius of the ball in pixel units (L-inf: grey levels / 255;
            L2: the Euclidean norm of the RGB change in [0, 1] units).
        step: step size in pixel units (default: see :func:`default_steps`).
        steps: number of steps (default: see :func:`default_steps`).
        norm: ``"inf"`` (sign step, clip) or ``"2"`` (normalized step, ball).
        random_start: start at a uniform random point of the ball (Madry et al.).
        targeted: descend the loss of ``label`` instead of ascending it.
        seed: seeds the random start (same seed, same result).
        bounds: valid pixel range (low, high); None for none.

    Returns:
        :class:`PGDResult` with the final iterate (as Kurakin, Madry and
        Captum return); ``success`` says, per sample, whether it fooled the net.

    Raises:
        ValueError: epsilon or step < 0 or not finite, steps < 1, an unknown
            norm, a label out of range, a switch not True/False.
    """
    check_batch(x)
    norm = check_norm(norm)
    eps = check_epsilon(epsilon, at_most=1.0 if norm == "inf" else None)
    y = check_labels(net, label, x.shape[0])
    targeted = check_flag(targeted, "targeted")
    random_start = check_flag(random_start, "random_start")
    default_count, default_step = default_steps(eps, norm)
    steps = default_count if steps is None else check_positive(steps, "steps", integer=True)
    if step is None:
        alpha = 2.5 * eps / steps if norm == "2" else default_step
    else:
        alpha = check_positive(step, "step")
    xp = get_array_module(x)
    space = pixel_space(net, x, bounds)
    sign = -1.0 if targeted else 1.0
    x_adv = x
    jumped = random_start and eps > 0
    if jumped:
        d0 = random_point(x.shape, eps, norm, np.random.default_rng(seed))
        x_adv = clip(x + xp.asarray(d0, dtype=x.dtype) * space.k, space)
    losses, preds = [], []
    for _ in range(steps):
        loss, s, g = loss_gradient(net, x_adv, y)
        losses.append(loss)
        preds.append(asnumpy(s).argmax(axis=1))
        if norm == "inf":
            move = xp.sign(g)
        else:
            g_px = g * space.k                                  # dJ/dimg, pixel units
            n = _norm2(g_px)
            move = xp.where(n > 0, g_px / xp.maximum(n, 1e-30), 0)
        x_step = x_adv + (sign * alpha) * space.k * move
        d = project((x_step - x) / space.k, eps, norm)
        x_adv = clip(x + d * space.k, space).astype(x.dtype)
    s_final = scores(net, x_adv)
    logp = asnumpy(log_softmax(s_final.astype(np.float64)))
    losses.append(-logp[np.arange(len(y)), y])
    preds.append(logp.argmax(axis=1))
    if jumped:                                   # the first iterate was not the clean input
        clean_pred = asnumpy(scores(net, x)).argmax(axis=1)
    else:
        clean_pred = preds[0]
    fields = outcome(net, x, x_adv, clean_pred, None if targeted else y,
                     y if targeted else None, forward=steps + 1 + int(jumped), backward=steps,
                     s_adv=s_final)
    return PGDResult(**fields, loss_history=np.array(losses), pred_history=np.array(preds),
                     steps=steps, step=alpha)

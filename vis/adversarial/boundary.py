r"""DeepFool: the smallest L2 step to the nearest decision boundary, linearized.

Moosavi-Dezfooli, Fawzi & Frossard 2016, "DeepFool: a simple and accurate
method to fool deep neural networks", Algorithm 2 (multi-class). Linearize
every class score around the current point; the boundary between the
original class ``k0`` and class ``k`` is then a hyperplane at distance
``|f'_k| / ||w'_k||_2``; step onto the nearest one, repeat until the label
changes::

    x_0 = x;  while argmax f(x_i) == k0:
        w'_k = grad f_k(x_i) - grad f_k0(x_i),   f'_k = f_k(x_i) - f_k0(x_i)   (k != k0)
        l    = argmin_k |f'_k| / ||w'_k||_2
        r_i  = |f'_l| / ||w'_l||_2^2 * w'_l,    x_{i+1} = x_i + r_i
    r = (1 + overshoot) * sum_i r_i

The paper's settings (Sec. 3-4 and the authors' code): ``overshoot = 0.02``,
at most 50 iterations, and only the ``num_classes = 10`` top classes of the
clean image as candidates ``k``. As in the authors' code each step adds
``1e-4`` to the ratio (so a step is never exactly on the boundary) and the
overshoot is applied to the running total before each check. Here the
gradients and norms are in [0, 1] RGB pixel units (``pixels.py``) and every
iterate is clipped to the pixel range (the paper does not clip). One forward
pass and ``num_classes`` backward passes per iteration (all images batched).

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> from minicnn.preprocessing import preprocess
    >>> net = models.load("tiny")
    >>> data = make_shapes(3, seed=12345)
    >>> r = deepfool(net, preprocess(data.images, net.meta))
    >>> bool(r.success.all()), bool((r.pred != r.clean_pred).all())
    (True, True)
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy, get_array_module

from ..netinfo import score_layer
from .common import FIELDS_DOC, check_batch, check_epsilon, check_positive, outcome, scores
from .pixels import clip, pixel_space

#: Moosavi-Dezfooli et al. 2016 (the authors' code): candidates, overshoot, iterations.
NUM_CLASSES, OVERSHOOT, MAX_ITER = 10, 0.02, 50


class DeepFoolResult(NamedTuple):
    x: object
    image: object
    delta: object
    pred: object
    confidence: object
    clean_pred: object
    true_label: object
    target: object
    success: object
    forward: object
    backward: object
    r: object
    iterations: object


DeepFoolResult.__doc__ = f"""Result of :func:`deepfool`.

    Attributes:
        {FIELDS_DOC}
        (``true_label`` is the clean prediction: DeepFool changes the label
        the net gives, whatever the truth.)
        r: (N, C, H, W) the total step ``(1 + overshoot) * sum r_i`` in pixel
            units, in the *network's* channel order, before clipping.
        iterations: (N,) iterations each sample took.
    """


def deepfool(net, x, num_classes=NUM_CLASSES, overshoot=OVERSHOOT, max_iter=MAX_ITER,
             bounds=(0.0, 1.0)):
    """DeepFool (Moosavi-Dezfooli et al. 2016, Alg. 2), batched, in pixel units.

    Args:
        net: a Net with class scores; x: (N, C, H, W) preprocessed batch.
        num_classes: candidate classes, the top ones of the clean scores (paper: 10).
        overshoot: eta, the final step is ``(1 + eta)`` times the sum (paper: 0.02).
        max_iter: most iterations (paper's code: 50).
        bounds: valid pixel range (low, high); None for none.

    Returns:
        :class:`DeepFoolResult`.

    Raises:
        ValueError: num_classes < 2, overshoot < 0, max_iter < 1.
    """
    check_batch(x)
    num_classes = check_positive(num_classes, "num_classes", integer=True)
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    overshoot = check_epsilon(overshoot, "overshoot")
    max_iter = check_positive(max_iter, "max_iter", integer=True)
    xp = get_array_module(x)
    space = pixel_space(net, x, bounds)
    name = score_layer(net)
    N = x.shape[0]
    s0 = asnumpy(scores(net, x))
    top = np.argsort(-s0, axis=1, kind="stable")[:, :min(num_classes, s0.shape[1])]
    k0 = top[:, 0]
    r_tot = xp.zeros_like(x)
    x_adv = x.copy()
    iterations = np.zeros(N, np.int64)
    forward, backward = np.ones(N, np.int64), np.zeros(N, np.int64)
    active = np.arange(N)
    for _ in range(max_iter):
        idx = xp.asarray(active)
        s = scores(net, x_adv[idx])
        forward[active] += 1
        going = asnumpy(s).argmax(axis=1) == k0[active]
        if not going.any():
            break
        active, idx, rows = active[going], idx[xp.asarray(going)], xp.flatnonzero(
            xp.asarray(going))
        cand = top[active]                                    # (A, nc)
        grads = []
        for m in range(cand.shape[1]):                        # one backward per rank
            onehot = xp.zeros_like(s)
            onehot[rows, xp.asarray(cand[:, m])] = 1
            grads.append((net.backward({name: onehot})[rows] * space.k))
        backward[active] += cand.shape[1]
        s_np = asnumpy(s)[asnumpy(rows)]
        f = s_np[np.arange(len(active))[:, None], cand]        # (A, nc)
        w = xp.stack([g - grads[0] for g in grads[1:]])       # (nc-1, A, C, H, W)
        fp = np.abs(f[:, 1:] - f[:, :1]).T                     # (nc-1, A)
        wn = asnumpy(xp.sqrt((w * w).reshape(w.shape[0], w.shape[1], -1).sum(axis=2)))
        ratio = fp / np.maximum(wn, 1e-12)
        best = ratio.argmin(axis=0)                            # l for each sample
        A = np.arange(len(active))
        w_l = w[xp.asarray(best), xp.asarray(A)]               # (A, C, H, W)
        n_l = xp.asarray(np.maximum(wn[best, A], 1e-12), dtype=x.dtype).reshape(-1, 1, 1, 1)
        step = xp.asarray(ratio[best, A] + 1e-4, dtype=x.dtype).reshape(-1, 1, 1, 1)
        r_tot[idx] = r_tot[idx] + step * w_l / n_l
        x_adv[idx] = clip(x[idx] + (1 + overshoot) * r_tot[idx] * space.k, space).astype(x.dtype)
        iterations[active] += 1
    fields = outcome(net, x, x_adv, k0, k0, None, forward=forward, backward=backward)
    return DeepFoolResult(**fields, r=(1 + overshoot) * r_tot, iterations=iterations)

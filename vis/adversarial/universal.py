r"""Universal adversarial perturbations: one small image that fools the net on most images.

Moosavi-Dezfooli, Fawzi, Fawzi & Frossard 2017, "Universal adversarial
perturbations", Sec. 3, Algorithm 1. Look for one ``v`` with ``||v||_p <= xi``
such that ``k(x + v) != k(x)`` for "most" ``x ~ mu`` — a fooling rate of at
least ``1 - delta`` (Eq. 1). Sweep the data; wherever ``v`` does not yet fool
an image, add the smallest change that does (DeepFool, ``boundary.py``) and
project back onto the ``xi``-ball::

    v = 0
    while Err(X_v) < 1 - delta:                       Err: fooling rate on X
        for x_i in X (shuffled):
            if k(x_i + v) == k(x_i):
                dv = DeepFool(x_i + v)                # argmin ||r||_2, k changes
                v  = P_{p, xi}(v + dv)                # project onto the ball

    P_{2, xi}(v)   = v * min(1, xi / ||v||_2)
    P_{inf, xi}(v) = sign(v) * min(|v|, xi)

The paper's settings (Sec. 4 and the authors' code): ``delta = 0.2`` (stop
at 80 % fooling), ``xi = 2000`` (L2) and ``10`` (L-inf) on 224x224 images in
0-255, i.e. ``10/255`` in pixel units; DeepFool with 10 candidate classes,
overshoot 0.02 and at most 10 iterations; ``v`` is updated only when DeepFool
succeeded; the data is shuffled before every pass. The fooling rate counts
label *changes* (``k(x+v) != k(x)``), not errors against the truth, and is
reported on held-out images too (the paper's "validation set").

Here ``xi`` is in [0, 1] RGB pixel units (``pixels.py``; the paper's L2
radius 2000 becomes ``2000 / 255 * 64 / 224`` = 2.24 at 64x64, if one keeps
the per-pixel energy), ``x + v`` is clipped to the pixel range, and the
number of passes is capped by ``max_passes`` (the authors' code: no cap).

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> from minicnn.preprocessing import preprocess
    >>> net = models.load("tiny")
    >>> x = preprocess(make_shapes(6, seed=12345).images, net.meta)
    >>> u = universal_perturbation(net, x, xi=16 / 255, max_passes=1)
    >>> u.v.shape, bool(np.abs(u.v).max() <= 16 / 255 + 1e-6), 0 <= u.fooling_rate <= 1
    ((3, 64, 64), True, True)
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy, get_array_module
from minicnn.progress import Progress

from .common import check_batch, check_epsilon, check_norm, check_positive, predicted_scores
from .boundary import deepfool
from .iterative import project
from .pixels import clip, pixel_space, to_image, to_rgb

#: Moosavi-Dezfooli et al. 2017 (Sec. 4, authors' code): delta, DeepFool settings.
DELTA, DF_CLASSES, DF_OVERSHOOT, DF_MAX_ITER = 0.2, 10, 0.02, 10


class UniversalResult(NamedTuple):
    """Result of :func:`universal_perturbation`.

    Attributes:
        v: (3, H, W) the perturbation, RGB, pixel units.
        x: (N, C, H, W) the training batch with ``v`` added (clipped), preprocessed.
        image: (N, 3, H, W) the same as RGB in [0, 1].
        clean_pred, pred: (N,) predictions on the training images without and with ``v``.
        fooling_rate: fraction of training images whose label ``v`` changes.
        fooling_rate_val: the same on the held-out images (None without them).
        history: (passes + 1,) training fooling rate before the first pass
            and after each pass.
        passes: passes over the data made.
        forward, backward: passes spent in total (all images together).
    """
    v: object
    x: object
    image: object
    clean_pred: object
    pred: object
    fooling_rate: float
    fooling_rate_val: object
    history: object
    passes: int
    forward: int
    backward: int


def apply_perturbation(net, x, v, bounds=(0.0, 1.0)):
    """``x + v`` clipped to the pixel range: x (N, C, H, W) preprocessed, v (3, H, W) RGB pixels."""
    xp = get_array_module(x)
    space = pixel_space(net, x, bounds)
    v_net = to_rgb(xp.asarray(np.asarray(v)[None], dtype=x.dtype), space)  # RGB -> net order
    return clip(x + v_net * space.k, space).astype(x.dtype)


def fooling_rate(net, x, v, clean_pred=None, batch_size=256):
    """Fraction of images whose predicted label ``v`` changes: P(k(x + v) != k(x)).

    Returns:
        (rate, clean_pred (N,), pred (N,)).
    """
    def predict(a):
        return np.concatenate([asnumpy(predicted_scores(net, a[i:i + batch_size])).argmax(axis=1)
                               for i in range(0, a.shape[0], batch_size)])
    clean = predict(x) if clean_pred is None else np.asarray(clean_pred)
    pred = predict(apply_perturbation(net, x, v))
    return float((pred != clean).mean()), clean, pred


def universal_perturbation(net, x, xi, norm="inf", delta=DELTA, max_passes=5, x_val=None,
                           num_classes=DF_CLASSES, overshoot=DF_OVERSHOOT,
                           max_iter_df=DF_MAX_ITER, seed=0, progress=False):
    """Moosavi-Dezfooli et al. 2017, Alg. 1, with DeepFool as the inner step.

    Args:
        net: a Net with class scores.
        x: (N, C, H, W) preprocessed training images (the paper's X).
        xi: radius of the ``norm`` ball in [0, 1] pixel units (paper: 10/255 for L-inf).
        norm: ``"inf"`` or ``"2"``.
        delta: stop once the training fooling rate reaches ``1 - delta`` (paper: 0.2).
        max_passes: most passes over ``x`` (ours; the authors' code has no cap).
        x_val: (M, C, H, W) held-out images for ``fooling_rate_val``.
        num_classes, overshoot, max_iter_df: DeepFool's settings (10, 0.02, 10).
        seed: seeds the shuffling of every pass.
        progress: show a progress bar over the passes.

    Returns:
        :class:`UniversalResult`.

    Raises:
        ValueError: xi < 0 or not finite, an unknown norm, delta outside [0, 1),
            max_passes < 1.
    """
    check_batch(x)
    xi = check_epsilon(xi, "xi")
    norm = check_norm(norm)
    delta = check_epsilon(delta, "delta")
    if delta >= 1:
        raise ValueError(f"delta must lie in [0, 1) (1 - delta is the target fooling "
                         f"rate), got {delta}")
    max_passes = check_positive(max_passes, "max_passes", integer=True)
    xp = get_array_module(x)
    space = pixel_space(net, x)
    N = x.shape[0]
    rng = np.random.default_rng(seed)
    v = xp.zeros((1,) + tuple(x.shape[1:]), dtype=x.dtype)   # pixel units, net order
    clean = np.concatenate([asnumpy(predicted_scores(net, x[i:i + 256])).argmax(axis=1)
                            for i in range(0, N, 256)])
    rate, pred = 0.0, clean
    forward, backward, history, passes = N, 0, [rate], 0
    bar = Progress(max_passes, "universal", enabled=progress)
    while rate < 1 - delta and passes < max_passes:
        for i in rng.permutation(N):
            xv = clip(x[i:i + 1] + v * space.k, space).astype(x.dtype)
            forward += 1
            if asnumpy(predicted_scores(net, xv)).argmax() != clean[i]:
                continue
            df = deepfool(net, xv, num_classes, overshoot, max_iter_df)
            forward += int(df.forward[0]) - 1                 # its clean forward repeats ours
            backward += int(df.backward[0])
            if df.success[0] and df.iterations[0] < max_iter_df:
                v = project(v + df.r, xi, norm)
        passes += 1
        rate, _, pred = fooling_rate(net, x, _rgb(v, space), clean)
        forward += N
        history.append(rate)
        bar.update(info=f"fooling rate {rate:.2f}")
    bar.close()
    v_rgb = _rgb(v, space)
    rate_val = None
    if x_val is not None:
        rate_val = fooling_rate(net, check_batch(x_val), v_rgb)[0]
    x_adv = apply_perturbation(net, x, v_rgb)
    return UniversalResult(v=v_rgb, x=x_adv, image=to_image(x_adv, net), clean_pred=clean,
                           pred=pred, fooling_rate=rate, fooling_rate_val=rate_val,
                           history=np.array(history), passes=passes, forward=forward,
                           backward=backward)


def _rgb(v, space):
    """(1, C, H, W) pixel units in the net's order -> (3, H, W) RGB NumPy."""
    return np.asarray(asnumpy(to_rgb(v, space)[0]), dtype=np.float64)

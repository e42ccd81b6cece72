r"""What every attack shares: the loss and its input gradient, argument checks, the result.

**The loss.** Goodfellow et al. 2015 (Sec. 3) and Kurakin et al. 2017 step on
``J(x, y)``, the cross-entropy of the softmax of the class scores ``S``
(the score layer's output, before a trailing Softmax)::

    J(x, y)  = -log p_y(x),        p = softmax(S(x))
    dJ/dS    = p - onehot(y)                        (one row per sample)
    dJ/dx    = net.backward({score_layer: p - onehot(y)})

Each sample's gradient is that of its own loss (a sum, not a mean over the
batch). Every step of the gradient attacks uses only the *direction* of
``dJ/dx`` (its sign, or ``g / ||g||``), so each row of ``dJ/dS`` may be scaled
by any positive number. We use that against rounding: a confident net's
``p_y`` rounds to 1, so ``p - onehot(y)`` loses its ``y`` entry (autograd,
and Captum with it, then steps along the other classes' gradients only), and in
float32 the other entries underflow too and nothing moves at all — gradient
masking by rounding (Carlini & Wagner 2016, "Defensive distillation is not
robust to adversarial examples": a saturated float32 softmax has no gradient).
Here ``dJ/dS`` is computed in float64 as ``p_j`` for ``j != y`` and
``-sum_{j != y} p_j`` at ``y``, then each
row is scaled to max ``|.| = 1`` before the backward pass.

**The result.** Every attack returns a NamedTuple whose first fields are the
same (see :func:`outcome`): the adversarial batch ``x`` in the input's space,
the RGB ``image`` in [0, 1], the change ``delta`` in pixel units, the new
prediction, its confidence, the clean prediction, ``success`` per sample, and
the forward and backward passes spent per image. ``metrics.attack_summary`` reads
only these.
"""

import math

import numpy as np

from minicnn.backend import asnumpy, get_array_module
from minicnn.losses import log_softmax

from ..netinfo import class_count, score_layer
from .pixels import to_image

NORMS = ("inf", "2")


def check_epsilon(value, name="epsilon", at_most=None):
    """A finite number >= 0 (and <= ``at_most``), as float; ValueError naming ``name``.

    An L-inf size is at most 1: pixels live in [0, 1], so 1 already allows any image.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (pixel units, e.g. 8/255), "
                         f"got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be finite and >= 0 (pixel units, e.g. 8/255), got {v}")
    if at_most is not None and v > at_most:
        raise ValueError(f"{name} must be at most {at_most:g} for the L-inf norm (pixel units "
                         f"in [0, 1]; 8/255 is eight grey levels), got {v:g}")
    return v


def check_positive(value, name, integer=False):
    """A finite number > 0 (an int >= 1 with ``integer``); ValueError naming ``name``."""
    if integer:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        return int(value)
    v = check_epsilon(value, name)
    if v == 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def check_flag(value, name):
    """A yes/no switch (bool or NumPy bool); ValueError naming ``name`` otherwise.

    ``targeted`` takes True or False: the target classes go in ``label``.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}"
                     + (" (the target classes go in label)" if name == "targeted" else ""))


def check_norm(norm):
    """``"inf"`` or ``"2"`` (also accepts ``np.inf``, ``2``, ``"Linf"``, ``"L2"``)."""
    key = str(norm).lower().lstrip("l")
    if key in ("inf", "2"):
        return key
    raise ValueError(f"unknown norm {norm!r}: use 'inf' (L-infinity) or '2' (L2)")


def check_labels(net, label, N, name="label"):
    """Class indices, one per sample: (N,) int64 NumPy.

    Args:
        label: an int (every sample) or a sequence of N ints.

    Raises:
        ValueError: not integers, the wrong length, or outside 0 .. K-1 —
            the message names ``name`` and K.
    """
    K = class_count(net)
    idx = np.asarray(asnumpy(label))
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise ValueError(f"{name} must be a class index or N class indices, got {label!r}")
    idx = np.broadcast_to(idx, (N,)) if idx.ndim == 0 else idx
    if idx.shape != (N,):
        raise ValueError(f"{name}: got {idx.shape[0]} class "
                         f"{'index' if idx.shape[0] == 1 else 'indices'} for a batch of {N}")
    bad = idx[(idx < 0) | (idx >= K)]
    if bad.size:
        raise ValueError(f"{name} {int(bad[0])} out of range: this net has {K} classes, "
                         f"0 .. {K - 1}")
    return idx.astype(np.int64)


def check_batch(x):
    """(N, C, H, W) float array; ValueError naming ``x`` otherwise."""
    if getattr(x, "ndim", None) != 4 or getattr(x, "dtype", np.int64).kind != "f":
        got = (f"{x.dtype} {tuple(x.shape)}" if hasattr(x, "dtype") and hasattr(x, "shape")
               else type(x).__name__)
        raise ValueError(f"x must be a preprocessed float batch (N, C, H, W), got {got} "
                         "(preprocess(images, net) makes one)")
    return x


def scores(net, x):
    """Class scores (N, K) — the score layer's output, before any trailing Softmax —
    by a forward pass that a backward pass may follow."""
    return net.forward(x, until=score_layer(net), keep=())


def predicted_scores(net, x):
    """The same scores by ``Net.predict``, for evaluation only: no backward may follow."""
    return net.predict(x, until=score_layer(net))


def softmax(s):
    """(N, K) scores -> probabilities, NumPy or CuPy."""
    xp = get_array_module(s)
    return xp.exp(log_softmax(s))


def loss_gradient(net, x, labels, normalize=True):
    """Per-sample cross-entropy and its input gradient: one forward, one backward.

    Args:
        x: (N, C, H, W) preprocessed batch; labels: (N,) int class indices.
        normalize: scale each sample's dJ/dS to max |.| = 1 before the
            backward pass (see the module docstring); False for the true dJ/dx.

    Returns:
        loss: (N,) NumPy ``-log p_y``; s: (N, K) scores; dx: (N, C, H, W)
        ``dJ/dx`` (a positive multiple of it per sample with ``normalize``) on
        the device of ``x``.
    """
    xp = get_array_module(x)
    s = scores(net, x)
    logp = log_softmax(s.astype(np.float64))
    rows, y = xp.arange(len(labels)), xp.asarray(labels)
    ds = xp.exp(logp)
    ds[rows, y] = 0
    ds[rows, y] = -ds.sum(axis=1)              # -(1 - p_y), without rounding p_y to 1
    if normalize:
        top = xp.abs(ds).max(axis=1, keepdims=True)
        ds = ds / xp.where(top > 0, top, 1.0)
    dx = net.backward({score_layer(net): ds.astype(s.dtype)})
    return -asnumpy(logp[rows, y]), s, dx


def outcome(net, x0, x_adv, clean_pred, true_label=None, target=None, forward=0, backward=0,
            s_adv=None):
    """The fields every attack result starts with (a dict, to unpack into a NamedTuple).

    Args:
        x0, x_adv: (N, C, H, W) clean and adversarial input batches.
        clean_pred: (N,) prediction on ``x0``.
        true_label: (N,) true classes (untargeted) or None.
        target: (N,) target classes (targeted) or None.
        forward, backward: passes spent per image (int, or (N,) array).
        s_adv: (N, K) scores of ``x_adv`` if already computed (else one forward).

    Returns:
        dict with x, image, delta, pred, confidence, clean_pred, true_label,
        target, success, forward, backward. ``success`` is ``pred == target``
        for a targeted attack, ``pred != true_label`` otherwise.
    """
    if s_adv is None:
        s_adv = predicted_scores(net, x_adv)
        forward = forward + 1
    p = asnumpy(softmax(s_adv))
    pred = p.argmax(axis=1)
    image = to_image(x_adv, net)
    delta = image - to_image(x0, net)
    success = pred == target if target is not None else pred != true_label
    return dict(x=x_adv, image=image, delta=delta, pred=pred,
                confidence=p[np.arange(len(pred)), pred], clean_pred=np.asarray(clean_pred),
                true_label=true_label, target=target, success=success,
                forward=forward, backward=backward)


#: The shared fields, in order, for the NamedTuple docstrings.
FIELDS_DOC = """x: (N, C, H, W) adversarial batch, preprocessed like the input.
        image: (N, 3, H, W) NumPy RGB in [0, 1].
        delta: (N, 3, H, W) ``image`` minus the clean image, pixel units.
        pred: (N,) new prediction; confidence: (N,) its softmax probability.
        clean_pred: (N,) prediction on the clean input.
        true_label: (N,) the true classes given (None for a targeted attack).
        target: (N,) target classes (None for an untargeted attack).
        success: (N,) bool — ``pred == target`` (targeted) or
            ``pred != true_label``; a clean image that is already
            misclassified counts as a success here, ``metrics.attack_summary``
            counts it apart.
        forward, backward: passes spent per image (int or (N,))."""

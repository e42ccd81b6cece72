r"""The one optimization loop behind every synthesized image.

Objectives are maximized (``vis/objectives/``). One step of gradient ascent::

    x_net = before(x)                          transforms: jitter
    net.forward(x_net); value, grads = objective(net, x_net)
    g = net.backward(grads, rule) + dx_image   dObjective/dx (rule: gradient,
                                               deconvnet or guided)
    g = back(g)                                undo the jitter
    x = step(x, g)                             see below
    x = after(x)                               transforms: decay, blur, clip ...
    x = clip(x, bounds)                        pixel range, if given

Steps (``step=``):

============  ===============================================================
"ascent"      ``x += lr * g``
"normalized"  ``x += lr * g / mean|g|`` per image (Mordvintsev et al. 2015,
              DeepDream ``make_step``: ``step_size / np.abs(g).mean()``)
"progress"    ``x += min(lr, gain / ||g||^2) * g`` per image: the first-order
              gain of the objective is ``gain`` per step, the step at most
              ``lr`` (Yosinski et al.'s toolbox, ``lr_policy="progress"``)
"sgd"         ``minicnn.optim.SGD`` (momentum 0.9) on ``-g``
"adam"        ``minicnn.optim.Adam`` (Kingma & Ba 2015 defaults) on ``-g``
"lbfgs"       ``scipy.optimize.minimize(method="L-BFGS-B")`` on ``-objective``
              with the pixel bounds as box constraints (Gatys et al.'s code
              bounds the pixels; it does not clamp inside the evaluation),
              over the image in RGB units (its first step has norm 1).
              ``steps`` counts *evaluations* (forward + backward), not
              iterations; ``maxcor = 20``, ``ftol = gtol = 0`` so it stops on
              the budget (Gatys' DeepTextures options); the best image seen
              is returned.
============  ===============================================================

``bounds="pixels"`` is the RGB box [0, 1] mapped through the model's
preprocessing, per channel (for Caffe's VGG: ``[-mean_c, 255 - mean_c]``).

The result keeps ``history[name]``, an (S, N) array: the value of every named
term (and ``"objective"``) at each of the S evaluations, and ``final``, the
same at the returned image. A non-finite objective or image stops the loop:
the last finite image is returned, ``stopped`` says at which step, and a
:class:`NonFiniteWarning` is issued. Same seed, same image, bit for bit.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from vis.objectives import class_score, l2
    >>> net = models.load("tiny")
    >>> x0 = np.zeros((1, 3, 64, 64), np.float32)
    >>> r = optimize(net, class_score(2) - 1e-3 * l2(), x0, steps=5, step="adam",
    ...              lr=0.1, progress=False)
    >>> r.x.shape, r.image.shape, r.history["score"].shape, r.stopped
    ((1, 3, 64, 64), (1, 3, 64, 64), (5, 1), 'steps')
    >>> bool(r.final["score"][0] > r.history["score"][0, 0])
    True
"""

import warnings
from typing import NamedTuple

import numpy as np

from minicnn import optim
from minicnn.backend import asnumpy, get_array_module
from minicnn.preprocessing import deprocess, preprocess
from minicnn.progress import Progress

from .transforms import StepInfo

STEPS = ("ascent", "normalized", "progress", "sgd", "adam", "lbfgs")


class NonFiniteWarning(UserWarning):
    """The objective, its gradient or the image became NaN or infinite."""


class Result(NamedTuple):
    """What every synthesis method returns.

    x: (N, C, H, W) final image in the network's input space; image: (N, 3, H, W)
    the same as RGB in [0, 1] (clipped) for display; history: ``{name: (S, N)}``
    each term at every evaluation, plus "objective"; final: ``{name: (N,)}`` at
    the returned image; steps: gradient steps completed (L-BFGS-B: evaluations);
    stopped: why it stopped;
    info: method-specific numbers (arrays).
    """
    x: np.ndarray
    image: np.ndarray
    history: dict
    final: dict
    steps: int
    stopped: str
    info: dict


def pixel_bounds(net, like=None):
    """(lo, hi), each (1, C, 1, 1): the RGB box [0, 1] in the network's input space."""
    lo = preprocess(np.zeros((1, 3, 1, 1), np.float32), net.meta)
    hi = preprocess(np.ones((1, 3, 1, 1), np.float32), net.meta)
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    if like is not None:
        xp = get_array_module(like)
        lo, hi = xp.asarray(lo, like.dtype), xp.asarray(hi, like.dtype)
    return lo, hi


def to_image(net, x):
    """Network input (N, C, H, W) -> RGB (N, 3, H, W) clipped to [0, 1]."""
    return np.clip(deprocess(asnumpy(x), net.meta), 0, 1).astype(np.float32)


def evaluate(net, objective, x, rule="gradient", backward=True):
    """One forward pass to the objective's deepest layer, the objective, one backward.

    Returns:
        (Evaluation, g) with g = dObjective/dx, (N, C, H, W) (image-space terms
        included); g is None with ``backward=False``.
    """
    layers = objective.layers(net)
    if layers:
        net.forward(x, until=max(layers, key=net.index), check_finite=False, keep=layers)
    ev = objective(net, x)
    if not backward:
        return ev, None
    g = net.backward(ev.grads, rule) if ev.grads else None
    if ev.dx is not None:
        g = ev.dx if g is None else g + ev.dx
    if g is None:
        raise ValueError("the objective has no term: nothing to optimize")
    return ev, g


def _finite(*arrays):
    xp = get_array_module(arrays[0])
    return all(bool(xp.isfinite(a).all()) for a in arrays)


def _bounds(net, bounds, x):
    if bounds is None:
        return None
    if isinstance(bounds, str):
        if bounds != "pixels":
            raise ValueError(f"unknown bounds {bounds!r}: use None, 'pixels' or (lo, hi)")
        return pixel_bounds(net, x)
    xp = get_array_module(x)
    return tuple(xp.asarray(b, dtype=x.dtype) for b in bounds)


class _History:
    def __init__(self, total, desc, enabled):
        self.rows, self.bar = [], Progress(total, desc, enabled)

    def add(self, ev):
        row = {"objective": asnumpy(ev.value).astype(np.float64)}
        row.update({k: asnumpy(v).astype(np.float64) for k, v in ev.terms.items()})
        self.rows.append(row)
        self.bar.update(info=f"objective {row['objective'].sum():.4g}")
        return bool(np.isfinite(row["objective"]).all())

    def arrays(self):
        self.bar.close()
        keys = self.rows[0].keys() if self.rows else ()
        return {k: np.stack([np.broadcast_to(r[k], r["objective"].shape) for r in self.rows])
                for k in keys}


def _stop_nonfinite(i):
    msg = f"non-finite objective at step {i}"
    warnings.warn(f"{msg}: stopped, keeping the last finite image", NonFiniteWarning,
                  stacklevel=3)
    return msg


def optimize(net, objective, x0, steps=100, step="adam", lr=0.05, transforms=(),
             bounds=None, rule="gradient", seed=0, progress=True, momentum=0.9,
             gain=2.0, desc="optimize"):
    """Maximize ``objective`` over the input image.

    Args:
        net: a Net. objective: an objective or term (``vis/objectives/``).
        x0: (N, C, H, W) start, in the network's input space (not modified).
        steps: gradient steps, or evaluations for ``"lbfgs"``.
        step: one of :data:`STEPS` (module docstring). lr: a float, or a
            function of the step number (a schedule).
        transforms: per-step transforms (``transforms.py``); not with "lbfgs".
        bounds: None, "pixels" or (lo, hi) arrays broadcastable to x.
        rule: backward rule for the layers (``"gradient"``, ``"guided"``, ...).
        seed: seeds the generator the transforms draw from.
        progress: show a progress bar with the objective. momentum: for "sgd".
        gain: objective gain per step of "progress" (the toolbox's desired_prog).

    Returns:
        :class:`Result`.

    Raises:
        ValueError: unknown step or bounds, transforms with "lbfgs", x0 not 4-D.
    """
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}: use one of {', '.join(STEPS)}")
    if getattr(x0, "ndim", None) != 4:
        raise ValueError(f"x0: expected a batch (N, C, H, W), got shape {np.shape(x0)}")
    if step == "lbfgs" and transforms:
        raise ValueError("transforms change the image between steps, which L-BFGS-B's "
                         "curvature model cannot follow: use a gradient step with them")
    xp = get_array_module(x0)
    x = x0.copy()
    box = _bounds(net, bounds, x)
    if box is not None:
        x = xp.clip(x, box[0], box[1])
    history = _History(steps, desc, progress)
    if step == "lbfgs":
        x, done, stopped = _lbfgs(net, objective, x, steps, box, rule, history)
    else:
        x, done, stopped = _ascend(net, objective, x, steps, step, lr, transforms, box,
                                   rule, np.random.default_rng(seed), momentum, gain, history)
    hist = history.arrays()
    ev, _ = evaluate(net, objective, x, rule, backward=False) if done else (None, None)
    final = {} if ev is None else {
        "objective": asnumpy(ev.value).astype(np.float64),
        **{k: asnumpy(v).astype(np.float64) for k, v in ev.terms.items()}}
    return Result(asnumpy(x), to_image(net, x), hist, final, done, stopped, {})


def _ascend(net, objective, x, steps, step, lr, transforms, box, rule, rng, momentum, gain,
            history):
    xp = get_array_module(x)
    rate = lr if callable(lr) else (lambda i: lr)
    opt = optim.Adam(lr=rate(0)) if step == "adam" else \
        optim.SGD(lr=rate(0), momentum=momentum) if step == "sgd" else None
    for i in range(steps):
        info = StepInfo(i, rng)
        x_net = x
        for t in transforms:
            if t.before:
                x_net = t.before(x_net, info)
        ev, g = evaluate(net, objective, x_net, rule)
        if not (history.add(ev) and _finite(g)):
            return x, i, _stop_nonfinite(i)
        for t in reversed(transforms):
            if t.back:
                g = t.back(g, info)
        new = x.copy()
        if opt is not None:
            opt.lr = rate(i)
            opt.step({"x": new}, {"x": -g})
        elif step == "normalized":
            # BEGIN SOLUTION deepdream-step
            scale = xp.abs(g).reshape(len(g), -1).mean(axis=1).reshape(-1, 1, 1, 1)
            new += (rate(i) * g / xp.maximum(scale, 1e-30)).astype(x.dtype)
            # END SOLUTION deepdream-step
        elif step == "progress":
            sq = (g * g).reshape(len(g), -1).sum(axis=1).reshape(-1, 1, 1, 1)
            new += (xp.minimum(rate(i), gain / xp.maximum(sq, 1e-30)) * g).astype(x.dtype)
        else:
            new += (rate(i) * g).astype(x.dtype)
        info = StepInfo(i, rng, g)
        for t in transforms:
            if t.after:
                new = t.after(new, info)
        if box is not None:
            new = xp.clip(new, box[0], box[1])
        if not _finite(new):
            return x, i + 1, _stop_nonfinite(i)
        x = new
    return x, steps, "steps"


class _Budget(Exception):
    pass


def _lbfgs(net, objective, x, steps, box, rule, history):
    """L-BFGS-B on ``z = (x - lo) / (hi - lo)``, the image in RGB units: scipy's first
    step has norm 1 in its variables, a sensible size in [0, 1] pixels but nothing
    in Caffe's 0-255 units (where the loss would not even change in float32)."""
    from scipy.optimize import Bounds, minimize   # the engine never imports scipy.optimize
    xp = get_array_module(x)
    shape, dtype = x.shape, x.dtype
    lo, hi = (asnumpy(b).astype(np.float64) for b in pixel_bounds(net))
    scale = hi - lo
    best = {"f": np.inf, "x": x, "bad": None}

    def fun(z):
        if len(history.rows) >= steps:
            raise _Budget
        xz = xp.asarray(z.reshape(shape) * scale + lo, dtype=dtype)
        ev, g = evaluate(net, objective, xz, rule)
        f = -float(asnumpy(ev.value).astype(np.float64).sum())
        if not (history.add(ev) and _finite(g)):
            best["bad"] = len(history.rows) - 1
            raise _Budget
        if f < best["f"]:
            best["f"], best["x"] = f, xz
        return f, -(asnumpy(g).astype(np.float64) * scale).ravel()

    lims = None
    if box is not None:
        lims = Bounds(*(np.broadcast_to((asnumpy(b).astype(np.float64) - lo) / scale,
                                        shape).ravel() for b in box))
    stopped = "steps"
    z0 = (asnumpy(x).astype(np.float64) - lo) / scale
    try:
        res = minimize(fun, z0.ravel(), jac=True, method="L-BFGS-B", bounds=lims,
                       options={"maxiter": steps, "maxfun": steps + 20, "maxcor": 20,
                                "ftol": 0.0, "gtol": 0.0})
        if len(history.rows) < steps:
            stopped = f"converged: {res.message}"
    except _Budget:
        pass
    if best["bad"] is not None:
        stopped = _stop_nonfinite(best["bad"])
    return best["x"], len(history.rows), stopped

r"""The one-pixel attack: a black-box search over where to put which colour.

Su, Vargas & Sakurai 2019, "One pixel attack for fooling deep neural
networks" (IEEE TEVC), Sec. 3, Eq. 2: change at most ``d`` pixels,

    maximize_e  f_adv(x + e)     subject to  ||e||_0 <= d,

with no gradient at all: only the class probabilities of candidate images.
Each candidate is ``d`` tuples ``(row, col, r, g, b)``, and differential
evolution (Storn & Price 1997) evolves a population of them. The paper's
settings (Sec. 3.3-3.4), and how they map onto
``scipy.optimize.differential_evolution``:

=========================================  ==========================================
paper                                      here
=========================================  ==========================================
400 candidates, 100 iterations max         ``init`` = 400 rows (the population size
                                           is the init's length), ``maxiter=100``
x_i(g+1) = x_r1(g) + F (x_r2(g) - x_r3(g)) ``strategy="rand1bin"``, ``mutation=0.5``
F = 0.5; "crossover is not included"       ``recombination=1``: every parameter
                                           comes from the mutant
a child replaces its parent only if fitter ``updating="deferred"``: the whole
                                           generation is scored, then selected
rows, cols ~ U(1, 32); RGB ~ N(128, 127)   rows ~ U(0, H), cols ~ U(0, W) (floored);
                                           RGB ~ N(128/255, 127/255) clipped to [0, 1]
fitness: p(true class) (untargeted),       log p(true class), or -log p(target):
p(target class) (targeted)                 the same order (DE only compares), but a
                                           confident image's p no longer rounds to 1
early stop: p(true) < 5 % (untargeted),    the same, checked as soon as a generation
p(target) > 50 % (targeted)                is scored; the search stops on the spot
=========================================  ==========================================

Each generation's population is scored in **one batched forward pass**
(``vectorized=True``). The pass recomputes only the receptive-field cones of
the changed pixels (``cone.py``), the same numbers as a full forward at a
fraction of the cost. Other differences: SciPy resamples a
mutant coordinate that leaves the bounds uniformly at random (the paper does
not say what it does); ``polish=False``; ``tol=0``, ``atol=0`` (a search ends at
the iteration limit, at the early stop, or if every candidate scores the same).

Budget: at most ``popsize * (maxiter + 1)`` candidate evaluations per image,
plus one batched forward of the clean images; images the net already gets
wrong (or that already show the target) are not attacked and are reported
apart by ``metrics.attack_summary``.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> from minicnn.preprocessing import preprocess
    >>> net = models.load("tiny")
    >>> data = make_shapes(2, seed=12345)
    >>> r = one_pixel(net, preprocess(data.images, net.meta), data.labels,
    ...               popsize=20, maxiter=2, seed=0)      # a toy budget
    >>> r.pixels.shape, int(((np.abs(r.delta) > 0).any(axis=1)).sum(axis=(1, 2)).max()) <= 1
    ((2, 1, 5), True)
    >>> bool((r.forward <= 1 + 20 * 3).all())
    True
"""

import inspect
from typing import NamedTuple

import numpy as np
from scipy.optimize import differential_evolution

from minicnn.backend import asnumpy, get_array_module
from minicnn.losses import log_softmax
from minicnn.progress import Progress

from .common import (FIELDS_DOC, check_batch, check_flag, check_labels, check_positive, outcome,
                     predicted_scores, scores)
from .cone import PixelCone
from .pixels import pixel_space, to_input

#: Su et al. 2019, Sec. 3.4 (paper settings).
POPSIZE, MAXITER, F = 400, 100, 0.5
#: Early-stop thresholds (Su et al. 2019, Sec. 4): p(true) below, p(target) above.
STOP_UNTARGETED, STOP_TARGETED = 0.05, 0.50


class OnePixelResult(NamedTuple):
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
    pixels: object
    generations: object
    attacked: object


OnePixelResult.__doc__ = f"""Result of :func:`one_pixel`.

    Attributes:
        {FIELDS_DOC}
        pixels: (N, d, 5) the best candidate of each image, rows of
            ``(row, col, r, g, b)`` with RGB in [0, 1].
        generations: (N,) DE generations run (0 when not attacked).
        attacked: (N,) bool — False for images already misclassified (or
            already showing the target), left unchanged.
    """


def _log(p):
    """log p, with log 0 = -inf (a threshold of 0 never stops the search)."""
    return float(np.log(p)) if p > 0 else -np.inf


class _Stop(Exception):
    """Raised inside the fitness function when the early-stop criterion holds."""


def _de_seed_kwarg():
    """SciPy >= 1.15 calls the seed ``rng``; older versions ``seed``."""
    params = inspect.signature(differential_evolution).parameters
    return "rng" if "rng" in params else "seed"


def _initial_population(rng, popsize, pixels, H, W):
    """Su et al.'s initialization, one row per candidate: (popsize, 5 * pixels)."""
    init = np.empty((popsize, pixels, 5))
    init[:, :, 0] = rng.uniform(0, H, (popsize, pixels))
    init[:, :, 1] = rng.uniform(0, W, (popsize, pixels))
    init[:, :, 2:] = np.clip(rng.normal(128 / 255, 127 / 255, (popsize, pixels, 3)), 0, 1)
    return init.reshape(popsize, 5 * pixels)


def _decode(params, H, W):
    """(5d, S) parameters -> rows, cols (S, d) ints and rgb (S, d, 3)."""
    p = params.T.reshape(params.shape[1], -1, 5)
    rows = np.clip(np.floor(p[:, :, 0]), 0, H - 1).astype(np.int64)
    cols = np.clip(np.floor(p[:, :, 1]), 0, W - 1).astype(np.int64)
    return rows, cols, p[:, :, 2:]


def apply_pixels(net, x0, rows, cols, rgb, space):
    """Images with pixels set: x0 (1, C, H, W); rows, cols (S, d); rgb (S, d, 3) in [0, 1]."""
    xp = get_array_module(x0)
    S, d = rows.shape
    values = to_input(xp.asarray(rgb.reshape(S * d, 3, 1, 1), dtype=x0.dtype), space, net)
    batch = xp.repeat(x0, S, axis=0)
    n = xp.asarray(np.repeat(np.arange(S), d))
    batch[n, :, xp.asarray(rows.ravel()), xp.asarray(cols.ravel())] = values[:, :, 0, 0]
    return batch


def _attack_one(net, x0, y, t, pixels, popsize, maxiter, seed, use_cone, batch_size, space):
    """DE on one image.

    Returns:
        best: dict with the best candidate's ``params`` (5d,), fitness ``f`` and
        ``scores`` (K,); the candidate evaluations; the generations run.
    """
    xp = get_array_module(x0)
    H, W = x0.shape[2:]
    rng = np.random.default_rng(seed)
    cone = PixelCone(net, x0) if use_cone else None
    best = {"f": np.inf, "params": None, "scores": None}
    count = {"evals": 0, "calls": 0}

    def fitness(params):
        rows, cols, rgb = _decode(params, H, W)
        S = rows.shape[0]
        if cone is not None:
            values = to_input(xp.asarray(rgb.reshape(S * pixels, 3, 1, 1), dtype=x0.dtype),
                              space, net)
            s = cone.scores(rows, cols, values.reshape(S, pixels, -1))
        else:
            s = xp.concatenate([predicted_scores(net, apply_pixels(net, x0, rows[i:i + batch_size],
                                                         cols[i:i + batch_size],
                                                         rgb[i:i + batch_size], space))
                                for i in range(0, S, batch_size)])
        logp = asnumpy(log_softmax(s.astype(np.float64)))
        f = logp[:, y] if t is None else -logp[:, t]
        count["evals"] += S
        count["calls"] += 1
        i = int(np.argmin(f))
        if f[i] < best["f"]:
            best.update(f=f[i], params=params[:, i].copy(), scores=asnumpy(s[i]))
        if t is None and f[i] < _log(STOP_UNTARGETED):
            raise _Stop
        if t is not None and -f[i] > _log(STOP_TARGETED):
            raise _Stop
        return f

    bounds = [(0, H), (0, W), (0, 1), (0, 1), (0, 1)] * pixels
    try:
        differential_evolution(
            fitness, bounds, strategy="rand1bin", maxiter=maxiter, mutation=F,
            recombination=1.0, init=_initial_population(rng, popsize, pixels, H, W),
            polish=False, tol=0, atol=0, updating="deferred", vectorized=True,
            **{_de_seed_kwarg(): rng})
    except _Stop:
        pass
    return best, count["evals"], count["calls"] - 1


def one_pixel(net, x, label, pixels=1, targeted=None, popsize=POPSIZE, maxiter=MAXITER, seed=0,
              cone=True, batch_size=None, progress=False):
    """Su et al. 2019: differential evolution over ``pixels`` (row, col, r, g, b) tuples.

    Args:
        net: a Net with class scores; x: (N, C, H, W) preprocessed batch.
        label: the true class per sample (an int or N ints).
        pixels: d, how many pixels may change (the paper: 1, 3 and 5).
        targeted: None (untargeted), or a target class (an int or N ints).
        popsize: candidates per generation (paper: 400).
        maxiter: most generations after the initial one (paper: 100).
        seed: seeds the search of image n with ``SeedSequence(seed).spawn``'s
            n-th child, so each image's search depends on the seed and its index.
        cone: recompute only the changed pixels' receptive-field cones
            (``cone.py``; the same scores as a full forward, faster).
        batch_size: images per forward pass without the cone (default: the
            whole generation in one pass).
        progress: show a progress bar over the images.

    Returns:
        :class:`OnePixelResult`: the best candidate found for each image, whether
        or not it succeeded (``success`` says which).

    Raises:
        ValueError: pixels < 1, popsize < 5, maxiter < 0, a label or target
            out of range, a target equal to the true class.
    """
    check_batch(x)
    N = x.shape[0]
    y = check_labels(net, label, N)
    pixels = check_positive(pixels, "pixels", integer=True)
    if pixels > x.shape[2] * x.shape[3]:
        raise ValueError(f"pixels must be at most the image's {x.shape[2]}x{x.shape[3]} = "
                         f"{x.shape[2] * x.shape[3]} pixels, got {pixels}")
    popsize = check_positive(popsize, "popsize", integer=True)
    cone = check_flag(cone, "cone")
    if batch_size is not None:
        batch_size = check_positive(batch_size, "batch_size", integer=True)
    if popsize < 5:
        raise ValueError(f"popsize must be >= 5 (DE/rand/1 draws three others), got {popsize}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 0:
        raise ValueError(f"maxiter must be an integer >= 0, got {maxiter!r}")
    t = None if targeted is None else check_labels(net, targeted, N, name="targeted")
    if t is not None and (t == y).any():
        n = int(np.flatnonzero(t == y)[0])
        raise ValueError(f"targeted: the target of sample {n} is its true class {int(y[n])}; "
                         f"a targeted attack needs another class")
    xp = get_array_module(x)
    space = pixel_space(net, x)
    s_clean = scores(net, x)
    clean_pred = asnumpy(s_clean).argmax(axis=1)
    attack = clean_pred == y if t is None else (clean_pred == y) & (clean_pred != t)
    x_adv = x.copy()
    s_adv = asnumpy(s_clean).copy()
    found = np.full((N, pixels, 5), np.nan)
    forward = np.ones(N, np.int64)
    generations = np.zeros(N, np.int64)
    seeds = np.random.SeedSequence(seed).spawn(N)
    bar = Progress(int(attack.sum()), "one-pixel", enabled=progress)
    for n in np.flatnonzero(attack):
        best, evals, gens = _attack_one(
            net, x[n:n + 1], int(y[n]), None if t is None else int(t[n]), pixels, popsize,
            maxiter, seeds[n], cone, batch_size or popsize, space)
        H, W = x.shape[2:]
        rows, cols, rgb = _decode(best["params"][:, None], H, W)
        x_adv[n:n + 1] = apply_pixels(net, x[n:n + 1], rows, cols, rgb, space)
        found[n] = np.concatenate([rows[0][:, None], cols[0][:, None], rgb[0]], axis=1)
        s_adv[n] = best["scores"]
        forward[n] += evals
        generations[n] = gens
        bar.update(info=f"fooled {int((s_adv[attack].argmax(1) != y[attack]).sum())}")
    bar.close()
    fields = outcome(net, x, x_adv, clean_pred, y, t,
                     forward=forward, backward=np.zeros(N, np.int64), s_adv=xp.asarray(s_adv))
    return OnePixelResult(**fields, pixels=found, generations=generations, attacked=attack)

r"""Occlusion sensitivity: hide a patch, watch the class score fall.

Zeiler & Fergus 2014, Sec. 4.2 and Fig. 7: "systematically covering up
different portions of the scene with a grey square, and monitoring the output
of the classifier". No gradient at all — only forward passes, so it works for
any model and is the sanity check for the gradient methods.

For every window position ``(y, x)`` (top-left corner, every ``stride``
pixels; the last row and column of windows are moved flush with the border
so every pixel is covered) we fill ``x[:, y:y+window, x:x+window]`` with
``fill`` and record the drops of the class score (before the softmax) and of
its softmax probability::

    grid_score_drop[a, b] = S_c(x) - S_c(x occluded at (y_a, x_b))
    grid_prob_drop[a, b]  = p_c(x) - p_c(x occluded at (y_a, x_b))     p = softmax(S)

Positive = the patch mattered. For a **unit** target ``(layer, channel[, i,
j])`` (Zeiler & Fergus Fig. 7(b): "the strongest feature map" of layer 5)
the same drop is read at that unit, fixed on the clean image, and there is
no probability (``prob_drop`` and ``grid_prob_drop`` are None). Each pixel's value in ``score_drop`` /
``prob_drop`` is the **mean over the windows that cover it**, so the maps
have the input's size (N, H, W) without any interpolation; the raw per-window
values are kept in the ``grid_*`` fields (N, rows, cols). With ``stride >
window`` some pixels are covered by no window; they get 0. Zeiler's Fig. 7(d)
plots the probability itself: ``p_c(x) - grid_prob_drop``.

Defaults: Zeiler & Fergus slid a grey square over 224x224 ImageNet images;
here ``window=8, stride=4`` suit the 64x64 shapes images (a 50x50 / 8 window
at 224). ``fill=0`` is zero in the *preprocessed* input, i.e. the dataset's
mean colour for mean-subtracted inputs — Zeiler's grey. Copies are run
``batch_size`` at a time: ``N * rows * cols`` forward passes in all.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.tiny()
    >>> x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    >>> r = occlusion(net, x, window=16, stride=16)
    >>> r.score_drop.shape, r.grid_score_drop.shape
    ((1, 64, 64), (1, 4, 4))
"""

import math
from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy, get_array_module
from minicnn.progress import Progress

from ..targets import class_indices, injection, is_unit, resolve, score_layer


class OcclusionResult(NamedTuple):
    """Occlusion maps.

    Attributes:
        score_drop, prob_drop: (N, H, W), mean over the windows covering each pixel.
        grid_score_drop, grid_prob_drop: (N, rows, cols), one value per window.
            (The ``prob`` fields are None for a unit target.)
        target: (N,) class indices, or N unit tuples ``(layer, channel, i, j)``.
    """
    score_drop: np.ndarray
    prob_drop: np.ndarray
    grid_score_drop: np.ndarray
    grid_prob_drop: np.ndarray
    target: np.ndarray


def softmax(scores):
    """(N, K) scores -> probabilities, in float64."""
    s = np.asarray(scores, dtype=np.float64)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def window_starts(size, window, stride):
    """Start of every window along one axis; the last one ends at ``size``."""
    if not 0 < window <= size:
        raise ValueError(f"window {window} must be between 1 and the image size {size}")
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


def occlusion(net, x, target=None, window=8, stride=4, fill=0.0, batch_size=64,
              progress=None):
    """Zeiler & Fergus 2014, Sec. 4.2: the class score as a grey square slides.

    Args:
        net: a Net; x: (N, C, H, W) preprocessed batch.
        target: None (top class), a class index, N indices, or a unit
            ``(layer, channel[, i, j])`` (see ``vis/targets.py``).
        window, stride: square size and step in pixels.
        fill: value of the occluder in preprocessed units, a scalar or (C,).
        batch_size: occluded copies per forward pass.
        progress: show a progress bar (None: when there are more than 8 batches).

    Returns:
        OcclusionResult (see the module docstring).
    """
    xp = get_array_module(x)
    if x.dtype.kind != "f":
        raise ValueError(f"x has dtype {x.dtype}: occlusion needs a floating-point batch "
                         "(the occluder would be cast to the integer type)")
    N, C, H, W = x.shape
    ys, xs = window_starts(H, window, stride), window_starts(W, window, stride)
    boxes = [(y, x0) for y in ys for x0 in xs]
    read, idx, base = _reader(net, x, target)
    probs = None if is_unit(target) else softmax(base)
    fill = xp.asarray(fill, dtype=x.dtype)
    fill = fill.reshape(-1, 1, 1) if fill.ndim else fill
    n_batches = N * math.ceil(len(boxes) / batch_size)
    bar = Progress(n_batches, "occlusion",
                   enabled=n_batches > 8 if progress is None else progress)
    grid_s = np.zeros((N, len(boxes)))
    grid_p = None if probs is None else np.zeros((N, len(boxes)))
    for s in range(N):
        for b0 in range(0, len(boxes), batch_size):
            chunk = boxes[b0:b0 + batch_size]
            # BEGIN SOLUTION occlusion
            xb = xp.repeat(x[s:s + 1], len(chunk), axis=0)
            for k, (y, x0) in enumerate(chunk):
                xb[k, :, y:y + window, x0:x0 + window] = fill
            S = read(xb, s)                                    # (B,) or (B, K) scores
            if probs is None:
                grid_s[s, b0:b0 + len(chunk)] = base[s] - S
            else:
                grid_s[s, b0:b0 + len(chunk)] = base[s, idx[s]] - S[:, idx[s]]
                grid_p[s, b0:b0 + len(chunk)] = probs[s, idx[s]] - softmax(S)[:, idx[s]]
            # END SOLUTION occlusion
            bar.update()
    bar.close()
    grid_s = grid_s.reshape(N, len(ys), len(xs))
    score = _per_pixel(grid_s, ys, xs, window, H, W)
    if grid_p is None:
        return OcclusionResult(score, None, grid_s, None, idx)
    grid_p = grid_p.reshape(N, len(ys), len(xs))
    return OcclusionResult(score, _per_pixel(grid_p, ys, xs, window, H, W), grid_s, grid_p,
                           idx)


def _reader(net, x, target):
    """What occlusion watches: ``read(batch, s)``, the targets, and the clean values.

    Class target: ``read`` returns the (B, K) scores, the clean values are (N, K).
    Unit target: the unit of sample ``s`` fixed on the clean image (as
    ``targets.injection`` picks it); ``read`` returns its (B,) values, the
    clean values are (N,).
    """
    if not is_unit(target):
        name = score_layer(net)
        scores = asnumpy(net.predict(x, until=name))
        return (lambda xb, s: asnumpy(net.predict(xb, until=name))), \
            class_indices(scores, resolve(net, target)), scores
    grads, used = injection(net, x, target)
    layer = used[0][0]
    out = net.outputs[layer]

    def unit(a, s):                     # the unit of sample s in a batch of outputs
        return a[(slice(None), used[s][1]) + tuple(used[s][2:])]
    base = np.array([float(asnumpy(unit(out[s:s + 1], s))[0]) for s in range(len(used))])
    return (lambda xb, s: asnumpy(unit(net.predict(xb, until=layer), s))), used, base


def _per_pixel(grid, ys, xs, window, H, W):
    """(N, rows, cols) window values -> (N, H, W) mean over the covering windows."""
    total = np.zeros((grid.shape[0], H, W))
    count = np.zeros((H, W))
    for a, y in enumerate(ys):
        for b, x0 in enumerate(xs):
            total[:, y:y + window, x0:x0 + window] += grid[:, a, b, None, None]
            count[y:y + window, x0:x0 + window] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)

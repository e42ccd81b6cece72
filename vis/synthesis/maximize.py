r"""Activation maximization: the image that drives one unit hardest.

Erhan, Bengio, Courville & Vincent 2009 ("Visualizing Higher-Layer Features
of a Deep Network"), Sec. 3.1::

    x* = argmax_{x : ||x|| = rho} h_ij(theta, x)

by gradient ascent, projecting back to the sphere ``||x|| = rho`` after each
step (``transforms.project_norm``). On natural images the result is noise
the unit likes; Yosinski, Clune, Nguyen, Fuchs & Lipson 2015 ("Understanding
Neural Networks Through Deep Visualization"), Sec. 3, add natural-image priors
as per-step regularizers ``x <- r(x + lr * da/dx)`` and give four
hyperparameter combinations in Table 1 (``transforms.YOSINSKI_2015_TABLE_1``).

Presets (:data:`PRESETS`), side by side:

=============  ===========================================================
"erhan"        norm constraint rho = B sqrt(H W), B = 80 on the 0-255 scale
               (Mahendran & Vedaldi 2015's typical pixel norm); Adam lr 0.05
               per [0, 1] unit, 200 steps (the paper gives no step rule)
"yosinski-1"   Table 1 row 1: blur 0.5 every 4, norm clip 50 %; 500 steps
"yosinski-2"   row 2: decay 0.3, norm clip 20 %; 750 steps
"yosinski-3"   row 3: decay 1e-4, blur 1.0 every 4; 1000 steps —
               "the ones used for most of the images in the paper" (toolbox
               README); the default
"yosinski-4"   row 4: blur 0.5 every 4, contribution clip 90 %; 1000 steps
=============  ===========================================================

The iteration counts are the deep-visualization-toolbox README's. Its step
sizes are not: they are plain gradient steps (``lr`` 100, or the "progress"
policy with a gain of 2 per step) in CaffeNet's gradient units, and a
gradient's size depends on the net. On ``tiny`` the image never moves
(row 3: the unit's value 1.9 -> 1.9 in 300 steps, the image a flat grey).
The four rows therefore share DeepDream's normalized step (Mordvintsev et
al. 2015), ``x += 1.5 g / mean|g|`` on the 0-255 scale — each step moves a
pixel by 1.5 grey levels on average, on any net and for any layer — so what
differs between the rows is Table 1's regularizers, as in the paper. The
toolbox starts from the mean plus N(0, 10^2) noise and crops the pixels to
[0, 255] every step: here ``bounds="pixels"``. Lengths on the 0-255 scale
are converted to the net's input units (``common.py``).
It pushes one unit; with ``unit="neuron"`` we push the centre unit of the
channel (the toolbox recommends it for conv layers), with ``"channel"`` its
spatial mean (Lucid's ``channel`` objective). A ReLU layer is maximized
through its input, as Lucid optimizes ``*_pre_relu`` layers: a unit that
starts inactive has a zero gradient after its ReLU and would never move.

Example:
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> r = activation_maximization(net, "relu3_1", [0, 5], steps=2, progress=False)
    >>> r.x.shape, r.info["channels"].tolist(), sorted(r.history)
    ((2, 3, 64, 64), [0, 5], ['neuron conv3_1', 'objective'])
"""

import numpy as np

from minicnn.layers import ReLU

from ..netinfo import input_size
from ..objectives import channel as channel_objective
from ..objectives import neuron
from ..optimize import optimize
from ..transforms import YOSINSKI_2015_TABLE_1, project_norm, yosinski
from .common import CAFFE, check_layers, choose, input_scale, noise, on_device

_TOOLBOX_STEPS = (500, 750, 1000, 1000)

#: The step of every Yosinski row: DeepDream's, in grey levels (module docstring).
NORMALIZED_STEP = 1.5

#: name -> preset; "units": the input range its numbers assume.
PRESETS = {
    "erhan": {"source": "Erhan et al. 2009, Sec. 3.1 (norm-constrained ascent)",
              "steps": 200, "step": "adam", "lr": 0.05 * CAFFE, "norm_B": 80.0,
              "units": CAFFE},
    **{f"yosinski-{k + 1}": {"source": f"Yosinski et al. 2015, Table 1 row {k + 1}; "
                                       f"deep-visualization-toolbox README",
                             "row": YOSINSKI_2015_TABLE_1[k], "steps": _TOOLBOX_STEPS[k],
                             "step": "normalized", "lr": NORMALIZED_STEP, "units": CAFFE}
       for k in range(4)},
}

UNITS = ("neuron", "channel")


def activation_maximization(net, layer, channel, preset="yosinski-3", unit="neuron",
                            steps=None, size=None, seed=0, progress=True):
    """Maximize one unit (or channel) per image, under a preset's regularizers.

    Args:
        net: a Net. layer: e.g. ``"relu4_1"``, ``"fc8"``.
        channel: a channel, or a list of N channels (one image each, one batch).
        preset: a key of :data:`PRESETS`. unit: ``"neuron"`` (centre unit) or
            ``"channel"`` (spatial mean).
        steps: override the preset's number of steps.
        size: (H, W); default the model's input size. seed: start noise and transforms.

    Returns:
        ``optimize.Result``; ``info``: ``layer`` (the one maximized: the input
        of a ReLU layer), ``channels`` (N,), ``preset``.

    Raises:
        KeyError: unknown preset or layer. ValueError: unknown unit, channel
            out of range (at the first step).
    """
    p = choose("preset", preset, PRESETS)
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}: use one of {', '.join(UNITS)}")
    layer = check_layers(net, [layer])[0]
    i = net.index(layer)
    if isinstance(net.layers[i], ReLU) and i > 0:
        layer = net.layers[i - 1].name                    # pre-ReLU (module docstring)
    channels = np.atleast_1d(np.asarray(channel))
    H, W = size or input_size(net)
    s = input_scale(net) / p["units"]                     # length conversion
    shape = (len(channels), net.input_shape()[0], H, W)
    x0 = on_device(net, noise(shape, 10.0 * s, seed))     # toolbox: mean + N(0, 10^2)
    goal = (neuron if unit == "neuron" else channel_objective)(layer, channels.tolist())
    if "row" in p:
        transforms = yosinski(p["row"])
    else:
        transforms = [project_norm(p["norm_B"] * s * np.sqrt(H * W))]
    lr = p["lr"] * s                                      # a length: normalized and Adam steps
    result = optimize(net, goal, x0, steps=steps or p["steps"], step=p["step"], lr=lr,
                      transforms=transforms, bounds="pixels", seed=seed,
                      progress=progress, desc=f"maximize {layer}")
    result.info.update(layer=layer, channels=channels, preset=preset)
    return result

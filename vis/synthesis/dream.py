r"""DeepDream: amplify whatever a layer already sees in an image.

Mordvintsev, Olah & Tyka 2015 ("Inceptionism: Going Deeper into Neural
Networks", Google Research blog; code: the ``deepdream.ipynb`` notebook).
Gradient ascent on the image of the layer's squared activation::

    objective = 1/2 ||A_layer(x)||^2          dObjective/dA = A   (objective_L2)
    x <- x + step_size * g / mean|g|          (make_step, L1-normalised step)

Each step rolls the image by a random shift in ``[-jitter, jitter]`` first
and back afterwards, and clips the pixels to their range. The image is
processed as a pyramid of ``octave_n`` octaves, each ``octave_scale`` smaller
than the next; one starts at the smallest, and the *detail* added at one
octave (dreamed image minus the octave's base) is upsampled and added to the
next octave's base, so structure grows at every scale.

Defaults — the notebook's: 4 octaves of scale 1.4, 10 steps each, jitter 32,
step 1.5 (in Caffe's 0-255 units: ``1.5 * input_scale(net) / 255`` here),
clipping on. The notebook dreams at ``inception_4c/output`` of GoogLeNet, the
5th of its 9 inception blocks; the default layer here sits at the same
relative depth of the conv stack (``common.middle_conv``: relu4_1 of VGG16).

Where this code differs: the octaves are resized bilinearly with half-pixel
centres (the notebook's ``scipy.ndimage.zoom(order=1)`` aligns corners); the
jitter rolls the gradient back instead of the image (the same step, see
``transforms.jitter``).

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> x = np.zeros((1, 3, 64, 64), np.float32)
    >>> r = deepdream(net, x, "relu3_1", octaves=2, steps=2, progress=False)
    >>> r.info["octave_sizes"], r.history["dream relu3_1"].shape
    ([(46, 46), (64, 64)], (4, 1))
"""

import numpy as np

from minicnn.backend import get_array_module

from ..objectives import deepdream as dream_objective
from ..optimize import Result, optimize, to_image
from ..transforms import jitter as jitter_transform
from ..transforms import octave_sizes, zoom
from .common import CAFFE, check_batch, check_layers, check_size, input_scale, middle_conv


def deepdream(net, x, layer=None, octaves=4, octave_scale=1.4, steps=10, step_size=1.5,
              jitter=32, clip=True, seed=0, progress=True):
    """Mordvintsev et al. 2015: DeepDream over an octave pyramid.

    Args:
        net: a Net. x: (N, C, H, W) preprocessed image(s).
        layer: default ``common.middle_conv(net)``.
        octaves, octave_scale: the pyramid. steps: steps per octave.
        step_size: in Caffe's 0-255 units (converted). jitter: pixels.
        clip: keep the pixels in [0, 1] RGB. seed: the jitter's generator
            (octave k uses ``seed + k``).

    Returns:
        ``optimize.Result``; the history runs over all octaves (``steps *
        octaves`` rows); ``info``: ``layer``, ``octave_sizes``.

    Raises:
        KeyError: unknown layer. ValueError: an image whose smallest octave is
            too small for the layer (naming the minimum size).
    """
    check_batch(x)
    layer = check_layers(net, [layer or middle_conv(net)])[0]
    sizes = octave_sizes(x.shape[2:], octaves, octave_scale)
    xp = get_array_module(x)
    check_size(net, xp.zeros((1, 1) + sizes[0]), [layer], f"the smallest octave of {octaves}")
    bases = [x] + [None] * (octaves - 1)
    for k in range(1, octaves):                 # the notebook zooms each octave from the last
        bases[k] = zoom(bases[k - 1], sizes[::-1][k])
    bases = bases[::-1]                         # smallest first
    goal = dream_objective(layer)
    lr = step_size * input_scale(net) / CAFFE
    detail = xp.zeros_like(bases[0])
    rows, done, stopped = [], 0, "steps"
    for k, base in enumerate(bases):
        if k > 0:
            detail = zoom(detail, base.shape[2:])
        r = optimize(net, goal, base + detail, steps=steps, step="normalized", lr=lr,
                     transforms=[jitter_transform(jitter)] if jitter else [],
                     bounds="pixels" if clip else None, seed=seed + k, progress=progress,
                     desc=f"dream octave {k + 1}/{octaves}")
        rows.append(r.history)
        done += r.steps
        img = xp.asarray(r.x)
        detail = img - base
        if r.stopped != "steps":
            stopped = f"octave {k + 1}: {r.stopped}"
            break
    history = {key: np.concatenate([h[key] for h in rows]) for key in rows[0]}
    return Result(r.x, to_image(net, r.x), history, r.final, done, stopped,
                  {"layer": layer, "octave_sizes": sizes})

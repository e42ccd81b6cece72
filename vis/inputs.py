"""What the front door feeds the methods: images, shapes samples, and targets from text.

The command line and the tour speak in files, sample numbers and words
(``--image cat.jpg``, ``--sample 3``, ``--target crane``, ``--target
conv5_3:12@7,9``); the methods take arrays and indices. This module turns the
first into the second, and refuses bad input with one sentence that names it.

Target text (``--target``), the same grammar everywhere:

===================  ====================================================
``5``                class 5
``tabby``            the class of that name (refused if several share it)
``tab``              the one class whose name starts so (refused, listing
                     them, if several do: ``vis.targets.class_index``)
``conv5_3:12``       channel 12 of conv5_3 at its most active position
``conv5_3:12@7,9``   the unit at row 7, column 9 of that channel
``conv5_3:top``      each image's most active channel of conv5_3
===================  ====================================================

Example:
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> parse_target("star", net), parse_target("relu4_2:5@1,2", net)
    (3, ('relu4_2', 5, 1, 2))
    >>> shapes_samples([0, 3], net).images.shape
    (2, 3, 64, 64)
"""

import warnings
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from minicnn.backend import asnumpy
from minicnn.data import make_shapes
from minicnn.losses import softmax
from minicnn.data import TEST_SEED

from .image import DarkImageWarning, fit, load_image
from .netinfo import class_count, class_names, input_size, score_layer
from .targets import class_index

#: The size of the shapes images (``minicnn.data.make_shapes``' default).
SHAPES_SIZE = (64, 64)
#: The largest ``--sample`` index: image i costs generating i images.
MAX_SAMPLE = 9999


class Inputs(NamedTuple):
    """Images to explain.

    Attributes:
        images: (N, 3, H, W) float32 RGB in [0, 1] at the model's input size.
        names: N file-name stems ("cat", "sample3").
        labels: (N,) true classes (-1 when unknown).
        boxes: (N, 4) true boxes (x0, y0, x1, y1), or None for files.
        notes: what the user should hear about the files, one line each,
            ``note: ...`` (a conversion: greyscale, RGBA ...) or ``warning:
            ...`` (a 16-bit file that will look almost black).
    """
    images: np.ndarray
    names: list
    labels: np.ndarray
    boxes: Optional[np.ndarray]
    notes: list


def read_image(path, size=None):
    """``vis.image.load_image`` with its warnings as lines for the user: (image, lines).

    Each line is ``note: ...`` (a conversion) or ``warning: ...`` (a
    :class:`~vis.image.DarkImageWarning`), ready to print on stderr.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = load_image(path, size=size)
    lines = [("warning: " if issubclass(w.category, DarkImageWarning) else "note: ")
             + str(w.message) for w in caught]
    return image, lines


def load_images(paths, net):
    """Files -> ``Inputs`` at the model's input size (scaled to cover it, centre cropped).

    Raises:
        ValueError: not an image (naming the file), or smaller than the input size.
        FileNotFoundError: no such file (naming it).
    """
    H, W = input_size(net)
    arch = net.meta.get("arch", "this net")
    images, names, notes = [], [], []
    for path in paths:
        img, lines = read_image(path)
        notes += lines
        h, w = img.shape[1:]
        if h < H or w < W:
            raise ValueError(f"{path} is {w}x{h} pixels, too small: {arch} needs at least "
                             f"{W}x{H}")
        stem = Path(path).stem
        names.append(stem if stem not in names else f"{stem}-{len(names)}")
        images.append(fit(img, (H, W)))
    return Inputs(np.stack(images).astype(np.float32), names,
                  np.full(len(paths), -1), None, notes)


def shapes_samples(indices, net):
    """Shapes test images ``indices`` (seed ``TEST_SEED``) -> ``Inputs`` with labels and boxes.

    Raises:
        ValueError: a negative index or one above ``MAX_SAMPLE``, or a model
            whose input is not 64x64.
    """
    if input_size(net) != SHAPES_SIZE:
        H, W = input_size(net)
        raise ValueError(f"the shapes samples are 64x64 but {net.meta.get('arch', 'this net')} "
                         f"takes {H}x{W} input: give --image PATH instead")
    indices = [int(i) for i in indices]
    bad = [i for i in indices if not 0 <= i <= MAX_SAMPLE]
    if bad:
        raise ValueError(f"sample index {bad[0]} out of range: the shapes test samples are "
                         f"numbered 0 .. {MAX_SAMPLE}")
    data = make_shapes(max(indices) + 1, seed=TEST_SEED)
    return Inputs(data.images[indices], [f"sample{i}" for i in indices],
                  data.labels[indices], data.boxes[indices], [])


def _parse_unit(text, net):
    """``LAYER:K``, ``LAYER:K@I,J`` or ``LAYER:top`` -> a unit target tuple."""
    layer, _, rest = text.partition(":")
    layer = net[layer.strip()].name                  # KeyError with close names if unknown
    channel, _, at = rest.partition("@")
    channel = channel.strip()
    if channel != "top":
        try:
            channel = int(channel)
        except ValueError:
            raise ValueError(f"--target {text!r}: the channel after ':' must be a number "
                             "or 'top' (e.g. conv5_3:12, conv5_3:12@7,9, conv5_3:top)") from None
    shape = net.output_shapes()[layer]                 # (C, h, w) at the model's input size
    if channel != "top" and not 0 <= channel < shape[0]:
        raise ValueError(f"--target {text!r}: {layer} has {shape[0]} channels, "
                         f"0 .. {shape[0] - 1}")
    if not at:
        return (layer, channel)
    try:
        i, j = (int(v) for v in at.split(","))
    except ValueError:
        raise ValueError(f"--target {text!r}: the position after '@' is ROW,COLUMN "
                         "(e.g. conv5_3:12@7,9)") from None
    if len(shape) != 3 or not (0 <= i < shape[1] and 0 <= j < shape[2]):
        where = f"{shape[1]}x{shape[2]} map" if len(shape) == 3 else "output (no positions)"
        raise ValueError(f"--target {text!r}: ({i}, {j}) is outside {layer}'s {where}")
    return (layer, channel, i, j)


def parse_target(text, net):
    """A ``--target`` string -> a class index, a unit tuple, or None (see the module docstring).

    Raises:
        ValueError: an index out of range, an unknown or ambiguous class name,
            a malformed unit; KeyError: an unknown layer (with close names).
    """
    if text is None:
        return None
    text = str(text).strip()
    if ":" in text:
        return _parse_unit(text, net)
    K, arch = class_count(net), net.meta.get("name", net.meta.get("arch", "this net"))
    try:
        k = int(text)
    except ValueError:
        return class_index(net, text)
    if not 0 <= k < K:
        raise ValueError(f"class {k} out of range: {arch} has {K} classes, 0 .. {K - 1}")
    return k


def top_classes(net, x, top=5):
    """Softmax probabilities of ``x``'s top classes: N lists of (index, name, probability)."""
    scores = asnumpy(net.forward(x, until=score_layer(net))).astype(np.float64)
    probs = softmax(scores)
    names = class_names(net)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :min(top, probs.shape[1])]
    return [[(int(k), names[k], float(p[k])) for k in row] for p, row in zip(probs, order)]

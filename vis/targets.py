"""What to explain: a class score or one unit, turned into an injected gradient.

Every attribution method backpropagates from *something*. A ``target`` says
what, the same way for all of them::

    target                   backpropagate from
    -----------------------  ------------------------------------------------
    None                     the top-scoring class of each sample
    5                        class 5 for every sample
    [5, 2, 7]  (N ints)      class target[n] for sample n (e.g. the labels)
    ("conv5_3", 12)          channel 12 of conv5_3 at its most active position
    ("conv5_3", 12, i, j)    the unit at row i, column j of that channel
    ("conv5_3", "top")       each sample's most active channel of conv5_3, at
                             its most active position
    "tabby" / ["tabby", ..]  class names (``net.meta["class_names"]``), or a
                             prefix of exactly one (``class_index``); a
                             prefix or name that several classes share is
                             refused, listing them

**Class scores.** The score ``S_c`` is the output of the net's last layer
*before* a softmax (Simonyan et al. 2014, Sec. 2 and 3.1: a posterior can be
raised by pushing the other classes down, the score only by evidence for
``c``). The injected gradient is the one-hot row ``dS_c/dS = e_c``.

**Units (Zeiler & Fergus 2014, Sec. 2.1).** "To examine a given convnet
activation, we set all other activations in the layer to zero and pass the
feature maps as input to the attached deconvnet layer." So the injected
gradient is the layer's output with everything but one activation zeroed::

    g[n, k, i, j] = A[n, k, i, j]   if (k, i, j) is the chosen unit, else 0

i.e. ``g = a * da/dA``: for the gradient rule the result is ``a * da/dx``, the
gradient of ``a**2 / 2``. A unit that is not active (``a = 0``) projects to
zero; Zeiler & Fergus project the strongest activations, which is what the
``(layer, channel)`` form picks. For a 2-D layer (``Linear``) the unit is
``(layer, k)`` with no position.

The functions here do one forward pass and build the ``grads`` dict for
``net.backward``; the methods in ``vis/attribution/`` call them.

Example:
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> net = models.load("tiny")
    >>> x = preprocess(make_shapes(2, seed=3).images, net)
    >>> grads, used = injection(net, x, "star")                 # a class by name
    >>> list(grads), used.tolist()
    (['fc'], [3, 3])
    >>> _, used = injection(net, x, ("relu4_2", "top"))          # most active unit
    >>> [u[0] for u in used], all(len(u) == 4 for u in used)
    (['relu4_2', 'relu4_2'], True)
"""

import numpy as np

from minicnn.backend import asnumpy, get_array_module
from minicnn.errors import did_you_mean

from minicnn.preprocessing import preprocess  # noqa: F401  (the doctest's)

from .netinfo import class_names, score_layer


def is_unit(target):
    """True for the unit forms ``(layer, channel)`` and ``(layer, channel, i, j)``."""
    return isinstance(target, tuple) and len(target) > 0 and isinstance(target[0], str)


def class_indices(scores, target):
    """Resolve a class target to one index per sample.

    Args:
        scores: (N, K) class scores.
        target: None, an int, or a sequence of N ints.

    Returns:
        (N,) int64 array of class indices.

    Raises:
        ValueError: an index outside ``0 .. K-1``, or a sequence of the wrong length.
    """
    scores = asnumpy(scores)
    N, K = scores.shape
    if target is None:
        return scores.argmax(axis=1)
    idx = np.asarray(target)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise ValueError(f"target must be None, a class index, a sequence of N class "
                         f"indices or a unit (layer, channel[, i, j]); got {target!r}")
    idx = np.broadcast_to(idx, (N,)) if idx.ndim == 0 else idx
    if idx.shape != (N,):
        raise ValueError(f"got {idx.shape[0]} class indices for a batch of {N}")
    bad = idx[(idx < 0) | (idx >= K)]
    if bad.size:
        raise ValueError(f"class index {int(bad[0])} out of range: this net has "
                         f"{K} classes, 0 .. {K - 1}")
    return idx.astype(np.int64)


def onehot(idx, K, like):
    """(N, K) rows ``e_idx[n]`` with the dtype and array module of ``like``."""
    xp = get_array_module(like)
    g = xp.zeros((len(idx), K), dtype=like.dtype)
    g[xp.arange(len(idx)), xp.asarray(idx)] = 1
    return g


def _check_unit(net, target):
    """Check the form ``(layer, channel[, i, j])``; KeyError for an unknown layer."""
    if len(target) not in (2, 4):
        raise ValueError(f"a unit target is (layer, channel) or (layer, channel, i, j); "
                         f"got {target!r}")
    return net[target[0]].name          # KeyError with close names if unknown


def unit_gradient(out, target):
    """Zeiler's injected gradient for one unit per sample.

    Args:
        out: (N, K, h, w) or (N, K) output of the target layer.
        target: ``(layer, channel)`` (the argmax position of the channel in
            each sample), ``(layer, channel, i, j)``, or ``(layer, "top")``
            (each sample's channel with the largest activation).

    Returns:
        g: like ``out``, zero except ``out`` at the chosen unit of each sample;
        units: (N, 3) int array of the (channel, i, j) used ((N, 1) for 2-D layers).
    """
    layer, k = target[0], target[1]
    K, N = out.shape[1], out.shape[0]
    xp = get_array_module(out)
    if isinstance(k, str) and k == "top":
        if len(target) == 4:
            raise ValueError(f"({layer!r}, 'top') picks its own position: drop i, j")
        peak = out.reshape(N, K, -1).max(axis=2)
        channels = asnumpy(peak.argmax(axis=1)).astype(np.int64)
    elif isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 0 <= k < K:
        channels = np.full(N, int(k), np.int64)
    else:
        raise ValueError(f"channel {k!r} out of range: {layer} has {K} channels, 0 .. {K - 1} "
                         "(or 'top')")
    g = xp.zeros_like(out)
    n, c = xp.arange(N), xp.asarray(channels)
    if out.ndim == 2:
        if len(target) == 4:
            raise ValueError(f"{layer} has no spatial positions: use ({layer!r}, {k})")
        g[n, c] = out[n, c]
        return g, channels[:, None]
    h, w = out.shape[2:]
    if len(target) == 4:
        i, j = target[2], target[3]
        if not (0 <= i < h and 0 <= j < w):
            raise ValueError(f"position ({i}, {j}) outside {layer}'s {h}x{w} map")
        positions = np.tile(np.array([[i, j]], np.int64), (N, 1))
    else:                            # the most active position, per sample
        flat = asnumpy(out[n, c].reshape(N, -1).argmax(axis=1))
        positions = np.stack([flat // w, flat % w], axis=1).astype(np.int64)
    i, j = xp.asarray(positions[:, 0]), xp.asarray(positions[:, 1])
    g[n, c, i, j] = out[n, c, i, j]
    return g, np.concatenate([channels[:, None], positions], axis=1)


def class_index(net, name):
    """The class index of a class name in ``net.meta["class_names"]``, any case.

    The rule, the same for the Python API and ``--target``: a full name wins;
    otherwise a prefix that starts exactly one name is that class (``"sq"``
    is ``square`` in ``tiny``). A prefix that several names start with is
    refused, listing each with its index, as is a full name that several
    classes share (ImageNet has two "crane"s: 134 the bird, 517 the machine).

    Raises:
        ValueError: an unknown name (with close names), an ambiguous prefix or
            a shared name, in one line.

    Example:
        >>> from minicnn import models
        >>> net = models.load("tiny")
        >>> class_index(net, "Star"), class_index(net, "sq")
        (3, 1)
        >>> class_index(net, "c")                  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: class 'c' is ambiguous in tiny: circle (0), cross (4) start with it; ...
    """
    names, key = class_names(net), str(name).strip().lower()
    arch = net.meta.get("arch", "this net")
    hits = [k for k, n in enumerate(names) if n.lower() == key]
    if len(hits) > 1:
        raise ValueError(f"class name {name!r} is ambiguous in {arch}: classes "
                         f"{', '.join(map(str, hits))} are all called that; give the index")
    hits = hits or [k for k, n in enumerate(names) if key and n.lower().startswith(key)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        listing = ", ".join(f"{names[k]} ({k})" for k in hits)
        raise ValueError(f"class {name!r} is ambiguous in {arch}: {listing} start with it; "
                         "give more letters or the index")
    listing = f": {', '.join(names)}" if len(names) <= 20 else ""
    hint = did_you_mean(str(name), names)
    raise ValueError(f"unknown class {name!r}{hint} ({arch} has "
                     f"{len(names)} classes, 0 .. {len(names) - 1}{listing})")


def resolve(net, target):
    """Class names in ``target`` replaced by indices; any other target unchanged."""
    if isinstance(target, str):
        return class_index(net, target)
    if isinstance(target, (list, np.ndarray)) and any(isinstance(t, str) for t in target):
        return [class_index(net, t) if isinstance(t, str) else t for t in target]
    return target


def injection(net, x, target, keep=None):
    """One forward pass and the gradient to inject for ``target``.

    Args:
        net: a Net; x: (N, C, H, W) preprocessed batch.
        target: see the module docstring.
        keep: the layers whose outputs the caller reads afterwards
            (``Net.forward``); default None keeps them all, ``()`` none (an
            input gradient only: half the memory).

    Returns:
        grads: ``{layer: gradient}`` for ``net.backward``.
        used: (N,) class indices, or for a unit target the list of N tuples
        ``(layer, channel, i, j)`` actually used.
    """
    if is_unit(target):
        layer = _check_unit(net, target)
        out = net.forward(x, until=layer, keep=keep)
        g, units = unit_gradient(out, target)
        used = [(layer,) + tuple(int(v) for v in u) for u in units]
        return {layer: g}, used
    name = score_layer(net)
    scores = net.forward(x, until=name, keep=keep)
    idx = class_indices(scores, resolve(net, target))
    return {name: onehot(idx, scores.shape[1], scores)}, idx

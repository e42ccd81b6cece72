r"""Change a pixel, recompute only what it can reach: the receptive-field cone.

The one-pixel attack asks the net about hundreds of images that differ from
one original in a single pixel. A full forward pass recomputes every unit;
but a unit whose receptive field (``Net.receptive_field``) misses the changed
pixel keeps its clean value. Going up a VGG-style net the changed region
grows by the kernel and shrinks by the stride, layer by layer, for an input
window ``[a, a + h)`` (per axis; kernel ``K``, stride ``S``, padding ``p``)::

    affected outputs   i  with  i*S - p  <=  a + h - 1   and   i*S - p + K - 1 >= a
    window size        h' = min(H', (h + K - 2) // S + 1)
    window origin      o' = clip(ceil((a + p - K + 1) / S), 0, H' - h')
    input needed       rows  o'*S - p  ..  (o' + h' - 1)*S - p + K - 1

so for the shapes model one pixel touches 3x3 units of conv1_1, 5x5 of conv1_2,
3x3 of pool1, ... and only conv4_2 (8x8) is computed whole; the 64x64 layers,
which cost most of a forward pass, shrink to a few dozen positions.

:class:`PixelCone` keeps the clean activations of one image (zero-padded, or
-inf-padded before a max-pool) and, for ``P`` candidates at once, gathers each
candidate's input patch from them, writes the candidate's changed window into
it, and runs the layer on the patch only (a "valid" convolution or pooling).
The window of every candidate has the same size, so one batched matrix product
serves all of them. With ``d`` changed pixels each keeps its own window, and
every window's patch receives all ``d`` changes that land in it (so two
nearby pixels interact exactly as in the full pass); once ``d`` windows
would cost more than the whole map, one whole map is computed instead. When a
window covers its whole map (or a layer is not a convolution, max-pool or
point-wise layer) the rest of the net runs as usual.
Element-wise layers (ReLU, Dropout at test time, LRN across channels) act on
the window as they are. The tests check the scores equal a full forward pass.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    >>> cone = PixelCone(net, x)
    >>> [size for name, size in cone.windows][:6]        # conv1_1, conv1_2, pool1, ...
    [(3, 3), (5, 5), (3, 3), (5, 5), (7, 7), (4, 4)]
    >>> values = np.ones((2, 3), np.float32)                    # two candidates, one colour
    >>> full = x.repeat(2, axis=0); full[0, :, 5, 7] = 1; full[1, :, 63, 0] = 1
    >>> s = cone.scores(np.array([5, 63]), np.array([7, 0]), values)
    >>> bool(np.allclose(s, net.forward(full), atol=1e-4))
    True
"""

import numpy as np

from minicnn.backend import get_array_module
from minicnn.layers import LRN, Conv2d, Dropout, MaxPool2d, ReLU

from ..netinfo import score_layer

POINTWISE = (ReLU, Dropout, LRN)


def _window(a, h, K, S, p, n_out):
    """Output window (origin (P,), size) of an input window (origin a (P,), size h)."""
    h_out = min(n_out, (h + K - 2) // S + 1)
    first = -((-(a + p - K + 1)) // S)                 # ceil((a + p - K + 1) / S)
    return np.clip(first, 0, n_out - h_out), h_out


class PixelCone:
    """Class scores of one image with a few pixels changed, for many candidates.

    Args:
        net: a Net; its Conv2d (groups 1), MaxPool2d and point-wise layers
            before the first full-map window are computed on the cone only.
        x0: (1, C, H, W) the preprocessed original image.
        until: last layer to run (default: the score layer, before a Softmax).

    Attributes:
        windows: ``[(layer, (h, w))]`` the size of the recomputed window of
            each windowed layer of the cone, for one changed pixel.
        rest: names of the layers run in full afterwards.
    """

    def __init__(self, net, x0, until=None):
        if getattr(x0, "ndim", None) != 4 or x0.shape[0] != 1:
            raise ValueError(f"x0 must be one image (1, C, H, W), got "
                             f"{getattr(x0, 'shape', None)}")
        self.net, self.xp = net, get_array_module(x0)
        until = score_layer(net) if until is None else until
        layers = net.layers[:net.index(until) + 1]
        net.forward(x0, until=until)
        clean = [x0] + [net.outputs[layer.name] for layer in layers]
        self.steps, self.windows = [], []
        h, w = 1, 1
        i = 0
        for i, layer in enumerate(layers):
            if isinstance(layer, POINTWISE):
                self.steps.append((layer, None))
                continue
            windowed = isinstance(layer, MaxPool2d) or (
                isinstance(layer, Conv2d) and layer.groups == 1)
            if not windowed:
                break
            KH, KW, sh, sw, ph, pw = layer.window
            _, _, Ho, Wo = clean[i + 1].shape
            fill = -np.inf if isinstance(layer, MaxPool2d) else 0.0
            padded = self.xp.pad(clean[i][0], ((0, 0), (ph, ph), (pw, pw)),
                                 constant_values=fill)
            geometry = ((KH, sh, ph, Ho), (KW, sw, pw, Wo))
            h = min(Ho, (h + KH - 2) // sh + 1)
            w = min(Wo, (w + KW - 2) // sw + 1)
            self.steps.append((layer, (padded, geometry)))
            self.windows.append((layer.name, (h, w)))
            if (h, w) == (Ho, Wo):
                i += 1
                break
        else:
            i = len(layers)
        self.last_clean = clean[i]                   # output of the last cone layer
        self.rest = [layer.name for layer in layers[i:]]
        self._rest = layers[i:]

    def scores(self, rows, cols, values):
        """Outputs of the net (default: class scores) for ``P`` candidates.

        Args:
            rows, cols: (P,) pixel positions, or (P, d) for ``d`` pixels each.
            values: (P, C) or (P, d, C): the new pixels, in network-input
                units and channel order (a pixel listed twice takes its last value).

        Returns:
            (P, K) — what ``net.forward`` of the changed images would return
            (up to float rounding).
        """
        xp = self.xp
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        if rows.ndim == 1:
            rows, cols, values = rows[:, None], cols[:, None], xp.asarray(values)[:, None]
        P, d = rows.shape
        # One window per changed pixel, all of one size per layer. Inside the
        # cone the batch axis comes second, (C, P, h, w): the gather from the
        # clean (C, H, W) maps needs no transpose, and a convolution is one
        # matrix product (F, C*KH*KW) @ (C*KH*KW, P*h'*w').
        origins = [(rows[:, i], cols[:, i]) for i in range(d)]
        news = [xp.asarray(values)[:, i].T[:, :, None, None] for i in range(d)]
        size = (1, 1)
        for layer, plan in self.steps:
            if plan is None:                            # point-wise: (P, C, h, w) view
                news = [layer.forward(n.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
                        for n in news]
                continue
            padded, ((KH, SH, ph, Ho), (KW, SW, pw, Wo)) = plan
            h = min(Ho, (size[0] + KH - 2) // SH + 1)
            w = min(Wo, (size[1] + KW - 2) // SW + 1)
            if (h, w) == (Ho, Wo) or len(news) * h * w >= Ho * Wo:
                h, w = Ho, Wo                           # one whole map is cheaper
                targets = [(np.zeros(P, np.int64), np.zeros(P, np.int64))]
            else:
                targets = [(_window(a_r, size[0], KH, SH, ph, Ho)[0],
                            _window(a_c, size[1], KW, SW, pw, Wo)[0]) for a_r, a_c in origins]
            patch = ((h - 1) * SH + KH, (w - 1) * SW + KW)
            outs = []
            for o_r, o_c in targets:
                start = (o_r * SH, o_c * SW)            # patch origin, padded coordinates
                buf = xp.empty((news[0].shape[0], P, patch[0] + 1, patch[1] + 1),
                               dtype=news[0].dtype)
                buf[:, :, :patch[0], :patch[1]] = _patches(padded, start, patch)
                for (a_r, a_c), new in zip(origins, news):   # every change, where it lands
                    _insert(buf, new, (a_r + ph - start[0], a_c + pw - start[1]), patch)
                outs.append(_valid(layer, buf[:, :, :patch[0], :patch[1]], (h, w)))
            news, origins, size = outs, targets, (h, w)
        if len(news) > 1 or size != tuple(self.last_clean.shape[2:]):   # back to whole maps
            full = xp.repeat(self.last_clean[0][:, None], P, axis=1)     # (C, P, H, W)
            for (a_r, a_c), new in zip(origins, news):
                _insert(full, new, (a_r, a_c), full.shape[2:])         # windows lie inside
            news = [full]
        full = xp.ascontiguousarray(news[0].transpose(1, 0, 2, 3))
        for layer in self._rest:
            full = layer.forward(full)
        return full


def _windows(a, size):
    """A view of every (h, w) window of the last two axes: (..., H-h+1, W-w+1, h, w).

    A write into the view writes into ``a`` (windows overlap: write distinct ones).
    """
    xp = get_array_module(a)
    h, w = size
    *lead, H, W = a.shape
    sH, sW = a.strides[-2:]
    return xp.lib.stride_tricks.as_strided(
        a, shape=(*lead, H - h + 1, W - w + 1, h, w), strides=(*a.strides[:-2], sH, sW, sH, sW))


def _patches(padded, start, size):
    """Patches of a (C, Hp, Wp) map at P origins ``start`` (rows, cols): (C, P, ph, pw)."""
    xp = get_array_module(padded)
    (r0, c0), (ph, pw) = start, size
    if (r0 == r0[0]).all() and (c0 == c0[0]).all():          # one patch for all (full map)
        return padded[:, None, r0[0]:r0[0] + ph, c0[0]:c0[0] + pw]
    return _windows(padded, (ph, pw))[:, xp.asarray(r0), xp.asarray(c0)]  # whole blocks


def _insert(buf, new, offset, size):
    """Write each candidate's window ``new`` (C, P, h, w) into ``buf`` at ``offset``.

    Rows (columns) of a window outside the (ph, pw) patch feed no output of the
    layer's window; they go to the spare last row (column) of ``buf``.
    Candidates whose window misses the patch entirely are skipped.
    """
    xp = get_array_module(buf)
    (ph, pw), (h, w), P = size, new.shape[2:], new.shape[1]
    r, c = offset
    if r.min() >= 0 and c.min() >= 0 and (r + h).max() <= ph and (c + w).max() <= pw:
        _windows(buf, (h, w))[:, xp.arange(P), xp.asarray(r), xp.asarray(c)] = new
        return
    hit = np.flatnonzero((r < ph) & (r + h > 0) & (c < pw) & (c + w > 0))
    if hit.size == 0:
        return
    rin = r[hit, None] + np.arange(h)
    cin = c[hit, None] + np.arange(w)
    rin = xp.asarray(np.where((rin >= 0) & (rin < ph), rin, ph))
    cin = xp.asarray(np.where((cin >= 0) & (cin < pw), cin, pw))
    n = xp.asarray(hit)
    buf[:, n[:, None, None], rin[:, :, None], cin[:, None, :]] = new[:, n]


def _valid(layer, patch, out_size):
    """The layer on patches without padding: (C, P, ph, pw) -> (F, P, h', w')."""
    xp = get_array_module(patch)
    C, P = patch.shape[:2]
    h, w = out_size
    KH, KW, sh, sw, _, _ = layer.window
    if isinstance(layer, Conv2d):
        W, b = layer.params["W"], layer.params["b"]
        sC, sP, sH, sW = patch.strides                  # im2col, rows (c, kh, kw)
        cols = xp.lib.stride_tricks.as_strided(
            patch, shape=(C, KH, KW, P, h, w),
            strides=(sC, sH, sW, sP, sH * sh, sW * sw)).reshape(C * KH * KW, P * h * w)
        out = W.reshape(W.shape[0], -1) @ cols + b[:, None]
        return out.reshape(W.shape[0], P, h, w)
    out = None
    for kh in range(KH):
        for kw in range(KW):
            s = patch[:, :, kh:kh + sh * h:sh, kw:kw + sw * w:sw]
            out = s if out is None else xp.maximum(out, s)
    return out

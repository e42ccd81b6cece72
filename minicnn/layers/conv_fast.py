r"""Two fast paths for stride-1 convolution, each tested equal to the im2col reference.

``conv.py`` is the lecture: im2col, one matrix product, col2im. On a CPU the
copy im2col makes (every pixel KH*KW times) and the KH*KW scattered additions
of col2im cost about as much as the multiply-adds on VGG's large maps. These
two functions trade some readability for that time:

* :func:`conv2d_row_shifts` copies the input KW times instead of KH*KW times
  (taken for maps of 200x200 or more, :func:`use_row_shifts`);
* :func:`conv_transpose_stride1` computes dx of a stride-1 conv as an
  ordinary convolution with flipped kernels, so it reuses a forward routine
  instead of col2im;
* ``_in_chunks`` runs a batch through in chunks of images, so that no
  temporary grows with the batch size N (memory, not time).

``Conv2d.fast = False`` switches both off, back to the reference.

Example:
    >>> import numpy as np
    >>> from minicnn.layers.conv import conv2d_naive
    >>> rng = np.random.default_rng(0)
    >>> x, W = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3))
    >>> bool(np.allclose(conv2d_row_shifts(x, W, (1, 1)), conv2d_naive(x, W, np.zeros(3), 1, 1)))
    True
"""

from ..backend import get_array_module


def conv_transpose_stride1(dout, W, pad, convolve=None):
    """dx of a stride-1 convolution, computed as another convolution.

    For stride 1 the transposed convolution is an ordinary one of ``dout``
    with the kernels flipped in space and the in/out channels swapped,
    padded by ``K - 1 - p`` (Dumoulin & Visin 2016, "A guide to convolution
    arithmetic", Relationship 8)::

        W_t[c, f, kh, kw] = W[f, c, KH-1-kh, KW-1-kw]
        dx = conv(dout, W_t, padding = (KH-1-p_h, KW-1-p_w))

    It computes the same numbers as ``col2im(W.T @ dout)`` (the tests check)
    but reuses a fast forward routine instead of KH*KW scattered additions.

    Args:
        dout: (N, F, H', W'); W: (F, C, KH, KW); pad: (p_h, p_w).
        convolve: the stride-1 convolution to use, ``(x, W, pad) -> out``;
            default :func:`conv2d_row_shifts`. ``Conv2d`` passes one that
            takes im2col on small maps.

    Returns:
        dx: (N, C, H, W).
    """
    xp = get_array_module(dout)
    KH, KW = W.shape[2:]
    W_t = xp.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    pad_t = (KH - 1 - pad[0], KW - 1 - pad[1])
    return (convolve or conv2d_row_shifts)(dout, W_t, pad_t)


def use_row_shifts(x, stride, groups):
    """Take :func:`conv2d_row_shifts` for stride 1 on maps of 200x200 or more,
    where im2col's copy costs most (VGG16's conv1_2: 38 ms instead of 47)."""
    return stride == (1, 1) and groups == 1 and x.shape[2] * x.shape[3] >= 200 * 200


def conv2d_row_shifts(x, W, pad):
    """Stride-1 convolution with a KW-times (not KH*KW-times) copy of the input.

    im2col copies every pixel KH*KW times. Copy it only KW times, once per
    column shift ``kw``, into ``X[n, (c, kw), r, j] = xpad[n, c, r, j + kw]``
    with the rows r of the *padded* input. The row shift ``kh`` is then free:
    rows kh … kh+H'-1 of X are one contiguous slice of X.reshape(N, C*KW,
    Hp*W'), so::

        out[n] = sum_kh W[:, :, kh, :].reshape(F, C*KW) @ X[n, :, kh*W' : (kh+H')*W']

    KH matrix products instead of one, each of depth C*KW. Same numbers as
    im2col (the tests check).

    Args:
        x: (N, C, H, W); W: (F, C, KH, KW); pad: (p_h, p_w).

    Returns:
        out: (N, F, H', W').
    """
    xp = get_array_module(x)
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    ph, pw = pad
    Hp = H + 2 * ph
    Ho, Wo = Hp - KH + 1, Wd + 2 * pw - KW + 1
    X = xp.zeros((N, C, KW, Hp, Wo), dtype=x.dtype)
    for kw in range(KW):          # output column j reads input column j + kw - p_w
        j0, j1 = max(0, pw - kw), min(Wo, Wd + pw - kw)
        X[:, :, kw, ph:ph + H, j0:j1] = x[:, :, :, j0 + kw - pw:j1 + kw - pw]
    X = X.reshape(N, C * KW, Hp * Wo)
    Wk = xp.ascontiguousarray(W.transpose(2, 0, 1, 3)).reshape(KH, F, C * KW)
    P = Ho * Wo
    out = Wk[0] @ X[:, :, :P]
    product = xp.empty_like(out)
    for kh in range(1, KH):
        xp.matmul(Wk[kh], X[:, :, kh * Wo:kh * Wo + P], out=product)
        out += product
    return out.reshape(N, F, Ho, Wo)


#: Chunks of the batch keep each temporary under this many bytes (at least one image).
CHUNK_BYTES = 64 * 2**20


def _in_chunks(f, x, out_shape, per_image):
    """``out[a:b] = f(x[a:b])`` over chunks of images, each with temporaries of
    about ``per_image`` bytes per image, at most :data:`CHUNK_BYTES` in all.

    Peak memory then stays flat in N (VGG16 batch 8: one 224x224 image at a
    time in conv1, all 8 at once in conv5), at the cost of one copy of out.

    x: (N, ...) -> out: (N,) + out_shape.
    """
    n = max(1, CHUNK_BYTES // max(1, per_image))
    if n >= len(x):
        return f(x)
    xp = get_array_module(x)
    first = f(x[:n])
    out = xp.empty((len(x),) + tuple(out_shape), dtype=first.dtype)
    out[:n] = first
    del first
    for a in range(n, len(x), n):
        out[a:a + n] = f(x[a:a + n])
    return out

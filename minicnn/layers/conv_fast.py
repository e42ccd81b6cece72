r"""Fast paths for stride-1 convolution, each tested equal to the im2col reference.

``conv.py`` is the lecture: im2col, one matrix product, col2im. On a CPU the
copy im2col makes (every pixel KH*KW times) and the KH*KW scattered additions
of col2im cost about as much as the multiply-adds on VGG's large maps. These
functions trade some readability for that time:

* :func:`conv2d_row_shifts` copies the input KW times instead of KH*KW times
  (taken for maps of 200x200 or more, where im2col's copy costs most);
* :func:`conv_transpose_stride1` computes dx of a stride-1 conv as an
  ordinary convolution with flipped kernels, so it reuses a forward routine
  instead of col2im;
* :func:`stride1_path` picks the routine for a stride-1 convolution:
  Winograd's F(4x4, 3x3) (``winograd.py``) for float32 passes (input gradients
  only when they cover the map) through 3x3 layers of 8 channels or more on maps
  large enough, row shifts on large maps of 32 channels or more, else im2col;
* ``_in_chunks`` runs a batch through in chunks of images, so that no
  temporary grows with the batch size N, and shares the chunks out to one
  thread per core.

``Conv2d.fast = False`` switches them all off, back to the reference.

Example:
    >>> import numpy as np
    >>> from minicnn.layers.conv import conv2d_naive
    >>> rng = np.random.default_rng(0)
    >>> x, W = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3))
    >>> bool(np.allclose(conv2d_row_shifts(x, W, (1, 1)), conv2d_naive(x, W, np.zeros(3), 1, 1)))
    True
"""

from ..backend import get_array_module
from ..parallel import run_all, threads
from .winograd import winograd_conv3x3, winograd_filter_transform


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
    W_t, pad_t = transposed_kernels(W, pad)
    return (convolve or conv2d_row_shifts)(dout, W_t, pad_t)


def transposed_kernels(W, pad):
    """``(W_t, pad_t)`` of :func:`conv_transpose_stride1`: W (F, C, KH, KW) -> (C, F, KH, KW)
    flipped in space; padding ``K - 1 - p``."""
    xp = get_array_module(W)
    KH, KW = W.shape[2:]
    W_t = xp.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return W_t, (KH - 1 - pad[0], KW - 1 - pad[1])


def stride1_conv(path, W, pad, im2col_conv):
    """The routine ``x -> out`` of a stride-1, one-group convolution (no bias) by ``path``
    (:func:`stride1_path`), made once for all the chunks of a batch: each chunk takes the
    same path whatever its size, and Winograd's filter transform is computed once.

    W: (F, C, KH, KW); pad: (p_h, p_w); the routine maps (n, C, H, W) -> (n, F, H', W').
    ``im2col_conv(x, W, stride, pad)``: the reference, ``conv.conv2d_im2col``.
    """
    if path == "winograd":
        U = winograd_filter_transform(W)
        return lambda x: winograd_conv3x3(x, W, pad, U=U)
    if path == "row shifts":
        return lambda x: conv2d_row_shifts(x, W, pad)
    return lambda x: im2col_conv(x, W, (1, 1), pad)


#: Winograd F(4x4, 3x3) is taken for 3x3 kernels when both channel counts reach
#: WINOGRAD_MIN_CHANNELS and the batch has WINOGRAD_MIN_TILES output tiles of 4x4 or more
#: (``benchmarks/winograd_layers.py``, 1 thread: 1.1-2.2x faster per layer there).
#: Below, the transforms cost more than they save: the filter transform U, recomputed at
#: every call (4.2 ms for 512x512 filters), outweighs VGG16's 14x14 layers at batch 1.
#: U is not cached: it would hold 4x the weights (230 MB more for VGG16).
#: Float64 (the oracle precision) never takes it unasked. An input gradient takes it only
#: when its output gradient is nonzero at every pixel of every image (``conv_paths``):
#: im2col's dx is exactly 0 outside a unit's receptive field, where Winograd's transforms
#: leave rounding (~1e-5 in float32), but a gradient that covers the map has no outside.
WINOGRAD_MIN_CHANNELS, WINOGRAD_MIN_TILES = 8, 40


def stride1_path(x_shape, W_shape, winograd=None, itemsize=4):
    """The routine for a stride-1, one-group convolution: "winograd", "row shifts" or "im2col".

    Args:
        x_shape: (N, C, H, W); W_shape: (F, C, KH, KW).
        winograd: None picks by the measured rule above (float32 only,
            ``itemsize`` 4); True forces it (3x3 only); False forbids it.
    """
    N, C, H, W = x_shape
    F, _, KH, KW = W_shape
    tiles = N * -(-(H - KH + 3) // 4) * -(-(W - KW + 3) // 4)    # at padding 1
    if winograd or (winograd is None and (KH, KW) == (3, 3) and itemsize <= 4
                    and min(C, F) >= WINOGRAD_MIN_CHANNELS and tiles >= WINOGRAD_MIN_TILES):
        return "winograd"
    # Row shifts on maps of 200x200 or more with 32 channels or more (VGG16's conv1_2: 34 ms
    # instead of 43); with fewer, im2col's copy is small (conv1_1, 3 channels: 2.8 ms, not 11.6).
    return "row shifts" if H * W >= 200 * 200 and C >= 32 else "im2col"


def conv_paths(conv, x_shape, covering=True):
    """The routines a ``Conv2d`` takes for an input of ``x_shape`` (N, C, H, W).

    ``covering``: the output gradient is nonzero at every pixel of every image
    (:func:`covers`), so the input gradient may take Winograd.

    Returns:
        (forward, input gradient): forward is "im2col" or a :func:`stride1_path`;
        the input gradient is "col2im" or "transposed conv, <routine>"
        (:func:`conv_transpose_stride1`).
    """
    (KH, KW), (ph, pw) = conv.kernel_size, conv.padding
    F, C = conv.out_channels, conv.in_channels
    _, Ho, Wo = conv.output_shape(tuple(x_shape[1:]))
    if not (conv.fast and conv.stride == (1, 1) and conv.groups == 1):
        return "im2col", "col2im"
    if get_array_module(conv.params["W"]).__name__ != "numpy":
        # On a GPU one big matrix product wins (``benchmarks/gpu_layers.py``, H200, VGG16
        # batch 8: im2col 11.9 ms for the 13 convs, Winograd 47.7). For dx, col2im's
        # KH*KW strided additions cost ~0.45 ms of launches per layer at batch 1 (the
        # transposed conv by im2col: 0.16-0.37 ms); at batch 8 col2im wins (11.6 ms
        # against 14.4). Batches 2 to 7 were not measured and take col2im.
        if conv.winograd:
            return "winograd", "transposed conv, winograd"
        if x_shape[0] == 1 and ph < KH and pw < KW:
            return "im2col", "transposed conv, im2col"
        return "im2col", "col2im"
    size = conv.params["W"].itemsize
    forward = stride1_path(x_shape, (F, C, KH, KW), conv.winograd, size)
    # dx takes Winograd unforced only for a covering gradient: its rounding would leave
    # ~1e-5 (float32) where a unit's projection is exactly 0, outside its receptive field.
    path = stride1_path((x_shape[0], F, Ho, Wo), (C, F, KH, KW),
                        conv.winograd if covering else conv.winograd or False, size)
    # The transposed conv copies F*KH*KW rows, col2im C*KH*KW: the smaller, unless Winograd;
    # but it also flips the F*C kernels, which costs more than col2im's additions when they
    # outnumber the map's pixels (VGG16's conv5, 512 > 14*14: 6.6 ms by col2im, not 8.3).
    if ph < KH and pw < KW and (path == "winograd" or F <= C and C <= Ho * Wo):
        return forward, "transposed conv, " + path
    return forward, "col2im"


def covers(dout):
    """Whether ``dout`` (N, F, H, W) is nonzero at every pixel of every image, in some
    channel: then so is the input gradient, and there is no "outside" to keep at 0."""
    return bool((dout != 0).any(axis=1).all())


def temporary_bytes(conv, x_shape):
    """A ``Conv2d``'s largest temporary per image: KH*KW copies of the bigger map, plus two maps."""
    C, H, W = x_shape[1:]
    _, Ho, Wo = conv.output_shape((C, H, W))
    KH, KW = conv.kernel_size
    side = max(C, conv.out_channels) * max(H * W, Ho * Wo)
    return (KH * KW + 2) * side * conv.params["W"].itemsize


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
#: The chunk size depends on nothing else: an image's numbers do not depend on the
#: threads, nor (for a batch of one chunk or less) on the batch: Winograd's products
#: over the tiles of a whole chunk round differently for another number of tiles.
CHUNK_BYTES = 32 * 2**20
#: On a GPU, whose threads all work on one call, chunks only bound the memory.
GPU_CHUNK_BYTES = 2**30


def _in_chunks(f, x, out_shape, per_image, dtype):
    """``out[a:b] = f(x[a:b])`` over chunks of images, each with temporaries of
    about ``per_image`` bytes per image, at most :data:`CHUNK_BYTES` in all.

    Peak memory then stays flat in N (VGG16 batch 8: one 224x224 image per
    thread at a time in conv1, two per chunk in conv5), at the cost of one
    copy of out.

    On the CPU the chunks run on as many threads as BLAS may use, each with a
    one-thread BLAS (``minicnn/parallel.py``): the transforms and copies, which
    one BLAS call cannot share out, run on every core too (``tiny`` at batch
    400, conv1_2: 120 ms on one thread, 72 ms on two; 130 ms with a two-thread
    BLAS). The chunks depend on ``per_image`` only, never on the threads, so
    the numbers are the same bit for bit on any number of threads.

    x: (N, ...) -> out: (N,) + out_shape, of ``dtype`` (what f returns).
    """
    xp, N = get_array_module(x), len(x)
    n = max(1, (CHUNK_BYTES if xp.__name__ == "numpy" else GPU_CHUNK_BYTES) // max(1, per_image))
    if n >= N:
        return f(x)
    out = xp.empty((N,) + tuple(out_shape), dtype=dtype)

    def chunk(a):
        out[a:a + n] = f(x[a:a + n])

    starts = range(0, N, n)
    run_all(chunk, starts, min(threads(), len(starts)) if xp.__name__ == "numpy" else 1)
    return out

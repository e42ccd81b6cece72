r"""Winograd minimal filtering: a 3x3, stride-1 convolution with fewer multiplications.

im2col (``conv.py``) spends 9 multiply-adds per output pixel, input channel
and filter. Lavin & Gray (2016, "Fast Algorithms for Convolutional Neural
Networks", Sec. 4) cut that with Winograd's (1980) *minimal filtering*:
``F(m, r)``, m outputs of an r-tap filter, needs only ``m + r - 1``
multiplications instead of ``m*r``. For F(2, 3), input d0..d3, filter g0..g2::

    y0 = d0 g0 + d1 g1 + d2 g2 = m1 + m2 + m3      m1 = (d0 - d2) g0
    y1 = d1 g0 + d2 g1 + d3 g2 = m2 - m3 - m4      m2 = (d1 + d2) (g0 + g1 + g2) / 2
                                                   m3 = (d2 - d1) (g0 - g1 + g2) / 2
    y = A^T [ (G g) ⊙ (B^T d) ]                    m4 = (d1 - d3) g2

Four multiplications instead of six; the ``(G g)`` factors depend on the
filter only and are computed once. Nesting F(m, 3) with itself gives the 2-D
algorithm F(m x m, 3 x 3) for an input tile ``d`` of alpha x alpha pixels,
``alpha = m + 2``, a 3x3 filter ``g`` and an m x m output tile ``Y`` (Sec. 4)::

    Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A

alpha² multiplications instead of 9 m²: 16 for 36 (2.25x fewer) with m = 2,
36 for 144 (4x fewer) with m = 4. The matrices, F(2x2, 3x3) (Sec. 4.1)::

    B^T = [1  0 -1  0]    G = [ 1    0    0 ]    A^T = [1  1  1  0]
          [0  1  1  0]        [1/2  1/2  1/2]          [0  1 -1 -1]
          [0 -1  1  0]        [1/2 -1/2  1/2]
          [0  1  0 -1]        [ 0    0    1 ]

and F(4x4, 3x3) (Sec. 4.3), built on the points 0, ±1, ±2 (and infinity,
the last row of each matrix) that Lavin & Gray use::

    B^T = [4  0 -5  0  1  0]    G = [ 1/4    0     0  ]    A^T = [1  1  1  1  1  0]
          [0 -4 -4  1  1  0]        [-1/6  -1/6  -1/6 ]          [0  1 -1  2 -2  0]
          [0  4 -4 -1  1  0]        [-1/6   1/6  -1/6 ]          [0  1  1  4  4  0]
          [0 -2 -1  2  1  0]        [ 1/24  1/12  1/6 ]          [0  1 -1  8 -8  1]
          [0  2 -1 -2  1  0]        [ 1/24 -1/12  1/6 ]
          [0  4  0 -5  0  1]        [  0     0     1  ]

**Tiles.** Output tile (th, tw) covers output rows th*m … th*m+m-1 and reads
padded-input rows th*m … th*m+alpha-1: input tiles overlap by 2, stride m.
The padded input is extended with zeros to TH*m + 2 rows (TH = ceil(H'/m)),
and the last partial output tile is cropped; same for the columns.

**Channels become GEMMs** (Sec. 4.1). With ``U = G g G^T`` per (f, c) and
``V = B^T d B`` per (c, tile), the sum over c commutes with ``A^T … A``::

    out tile (n, f, th, tw) = A^T [ sum_c U[f, c] ⊙ V[c, tile] ] A
    M[xi, nu] = U[xi, nu] @ V[xi, nu]        (F, C) @ (C, N*TH*TW), xi, nu < alpha

alpha² independent matrix products, one ``xp.matmul`` on stacks of shape
(alpha², F, C) @ (alpha², C, T). The transforms are matrix products too:
``vec(B^T d B) = (B^T ⊗ B^T) vec(d)`` transforms every tile at once with one
(alpha², alpha²) @ (alpha², C*T) product, and ``A^T M A`` is (m², alpha²) @
(alpha², F*T). The Kronecker matrices are sparse (entries 0, ±1, ±2, ±4, ±5,
±8 …) and a CUDA kernel would add instead; in NumPy one BLAS call was 1.1-6x
faster than the same transform as array additions. The big copy is the tile
gather, alpha²/m² times the input (4x for m = 2, 2.25x for m = 4; im2col
copies 9x), beside a zero-padded copy of the input and the placing of the
output tiles (1x each). Tiles go in chunks of a few hundred
(:data:`MIN_TILES`), and V never exceeds 64 MB (:data:`CHUNK_BYTES`).

**Precision.** The transforms round too. On VGG16's layers in float32 the
max error, relative to the largest output, is 2e-7 to 8e-7 for F(2x2, 3x3),
as for im2col, and 4e-6 to 2e-5 for F(4x4, 3x3), whose entries go up to 8
and down to 1/24: enough to flip a ReLU whose input lies that close to 0
(``benchmarks/winograd_layers.py``). Float64 agrees with im2col to 1e-10.

**Input gradient.** For stride 1, dx is a convolution of dout with the kernels
flipped and the channels swapped, padding ``2 - p`` (Dumoulin & Visin 2016,
Relationship 8; ``conv_fast.conv_transpose_stride1``), so it is Winograd
too: :func:`winograd_conv3x3_transpose`. ``Conv2d`` takes it there only when
forced (``Conv2d.winograd = True``): its rounding leaves ~1e-5 where a unit's
projection is exactly 0 with im2col, outside the receptive field. The weight gradient would want
F(3x3, 2x2) (Sec. 4.2) and is not here.

Example:
    >>> import numpy as np
    >>> from minicnn.layers.conv import conv2d_naive
    >>> rng = np.random.default_rng(0)
    >>> x, W = rng.standard_normal((2, 3, 7, 10)), rng.standard_normal((5, 3, 3, 3))
    >>> winograd_filter_transform(W, m=4).shape           # (alpha, alpha, F, C)
    (6, 6, 5, 3)
    >>> out = winograd_conv3x3(x, W, (1, 0), m=4)         # H' = 7, W' = 8
    >>> out.shape, bool(np.allclose(out, conv2d_naive(x, W, np.zeros(5), 1, (1, 0))))
    ((2, 5, 7, 8), True)
"""

from ..backend import get_array_module
from ..parallel import run_all, threads

#: m -> (B^T, G, A^T) of F(m x m, 3 x 3), Lavin & Gray (2016) Sec. 4.1 and 4.3.
TRANSFORMS = {
    2: ([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]],
        [[1, 1, 1, 0], [0, 1, -1, -1]]),
    4: ([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
         [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
        [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
         [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]),
}

#: Tiles per chunk: at least MIN_TILES, the columns of each of the alpha²
#: matrix products, and at least F, as every chunk reads all of U (alpha²
#: blocks of F x C); whole tile rows; never so many that V or M of a chunk
#: exceeds CHUNK_BYTES. Measured with ``benchmarks/winograd_layers.py``: on one
#: core, chunks of 64 to 1024 tiles differ by at most 30%; with 2 BLAS threads
#: fewer, larger products mean fewer thread synchronisations.
MIN_TILES, CHUNK_BYTES = 256, 64 * 2**20
MIN_CHUNKS_PER_THREAD = 4


def check_winograd(name, kernel_size, stride, groups):
    """Raise ``ValueError`` naming the layer unless it is a 3x3, stride-1, one-group conv.

    >>> check_winograd("conv1", (11, 11), (4, 4), 1)
    Traceback (most recent call last):
    ...
    ValueError: conv1: Winograd needs a 3x3 kernel with stride 1 and one group, got 11x11 stride 4
    """
    (KH, KW), (sh, sw) = _pair(kernel_size), _pair(stride)
    if (KH, KW) != (3, 3) or (sh, sw) != (1, 1) or groups != 1:
        got = f"{KH}x{KW} stride {sh if sh == sw else f'{sh}x{sw}'}"
        raise ValueError(f"{name}: Winograd needs a 3x3 kernel with stride 1 and one group, "
                         f"got {got}" + (f", {groups} groups" if groups != 1 else ""))


def winograd_filter_transform(W, m=4):
    """``U = G g G^T`` for every filter ``g = W[f, c]``, as one matrix product.

    Args:
        W: (F, C, 3, 3).
        m: output tile size, 2 or 4.

    Returns:
        U: (alpha, alpha, F, C), alpha = m + 2, in W's dtype.
    """
    xp = get_array_module(W)
    F, C = W.shape[:2]
    alpha = _alpha(m)
    GG = _kron(xp, TRANSFORMS[m][1], W.dtype)
    U = GG @ W.reshape(F * C, 9).T            # vec(G g G^T) = (G ⊗ G) vec(g)
    return U.reshape(alpha, alpha, F, C)


def winograd_conv3x3(x, W, pad, m=4, U=None):
    """Stride-1 3x3 convolution (cross-correlation, no bias) by F(m x m, 3 x 3).

    ``H' = H + 2*p_h - 2`` and ``W' = W + 2*p_w - 2`` (stride 1, 3x3 kernel).
    Tiles go in chunks of whole images, or of tile rows when one image is too
    large (:func:`_chunk`); each chunk zero-pads only the rows it reads. The
    temporaries of a chunk, the tiles d, V (alpha², C, tiles), M (alpha², F,
    tiles) and Y (m², F, tiles), are each at most :data:`CHUNK_BYTES` = 64 MB,
    usually a few MB; the rest of the memory is the output. With 4 or more
    chunks per BLAS thread the chunks run on those threads (:func:`_workers`).

    Args:
        x: (N, C, H, W).
        W: (F, C, 3, 3).
        pad: (p_h, p_w), zeros.
        m: output tile size, 2 or 4 (F(2x2, 3x3) or F(4x4, 3x3)).
        U: optional (alpha, alpha, F, C) from :func:`winograd_filter_transform`,
            to reuse across calls.

    Returns:
        out: (N, F, H', W'), x's dtype.
    """
    xp = get_array_module(x)
    N, C, H, Wd = x.shape
    F = W.shape[0]
    if W.shape[1:] != (C, 3, 3):
        raise ValueError(f"winograd_conv3x3: W {W.shape} does not fit x {x.shape}: "
                         f"want (F, {C}, 3, 3)")
    (ph, pw), alpha = pad, _alpha(m)
    Ho, Wo = H + 2 * ph - 2, Wd + 2 * pw - 2
    if Ho < 1 or Wo < 1:
        raise ValueError(f"winograd_conv3x3: input {H}x{Wd} (padding {ph},{pw}) is "
                         f"smaller than the 3x3 kernel")
    TH, TW = -(-Ho // m), -(-Wo // m)         # tiles: ceil(H'/m), ceil(W'/m)
    if U is None:
        U = winograd_filter_transform(W, m)
    U = U.reshape(alpha * alpha, F, C).astype(x.dtype, copy=False)
    BT, _, AT = TRANSFORMS[m]
    BB, AA = _kron(xp, BT, x.dtype), _kron(xp, AT, x.dtype)   # (alpha², alpha²), (m², alpha²)

    out = xp.empty((N, F, TH, m, TW, m), dtype=x.dtype)  # out[n, f, th, i, tw, j]
    nb, rb = _chunk(N, TH, TW, F, alpha * alpha * max(C, F) * x.itemsize)

    def chunk(start):
        (n0, r0), n, r = start, min(nb, N - start[0]), min(rb, TH - start[1])
        d = _tiles(x, n0, n, r0, r, m, pad, TW)            # (alpha, alpha, C, n, r, TW)
        V = BB @ d.reshape(alpha * alpha, -1)               # B^T d B; the reshape copies
        M = U @ V.reshape(alpha * alpha, C, -1)             # (alpha², F, n*r*TW)
        Y = AA @ M.reshape(alpha * alpha, -1)               # A^T M A: (m², F*n*r*TW)
        out[n0:n0 + n, :, r0:r0 + r] = Y.reshape(m, m, F, n, r, TW).transpose(3, 2, 4, 0, 5, 1)

    starts = [(n0, r0) for n0 in range(0, N, nb) for r0 in range(0, TH, rb)]
    run_all(chunk, starts, _workers(xp, len(starts)))
    out = out.reshape(N, F, TH * m, TW * m)
    if (TH * m, TW * m) != (Ho, Wo):
        out = xp.ascontiguousarray(out[:, :, :Ho, :Wo])
    return out


def winograd_conv3x3_transpose(dout, W, pad, m=4, U=None):
    """dx of :func:`winograd_conv3x3`: a Winograd convolution of dout with flipped kernels.

    For stride 1 the transposed convolution is an ordinary one with the
    kernels flipped in space, the channels swapped and padding ``2 - p``
    (Dumoulin & Visin 2016, Relationship 8)::

        W_t[c, f, kh, kw] = W[f, c, 2-kh, 2-kw]
        dx = winograd_conv3x3(dout, W_t, (2 - p_h, 2 - p_w))

    Args:
        dout: (N, F, H', W'); W: (F, C, 3, 3); pad: (p_h, p_w), each at most 2.
        m: output tile size, 2 or 4.
        U: optional (alpha, alpha, C, F), the transform of the flipped kernels,
            ``winograd_filter_transform(W_t, m)``, to reuse across calls.

    Returns:
        dx: (N, C, H, W), ``H = H' - 2*p_h + 2``.
    """
    xp = get_array_module(dout)
    if max(pad) > 2:
        raise ValueError(f"winograd_conv3x3_transpose: padding {pad} > 2 would crop dx")
    W_t = xp.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return winograd_conv3x3(dout, W_t, (2 - pad[0], 2 - pad[1]), m, U)


def _tiles(x, n0, n, r0, r, m, pad, TW):
    """Input tiles of images n0 … n0+n-1, tile rows r0 … r0+r-1, as a view::

        d[a, b, c, i, th, tw] = xpad[n0 + i, c, (r0 + th)*m + a, tw*m + b]

    over a zero-padded band of the r*m + 2 rows of xpad that they read.
    """
    xp = get_array_module(x)
    _, C, H, Wd = x.shape
    (ph, pw), alpha = pad, m + 2
    band = xp.zeros((n, C, r * m + 2, TW * m + 2), dtype=x.dtype)
    h0 = r0 * m - ph                          # the row of x at band row 0
    s0, s1 = max(0, h0), min(H, h0 + r * m + 2)
    band[:, :, s0 - h0:s1 - h0, pw:pw + Wd] = x[n0:n0 + n, :, s0:s1]
    sN, sC, sH, sW = band.strides
    return xp.lib.stride_tricks.as_strided(band, shape=(alpha, alpha, C, n, r, TW),
                                           strides=(sH, sW, sC, sN, m * sH, m * sW))


def _alpha(m):
    if m not in TRANSFORMS:
        raise ValueError(f"Winograd tile size m must be 2 or 4, got {m}")
    return m + 2


def _kron(xp, rows, dtype):
    """``A ⊗ A`` of a transform matrix given as rows: vec(A X A^T) = (A ⊗ A) vec(X)."""
    A = xp.asarray(rows, dtype=xp.float64)
    return xp.kron(A, A).astype(dtype)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _workers(xp, chunks):
    """Threads for the chunks: with MIN_CHUNKS_PER_THREAD chunks or more each (VGG16's
    conv1_2 at batch 1, 14 chunks: 22-28 ms on 2 threads, each with a one-thread BLAS,
    against 29-39 with a 2-thread BLAS on each small product); else 1, as inside a
    worker (``parallel.threads``) and on a GPU. Which tiles form a chunk never depends
    on the threads, so neither do the numbers."""
    if xp.__name__ != "numpy":
        return 1
    workers = threads()
    return workers if chunks >= MIN_CHUNKS_PER_THREAD * workers else 1


def _chunk(N, TH, TW, F, tile_bytes):
    """(images, tile rows) per chunk: see :data:`MIN_TILES`."""
    tiles = min(max(MIN_TILES, F), CHUNK_BYTES // tile_bytes)
    if tiles >= TH * TW:
        return tiles // (TH * TW), TH
    return 1, max(1, tiles // TW)

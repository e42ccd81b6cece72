"""Winograd F(2x2, 3x3) and F(4x4, 3x3) against the four-loop oracle and im2col.

Float64 must agree to rounding (< 1e-10) on non-square maps whose output is
not a multiple of the tile size m, for paddings 0, 1, 2 and mixed; the input
gradient must agree with col2im and be the adjoint of the forward; float32 on
VGG16-like activations must stay within 1e-4 of float64 (relative to the
largest output), the price of the transforms' rounding.
"""

import numpy as np
import pytest

from minicnn.layers import Conv2d, conv2d_naive, im2col
from minicnn.gradcheck import rel_error
from minicnn.layers import winograd
from minicnn.layers.winograd import (check_winograd, winograd_conv3x3,
                                     winograd_conv3x3_transpose, winograd_filter_transform)

PADS = [(0, 0), (1, 1), (1, 0), (2, 2)]


def im2col_conv(x, W, pad):
    """The reference fast path of conv.py: im2col and one matrix product."""
    N, F = x.shape[0], W.shape[0]
    Ho, Wo = x.shape[2] + 2 * pad[0] - 2, x.shape[3] + 2 * pad[1] - 2
    cols = im2col(x, 3, 3, (1, 1), pad)
    return (W.reshape(F, -1) @ cols).reshape(N, F, Ho, Wo)


def col2im_dx(x, W, pad, dout):
    """dx by Conv2d.backward with its fast paths off: col2im(W.T @ dout)."""
    conv = Conv2d("conv", W.shape[1], W.shape[0], 3, padding=pad, dtype=np.float64)
    conv.params["W"], conv.fast = W, False
    conv.forward(x)
    return conv.backward(dout)


def max_rel(a, ref):
    """max |a - ref| / max |ref|: the error measure of the float32 tests."""
    return float(np.abs(a - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("pad", PADS)
def test_float64_equals_naive_and_im2col(m, pad, rng):
    x, W = rng.standard_normal((2, 3, 7, 10)), rng.standard_normal((5, 3, 3, 3))
    out = winograd_conv3x3(x, W, pad, m)
    expected = conv2d_naive(x, W, np.zeros(5), 1, pad)
    assert out.shape == expected.shape == (2, 5, 5 + 2 * pad[0], 8 + 2 * pad[1])
    assert out.dtype == np.float64 and out.flags.c_contiguous
    assert np.abs(out - expected).max() < 1e-10
    assert np.abs(out - im2col_conv(x, W, pad)).max() < 1e-10


@pytest.mark.parametrize("m", [2, 4])
def test_hand_computed_ones(m):
    """All-ones 4x5 input and 3x3 filter, no padding: every output is 9."""
    out = winograd_conv3x3(np.ones((1, 1, 4, 5)), np.ones((1, 1, 3, 3)), (0, 0), m)
    assert out.shape == (1, 1, 2, 3)
    assert np.abs(out - 9).max() < 1e-12


def test_filter_transform_is_G_g_GT(rng):
    W = rng.standard_normal((2, 3, 3, 3))
    for m in (2, 4):
        G = np.array(winograd.TRANSFORMS[m][1])
        U = winograd_filter_transform(W, m)
        assert U.shape == (m + 2, m + 2, 2, 3)
        assert np.abs(U[:, :, 1, 2] - G @ W[1, 2] @ G.T).max() < 1e-14


@pytest.mark.parametrize("m", [2, 4])
def test_chunks_of_images_and_of_tile_rows(m, rng, monkeypatch):
    x, W = rng.standard_normal((3, 4, 9, 11)), rng.standard_normal((2, 4, 3, 3))
    whole = winograd_conv3x3(x, W, (2, 1), m)                 # H' = 11, W' = 11
    T = -(-11 // m)                                           # tiles per row and column
    for tiles in (1, 2 * T, 2 * T * T):                       # 1 row, 2 rows, 2 images
        monkeypatch.setattr(winograd, "MIN_TILES", tiles)
        expected = (2, T) if tiles > 2 * T else (1, max(1, tiles // T))
        assert winograd._chunk(3, T, T, 1, 8) == expected
        assert np.abs(winograd_conv3x3(x, W, (2, 1), m) - whole).max() < 1e-12


def test_chunks_on_threads_give_the_same_bits(rng, monkeypatch):
    """Many chunks run on 2 threads (one-thread BLAS each): the numbers are those of
    one thread, since which tiles form a chunk never depends on the threads."""
    from threadpoolctl import threadpool_limits
    x = rng.standard_normal((1, 8, 40, 36)).astype(np.float32)
    W = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    monkeypatch.setattr(winograd, "MIN_TILES", 9)              # one tile row: 10 chunks
    calls = []
    run_all = winograd.run_all
    monkeypatch.setattr(winograd, "run_all", lambda job, items, workers: (
        calls.append((len(items), workers)), run_all(job, items, workers)))
    with threadpool_limits(2):
        two = winograd_conv3x3(x, W, (1, 1))
    with threadpool_limits(1):
        one = winograd_conv3x3(x, W, (1, 1))
    assert calls == [(10, 2), (10, 1)]
    assert np.array_equal(one, two)
    assert rel_error(one, conv2d_naive(x.astype(np.float64), W.astype(np.float64),
                                       np.zeros(8), 1, 1)) < 1e-5
    assert winograd._workers(np, 7) == 1 and winograd._workers(np, 8) in (1, 2)


def test_chunks_stay_under_the_memory_bound():
    """VGG16's conv1_2 at batch 8, m=4: V of a chunk <= CHUNK_BYTES = 64 MB."""
    tile_bytes = 36 * 64 * 4
    images, rows = winograd._chunk(8, 56, 56, 64, tile_bytes)
    assert images * rows * 56 * tile_bytes <= winograd.CHUNK_BYTES
    assert winograd._chunk(8, 56, 56, 4096, 36 * 4096 * 4) == (1, 2)   # C = F = 4096: 113 tiles


def test_precomputed_U_and_dtype_kept(rng):
    x, W = rng.standard_normal((1, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    U = winograd_filter_transform(W, 2)
    cached = winograd_conv3x3(x, W, (1, 1), 2, U=U)
    assert np.array_equal(cached, winograd_conv3x3(x, W, (1, 1), 2))
    assert winograd_conv3x3(x.astype(np.float32), W, (1, 1)).dtype == np.float32


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("pad", PADS)
def test_transpose_equals_col2im(m, pad, rng):
    x, W = rng.standard_normal((2, 3, 7, 10)), rng.standard_normal((5, 3, 3, 3))
    dout = rng.standard_normal((2, 5, 5 + 2 * pad[0], 8 + 2 * pad[1]))
    dx = winograd_conv3x3_transpose(dout, W, pad, m)
    assert dx.shape == x.shape
    assert np.abs(dx - col2im_dx(x, W, pad, dout)).max() < 1e-10


@pytest.mark.parametrize("m", [2, 4])
def test_transpose_is_the_adjoint(m, rng):
    """<conv(x), dout> = <x, conv^T(dout)>: the defining property of dx."""
    x, W = rng.standard_normal((2, 4, 9, 6)), rng.standard_normal((3, 4, 3, 3))
    dout = rng.standard_normal((2, 3, 9, 4))                  # padding (1, 0)
    lhs = np.vdot(winograd_conv3x3(x, W, (1, 0), m), dout)
    rhs = np.vdot(x, winograd_conv3x3_transpose(dout, W, (1, 0), m))
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


@pytest.mark.parametrize("m", [2, 4])
def test_float32_on_vgg_like_activations(m, rng):
    """VGG16 conv3-like layer: C = F = 64, 56x56, ReLU-like input, He weights.

    Measured max |err| / max |ref| (seed 0): forward 3.0e-7 (m=2), 5.4e-6
    (m=4); input gradient 3.8e-7 (m=2), 6.4e-6 (m=4). float32 im2col: 4.1e-7
    and 5.7e-7. F(4x4, 3x3) loses about a decimal digit to its larger
    transform entries (up to 8 in A^T, 5 in B^T); the bound leaves room.
    """
    x = np.maximum(rng.standard_normal((1, 64, 56, 56)), 0)
    W = rng.standard_normal((64, 64, 3, 3)) * np.sqrt(2 / (64 * 9))
    dout = rng.standard_normal((1, 64, 56, 56))
    out = winograd_conv3x3(x.astype(np.float32), W.astype(np.float32), (1, 1), m)
    dx = winograd_conv3x3_transpose(dout.astype(np.float32), W.astype(np.float32), (1, 1), m)
    assert out.dtype == dx.dtype == np.float32
    assert max_rel(out, im2col_conv(x, W, (1, 1))) < 1e-4
    assert max_rel(dx, im2col_conv(dout, W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), (1, 1))) < 1e-4


@pytest.mark.parametrize("kernel, stride, groups, got", [
    ((3, 3), 2, 1, "got 3x3 stride 2"),
    ((5, 5), 1, 1, "got 5x5 stride 1"),
    ((3, 3), 1, 2, "got 3x3 stride 1, 2 groups"),
    ((11, 11), (4, 4), 1, "got 11x11 stride 4"),
])
def test_check_names_the_layer(kernel, stride, groups, got):
    with pytest.raises(ValueError, match=f"^conv2_1: Winograd needs a 3x3 kernel with stride 1 "
                                         f"and one group, {got}$"):
        check_winograd("conv2_1", kernel, stride, groups)
    check_winograd("conv2_1", 3, 1, 1)       # a VGG conv passes


def test_bad_arguments_are_clear_errors(rng):
    x, W = rng.standard_normal((1, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3))
    with pytest.raises(ValueError, match="must be 2 or 4, got 3"):
        winograd_conv3x3(x, W, (1, 1), m=3)
    with pytest.raises(ValueError, match=r"want \(F, 3, 3, 3\)"):
        winograd_conv3x3(x, W[:, :2], (1, 1))
    with pytest.raises(ValueError, match="would crop dx"):
        winograd_conv3x3_transpose(x[:, :2], W, (3, 1))


def test_only_the_array_module():
    """As for the other layers (test_backend.py): no NumPy call outside ``xp``."""
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(winograd))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "np"}
    assert used == set()

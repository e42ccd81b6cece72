"""Finite-difference checks of every layer's backward, in float64.

Odd, non-square shapes, strides 2 and paddings 0/1/2: square-only tests hide
transposed-index bugs. Inputs are nudged away from ReLU kinks and from ties in
max-pooling windows.
"""

import numpy as np
import pytest

from minicnn.gradcheck import check_layer, rel_error
from minicnn.layers import (LRN, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear,
                            MaxPool2d, ReLU, Softmax, col2im, conv2d_naive, maxpool2d_naive)
from minicnn.layers.conv_fast import conv2d_row_shifts, conv_paths, conv_transpose_stride1
from tests.conftest import away_from_kinks


def f64(layer):
    layer.params = {k: v.astype(np.float64) for k, v in layer.params.items()}
    for k in layer.params:
        layer.params[k] += np.random.default_rng(1).standard_normal(layer.params[k].shape) * 0.1
    return layer


CONV_CASES = [  # (C, F, kernel, stride, padding, groups, H, W)
    (3, 4, (3, 3), 1, 1, 1, 7, 5),
    (2, 3, (3, 2), 2, 0, 1, 9, 6),
    (3, 2, (1, 3), (2, 1), (0, 2), 1, 5, 8),
    (4, 6, (5, 5), 2, 2, 1, 11, 7),
    (4, 6, (3, 3), 1, 1, 2, 6, 5),
    (2, 2, (2, 2), 3, 1, 2, 8, 7),
]


@pytest.mark.task("conv-forward")
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_matches_naive_loops(case, rng):
    C, F, k, s, p, g, H, W = case
    conv = f64(Conv2d("conv", C, F, k, stride=s, padding=p, groups=g, rng=rng))
    x = rng.standard_normal((2, C, H, W))
    expected = conv2d_naive(x, conv.params["W"], conv.params["b"], s, p, g)
    out = conv.forward(x)
    assert out.shape == expected.shape
    assert rel_error(out, expected) < 1e-12


@pytest.mark.task("conv-backward")
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_gradients(case, rng):
    C, F, k, s, p, g, H, W = case
    conv = f64(Conv2d("conv", C, F, k, stride=s, padding=p, groups=g, rng=rng))
    errors = check_layer(conv, rng.standard_normal((2, C, H, W)))
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.task("conv-backward")
def test_conv_weight_grads_only_when_asked(rng):
    conv = f64(Conv2d("conv", 3, 4, 3, padding=1, rng=rng))
    conv.forward(rng.standard_normal((1, 3, 5, 6)))
    conv.backward(np.ones((1, 4, 5, 6)))
    assert conv.grads == {}
    conv.backward(np.ones((1, 4, 5, 6)), param_grads=True)
    assert set(conv.grads) == {"W", "b"}
    assert np.allclose(conv.grads["b"], 30.0)   # db = sum of dout over n, i, j


@pytest.mark.task("relu-rules")
def test_relu_gradient(rng):
    x = away_from_kinks(rng.standard_normal((2, 3, 5, 4)))
    assert check_layer(ReLU("relu"), x)["x"] < 1e-9


@pytest.mark.task("maxpool-switches")
@pytest.mark.parametrize("kernel,stride,padding,H,W", [
    (2, None, 0, 8, 6), (3, 2, 0, 9, 7), (3, 2, 1, 8, 5), ((2, 3), (1, 2), 0, 5, 9)])
def test_maxpool_gradient(kernel, stride, padding, H, W, rng):
    # A permutation of distinct values: no ties, every window has one winner.
    x = rng.permutation(2 * 3 * H * W).reshape(2, 3, H, W).astype(np.float64) / 10
    pool = MaxPool2d("pool", kernel, stride, padding)
    assert check_layer(pool, x, h=1e-4)["x"] < 1e-9


def test_maxpool_forward_is_window_max(rng):
    x = rng.standard_normal((1, 2, 7, 8))
    out = MaxPool2d("pool", 3, 2, 1).forward(x)
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    expected = np.array([[[[xpad[0, c, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max()
                            for j in range(4)] for i in range(4)] for c in range(2)]])
    assert np.array_equal(out, expected)


@pytest.mark.task("maxpool-switches")
def test_maxpool_switches_on_a_known_4x4():
    x = np.array([[1, 5, 2, 0],
                  [3, 4, 8, 1],
                  [0, 9, 1, 1],
                  [7, 2, 6, 3]], dtype=np.float64)[None, None]
    pool = MaxPool2d("pool", 2)
    assert np.array_equal(pool.forward(x)[0, 0], [[5, 8], [9, 6]])
    # switch = kh*KW + kw inside each window
    assert np.array_equal(pool.switches[0, 0], [[1, 2], [1, 2]])
    dx = pool.backward(np.array([[[[10., 20.], [30., 40.]]]]))
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 2], expected[2, 1], expected[3, 2] = 10, 20, 30, 40
    assert np.array_equal(dx[0, 0], expected)


@pytest.mark.task("maxpool-switches")
def test_overlapping_pool_sums_into_a_shared_winner():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0                       # in all four 3x3/2 windows
    pool = MaxPool2d("pool", 3, 2)
    pool.forward(x)
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    assert dx[0, 0, 2, 2] == 4 and dx.sum() == 4


@pytest.mark.task("linear")
def test_linear_gradients(rng):
    errors = check_layer(f64(Linear("fc", 7, 5, rng=rng)), rng.standard_normal((3, 7)))
    assert max(errors.values()) < 1e-8


@pytest.mark.task("gradient-check")
def test_gap_and_flatten_gradients(rng):
    x = rng.standard_normal((2, 3, 5, 4))
    assert check_layer(GlobalAvgPool("gap"), x)["x"] < 1e-9
    assert check_layer(Flatten("flatten"), x)["x"] < 1e-9


def test_flatten_order_is_c_h_w():
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    assert np.array_equal(Flatten("f").forward(x)[1], x[1].ravel())


@pytest.mark.task("gradient-check")
@pytest.mark.parametrize("size", [5, 4, 1])
def test_lrn_gradient(size, rng):
    lrn = LRN("norm", size=size, alpha=0.3, beta=0.75, k=2.0)  # large alpha: a real test
    assert check_layer(lrn, rng.standard_normal((2, 7, 3, 4)))["x"] < 1e-8


def test_lrn_forward_matches_formula(rng):
    x = rng.standard_normal((1, 6, 2, 3))
    y = LRN("norm", size=3, alpha=0.6, beta=0.75, k=1.5).forward(x)
    c = 0   # window of channel 0 with n = 3: channels 0 and 1
    expected = x[0, c] / (1.5 + 0.6 / 3 * (x[0, 0] ** 2 + x[0, 1] ** 2)) ** 0.75
    assert np.allclose(y[0, c], expected)


@pytest.mark.task("gradient-check")
def test_softmax_gradient_and_rows(rng):
    x = rng.standard_normal((3, 6)) * 3
    layer = Softmax("prob")
    assert np.allclose(layer.forward(x).sum(axis=1), 1)
    assert check_layer(layer, x)["x"] < 1e-8


def test_dropout_eval_identity_and_train_mask(rng):
    x = rng.standard_normal((4, 1000))
    drop = Dropout("drop", 0.5, seed=3)
    assert drop.forward(x) is x
    drop.training = True
    y = drop.forward(x)
    kept = y != 0
    assert 0.4 < kept.mean() < 0.6
    assert np.allclose(y[kept], 2 * x[kept])
    dx = drop.backward(np.ones_like(x))
    assert np.array_equal(dx != 0, kept)
    assert np.array_equal(Dropout("d", 0.5, seed=3).rng.random(5), np.random.default_rng(3).random(5))


ALL_LAYERS = [lambda: Conv2d("c", 2, 2, 3), lambda: MaxPool2d("p", 2), lambda: ReLU("r"),
              lambda: Linear("fc", 2, 2), lambda: GlobalAvgPool("g"), lambda: LRN("n"),
              lambda: Flatten("f"), lambda: Softmax("s"), lambda: Dropout("d", 0.5)]
LAYER_IDS = ["conv", "pool", "relu", "linear", "gap", "lrn", "flatten", "softmax", "dropout"]


@pytest.mark.parametrize("make", ALL_LAYERS, ids=LAYER_IDS)
def test_backward_before_forward_is_a_clear_error(make):
    with pytest.raises(RuntimeError, match="before forward"):
        make().backward(np.ones((1, 2, 3, 3)))


@pytest.mark.parametrize("make", ALL_LAYERS, ids=LAYER_IDS)
@pytest.mark.parametrize("training", [False, True])
def test_forward_stores_only_attributes_declared_in_init(make, training, rng):
    """Every cache backward reads is named (as None) in ``__init__``: forward adds none."""
    layer = make()
    layer.training = training
    declared = set(vars(layer))
    x = rng.standard_normal((2, 2) if isinstance(layer, (Linear, Softmax)) else (2, 2, 4, 4))
    out = layer.forward(x)
    assert set(vars(layer)) == declared
    layer.backward(np.ones_like(out), param_grads=True)
    assert set(vars(layer)) == declared


def test_conv_shape_errors_name_the_layer(rng):
    conv = Conv2d("conv1_1", 3, 4, 3)
    with pytest.raises(ValueError, match=r"conv1_1.*\(N, 3, H, W\).*\(N, 4, 5, 5\)"):
        conv.forward(np.zeros((1, 4, 5, 5)))
    with pytest.raises(ValueError, match="conv1_1.*smaller than the 3x3 kernel"):
        conv.forward(np.zeros((1, 3, 2, 5)))
    with pytest.raises(ValueError, match="fc6.*\\(N, 10\\).*\\(N, 9\\)"):
        Linear("fc6", 10, 2).forward(np.zeros((1, 9)))


@pytest.mark.task("conv-backward")
@pytest.mark.parametrize("case", [c for c in CONV_CASES if c[3] == 1 and c[5] == 1])
def test_conv_fast_dx_equals_col2im_reference(case, rng):
    C, F, k, s, p, g, H, W = case
    C = F = max(C, F)             # the fast path is taken when F <= C
    conv = f64(Conv2d("conv", C, F, k, stride=s, padding=p, groups=g, rng=rng))
    conv.forward(rng.standard_normal((2, C, H, W)))
    dout = rng.standard_normal(conv.forward(conv.x).shape)
    fast = conv.backward(dout)
    conv.fast = False
    assert rel_error(fast, conv.backward(dout)) < 1e-13


@pytest.mark.task("conv-forward")
@pytest.mark.task("conv-backward")
def test_conv_training_mode_caches_columns(rng):
    conv = f64(Conv2d("conv", 2, 3, 3, padding=1, rng=rng))
    x = rng.standard_normal((2, 2, 5, 6))
    conv.forward(x)
    assert conv.x_cols is None
    conv.training = True
    conv.forward(x)
    assert conv.x_cols.shape == (2, 2 * 9, 30)
    assert check_layer(conv, x)["W"] < 1e-8


@pytest.mark.task("maxpool-switches")
def test_maxpool_ties_go_to_the_first_position():
    """All-zero windows (dead ReLUs) route to (0, 0), like PyTorch: deconvnet relies on it."""
    pool = MaxPool2d("pool", 2)
    pool.forward(np.zeros((1, 1, 4, 4)))
    assert (pool.switches == 0).all()
    x = np.array([[0, 3], [3, 3]], dtype=np.float64)[None, None]
    pool.forward(x)
    assert pool.switches[0, 0, 0, 0] == 1


@pytest.mark.parametrize("pad", [(0, 0), (1, 1), (2, 1)])
def test_row_shift_convolution_equals_the_definition(pad, rng):
    x = rng.standard_normal((2, 3, 7, 9))
    W = rng.standard_normal((4, 3, 3, 2))
    expected = conv2d_naive(x, W, np.zeros(4), 1, pad)
    assert rel_error(conv2d_row_shifts(x, W, pad), expected) < 1e-13


def test_large_maps_take_the_row_shift_path_and_agree(rng):
    """Maps >= 200x200 of 32 channels or more (VGG's conv1_2): forward and dx agree with
    the reference; fewer channels (VGG's conv1_1) or smaller maps take im2col."""
    conv = f64(Conv2d("conv", 32, 4, 3, padding=1, rng=rng))
    x = rng.standard_normal((1, 32, 200, 203))
    assert conv_paths(conv, x.shape)[0] == "row shifts"
    assert conv_paths(conv, (1, 32, 199, 200))[0] == "im2col"
    assert conv_paths(f64(Conv2d("conv", 31, 4, 3, padding=1)), (1, 31, 200, 203))[0] == "im2col"
    out = conv.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = conv.backward(dout)
    conv.fast = False
    assert rel_error(out, conv.forward(x)) < 1e-13
    assert rel_error(dx, conv.backward(dout)) < 1e-13


@pytest.mark.task("conv-backward")
@pytest.mark.parametrize("pad", [(0, 0), (1, 1), (2, 0)])
def test_transposed_convolution_equals_col2im(pad, rng):
    """dx of a stride-1 conv as a conv with flipped kernels = col2im(W.T @ dout)."""
    x = rng.standard_normal((2, 3, 7, 9))
    W = rng.standard_normal((4, 3, 3, 2))
    dout = rng.standard_normal(conv2d_naive(x, W, np.zeros(4), 1, pad).shape)
    N, F, Ho, Wo = dout.shape
    dcols = W.reshape(F, -1).T @ dout.reshape(N, F, Ho * Wo)       # (N, C*KH*KW, H'W')
    expected = col2im(dcols, x.shape, 3, 2, (1, 1), pad)
    assert rel_error(conv_transpose_stride1(dout, W, pad), expected) < 1e-13


# Max-pool against its loop definition.

POOL_CASES = [  # (kernel, stride, padding, H, W): non-square, stride != kernel
    (2, 2, 0, 6, 9), (3, 2, 0, 9, 7), (3, 2, 1, 8, 5), ((2, 3), (1, 2), 0, 5, 9),
    ((3, 2), (2, 3), (1, 0), 7, 10), (2, 3, 0, 8, 11)]


def _pool_backward_naive(dout, switches, x_shape, kernel, stride, pad):
    """dx by the definition: each dout goes to its window's switch, summed."""
    (KH, KW), (sh, sw), (ph, pw) = [(v, v) if isinstance(v, int) else v
                                    for v in (kernel, stride, pad)]
    N, C, H, W = x_shape
    dxpad = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for n, c, i, j in np.ndindex(*dout.shape):
        kh, kw = divmod(int(switches[n, c, i, j]), KW)
        dxpad[n, c, i * sh + kh, j * sw + kw] += dout[n, c, i, j]
    return dxpad[:, :, ph:ph + H, pw:pw + W]


@pytest.mark.task("maxpool-switches")
@pytest.mark.parametrize("kernel,stride,padding,H,W", POOL_CASES)
def test_maxpool_forward_switches_and_backward_match_the_loops(kernel, stride, padding,
                                                               H, W, rng):
    # Integers 0..2: ties in almost every window, which the first position must win.
    x = rng.integers(0, 3, size=(2, 3, H, W)).astype(np.float64)
    pool = MaxPool2d("pool", kernel, stride, padding)
    out = pool.forward(x)
    expected, switches = maxpool2d_naive(x, kernel, stride, padding)
    assert out.shape == expected.shape and np.array_equal(out, expected)
    assert np.array_equal(pool.switches, switches)
    dout = rng.standard_normal(out.shape)
    dx = pool.backward(dout)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, _pool_backward_naive(dout, switches, x.shape, kernel,
                                                        stride, padding), rtol=0, atol=1e-12)


def test_maxpool_naive_ties_go_to_the_first_position():
    x = np.array([[2., 1., 2.],
                  [2., 2., 0.]])[None, None]
    out, switches = maxpool2d_naive(x, (2, 2), 1, 0)
    assert out.tolist() == [[[[2., 2.]]]] and switches.tolist() == [[[[0, 1]]]]

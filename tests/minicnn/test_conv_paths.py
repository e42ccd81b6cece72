"""Which routine each convolution takes (conv_fast.stride1_path / conv_paths), and that
every routine a Conv2d can take gives the reference numbers (im2col/col2im, fast=False)."""

import numpy as np
import pytest

from minicnn import models
from minicnn.layers import Conv2d
from minicnn.layers.conv_fast import WINOGRAD_MIN_CHANNELS, WINOGRAD_MIN_TILES, conv_paths


def _pair_of_convs(C, F, k, stride, pad, rng):
    fast = Conv2d("conv3_1", C, F, k, stride=stride, padding=pad, rng=rng, dtype=np.float64)
    ref = Conv2d("ref", C, F, k, stride=stride, padding=pad, dtype=np.float64)
    ref.params = {name: p.copy() for name, p in fast.params.items()}
    ref.fast = False
    return fast, ref


@pytest.mark.parametrize("C,F,k,stride,pad,winograd,expected", [
    # float32 paths: (forward, dx of a covering gradient, dx of one that is not)
    (16, 32, 3, 1, 1, None, ("winograd", "transposed conv, winograd", "col2im")),
    (32, 16, 3, 1, 0, None, ("winograd", "transposed conv, winograd", "transposed conv, im2col")),
    (16, 32, 3, 1, 1, False, ("im2col", "col2im", "col2im")),
    (3, 16, 3, 1, 1, None, ("im2col", "col2im", "col2im")),                  # too few channels
    (3, 16, 3, 1, 1, True, ("winograd", "transposed conv, winograd", "transposed conv, winograd")),
    (16, 16, 5, 1, 2, None, ("im2col", "transposed conv, im2col", "transposed conv, im2col")),
    (16, 16, 3, 2, 1, None, ("im2col", "col2im", "col2im")),
])
def test_paths_and_numbers_equal_the_reference(rng, C, F, k, stride, pad, winograd, expected):
    conv, ref = _pair_of_convs(C, F, k, stride, pad, rng)
    x = rng.standard_normal((3, C, 15, 18))          # at least 3 x 3 x 4 = 36 tiles, both ways
    single = Conv2d("c", C, F, k, stride=stride, padding=pad)           # float32
    single.winograd = winograd
    assert conv_paths(single, x.shape) == expected[:2]
    assert conv_paths(single, x.shape, covering=False) == (expected[0], expected[2])
    # float64 takes Winograd only when forced: force what float32 takes, check the numbers
    conv.winograd = True if expected[0] == "winograd" else winograd
    assert conv_paths(conv, x.shape)[0] == expected[0]
    out = conv.forward(x)
    assert np.abs(out - ref.forward(x)).max() < 1e-10
    dout = rng.standard_normal(out.shape)
    assert np.abs(conv.backward(dout) - ref.backward(dout)).max() < 1e-10


def test_float64_takes_winograd_only_when_forced(rng):
    conv = Conv2d("c", 16, 16, 3, padding=1, dtype=np.float64)
    assert conv_paths(conv, (2, 16, 32, 32)) == ("im2col", "transposed conv, im2col")
    conv.winograd = True
    assert conv_paths(conv, (2, 16, 32, 32)) == ("winograd", "transposed conv, winograd")


def test_input_gradient_is_exactly_zero_outside_a_units_field_and_winograd_elsewhere(
        rng, monkeypatch):
    """A unit's projection keeps im2col (exact zeros outside its 3x3 field); a gradient
    that covers every pixel takes Winograd, within float32 rounding of float64."""
    from minicnn.layers import conv_fast
    calls = []
    real = conv_fast.winograd_conv3x3
    monkeypatch.setattr(conv_fast, "winograd_conv3x3",
                        lambda *a, **k: calls.append(a[0].shape) or real(*a, **k))
    conv = Conv2d("conv3_1", 16, 16, 3, padding=1, rng=rng)             # float32
    x = rng.standard_normal((2, 16, 32, 32)).astype(np.float32)
    out = conv.forward(x)
    calls.clear()
    unit = np.zeros_like(out)
    unit[1, 3, 10, 20] = 1.0
    dx = conv.backward(unit)
    assert calls == []                                                  # im2col
    outside = np.ones(dx.shape, bool)
    outside[1, :, 9:12, 19:22] = False
    assert np.count_nonzero(dx[outside]) == 0 and np.count_nonzero(dx[~outside]) > 0
    dense = rng.standard_normal(out.shape).astype(np.float32)
    dx = conv.backward(dense)
    assert len(calls) == 1                                              # Winograd
    ref = Conv2d("ref", 16, 16, 3, padding=1, dtype=np.float64)
    ref.params = {k: v.astype(np.float64) for k, v in conv.params.items()}
    ref.fast = False
    ref.forward(x.astype(np.float64))
    want = ref.backward(dense.astype(np.float64))
    assert np.abs(dx - want).max() < 1e-5 * np.abs(want).max()


def test_winograd_threshold_is_the_documented_one(rng):
    below = Conv2d("c", WINOGRAD_MIN_CHANNELS - 1, 64, 3, padding=1)
    at = Conv2d("c", WINOGRAD_MIN_CHANNELS, 64, 3, padding=1)
    assert conv_paths(below, (1, WINOGRAD_MIN_CHANNELS - 1, 28, 28))[0] == "im2col"
    assert conv_paths(at, (1, WINOGRAD_MIN_CHANNELS, 28, 28))[0] == "winograd"
    # 28x28 is 7 x 7 = 49 tiles; a batch too small in tiles keeps im2col.
    assert 7 * 7 >= WINOGRAD_MIN_TILES > 6 * 6
    assert conv_paths(at, (1, WINOGRAD_MIN_CHANNELS, 24, 24))[0] == "im2col"
    assert conv_paths(at, (2, WINOGRAD_MIN_CHANNELS, 24, 24))[0] == "winograd"


@pytest.mark.parametrize("k,stride,groups,what", [(3, 2, 1, "3x3 stride 2"), (5, 1, 1, "5x5"),
                                                  (3, 1, 2, "2 groups")])
def test_forcing_winograd_on_an_unsupported_layer_names_it(rng, k, stride, groups, what):
    conv = Conv2d("conv2", 4, 4, k, stride=stride, groups=groups, padding=1, rng=rng)
    conv.winograd = True
    with pytest.raises(ValueError, match=f"conv2: Winograd needs a 3x3 kernel.*{what}"):
        conv.forward(np.zeros((1, 4, 9, 9), np.float32))


def test_vgg16_trunk_float32_within_1e4_of_float64_with_winograd(rng):
    """The whole trunk to relu5_1, scores and input gradient, on ReLU activations."""
    net64 = models.vgg16_hed(seed=0).astype(np.float64)
    net32 = models.vgg16_hed(seed=0)
    x = rng.uniform(-100, 100, (1, 3, 64, 48))
    out64 = net64.forward(x, until="relu5_1")
    out32 = net32.forward(x.astype(np.float32), until="relu5_1")
    g = rng.standard_normal(out64.shape)
    dx64 = net64.backward({"relu5_1": g})
    dx32 = net32.backward({"relu5_1": g.astype(np.float32)})
    inputs = {layer.name: shape for layer, shape in zip(net32.layers[1:], net32.shapes.values())}
    paths = [conv_paths(c, inputs[c.name])[0] for c in net32 if isinstance(c, Conv2d)
             and c.name in inputs]
    assert paths.count("winograd") == 3                 # conv1_2, conv2_1, conv2_2
    assert np.abs(out32 - out64).max() / np.abs(out64).max() < 1e-4
    assert np.abs(dx32 - dx64).max() / np.abs(dx64).max() < 1e-4


@pytest.mark.parametrize("winograd", [None, False])
def test_chunks_on_two_threads_give_the_one_thread_numbers(rng, monkeypatch, winograd):
    """A batch split over threads (conv_fast._in_chunks) computes each image as one
    thread would: forward and input gradient equal bit for bit, float32."""
    from threadpoolctl import threadpool_limits
    from minicnn import parallel
    from minicnn.layers import conv_fast
    monkeypatch.setattr(conv_fast, "CHUNK_BYTES", 2**20)     # several chunks per thread
    monkeypatch.setattr(parallel, "_pools", {})               # no pool from another test
    conv = Conv2d("conv2_1", 16, 24, 3, padding=1, rng=rng)
    conv.winograd, conv.training = winograd, False
    x = rng.standard_normal((37, 16, 20, 20)).astype(np.float32)
    dout = rng.standard_normal((37, 24, 20, 20)).astype(np.float32)
    runs = {}
    for n in (1, 2):
        with threadpool_limits(n):
            assert parallel.threads() == n
            out = conv.forward(x)
            runs[n] = out, conv.backward(dout)
    assert 2 in parallel._pools                              # the two-thread path ran
    for one, two in zip(runs[1], runs[2]):
        assert one.dtype == np.float32 and np.array_equal(one, two)
    one_by_one = np.concatenate([conv.forward(x[i:i + 1]) for i in range(len(x))])
    assert np.abs(one_by_one - runs[2][0]).max() < 1e-4 * np.abs(runs[2][0]).max()


def test_a_failing_chunk_raises_and_leaves_blas_as_it_was(rng, monkeypatch):
    from threadpoolctl import threadpool_limits
    from minicnn import parallel
    from minicnn.layers import conv as conv_module, conv_fast
    monkeypatch.setattr(conv_fast, "CHUNK_BYTES", 2**20)               # 19 chunks of 2
    monkeypatch.setattr(conv_module, "stride1_conv", lambda *args: lambda x: 1 / 0)
    conv = Conv2d("conv2_1", 16, 24, 3, padding=1, rng=rng)
    conv.training = False
    with threadpool_limits(2):
        with pytest.raises(ZeroDivisionError):
            conv.forward(rng.standard_normal((37, 16, 20, 20)).astype(np.float32))
        assert parallel.threads() == 2

"""AvgPool2d: the definition by loops, central differences, PyTorch; the pooled copy of a net."""

import numpy as np
import pytest

from minicnn import models
from minicnn.gradcheck import check_layer, rel_error
from minicnn.layers import MaxPool2d
from minicnn.layers.avgpool import AvgPool2d
from vis.synthesis.texture import average_pooling

CASES = [  # (kernel, stride, padding, H, W)
    (2, None, 0, 6, 8),
    (3, 2, 1, 7, 5),
    ((2, 3), (1, 2), (1, 0), 5, 9),
    (3, 1, 0, 4, 6),
]


def naive(x, k, s, p):
    (KH, KW), (sh, sw), (ph, pw) = [(v, v) if isinstance(v, int) else v for v in (k, s, p)]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = 1 + (xp.shape[2] - KH) // sh, 1 + (xp.shape[3] - KW) // sw
    out = np.zeros(x.shape[:2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = xp[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW].mean(axis=(2, 3))
    return out


@pytest.mark.parametrize("case", CASES)
def test_forward_is_the_window_mean_and_backward_passes_the_check(case, rng):
    k, s, p, H, W = case
    pool = AvgPool2d("pool", k, s, p)
    x = rng.standard_normal((2, 3, H, W))
    stride = k if s is None else s
    assert rel_error(pool.forward(x), naive(x, k, stride, p)) < 1e-14
    assert check_layer(pool, x)["x"] < 1e-8
    assert pool.output_shape((3, H, W)) == pool.forward(x).shape[1:]


@pytest.mark.parametrize("case", CASES)
def test_equals_torch_avg_pool2d(case, rng):
    torch = pytest.importorskip("torch")
    k, s, p, H, W = case
    pool = AvgPool2d("pool", k, s, p)
    x = rng.standard_normal((2, 3, H, W))
    out = pool.forward(x)
    dout = rng.standard_normal(out.shape)
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.avg_pool2d(xt, k, s, p)          # count_include_pad=True
    ref.backward(torch.tensor(dout))
    assert rel_error(out, ref.detach().numpy()) < 1e-12
    assert rel_error(pool.backward(dout), xt.grad.numpy()) < 1e-12


def test_rules_do_not_change_it_and_errors(rng):
    pool = AvgPool2d("p", 2)
    pool_x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    out = pool.forward(pool_x)
    assert out.dtype == np.float32
    d = np.ones_like(out)
    assert np.array_equal(pool.backward(d, "guided"), pool.backward(d, "deconvnet"))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        AvgPool2d("q", 2).backward(d)
    with pytest.raises(ValueError, match="smaller than the 3x3 pooling window"):
        AvgPool2d("r", 3).forward(np.zeros((1, 1, 2, 5)))


def test_average_pooling_copy_shares_weights_and_keeps_the_original():
    net = models.tiny(seed=0)
    avg = average_pooling(net)
    pools = [type(layer) for layer in avg.layers if "pool" in layer.name]
    assert pools == [AvgPool2d] * 3
    assert all(isinstance(layer, MaxPool2d) for layer in net.layers if "pool" in layer.name)
    assert avg.layer_names == net.layer_names
    assert avg["conv2_1"].params["W"] is net["conv2_1"].params["W"]
    x = np.random.default_rng(0).standard_normal((1, 3, 16, 16)).astype(np.float32)
    a, b = net.forward(x, until="relu1_2"), avg.forward(x, until="relu1_2")
    assert np.array_equal(a, b)                       # identical before the first pool
    assert not np.allclose(net.forward(x), avg.forward(x))

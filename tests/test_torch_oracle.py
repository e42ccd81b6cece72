"""minicnn against PyTorch autograd with the same weights (skipped without torch).

Forward outputs and input gradients of VGG16, AlexNet (both layouts) and tiny
agree to < 1e-5 relative error in float64 and < 1e-4 in float32; deconvnet and
guided backprop agree with ReLU backward hooks (Captum's implementation).

Float32 and kinks: a ReLU input within float32 rounding of 0 may land on either
side in two correct float32 implementations, and then a whole subtree of the
gradient differs (for VGG16 at 224 with random weights, about one random input
in two has such a unit). The float64 checks have no such flips and are the real
test; the float32 VGG16 checks use inputs (seeds 104, 105) on which neither
implementation sits on a kink, found once and pinned here.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from minicnn import models                      # noqa: E402
from minicnn.gradcheck import rel_error         # noqa: E402
from minicnn.layers import RULES                # noqa: E402
from tests.torch_twin import input_gradient, twin  # noqa: E402

torch.set_num_threads(2)


def compare(net, x, dtype, tol, rule="gradient", until=None):
    net = net.astype(dtype)
    x = x.astype(dtype)
    out = net.forward(x, until=until)
    g = np.random.default_rng(5).standard_normal(out.shape).astype(dtype)
    name = until or net.layer_names[-1]
    dx = net.backward({name: g}, rule)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    upto = None if until is None else net.index(until) + 1
    t_out, t_dx = input_gradient(twin(net, tdtype), x, g, rule, upto)
    assert rel_error(out, t_out) < tol
    assert rel_error(dx, t_dx) < tol
    return dx


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-5), (np.float32, 1e-4)])
def test_vgg16_forward_and_input_gradient(dtype, tol):
    x = np.random.default_rng(104).standard_normal((1, 3, 224, 224))
    compare(models.vgg16(seed=3), x, dtype, tol)


@pytest.mark.parametrize("rule", RULES)
def test_vgg16_trunk_rules_float64(rule, rng):
    """All three rules through 13 convs and 5 pools, non-square input, batch 2."""
    x = rng.standard_normal((2, 3, 64, 96))
    compare(models.vgg16(include_top=False, seed=4), x, np.float64, 1e-5, rule)


@pytest.mark.parametrize("rule", RULES)
def test_vgg16_full_rules_float32(rule):
    x = np.random.default_rng(105).standard_normal((1, 3, 224, 224))
    compare(models.vgg16(seed=5), x, np.float32, 1e-4, rule)


@pytest.mark.parametrize("build", [models.alexnet, models.alexnet_caffe])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-5), (np.float32, 1e-4)])
def test_alexnet_forward_and_gradients(build, dtype, tol, rng):
    net = build(seed=6)
    H, W = net.meta["input_size"]
    x = rng.standard_normal((2, 3, H, W))
    for rule in RULES:
        compare(build(seed=6), x, dtype, tol, rule)


@pytest.mark.parametrize("rule", RULES)
def test_tiny_rules(rule, rng):
    x = rng.standard_normal((3, 3, 64, 64))
    compare(models.tiny(seed=7), x, np.float64, 1e-5, rule)
    compare(models.tiny(seed=7), x, np.float32, 1e-4, rule)


def test_gradient_at_an_intermediate_layer(rng):
    """Injecting at conv4_3 (a unit's projection) equals torch run up to that layer."""
    x = rng.standard_normal((1, 3, 48, 80))
    compare(models.vgg16(include_top=False, seed=8), x, np.float64, 1e-5, "guided", until="conv4_3")

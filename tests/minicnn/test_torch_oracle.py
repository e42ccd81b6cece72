"""minicnn against PyTorch autograd with the same weights (skipped without torch).

Forward outputs and input gradients of VGG16, AlexNet (both layouts) and tiny
agree to < 1e-5 relative error in float64 and < 1e-4 in float32; deconvnet and
guided backprop agree with ReLU backward hooks (Captum's implementation).

Float32 and kinks: a ReLU input within float32 rounding of 0 may land on either
side in two correct float32 implementations, and then a whole subtree of the
gradient differs (for VGG16 at 224 with random weights, about one random input
in two has such a unit); the same holds for two nearly equal values in a
max-pool window. So the float32 checks run in two steps: (1) every ReLU of
minicnn is on/off exactly as in PyTorch and every pool switch is the same,
except where the values are within float32 rounding of the decision; (2) with
the pattern shared (PyTorch's ReLUs replaced by ``x * mask``, its pools by a
gather at minicnn's switches), outputs and gradients agree to 1e-4. The
float64 checks need neither step.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from minicnn import models                      # noqa: E402
from minicnn.gradcheck import rel_error         # noqa: E402
from minicnn.layers import RULES                # noqa: E402
from tests.torch_twin import input_gradient, shared_twin  # noqa: E402

torch.set_num_threads(2)


def compare(net, x, dtype, tol, rule="gradient", until=None):
    net = net.astype(dtype)
    x = x.astype(dtype)
    out = net.forward(x, until=until)
    g = np.random.default_rng(5).standard_normal(out.shape).astype(dtype)
    name = until or net.layer_names[-1]
    dx = net.backward({name: g}, rule)
    upto = None if until is None else net.index(until) + 1
    t_out, t_dx = input_gradient(shared_twin(net, x, upto), x, g, rule, upto)
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

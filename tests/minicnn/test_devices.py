"""Every layer, every rule and every convolution path, on every device.

The same layer runs on the CPU (NumPy) and on the device (CuPy when a CUDA
device is there; skipped otherwise) in float64, and must give the same
output, input gradient and weight gradients. On the CPU these tests compare
NumPy with itself and guard the harness; the figures that count come from a
machine with a GPU.
"""

import copy

import numpy as np
import pytest

from minicnn import backend, models
from minicnn.gradcheck import rel_error
from minicnn.layers import (LRN, RULES, AvgPool2d, Conv2d, Dropout, Flatten, GlobalAvgPool,
                            Linear, MaxPool2d, ReLU, Softmax)
from minicnn.layers.conv_fast import conv_paths
from tests.conftest import away_from_kinks


def training(layer):
    layer.training = True
    return layer


LAYERS = {  # name: (layer factory, input shape)
    "conv 3x3 pad 1": (lambda r: Conv2d("c", 3, 4, 3, padding=1, rng=r), (2, 3, 7, 5)),
    "conv 3x2 stride 2": (lambda r: Conv2d("c", 2, 3, (3, 2), stride=2, rng=r), (2, 2, 9, 6)),
    "conv 5x5 stride 2 pad 2": (lambda r: Conv2d("c", 4, 6, 5, stride=2, padding=2, rng=r),
                                (2, 4, 11, 7)),
    "conv groups 2": (lambda r: Conv2d("c", 4, 6, 3, padding=1, groups=2, rng=r), (2, 4, 6, 5)),
    "maxpool 2": (lambda r: MaxPool2d("p", 2), (2, 3, 8, 6)),
    "maxpool 3 stride 2 pad 1": (lambda r: MaxPool2d("p", 3, stride=2, padding=1), (2, 3, 9, 7)),
    "avgpool 3 stride 2 pad 1": (lambda r: AvgPool2d("p", 3, stride=2, padding=1), (2, 3, 9, 7)),
    "relu": (lambda r: ReLU("r"), (2, 3, 4, 5)),
    "lrn": (lambda r: LRN("n", size=5), (2, 7, 4, 3)),
    "dropout (training)": (lambda r: training(Dropout("d", 0.5, seed=4)), (2, 3, 4, 5)),
    "linear": (lambda r: Linear("fc", 12, 5, rng=r), (3, 12)),
    "flatten": (lambda r: Flatten("f"), (2, 3, 2, 2)),
    "global average pool": (lambda r: GlobalAvgPool("g"), (2, 3, 4, 5)),
    "softmax": (lambda r: Softmax("s"), (3, 6)),
}


def on(device, layer):
    """A copy of ``layer`` with its float64 parameters moved to ``device``."""
    moved = copy.deepcopy(layer)
    moved.params = {k: backend.to_device(v, device) for k, v in layer.params.items()}
    return moved


def same(dev, cpu, tol):
    """``dev``, read back from its device, equals ``cpu`` to ``tol`` (rel_error)."""
    return rel_error(backend.asnumpy(dev), cpu) < tol


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_and_rule_on_every_device(name, rule, device, rng):
    make, shape = LAYERS[name]
    cpu = make(np.random.default_rng(2))
    cpu.params = {k: v.astype(np.float64) + 0.1 for k, v in cpu.params.items()}
    dev = on(device, cpu)
    x = away_from_kinks(rng.standard_normal(shape))
    out = cpu.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = cpu.backward(dout, rule, param_grads=bool(cpu.params))
    out_d = dev.forward(backend.to_device(x, device))
    dx_d = dev.backward(backend.to_device(dout, device), rule, param_grads=bool(cpu.params))
    assert backend.get_array_module(out_d, dx_d) is backend.get_array_module(
        backend.to_device(x, device))
    assert same(out_d, out, 1e-12) and same(dx_d, dx, 1e-12)
    assert sorted(dev.grads) == sorted(cpu.grads)
    for k in cpu.grads:
        assert same(dev.grads[k], cpu.grads[k], 1e-12), k


PATHS = {  # path: (Conv2d settings, input shape, forward routine on the CPU in float32)
    "im2col / col2im (fast off)": ({"fast": False}, (2, 8, 12, 10), "im2col"),
    "winograd (forced)": ({"winograd": True}, (2, 8, 12, 10), "winograd"),
    "winograd (picked)": ({}, (2, 16, 24, 20), "winograd"),
    "row shifts": ({"winograd": False}, (1, 32, 200, 201), "row shifts"),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_convolution_path_on_every_device(path, dtype, device, rng):
    """Each routine conv_paths can pick, forward and input gradient, against the
    CPU's im2col/col2im in float64 (float32: 1e-5). A GPU takes im2col unless
    Winograd is forced; float64 takes Winograd only when forced."""
    settings, shape, routine = PATHS[path]
    C = shape[1]
    ref = Conv2d("conv", C, C, 3, padding=1, rng=np.random.default_rng(5))
    ref.params = {k: v.astype(np.float64) for k, v in ref.params.items()}
    ref.fast = False
    conv = on(device, ref)
    conv.fast = True
    for key, value in settings.items():
        setattr(conv, key, value)
    conv.params = {k: v.astype(dtype) for k, v in conv.params.items()}
    x = rng.standard_normal(shape)
    out = ref.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = ref.backward(dout)
    if device == "gpu" and "forced" not in path:
        routine = "im2col"
    elif dtype == "float64" and "picked" in path:
        routine = "im2col"
    assert conv_paths(conv, shape)[0] == routine
    tol = 1e-12 if dtype == "float64" and "winograd" not in path else 1e-5
    out_d = conv.forward(backend.to_device(x.astype(dtype), device))
    dx_d = conv.backward(backend.to_device(dout.astype(dtype), device))
    assert out_d.dtype == dtype and dx_d.dtype == dtype
    assert same(out_d, out, tol) and same(dx_d, dx, tol)


@pytest.mark.parametrize("rule", RULES)
def test_vgg16_trunk_on_every_device(rule, device, rng):
    """VGG16's trunk at 64x64 in float32 (each device takes its own paths): outputs and
    predict. Then in float64, where no ReLU mask or pooling switch flips on a last-bit
    difference (in float32, two paths' gradients through 13 ReLUs differ by up to
    1.5e-2 at a few pixels, on one device alone): a covering gradient, and one unit's
    projection, which stays exactly 0 outside its receptive field on every device."""
    cpu, dev = models.vgg16_hed(seed=0), models.vgg16_hed(seed=0).to(device)
    x = rng.standard_normal((2, 3, 64, 64)).astype(np.float32) * 50
    xd = backend.to_device(x, device)
    out = cpu.forward(x)
    assert same(dev.forward(xd), out, 1e-5)
    assert same(dev.predict(xd), out, 1e-5)
    assert same(dev.predict(xd, until="pool3"), cpu.predict(x, until="pool3"), 1e-5)
    cpu.astype(np.float64), dev.astype(np.float64)
    x = x.astype(np.float64)
    out = cpu.forward(x)
    dev.forward(backend.to_device(x, device))
    g = rng.standard_normal(out.shape)
    assert same(dev.backward({"relu5_3": backend.to_device(g, device)}, rule),
                cpu.backward({"relu5_3": g}, rule), 1e-10)
    unit = np.zeros(cpu.outputs["conv3_1"].shape)
    unit[:, 5, 3, 4] = 1
    dx_cpu = cpu.backward({"conv3_1": unit}, rule, until="conv3_1")
    dx_dev = backend.asnumpy(dev.backward({"conv3_1": backend.to_device(unit, device)}, rule,
                                          until="conv3_1"))
    assert rel_error(dx_dev, dx_cpu) < 1e-10
    assert np.array_equal(dx_dev != 0, dx_cpu != 0)


def test_training_step_on_every_device(device, rng):
    """Weight gradients of a whole net in training mode, float64."""
    cpu = models.tiny(num_classes=5, seed=3).astype(np.float64).train()
    dev = models.tiny(num_classes=5, seed=3).astype(np.float64).train().to(device)
    x = rng.standard_normal((3, 3, 32, 32))
    g = rng.standard_normal((3, 5))
    cpu.forward(x)
    cpu.backward({"fc": g}, param_grads=True)
    dev.forward(backend.to_device(x, device))
    dev.backward({"fc": backend.to_device(g, device)}, param_grads=True)
    for a, b in zip(cpu.layers, dev.layers):
        for k in a.grads:
            assert same(b.grads[k], a.grads[k], 1e-10), (a.name, k)

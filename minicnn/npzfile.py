r"""The project's own weight format: one self-describing ``.npz`` per model.

One ``.npz`` (a zip of ``.npy`` arrays), read back by NumPy alone::

    conv1_1.W   (F, C, KH, KW)  float32      "<layer>.<param>", the engine's layout
    conv1_1.b   (F,)
    ...
    fc8.W       (out, in)
    meta        uint8 bytes of a JSON object: arch, input_size, preprocess,
                class_names, source {file, sha256, format, url}

``load`` rebuilds the architecture named by ``meta["arch"]`` (a key of
``models.ARCHITECTURES``) and copies the arrays in, so a file is a complete
model. It is the third reader beside ``torchfile.py`` (PyTorch) and
``kerasfile.py`` (Keras); :mod:`minicnn.io` converts those into this one and
re-exports ``save`` and ``load``.

**Loading never runs code.** A ``.npy`` may hold a ``dtype=object`` array,
which NumPy stores as a pickle, and a pickle is a program (see
``torchfile.py``). ``np.load(path, allow_pickle=False)`` refuses those, so a
malicious ``.npz`` gets an error, never a chance to execute. That is why
``meta`` is stored as JSON *bytes* rather than as a Python dict.

**Writing is atomic** (:func:`minicnn.files.atomic_write`): a crash half-way
leaves the old file or none, never half of one.

Example:
    >>> import tempfile
    >>> from minicnn import models
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save(models.tiny(width=(4, 8)), f"{folder}/tiny.npz")
    ...     net = load(path)
    >>> net.meta["arch"], net["conv2_1"].params["W"].shape
    ('tiny', (8, 4, 3, 3))
"""

import json
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import models
from .backend import asnumpy
from .errors import WeightFileError
from .files import atomic_write, refuse_overwrite


def _json_default(value):
    """JSON for NumPy scalars and arrays that end up in ``meta``."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"meta value {value!r:.60} is not JSON-serialisable")


def save(net, path, force=False):
    """Write ``net``'s parameters and ``meta`` to one ``.npz``, atomically.

    Args:
        net: a :class:`minicnn.Net`; its arrays are stored as ``"<layer>.<param>"``
            (conv ``W`` (F, C, KH, KW), linear ``W`` (out, in)).
        path: destination file (its folder is created if needed).
        force: overwrite an existing file.

    Returns:
        ``Path`` of the written file.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is False.
    """
    refuse_overwrite(path, force)       # before copying the arrays off the device
    arrays = {k: np.ascontiguousarray(asnumpy(v)) for k, v in net.state_dict().items()}
    text = json.dumps(net.meta, default=_json_default, ensure_ascii=False)
    arrays["meta"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return atomic_write(path, lambda f: np.savez(f, **arrays), force=force)


def _read_npz(path):
    """All arrays of an ``.npz`` as ``{name: ndarray}``, refusing pickles and corrupt files."""
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise WeightFileError(f"{path}: file is empty")
    if head != b"PK\x03\x04":  # every zip (so every .npz) starts with these bytes
        pickled = head[:1] == b"\x80"  # the PROTO opcode that starts a pickle
        hint = " It looks like a pickle, which could run code: refused." if pickled else ""
        raise WeightFileError(f"{path}: not an .npz archive (a minicnn weight file is a zip "
                              f"of .npy arrays; this one starts with {head!r}).{hint}")
    broken = (OSError, EOFError, zipfile.BadZipFile, zlib.error)
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, *broken) as err:
        raise WeightFileError(f"{path}: truncated or corrupt .npz ({err})") from err
    arrays = {}
    with npz:
        for key in npz.files:
            try:
                a = npz[key]
            except ValueError as err:
                if "allow_pickle" in str(err):
                    raise WeightFileError(
                        f"{path}: array '{key}' holds Python objects, stored as a pickle "
                        "that could run code when loaded; refused (weights are numbers "
                        "only)") from err
                raise WeightFileError(f"{path}: array '{key}' is corrupt ({err})") from err
            except broken as err:
                raise WeightFileError(f"{path}: array '{key}' is truncated or corrupt "
                                      f"({err})") from err
            if not isinstance(a, np.ndarray):  # a zip member that is not a .npy
                raise WeightFileError(f"{path}: entry '{key}' is not a .npy array")
            arrays[key] = a
    return arrays


def _parse_meta(path, arrays):
    """Decode the JSON ``meta`` entry and check it names a known architecture."""
    raw = arrays.pop("meta", None)
    if raw is None:
        raise WeightFileError(f"{path}: no 'meta' entry; not written by minicnn.io.save")
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"dtype {raw.dtype}, shape {raw.shape}; expected uint8 bytes")
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise WeightFileError(f"{path}: 'meta' is not JSON text ({err})") from err
    if not isinstance(meta, dict) or meta.get("arch") not in models.ARCHITECTURES:
        arch = meta.get("arch") if isinstance(meta, dict) else meta
        raise WeightFileError(f"{path}: meta names architecture {arch!r:.40}; known: "
                              + ", ".join(models.ARCHITECTURES))
    return meta


def empty_model(arch, arrays):
    """An empty ``arch`` shaped like ``arrays``: class count, VGG top, tiny's widths."""
    kwargs = {"seed": None}           # no random initialisation: the arrays overwrite it
    if arch in ("vgg16", "vgg19"):
        kwargs["include_top"] = "fc8.W" in arrays
    if "fc8.W" in arrays and arch != "vgg16_hed":
        kwargs["num_classes"] = arrays["fc8.W"].shape[0]
    if arch == "tiny":
        widths = []
        while f"conv{len(widths) + 1}_1.W" in arrays:
            widths.append(arrays[f"conv{len(widths) + 1}_1.W"].shape[0])
        if widths:                    # else tiny()'s default widths
            kwargs["width"] = tuple(widths)
        if "fc.W" in arrays:
            kwargs["num_classes"] = arrays["fc.W"].shape[0]
    return models.ARCHITECTURES[arch](**kwargs)


def fill(net, arrays, path):
    """``net.load_state_dict(arrays)``, with the file named in any error."""
    bad = [k for k, a in arrays.items() if a.dtype.kind != "f" or not re.fullmatch(r"\w+\.\w+", k)]
    if bad:
        raise WeightFileError(f"{path}: entries {bad} are not '<layer>.<param>' float arrays")
    try:
        net.load_state_dict(arrays)
    except KeyError as err:
        raise WeightFileError(f"{path}: {err.args[0]}") from err
    except ValueError as err:
        raise WeightFileError(f"{path}: {err}") from err
    return net


def load(path):
    """Read a file written by :func:`save` (or :func:`minicnn.io.convert`), rebuild the model.

    Args:
        path: an ``.npz`` in the own format.

    Returns:
        ``Net`` of architecture ``meta["arch"]`` with the stored parameters and
        ``net.meta`` equal to the stored meta.

    Raises:
        FileNotFoundError: no such file.
        WeightFileError (a ValueError): empty, truncated, corrupt, not an
            ``.npz``, an array holding pickled objects, or parameters that do
            not fit the architecture (naming the layer and both shapes).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such weight file: {path}")
    arrays = _read_npz(path)
    meta = _parse_meta(path, arrays)
    net = fill(empty_model(meta["arch"], arrays), arrays, path)
    net.meta = {**net.meta, **meta}
    return net.eval()

r"""Weights on disk: the project's own ``.npz`` format, converters, class names.

**The own format.** One ``.npz`` per model (a zip of ``.npy`` arrays), read
back by NumPy alone::

    conv1_1.W   (F, C, KH, KW)  float32      "<layer>.<param>", the engine's layout
    conv1_1.b   (F,)
    ...
    fc8.W       (out, in)
    meta        uint8 bytes of a JSON object: arch, input_size, preprocess,
                class_names, source {file, sha256, format, url}

``load`` rebuilds the architecture named by ``meta["arch"]`` and copies the
arrays in, so a file is a complete, self-describing model.

**Loading never runs code.** A ``.npy`` may hold a ``dtype=object`` array,
which NumPy stores as a pickle, and a pickle is a program (see
``torchfile.py``). ``np.load(path, allow_pickle=False)`` refuses those, so a
malicious ``.npz`` gets an error, never a chance to execute. That is why
``meta`` is stored as JSON *bytes* rather than as a Python dict.

**Atomic writes.** Writing straight to ``vgg16.npz`` and crashing half-way
(disk full, Ctrl-C) would leave a truncated file that looks installed. Instead::

    1. write everything to a temporary file in the *same* folder
    2. flush + fsync it (the bytes are really on disk)
    3. os.replace(temp, final)      # a rename: atomic on one file system

so ``final`` is either the old file or the complete new one, never half of
one; on any error the temporary file is deleted. (Downloading official
weights is :mod:`minicnn.fetch`.)

Example:
    >>> import tempfile
    >>> from minicnn import models
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save(models.tiny(width=(4, 8)), f"{folder}/tiny.npz")
    ...     net = load(path)
    >>> net.meta["arch"], net["conv2_1"].params["W"].shape
    ('tiny', (8, 4, 3, 3))
"""

import contextlib
import hashlib
import json
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import kerasfile, models, torchfile
from .backend import asnumpy
from .torchfile import WeightFileError

#: The repository's ``weights/`` folder: shipped data (class names, sources.json).
DATA_DIR = Path(__file__).resolve().parents[1] / "weights"


def weights_dir():
    """Folder of the converted ``.npz`` files: ``$MINICNN_WEIGHTS``, else ``weights/``.

    The repository's folder is ``Path(minicnn.__file__).resolve().parents[1] / "weights"``
    (the project is installed editable, so the package sits in the repository).
    """
    env = os.environ.get("MINICNN_WEIGHTS")
    return Path(env).expanduser() if env else DATA_DIR


# --- the own format: save / load ---------------------------------------------

def _refuse_overwrite(path, force):
    if Path(path).exists() and not force:
        raise FileExistsError(f"{path} already exists: pass force=True (--force on the "
                              "command line) to overwrite it")


def _atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private (0600); weights are ordinary files
        os.replace(tmp, path)
    except BaseException:     # Ctrl-C included: never leave the temporary file behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
    path = Path(path)
    _refuse_overwrite(path, force)
    arrays = {k: np.ascontiguousarray(asnumpy(v)) for k, v in net.state_dict().items()}
    text = json.dumps(net.meta, default=_json_default, ensure_ascii=False)
    arrays["meta"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    _atomic_write(path, lambda f: np.savez(f, **arrays))
    return path


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


def _build(arch, arrays):
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
        kwargs["width"] = tuple(widths) or (16, 32, 64)
        if "fc.W" in arrays:
            kwargs["num_classes"] = arrays["fc.W"].shape[0]
    return models.ARCHITECTURES[arch](**kwargs)


def _fill(net, arrays, path):
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
    """Read a file written by :func:`save` (or :func:`convert`) and rebuild the model.

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
    net = _fill(_build(meta["arch"], arrays), arrays, path)
    net.meta = {**net.meta, **meta}
    return net.eval()


# --- converters: PyTorch and Keras files -> own format --------------------------------

_READERS = {  # kind -> (file name endings, architectures it converts to); tried in order,
    #            so ".weights.h5" (Keras 3) is recognised before ".h5" (Keras 2)
    "torchvision .pth": ((".pth", ".pt"), ("alexnet", "vgg16", "vgg19")),
    "Keras 3 .weights.h5": ((".weights.h5",), ("vgg16_hed", "vgg16", "vgg19")),
    "Keras 2 .h5": ((".h5", ".hdf5"), ("vgg16", "vgg19")),
}


def _file_kind(src, arch):
    """Which reader ``src`` needs, judged by its name; checks that it can give ``arch``."""
    for kind, (suffixes, archs) in _READERS.items():
        if src.name.lower().endswith(suffixes):
            if arch not in archs:
                raise ValueError(f"{src}: a {kind} file converts to {', '.join(archs)}, "
                                 f"not {arch!r}")
            return kind
    raise ValueError(f"{src}: unknown weight file type; expected .pth/.pt (PyTorch), "
                     ".h5 (Keras 2) or .weights.h5 (Keras 3)")


def sha256_of(path):
    """Hex SHA-256 of a file, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def imagenet_classes():
    """The 1000 ImageNet class names, index order (0 "tench" ... 999 "toilet tissue")."""
    text = (DATA_DIR / "imagenet_classes.txt").read_text(encoding="utf-8")
    return text.splitlines()


def _read_foreign(src, kind, arch):
    """Read ``src`` with the reader for ``kind``: (engine arrays, preprocessing)."""
    if kind == "torchvision .pth":
        sd = torchfile.read_state_dict(src)
        return torchfile.torchvision_to_engine(sd, arch), models.TORCHVISION_RGB
    if kind == "Keras 2 .h5":  # Keras' VGG weights came from Caffe: BGR minus the mean
        return kerasfile.keras_vgg_to_engine(kerasfile.read_keras2_h5(src), arch), models.CAFFE_BGR
    weights = kerasfile.read_keras3_weights_h5(src)
    if arch == "vgg16_hed":
        return kerasfile.keras_hed_to_engine(weights), models.HED_BGR
    return kerasfile.keras_vgg_to_engine(weights, arch), models.CAFFE_BGR


def convert(src, arch, out=None, force=False, url=None):
    """Convert a torchvision ``.pth`` or Keras ``.h5`` file to the own format.

    * ``.pth``/``.pt`` (torchvision, zip or legacy): ``read_state_dict`` +
      ``torchvision_to_engine``; alexnet, vgg16, vgg19; ``TORCHVISION_RGB``.
    * ``.h5`` (Keras 2): ``read_keras2_h5`` + ``keras_vgg_to_engine``; vgg16,
      vgg19, with or without the top; ``CAFFE_BGR`` (Keras' VGG is Caffe's).
    * ``.weights.h5`` (Keras 3): ``read_keras3_weights_h5`` +
      ``keras_hed_to_engine`` for vgg16_hed (``HED_BGR``), else
      ``keras_vgg_to_engine`` (``CAFFE_BGR``).

    Args:
        src: the downloaded file.
        arch: a name from ``models.ARCHITECTURES`` that the file holds.
        out: destination ``.npz``; default ``weights_dir() / f"{arch}.npz"``.
        force: overwrite ``out`` if it exists.
        url: where ``src`` came from, recorded in ``meta["source"]``.

    Returns:
        ``Path`` of the written file. Its meta records the source file's name,
        SHA-256 and format, and the 1000 ImageNet class names for 1000-class models.

    Raises:
        FileExistsError: ``out`` exists and ``force`` is False (checked first).
        FileNotFoundError: no ``src``.
        ValueError: unknown file type, an ``arch`` the file cannot hold, or
            weights that do not fit (file, layer and shapes named). Nothing is
            written on any error.
    """
    src = Path(src)
    out = Path(out) if out is not None else weights_dir() / f"{arch}.npz"
    _refuse_overwrite(out, force)
    if not src.is_file():
        raise FileNotFoundError(f"no such weight file: {src}")
    kind = _file_kind(src, arch)
    try:
        arrays, preprocess = _read_foreign(src, kind, arch)
    except ValueError as err:  # the converters name layers; add the file
        if str(src) in str(err):
            raise
        raise WeightFileError(f"{src}: {err}") from err
    net = _fill(_build(arch, arrays), arrays, src)
    num_classes = arrays["fc8.W"].shape[0] if "fc8.W" in arrays else None
    net.meta.update(preprocess=dict(preprocess),
                    class_names=imagenet_classes() if num_classes == 1000 else None,
                    source={"file": src.name, "sha256": sha256_of(src), "format": kind,
                            "url": url})
    return save(net, out, force=force)


# --- reading the scores ------------------------------------------------------------

def decode_predictions(scores, class_names=None, top=5):
    """The ``top`` classes of each row of scores, best first (like Keras' ``decode_predictions``).

    Args:
        scores: (N, K) or (K,) scores or probabilities.
        class_names: K names (e.g. ``net.meta["class_names"]``); None uses "0", "1", ...
        top: how many per row (at most K).

    Returns:
        N lists of ``(index, name, score)`` tuples, scores descending (ties:
        lower index first).

    Example:
        >>> decode_predictions(np.array([0.1, 0.7, 0.2]), ["cat", "dog", "fox"], top=2)
        [[(1, 'dog', 0.7), (2, 'fox', 0.2)]]
    """
    scores = np.asarray(asnumpy(scores))
    if scores.ndim == 1:
        scores = scores[None]
    if scores.ndim != 2:
        raise ValueError(f"expected scores (N, K) or (K,), got shape {scores.shape}")
    K = scores.shape[1]
    names = [str(k) for k in range(K)] if class_names is None else list(class_names)
    if len(names) != K:
        raise ValueError(f"{K} scores per row but {len(names)} class names")
    best = np.argsort(-scores, axis=1, kind="stable")[:, :top]
    return [[(int(k), names[k], float(row[k])) for k in ks] for row, ks in zip(scores, best)]

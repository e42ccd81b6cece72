"""The errors of the weights subsystem, and the one "did you mean" hint.

Everything that reads, converts or downloads weights raises a
:class:`WeightsError` when the fault lies in a file or a download, so one
``except WeightsError`` catches them all. Each subclass also derives from the
built-in error its callers already expect::

    WeightsError
    ├── WeightFileError (ValueError)      truncated, corrupt, not the expected format
    │   └── UnsafeFileError               a pickle asks for a global off the allow-list
    └── DownloadError (RuntimeError)      HTTP error, cut-off download, wrong checksum

A missing file stays a ``FileNotFoundError``, an existing destination a
``FileExistsError`` and an unknown name a ``KeyError``: those are not faults
of a file.

Example:
    >>> issubclass(UnsafeFileError, ValueError), issubclass(DownloadError, WeightsError)
    (True, True)
    >>> did_you_mean("vgg61", ["alexnet", "vgg16", "vgg19"])
    '; did you mean vgg19, vgg16?'
    >>> did_you_mean("resnet", ["vgg16", "vgg19"])
    ''
"""

import difflib


class WeightsError(Exception):
    """Base of every error about a weight file or a download."""


class WeightFileError(WeightsError, ValueError):
    """A weight file is missing pieces, truncated, or not the expected format."""


class UnsafeFileError(WeightFileError):
    """A pickle asks for a global outside the allow-list (it could run code)."""


class DownloadError(WeightsError, RuntimeError):
    """A download failed (HTTP error, interrupted) or its checksum did not match."""


def did_you_mean(name, choices, n=3, cutoff=0.5):
    """``"; did you mean a, b?"`` for the choices close to ``name``, else ``""``.

    Args:
        name: what the user typed (any object; compared as ``str``).
        choices: the valid names.
        n: at most this many suggestions, closest first.
        cutoff: similarity in [0, 1] below which a choice is not suggested
            (``difflib.SequenceMatcher.ratio``).

    Returns:
        A string to append to an "unknown ..." message.
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=n, cutoff=cutoff)
    return f"; did you mean {', '.join(close)}?" if close else ""

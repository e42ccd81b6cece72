r"""Writing a file so that it is either complete or not there at all.

Writing straight to ``vgg16.npz`` and failing half-way (disk full, Ctrl-C, a
bug in the writer) would leave a truncated file that looks installed, or
destroy the good file it replaced. Instead::

    1. write everything into a temporary folder in the *same* folder
    2. os.replace(temp, final)      # a rename: atomic within one file system
    3. on any error (Ctrl-C included) delete the temporary folder

so ``final`` is either the old file or the complete new one, never half of
one, and nothing is left behind. The temporary folder, not just a temporary
file, lets the file keep its own name while it is being written (converters
recognise a weight file by its name). There is no ``fsync``: the rename is
atomic for every other program and for a crash of this one; after a power cut
the file system may still hold the old version.

Example:
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = atomic_write(f"{folder}/a.txt", lambda f: f.write(b"hello"))
    ...     try:
    ...         atomic_write(path, lambda f: f.write(b"again"))
    ...     except FileExistsError as err:
    ...         print("refused:", os.path.basename(str(err)))
    ...     print(path.read_bytes(), os.listdir(folder))
    refused: a.txt exists (not overwritten; force=True overwrites it)
    b'hello' ['a.txt']
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def refuse_overwrite(path, force=False):
    """Raise ``FileExistsError`` if ``path`` exists and ``force`` is False.

    Call it before long work (a download, a conversion), not only at the end.
    """
    if not force and Path(path).exists():
        raise FileExistsError(f"{path} exists (not overwritten; force=True overwrites it)")


@contextlib.contextmanager
def temporary_folder(beside):
    """A hidden, empty folder next to ``beside`` (a path), deleted on exit.

    It lies in the folder of ``beside`` (created if needed), so a file
    written there can be moved onto ``beside`` by a rename. The folder and
    whatever is in it are removed when the ``with`` block ends, normally, by
    an exception or by Ctrl-C.

    Yields:
        ``Path`` of the folder.
    """
    parent = Path(beside).parent
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{Path(beside).name}.", suffix=".part", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def atomic_write(path, write, force=False):
    """Create ``path`` by calling ``write(f)`` on a binary file, all or nothing.

    Args:
        path: destination file; its folder is created if needed.
        write: ``write(f)`` writes the content to the open binary file ``f``
            (e.g. ``lambda f: np.savez(f, **arrays)``).
        force: replace an existing ``path``.

    Returns:
        ``Path`` of the written file.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is False (checked
            before ``write`` is called).
        Whatever ``write`` raises; ``path`` is then unchanged and no
        temporary file is left.
    """
    path = Path(path)
    refuse_overwrite(path, force)
    with temporary_folder(path) as tmp:
        part = tmp / path.name
        with open(part, "wb") as f:
            write(f)
        os.replace(part, path)
    return path

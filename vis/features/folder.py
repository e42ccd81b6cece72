"""A folder of images as a dataset source (torchvision's ImageFolder layout, optionally).

Every file of the folder that Pillow opens is an image; others are skipped
with one warning that says how many (and names the first few). Images sit in
the folder itself, or one level down in sub-folders that name their class::

    photos/cat/1.jpg, photos/cat/2.png, photos/dog/7.jpg   -> labels 0, 0, 1
    photos/a.jpg, photos/b.jpg                              -> no labels

Files are read in sorted order, each scaled to cover the model's input size
(aspect kept) and centre-cropped to it (``vis.image.load_image``), as
torchvision's ``Resize`` + ``CenterCrop`` would. The source interface
(``read``, ``take``, ``subset``, ``fingerprint``) is that of ``sources.py``.

Example:
    >>> import tempfile, warnings
    >>> from PIL import Image
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     Image.new("RGB", (80, 60), (255, 0, 0)).save(f"{folder}/red.png")
    ...     open(f"{folder}/notes.txt", "w").close()
    ...     with warnings.catch_warnings(record=True) as caught:
    ...         warnings.simplefilter("always")
    ...         src = FolderSource(folder, (64, 64))
    ...     images, labels = src.read(0, 1)
    >>> len(src), images.shape, labels, str(caught[0].message).split(": ")[1][:20]
    (1, (1, 3, 64, 64), None, 'skipped 1 file(s) th')
"""

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from ..image import load_image
from .sources import check_indices, check_range


def _is_image(path):
    try:
        with Image.open(path):
            return True
    except (OSError, SyntaxError, ValueError):        # UnidentifiedImageError is an OSError
        return False


class FolderSource:
    """Every image file in ``folder`` (and one level of sub-folders), sorted by name.

    Args:
        folder: the folder. Files Pillow cannot open are skipped, with a
            warning saying how many (``self.skipped`` lists them).
        size: (H, W) every image is scaled to cover, then centre-cropped to
            (``vis.image.load_image``): the model's input size.

    Labels: when every image sits in a sub-folder, the sub-folders (sorted)
    are the classes (``self.class_names``); otherwise there are none.

    Raises:
        FileNotFoundError: no such folder. ValueError: no image in it.
    """

    def __init__(self, folder, size, files=None, labels=None, class_names=None):
        self.folder, self.size = Path(folder), tuple(int(s) for s in size)
        if files is None:
            files, labels, class_names, self.skipped = _scan(self.folder)
        else:
            self.skipped = []
        self.files, self.labels, self.class_names = files, labels, class_names
        self.has_labels = labels is not None

    def __len__(self):
        return len(self.files)

    def _load(self, indices):
        images = np.stack([load_image(self.folder / self.files[i], self.size) for i in indices])
        labels = None if self.labels is None else self.labels[np.asarray(indices, np.int64)]
        return images.astype(np.float32), labels

    def read(self, start, stop):
        """Images ``start .. stop``: (B, 3, H, W) float32 and labels (B,) or None."""
        check_range(start, stop, len(self))
        return self._load(range(start, stop))

    def take(self, indices):
        """Images at ``indices``: (M, 3, H, W) float32 and labels (M,) or None."""
        return self._load(check_indices(indices, len(self)))

    def subset(self, start, stop):
        """Files ``start .. stop`` as a source."""
        check_range(start, stop, len(self))
        labels = None if self.labels is None else self.labels[start:stop]
        return FolderSource(self.folder, self.size, self.files[start:stop], labels,
                            self.class_names)

    def fingerprint(self):
        """File names, sizes and modification times, and the input size."""
        h = hashlib.sha256()
        for name in self.files:
            st = os.stat(self.folder / name)
            h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return {"kind": "folder", "folder": str(self.folder.resolve()), "n": len(self),
                "size": list(self.size), "files": h.hexdigest()}


def _scan(folder):
    """(files relative to folder, labels or None, class names or None, skipped files)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    top = sorted(p for p in folder.iterdir() if p.is_file())
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    nested = [(k, p) for k, d in enumerate(subs) for p in sorted(d.iterdir()) if p.is_file()]
    candidates = [(None, p) for p in top] + nested
    files, labels, skipped = [], [], []
    for label, path in candidates:
        if path.name.startswith(".") or not _is_image(path):
            skipped.append(str(path.relative_to(folder)))
            continue
        files.append(str(path.relative_to(folder)))
        labels.append(label)
    if skipped:
        shown = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        warnings.warn(f"{folder}: skipped {len(skipped)} file(s) that are not images "
                      f"Pillow can open ({shown})", stacklevel=3)
    if not files:
        raise ValueError(f"{folder}: the source holds no images "
                         f"({len(skipped)} other file(s) skipped)")
    if all(lab is not None for lab in labels):
        return files, np.asarray(labels, np.int64), [d.name for d in subs], skipped
    return files, None, None, skipped

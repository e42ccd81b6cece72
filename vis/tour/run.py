r"""``minicnn tour``: every method on a few images, one HTML page, and how well each localizes.

The tour is the lecture in one command::

    minicnn tour --out out/tour                # tiny on 4 shapes test images, 60 scored
    minicnn tour --out out/tour --quick        # 2 images, 20 evaluation images: a smoke test
    minicnn tour --model vgg16_hed --image photo.jpg --out out/hed-tour   # the real VGG16

It writes PNGs and an ``index.html`` (no external assets, relative links),
one section per lecture topic:

1. *The network*: the summary table, the first-layer filters (Krizhevsky et
   al. 2012, Fig. 3), the activations of every conv layer for one image.
2. *Gradients and rules*: saliency, deconvnet and guided backprop side by
   side with the table of Simonyan et al. 2014, Sec. 4 (they differ only at
   the ReLUs).
3. *Beyond the gradient*: SmoothGrad and integrated gradients.
4. *Class activation maps*: CAM, Grad-CAM, Guided Grad-CAM.
5. *Occlusion*.
6. *Localization*: saliency -> graph-cut segmentation -> box, against the
   true box (Simonyan et al. 2014, Sec. 6).
7. *How well do they localize?*: every map method on ``n_eval`` shapes test
   images (``minicnn.data.TEST_SEED``), scored by ``vis.localization.evaluate``:
   pointing game (Zhang et al. 2016), box IoU of the graph-cut box, energy
   inside the mask; also written to ``localization.json`` and ``.csv``. A
   *centre prior* row (a Gaussian in the middle of the image, Zhang et al.'s
   "center" baseline) shows what a map that ignores the image scores.

8. *A real photo through* the network (with ``--image``, or a net without
   class scores such as ``vgg16_hed``): the most active unit of the last three
   blocks projected under the three rules (``vis/tour/photo.py``).

The methods, their records and the cheaper evaluation settings are in
``vis/registry.py``; one map per method in ``vis/explain.py``; the pictures,
sections and tables in ``vis/tour/gallery.py``.

**Nothing half-written, nothing of yours lost.** Everything goes into a
temporary folder beside ``--out``, renamed into place at the end; an error or
Ctrl-C removes it. A lock file beside ``--out`` refuses a second tour into the
same folder while one runs. An existing non-empty ``--out`` is replaced only
with ``--force``, only if it is a previous tour, and only if it holds nothing
but the files that tour wrote (its manifest ``.minicnn-tour``): a file you
added there is named and kept.

The same work without the command line: ``run_tour(net, out, ...)`` returns
the numbers (localization table, top classes) as a dict.
"""

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from threadpoolctl import threadpool_limits

from vis.inputs import SHAPES_SIZE, load_images, shapes_samples
from minicnn.zoo import list_models
from vis.netinfo import class_names, has_scores, input_size

from .gallery import Gallery
from .page import GENERATOR
from .dataset import bias_section, codes_section, units_section
from .fooling import fooling_section
from .photo import photo_section
from .synthesis import real_sections, wants_section

#: Sections ``--quick`` leaves out (each takes seconds to minutes); the rest are always there.
QUICK_SKIPS = ("units", "codes", "wants", "inversion", "style", "dream", "fooling", "bias")

#: The list of files a tour wrote, inside the tour's folder.
MANIFEST = ".minicnn-tour"


def _prepare(out, force):
    """Check ``out``, take its lock, and make the temporary sibling folder to write into.

    Returns:
        (tmp folder, lock file). A second tour into the same ``out`` while one
        runs is refused; ``--force`` replaces only a previous tour whose
        folder holds nothing but the files it wrote.
    """
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"--out {out} exists and is not a folder")
        if any(out.iterdir()):
            if not force:
                raise FileExistsError(f"{out} exists and is not empty: use --force to "
                                      "replace a previous tour, or another --out")
            foreign = _foreign_files(out)
            if foreign is None:
                raise FileExistsError(f"{out} holds files that are not a minicnn tour; "
                                      "--force only replaces a previous tour: choose "
                                      "another --out")
            if foreign:
                more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
                raise FileExistsError(f"{out} holds {foreign[0]}{more}, which the tour did "
                                      "not write: move it away or choose another --out "
                                      "(--force never deletes your files)")
    lock = out.parent / f".{out.name}.lock"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PermissionError(f"cannot write the tour to {out}: "
                              f"{e.strerror or e} ({e.filename or out.parent})") from None
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        raise FileExistsError(f"another tour is writing {out} now (lock {lock}); wait for "
                              "it, or delete the lock if no tour runs") from None
    except OSError as e:
        raise PermissionError(f"cannot write the tour to {out}: "
                              f"{e.strerror or e} ({e.filename or out.parent})") from None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
        os.chmod(tmp, 0o755)
    except OSError as e:
        lock.unlink(missing_ok=True)
        raise PermissionError(f"cannot write the tour to {out}: "
                              f"{e.strerror or e} ({e.filename or out.parent})") from None
    return tmp, lock


def _foreign_files(folder):
    """Files in a previous tour's folder that it did not write ([] if none); None if
    the folder is not a tour."""
    index = folder / "index.html"
    try:
        if not (index.is_file() and f'content="{GENERATOR}"' in
                index.read_text("utf-8")[:2000]):
            return None
        own = set((folder / MANIFEST).read_text("utf-8").split("\n")) | {MANIFEST}
    except (OSError, UnicodeDecodeError):
        return None
    return sorted(p.name for p in folder.iterdir() if p.name not in own)


def _installed():
    return {row["name"] for row in list_models() if row["installed"]}


def _commit(tmp, out):
    """Move the finished folder into place; an older tour is removed only afterwards."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def run_tour(net, out, images=None, samples=4, n_eval=200, quick=False, force=False,
             progress=True):
    """Run every method, write the PNGs, ``index.html`` and the localization table.

    Args:
        net: a Net with class scores (e.g. ``models.load("tiny")``).
        out: destination folder (must not exist, be empty, or be a previous
            tour with ``force``).
        images: image files to explain instead of shapes samples.
        samples: number of shapes test images (seed ``TEST_SEED``) in the gallery.
        n_eval: shapes test images for the localization table (0: no table;
            only for 64x64 models).
        quick: the cheap ``EVAL_SETTINGS`` in the gallery too.
        force: replace a previous tour at ``out``.
        progress: show a progress bar on stderr.

    Returns:
        dict: ``out`` (str), ``model``, ``seconds``, ``files`` (written, relative
        to ``out``), ``top`` (per image: name, label, top-5 ``(index, name,
        probability)``), ``localization`` (method -> ``pointing``,
        ``box_iou``, ``energy``, ``title``, ``settings``, ``paper``; {} when
        not evaluated), ``n_eval``, ``timings`` (step -> seconds) and
        ``notes`` (lines for the user, ``note: ...`` or ``warning: ...``: image
        conversions, e.g. greyscale to RGB, or a 16-bit file that looks black).

    Raises:
        FileExistsError: ``out`` is taken (see ``force``).
        PermissionError: ``out`` cannot be written. Nothing is left behind.
        ValueError: a net without class scores, unreadable or too small images.
    """
    start = time.perf_counter()
    out = Path(os.path.abspath(os.fspath(out)))
    inputs = load_images(images, net) if images else shapes_samples(range(samples), net)
    n_eval = n_eval if input_size(net) == SHAPES_SIZE and has_scores(net) else 0
    extra = [photo_section] if images or not has_scores(net) else []
    if not images and has_scores(net) and input_size(net) == SHAPES_SIZE and not quick:
        extra += [units_section, codes_section]
        if net.meta.get("arch") == "tiny" and "tiny_biased" in _installed():
            extra.append(bias_section)
        extra += [wants_section, fooling_section]
        if "vgg16_hed" in _installed():
            from minicnn import models
            extra += real_sections(models.load("vgg16_hed"))
    tmp, lock = _prepare(out, force)
    try:
        names = class_names(net) if has_scores(net) else []
        with threadpool_limits(1 if input_size(net) == SHAPES_SIZE else None):  # see
            #                      vis/commands/common.py, blas_threads
            result = Gallery(net, tmp, inputs, names, quick, progress).run(n_eval, extra)
        result["files"].append(MANIFEST)
        (tmp / MANIFEST).write_text("\n".join(result["files"]), encoding="utf-8")
        _commit(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        lock.unlink(missing_ok=True)
    result.update(out=str(out), seconds=time.perf_counter() - start)
    return result

r"""``minicnn tour``: every method on a few images, one HTML page, and how well each localizes.

The tour is the lecture in one command::

    minicnn tour --out out/tour                # tiny on 4 shapes test images, ~1 min on 2 cores
    minicnn tour --out out/tour --quick        # 2 images, 20 evaluation images: a smoke test
    minicnn tour --model vgg16 --image cat.jpg --out out/vgg16-tour

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
   images (``minicnn.tiny.TEST_SEED``), scored by ``vis.localize.evaluate``:
   pointing game (Zhang et al. 2016), box IoU of the graph-cut box, energy
   inside the mask; also written to ``localization.json`` and ``.csv``. A
   *centre prior* row (a Gaussian in the middle of the image, Zhang et al.'s
   "center" baseline) shows what a map that ignores the image scores.

The methods, their one map each and the cheaper evaluation settings are in
``vis/recipes.py``; the pictures, sections and tables in ``vis/gallery.py``.

**Nothing half-written.** Everything goes into a temporary folder beside
``--out``, renamed into place at the end; an error or Ctrl-C removes it. An
existing non-empty ``--out`` is replaced only with ``--force``, and only if it
is a previous tour (its ``index.html`` says so), so ``--force`` never wipes a
folder of other files.

The same work without the command line: ``run_tour(net, out, ...)`` returns
the numbers (localization table, top classes) as a dict.
"""

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from .gallery import GENERATOR, Gallery
from .recipes import SHAPES_SIZE, class_count, class_names, load_images, shapes_samples


# --- the tour -----------------------------------------------------------------------

def _prepare(out, force):
    """Check ``out`` and make the temporary sibling folder to write into."""
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        if any(out.iterdir()):
            if not force:
                raise FileExistsError(f"{out} exists and is not empty: pass --force to "
                                      "replace it")
            if not _is_tour(out):
                raise FileExistsError(f"{out} holds files that are not a minicnn tour; "
                                      "--force only replaces a previous tour: choose "
                                      "another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
        os.chmod(tmp, 0o755)
    except OSError as e:
        raise PermissionError(f"cannot write the tour to {out}: "
                              f"{e.strerror or e} ({e.filename or out.parent})") from None
    return tmp


def _is_tour(folder):
    index = folder / "index.html"
    try:
        return index.is_file() and f'content="{GENERATOR}"' in index.read_text("utf-8")[:2000]
    except (OSError, UnicodeDecodeError):
        return False


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
        ``notes`` (image conversions, e.g. greyscale to RGB).

    Raises:
        FileExistsError: ``out`` is taken (see ``force``).
        PermissionError: ``out`` cannot be written. Nothing is left behind.
        ValueError: a net without class scores, unreadable or too small images.
    """
    start = time.perf_counter()
    out = Path(os.path.abspath(os.fspath(out)))
    K = class_count(net)
    names = class_names(net)
    inputs = load_images(images, net) if images else shapes_samples(range(samples), net)
    shapes_model = tuple(int(v) for v in net.meta["input_size"]) == SHAPES_SIZE
    n_eval = n_eval if shapes_model else 0
    tmp = _prepare(out, force)
    try:
        tour = Gallery(net, tmp, inputs, names, K, quick, progress)
        result = tour.run(n_eval)
        _commit(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.update(out=str(out), seconds=time.perf_counter() - start)
    return result


# --- the command ---------------------------------------------------------------------

def _tour(args):
    from .cli_methods import load_model
    samples = args.samples if args.samples is not None else (2 if args.quick else 4)
    n_eval = args.n_eval if args.n_eval is not None else (20 if args.quick else 200)
    if samples < 1 or n_eval < 0:
        raise ValueError(f"--samples must be at least 1 and --n-eval at least 0 "
                         f"(got {samples} and {n_eval})")
    net = load_model(args.model)
    result = run_tour(net, args.out, images=args.image, samples=samples, n_eval=n_eval,
                      quick=args.quick, force=args.force, progress=not args.no_progress)
    for note in result["notes"]:
        print(f"note: {note}")
    for t in result["top"]:
        truth = f" (true: {t['label']})" if t["label"] else ""
        print(f"{t['name']}{truth}: " + ", ".join(f"{nm} {p:.2f}" for _, nm, p in t["top5"]))
    if result["localization"]:
        print(f"{'method':<32}{'pointing':>9}{'(box)':>7}{'box IoU':>9}{'energy':>8}   "
              f"({result['n_eval']} shapes test images)")
        for r in result["localization"].values():
            print(f"{r['title']:<32}{r['pointing']:>9.3f}{r['pointing_box']:>7.3f}"
                  f"{r['box_iou']:>9.3f}{r['energy']:>8.3f}")
    print(f"wrote {len(result['files'])} files to {result['out']} in "
          f"{result['seconds']:.1f} s; open {Path(result['out']) / 'index.html'}")


def register(sub):
    """The ``tour`` command."""
    p = sub.add_parser("tour", help="every method on a few images: PNGs, index.html and "
                       "a localization table")
    p.add_argument("--out", default="out/tour", help="destination folder (default: out/tour)")
    p.add_argument("--model", default="tiny", help="installed model name (default: tiny)")
    p.add_argument("--image", nargs="+", metavar="PATH", help="explain these files instead "
                   "of shapes test images")
    p.add_argument("--samples", type=int, metavar="K", help="shapes test images in the "
                   "gallery (default 4; 2 with --quick)")
    p.add_argument("--n-eval", type=int, metavar="N", help="shapes test images for the "
                   "localization table (default 200; 20 with --quick; 0: none)")
    p.add_argument("--quick", action="store_true", help="a fast smoke test: fewer images, "
                   "the cheap settings everywhere")
    p.add_argument("--force", action="store_true", help="replace a previous tour at --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_tour)

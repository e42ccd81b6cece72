"""``minicnn examples``: the lecture examples of ``examples/``, run as scripts or made notebooks.

::

    minicnn examples --list                      # number, title, model, time, files
    minicnn examples run 03 --out DIR [--force]  # run examples/03_*.py into DIR
    minicnn examples notebooks --out DIR         # every example as a Jupyter notebook

The examples are scripts of a clone of the repository (``examples/`` is not
an installed package); they are found beside the ``vis`` package, as
``minicnn bench`` finds ``benchmarks/``. Each is one lecture topic, numbered
in lecture order: ``EXAMPLES`` lists those written, ``RESERVED`` the numbers
kept for the topics still to come. ``notebooks`` converts the ``# %%`` cells
with jupytext (``pip install jupytext``) and checks each notebook with
nbformat.

Example:
    >>> EXAMPLES["03"].stem, EXAMPLES["03"].model
    ('03_relu_rules', 'tiny')
    >>> EXAMPLES["06"].title, "06" in RESERVED
    ('Maximally activating patches', False)
"""

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple


class Example(NamedTuple):
    """One example script.

    Attributes:
        number: two digits, its place in the lectures (``"03"``).
        stem: the file name without ``.py`` (``"03_relu_rules"``).
        title: as the first heading of the script says it.
        model: ``"tiny"`` (always runs) or ``"vgg16_hed"`` (needs the real
            weights; without them the script says so in one line and stops).
        seconds: wall-clock time measured on a 2-core machine shared with other
            jobs (load average about 7), one BLAS thread for ``tiny``; the
            limit is ``LIMIT_SECONDS``.
        writes: the files it writes into ``--out``.
    """
    number: str
    stem: str
    title: str
    model: str
    seconds: int
    writes: tuple


#: The examples, in lecture order.
EXAMPLES = {e.number: e for e in [
    Example("01", "01_im2col_conv", "im2col and the convolution layer", "tiny", 3,
            ("im2col.png", "conv1_1.png")),
    Example("02", "02_backprop_gradcheck", "Backpropagation and gradient checking", "tiny", 5,
            ("h_sweep.png", "input_gradient.png")),
    Example("03", "03_relu_rules", "The three ReLU rules: gradient, deconvnet, guided backprop",
            "tiny", 2, ("rules.png", "class_sensitivity.png")),
    Example("04", "04_train_tiny", "Training `tiny`", "tiny", 27, ("batch.png", "loss.png")),
    Example("05", "05_activations_filters", "Activations and filters", "tiny", 3,
            ("filters.png", "activations_relu1_2.png", "activations_relu2_2.png",
             "activations_relu3_2.png", "activations_relu4_2.png")),
    Example("06", "06_top_patches", "Maximally activating patches", "tiny", 17,
            ("patches_relu2_2.png", "patches_relu3_2.png", "patches_relu4_2.png",
             "guided_relu4_2.png")),
    Example("07", "07_saliency_localization",
            "Saliency maps and weakly supervised localization", "tiny", 5,
            ("saliency.png", "localization.png")),
    Example("08", "08_deconvnet_guided",
            "Deconvnet and guided backpropagation on a real photo", "vgg16_hed", 31,
            ("projections.png", "relu5_3_channels.png")),
    Example("09", "09_cam_gradcam", "Class activation maps: CAM and Grad-CAM", "tiny", 4,
            ("cam_gradcam.png", "gradcam_layers.png", "gradcam_classes.png",
             "guided_gradcam.png")),
    Example("10", "10_occlusion", "Occlusion sensitivity", "tiny", 21,
            ("occlusion.png", "occlusion_windows.png")),
    Example("11", "11_class_models", "Class models and activation maximization", "tiny", 15,
            ("class_model_score.png", "class_model_probability.png",
             "activation_maximization.png")),
    Example("12", "12_feature_inversion", "Feature inversion", "vgg16_hed", 25,
            ("inversions.png", "inversion_loss.png")),
    Example("13", "13_texture_style", "Texture synthesis and style transfer", "vgg16_hed", 20,
            ("texture.png", "style.png")),
    Example("14", "14_deepdream", "DeepDream", "vgg16_hed", 10, ("dream.png",)),
    Example("15", "15_adversarial_one_pixel", "Adversarial examples and the one-pixel attack",
            "tiny", 40, ("robustness.png", "one_pixel.png")),
    Example("16", "16_cnn_codes_tsne", "CNN codes, nearest neighbours and t-SNE", "tiny", 18,
            ("neighbours_code.png", "neighbours_pixel.png", "pca.png", "tsne.png",
             "tsne_perplexity.png", "tsne_grid.png")),
    Example("17", "17_dataset_bias", "Dataset bias: a watermark the model learned", "tiny", 22,
            ("bias_cam.png", "bias_gradcam.png", "bias_mark_strength.png")),
]}

#: Numbers kept for the lecture topics whose examples come later.
RESERVED = {}

#: The time limit of one example (issue 12: under 60 s on a laptop CPU).
LIMIT_SECONDS = 60


def examples_dir():
    """``examples/`` of the clone this package runs from, or None."""
    folder = Path(__file__).resolve().parents[2] / "examples"
    return folder if any(folder.glob("[0-9][0-9]_*.py")) else None


def _folder():
    folder = examples_dir()
    if folder is None:
        raise FileNotFoundError("minicnn examples runs the scripts of examples/ in a clone of "
                                "the repository; this installation has no examples folder "
                                "(install with pip install -e . from a clone)")
    return folder


def script(number):
    """The path of example ``number`` (``"3"`` or ``"03"``), checked.

    Raises:
        ValueError: an unknown or reserved number, in one line with the valid ones.
        FileNotFoundError: no clone.
    """
    key = str(number).strip()
    key = key.zfill(2) if key.isdigit() else key
    valid = ", ".join(EXAMPLES)
    if key in RESERVED:
        raise ValueError(f"example {key} ({RESERVED[key]}) is not written yet: choose one "
                         f"of {valid}")
    if key not in EXAMPLES:
        raise ValueError(f"unknown example {number!r}: choose one of {valid}")
    path = _folder() / f"{EXAMPLES[key].stem}.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from this clone")
    return path


def installed(model):
    """Whether the weights of ``model`` are installed (``minicnn weights list``)."""
    from minicnn import zoo
    return any(m["name"] == model and m["installed"] for m in zoo.list_models())


def check_out(out, force):
    """Refuse an ``--out`` that exists and is not an empty folder, unless ``force``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty: use --force, or another --out")
    return out


def _list(args):
    print("minicnn examples (examples/, in lecture order; run one with "
          "`minicnn examples run NN --out DIR`):")
    rows = [("NN", "title", "model", "time")]
    rows += [(e.number, e.title, e.model + ("" if installed(e.model) else " (not installed)"),
              f"~{e.seconds} s") for e in EXAMPLES.values()]
    rows += [(k, f"({v}: to come)", "", "") for k, v in RESERVED.items()]
    rows[1:] = sorted(rows[1:])
    width = max(len(r[1]) for r in rows)
    for number, title, model, seconds in rows:
        print(f"  {number}  {title:<{width}}  {model:<25}  {seconds}".rstrip())
    if examples_dir() is None:
        print("note: this installation has no examples folder; run them from a clone",
              file=sys.stderr)


def run(number, out, force=False):
    """Run one example as a script; returns its exit code.

    Small models run with one BLAS thread unless ``OPENBLAS_NUM_THREADS`` is
    set (see ``common.blas_threads``).
    """
    path = script(number)
    example = EXAMPLES[path.name[:2]]
    out = check_out(out, force)
    env = dict(os.environ)
    # The clone's minicnn and vis, the ones running now, even where they are not installed.
    root = str(path.parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    if example.model == "tiny":
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
    command = [sys.executable, str(path), "--out", str(out)] + (["--force"] if force else [])
    print(f"running {path.name} (about {example.seconds} s) into {out}", file=sys.stderr,
          flush=True)
    return subprocess.run(command, env=env, check=False).returncode


def _run(args):
    out = args.out or Path("out") / "examples" / script(args.number).stem
    return run(args.number, out, args.force)


def notebook(path):
    """Example ``path`` (``# %%`` cells) as an nbformat notebook, validated.

    Raises:
        RuntimeError: jupytext or nbformat is not installed.
    """
    try:
        import jupytext
        import nbformat
    except ImportError:
        raise RuntimeError("minicnn examples notebooks needs jupytext and nbformat: "
                           "pip install jupytext") from None
    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata.pop("jupytext", None)          # a plain notebook, not paired with the script
    nbformat.validate(nb)
    return nb


def notebooks(out, numbers=None, force=False):
    """Write ``NN_name.ipynb`` for each example (all, or ``numbers``); returns the paths."""
    import nbformat
    from minicnn.files import atomic_write
    paths = [script(n) for n in (numbers or EXAMPLES)]
    out = check_out(out, force)
    written = []
    for path in paths:
        text = nbformat.writes(notebook(path))
        target = out / f"{path.stem}.ipynb"
        atomic_write(target, lambda f: f.write(text.encode("utf-8")), force=force)
        written.append(target)
        print(f"wrote {target}")
    return written


def _notebooks(args):
    try:
        import jupytext  # noqa: F401  (checked before anything is written)
    except ImportError:
        raise RuntimeError("minicnn examples notebooks needs jupytext and nbformat: "
                           "pip install jupytext") from None
    notebooks(args.out, args.numbers or None, args.force)


def register(sub):
    """``minicnn examples --list | run NN --out DIR | notebooks --out DIR``."""
    p = sub.add_parser("examples", help="the lecture examples: list, run one, or make "
                       "notebooks (needs a clone)",
                       description="The example scripts of examples/, one per lecture topic.")
    p.add_argument("--list", action="store_true", help="list the examples (the default)")
    p.set_defaults(func=_list)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    r = actions.add_parser("run", help="run one example into a folder")
    r.add_argument("number", help="the example's number (`minicnn examples --list`)")
    r.add_argument("--out", type=Path, metavar="DIR",
                   help="folder for its files (default: out/examples/NN_name)")
    r.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    r.set_defaults(func=_run)
    n = actions.add_parser("notebooks", help="write every example as a Jupyter notebook "
                           "(needs jupytext)")
    n.add_argument("numbers", nargs="*", metavar="NN", help="only these examples")
    n.add_argument("--out", type=Path, default=Path("out/notebooks"),
                   metavar="DIR", help="folder for the .ipynb files (default: %(default)s)")
    n.add_argument("--force", action="store_true", help="overwrite notebooks already there")
    n.set_defaults(func=_notebooks)

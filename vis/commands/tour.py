"""``minicnn tour``: the command around ``vis.tour.run_tour``."""

from pathlib import Path

from vis.tour import run_tour

from . import common

#: Shapes test images scored by default: under a minute on 2 cores (``--n-eval 200``
#: reproduces the README table).
N_EVAL = 60


def _tour(args):
    samples = args.samples if args.samples is not None else (2 if args.quick else 4)
    default_eval = 0 if args.image else (20 if args.quick else N_EVAL)
    n_eval = args.n_eval if args.n_eval is not None else default_eval
    if samples < 1 or n_eval < 0:
        raise ValueError(f"--samples must be at least 1 and --n-eval at least 0 "
                         f"(got {samples} and {n_eval})")
    net = common.load_model(args.model)
    result = run_tour(net, args.out, images=args.image, samples=samples, n_eval=n_eval,
                      quick=args.quick, force=args.force, progress=not args.no_progress)
    common.tell(result["notes"])
    if args.image and net.meta.get("arch") == "tiny":
        common.note("tiny knows 8 synthetic shapes at 64x64 (minicnn.data); a photo is out "
                    "of its domain")
    for t in result["top"]:
        truth = f" (true: {t['label']})" if t["label"] else ""
        if t["top5"]:
            print(f"{t['name']}{truth}: " + ", ".join(f"{nm} {p:.2f}"
                                                     for _, nm, p in t["top5"]))
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
    p.add_argument("--model", default="tiny", help="installed model name (default: tiny; "
                   "vgg16_hed with --image PHOTO for the real VGG16)")
    p.add_argument("--image", nargs="+", metavar="PATH", help="explain these files instead "
                   "of shapes test images")
    p.add_argument("--samples", type=int, metavar="K", help="shapes test images in the "
                   "gallery (default 4; 2 with --quick)")
    p.add_argument("--n-eval", type=int, metavar="N", help="shapes test images for the "
                   f"localization table (default {N_EVAL}; 20 with --quick; 0 with --image; "
                   "200 for the README's table)")
    p.add_argument("--quick", action="store_true", help="a fast smoke test: fewer images, "
                   "the cheap settings everywhere")
    p.add_argument("--force", action="store_true", help="replace a previous tour at --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_tour)

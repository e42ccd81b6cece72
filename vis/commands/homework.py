"""Homework commands: ``homework make`` and ``homework grade``.

::

    minicnn homework make --all                             # the tasks and their points
    minicnn homework make --tasks ID[,ID...]|all --out DIR [--force]
    minicnn homework grade DIR [--tasks ...] [--timeout S] [--json PATH] [--force]
                               [--together]

The tools are ``homework/`` at the top of a clone, not part of the installed
package (they copy and test the repository itself), so these commands run
from a clone installed with ``pip install -e .``.
"""

import importlib
import importlib.util
import sys
from pathlib import Path


def homework_root():
    """The clone this package runs from, if it has the ``homework/`` tools, else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "homework" / "tasks.py").is_file() else None


def tools():
    """The ``homework`` package of the clone (``make``, ``grade`` and ``tasks`` loaded)."""
    root = homework_root()
    if root is None:
        raise FileNotFoundError("minicnn homework runs the homework/ tools of a clone of the "
                                "repository; this installation has none (a wheel or a "
                                "non-editable install): clone the repository and run "
                                "pip install -e . there")
    loaded = sys.modules.get("homework")
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve().parent != root / "homework":
            raise RuntimeError(f"another module named homework is already imported "
                               f"({loaded.__file__}); run minicnn homework from a fresh shell")
    else:
        spec = importlib.util.spec_from_file_location(
            "homework", root / "homework" / "__init__.py",
            submodule_search_locations=[str(root / "homework")])
        module = importlib.util.module_from_spec(spec)
        sys.modules["homework"] = module
        spec.loader.exec_module(module)
    for name in ("tasks", "make", "grade"):
        importlib.import_module(f"homework.{name}")
    return sys.modules["homework"]


def _make(args):
    hw = tools()
    if args.all:
        if args.tasks or args.out:
            raise ValueError("--all lists the tasks; to make a copy with every task give "
                             "--tasks all --out DIR")
        print(hw.tasks.listing())
        return 0
    if not args.tasks or not args.out:
        raise ValueError("homework make needs --tasks ID[,ID...] (or all) and --out DIR; "
                         "--all lists the tasks")
    wanted = hw.tasks.parse_ids(args.tasks)
    made = hw.make.make_copy(hw.make.ROOT, args.out, wanted, force=args.force)
    print(f"wrote a student copy with {len(made.tasks)} task(s) "
          f"({', '.join(made.tasks)}) to {args.out}: {made.files} files, stubs in "
          f"{len(made.stubbed)} ({made.seconds:.1f} s)")
    return 0


def _grade(args):
    hw = tools()
    manifest = hw.make.read_manifest(args.dir)       # a clear error before anything else
    wanted = hw.tasks.parse_ids(args.tasks) if args.tasks else None
    path = Path(args.json) if args.json else Path(args.dir) / "score.json"
    hw.grade.check_score_path(path, args.force)
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    timeout = hw.grade.DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    results, info = hw.grade.grade(args.dir, hw.make.ROOT, wanted, timeout=timeout,
                                   together=args.together, progress=progress)
    for warning in info["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(hw.grade.table(results))
    hw.grade.write_score(path, results, info, force=args.force)
    print(f"wrote {path} ({len(manifest['tasks'])} task(s) in the copy, "
          f"{len(results)} graded)")
    return 0


def register(sub):
    """``minicnn homework make|grade``."""
    p = sub.add_parser("homework", help="make a student copy with stubs, and grade it "
                       "(needs a clone)")
    hsub = p.add_subparsers(dest="homework_command", required=True, metavar="{make,grade}")
    m = hsub.add_parser("make", help="write a student copy with the chosen solution blocks "
                        "replaced by stubs; --all lists the tasks")
    m.add_argument("--tasks", help="task ids, comma-separated, or all")
    m.add_argument("--out", type=Path, help="the new folder (outside the repository)")
    m.add_argument("--all", action="store_true", help="list the tasks with their points")
    m.add_argument("--force", action="store_true", help="replace an earlier student copy")
    m.set_defaults(func=_make)
    g = hsub.add_parser("grade", help="run each task's tests in a student copy; print a "
                        "table and write a JSON score file")
    g.add_argument("dir", type=Path, help="the student copy")
    g.add_argument("--tasks", help="grade only these tasks (comma-separated)")
    g.add_argument("--timeout", type=float, default=None,
                   help="seconds for one task's tests (default 120, homework/grade.py); past "
                   "it the task scores 0")
    g.add_argument("--json", type=Path, help="the score file (default DIR/score.json)")
    g.add_argument("--force", action="store_true", help="overwrite an existing score file")
    g.add_argument("--together", action="store_true",
                   help="grade the copy as it is (default: each task with the reference "
                   "solutions of the others)")
    g.add_argument("--quiet", action="store_true", help="no line per task while grading")
    g.set_defaults(func=_grade)

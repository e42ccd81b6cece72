"""A student copy: the repository with the chosen solution blocks replaced by stubs.

::

    make_copy(root, "hw1", ["conv-forward", "relu-rules"])

copies the project's files (``git ls-files`` with the untracked files git does
not ignore; without git, a walk that skips ``.git``, build outputs, caches and
large weight files) into ``hw1``, strips the blocks of those tasks
(``markers.strip``), and writes two files at the top of the copy:

* ``homework.json``, the manifest: the tasks, their points, the files with
  stubs, the commit it was made from and a digest of the tests. The grader
  refuses a folder without it;
* ``HOMEWORK.md``, for the student: the tasks, where they are, how to test.

The copy is built in a hidden folder beside ``hw1`` and renamed into place, so
it is complete or absent. ``--out`` inside the repository is refused (git would
track the copy and pytest would collect it), an existing ``--out`` is replaced
only with ``force`` and only if it is an earlier student copy or empty. The
grader's own tests (``tests/homework/``) are left out: they need the solutions.

:func:`fill_copy` puts the reference solutions back into a copy: a solved copy
is the repository again, byte for byte.
"""

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import NamedTuple, Tuple

from minicnn.files import atomic_write, temporary_folder

from . import markers, tasks as task_table

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "homework.json"
GUIDE = "HOMEWORK.md"
FORMAT = "minicnn-homework/1"
#: Left out of a student copy: the tests of the homework tools need the solutions.
LEFT_OUT = ("tests/homework/",)
#: What grades a copy: replaced by the clone's versions before grading.
GRADER_FILES = ("tests/", "homework/", "setup.cfg", "pyproject.toml", "conftest.py")
#: The walk without git skips these folders, and weight files other than these.
SKIP_DIRS = {".git", "build", "dist", "__pycache__", ".pytest_cache", ".benchmarks",
             ".mypy_cache", ".tox", ".venv", "venv", "out", "tour", ".whl"}
SHIPPED_WEIGHTS = {"minicnn/weights/tiny.npz", "minicnn/weights/tiny_biased.npz"}
WEIGHT_SUFFIXES = {".npz", ".h5", ".pth", ".pt", ".caffemodel", ".ckpt"}


class Made(NamedTuple):
    """What :func:`make_copy` wrote.

    Attributes:
        out: the copy's folder.
        tasks: the stripped task ids, in lecture order.
        files: how many files were copied.
        stubbed: the relative paths of the files with stubs.
        seconds: wall-clock time.
    """
    out: Path
    tasks: Tuple[str, ...]
    files: int
    stubbed: Tuple[str, ...]
    seconds: float


def _git(root, *args):
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def walk_files(root):
    """Project files without git: skip caches, build outputs, and big or foreign weights."""
    root = Path(root)
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if name.endswith((".pyc", ".pyo")) or (path.suffix in WEIGHT_SUFFIXES
                                                   and rel not in SHIPPED_WEIGHTS):
                continue
            found.append(rel)
    return sorted(found)


def student_files(root):
    """Relative paths of the files a student copy holds, sorted."""
    root = Path(root)
    listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if listed is None:
        names = walk_files(root)
    else:
        names = [n for n in listed.decode("utf-8").split("\0") if n]
    return sorted(n for n in set(names)
                  if (root / n).is_file() and not (root / n).is_symlink()
                  and not n.startswith(LEFT_OUT) and n not in (MANIFEST, GUIDE))


def grader_digest(root, files=None):
    """sha256 over the files that grade a copy (tests, tools, configuration)."""
    root = Path(root)
    files = student_files(root) if files is None else files
    h = hashlib.sha256()
    for rel in sorted(files):
        if rel.startswith(GRADER_FILES):
            h.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    return h.hexdigest()


def solution_blocks(root, files=None):
    """``{relative path: [Block, ...]}`` of the source files that hold blocks, checked.

    Raises:
        markers.MarkerError: a grammar error, or a block whose id is not in
            ``tasks.TASKS``.
    """
    root = Path(root)
    found = markers.scan(root)
    if files is not None:
        found = {rel: blocks for rel, blocks in found.items() if rel in set(files)}
    known = set(task_table.ids())
    for rel, blocks in found.items():
        for block in blocks:
            if block.task not in known:
                raise markers.MarkerError(
                    f"{rel}:{block.begin + 1}: block {block.task!r} is not a task of "
                    f"homework/tasks.py (valid: {', '.join(task_table.ids())})")
    return found


def _check_out(root, out, force):
    root, target = Path(root).resolve(), Path(out).expanduser().resolve()
    if target == root or root in target.parents:
        raise ValueError(f"--out {out} is inside the repository: a student copy must live "
                         "outside it (git would track it and pytest would collect it)")
    if target in root.parents:
        raise ValueError(f"--out {out} contains the repository; give a new folder")
    if target.exists():
        if not force:
            raise FileExistsError(f"{out} exists: use --force to replace it, or another --out")
        if not target.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder; not replaced")
        if any(target.iterdir()) and not (target / MANIFEST).is_file():
            raise FileExistsError(f"{out} exists and is not a student copy (no {MANIFEST}); "
                                  "not replaced, even with --force")
    return target


def _guide(made_tasks, stubbed_by_task, commit):
    rows = "\n".join(f"| `{t.id}` | {t.points} | {t.summary} | "
                     f"{', '.join(f'`{f}`' for f in stubbed_by_task[t.id])} |"
                     for t in made_tasks)
    first = made_tasks[0].id
    return f"""# Homework

Made from minicnn{f' commit {commit[:12]}' if commit else ''}.

| task | points | what | where |
|---|---|---|---|
{rows}

Each task is a block between `# BEGIN SOLUTION <task>` and `# END SOLUTION <task>`
that now raises `NotImplementedError`, saying what to implement and where the
equation is (the module docstring and the paper). Write your code between the two
lines and keep them: the grader finds your work by them.

Run the tests of one task from this folder:

    python -m pytest -p homework.pytest_plugin --task {first}

and every test with `python -m pytest -p homework.pytest_plugin`: a test that only
waits for a task you have not done yet is skipped ("needs homework task ...").
Keep `homework.json`: it says which tasks this copy holds.
"""


def make_copy(root, out, task_ids, force=False):
    """Write a student copy of ``root`` into ``out`` with ``task_ids`` stripped.

    Args:
        root: the repository (a clone with the solutions).
        out: the new folder, outside ``root``.
        task_ids: ids of ``tasks.TASKS`` (unknown ids raise ``ValueError``).
        force: replace ``out`` if it is an earlier student copy.

    Returns:
        :class:`Made`.
    """
    start = time.perf_counter()
    root = Path(root).resolve()
    wanted = task_table.parse_ids(",".join(task_ids)) if task_ids else []
    if not wanted:
        raise ValueError(f"no task given; valid tasks: {', '.join(task_table.ids())} (or all)")
    target = _check_out(root, out, force)
    files = student_files(root)
    blocks = solution_blocks(root, files)
    stubbed_by_task = {t: sorted(rel for rel, bs in blocks.items() if any(b.task == t for b in bs))
                       for t in wanted}
    missing = [t for t in wanted if not stubbed_by_task[t]]
    if missing:
        raise ValueError(f"no solution block for {', '.join(missing)} in the source "
                         "(markers.SOURCE_DIRS)")
    messages = {t: task_table.stub_message(task_table.by_id(t)) for t in wanted}
    stubbed = {}
    for rel, bs in blocks.items():
        here = sorted({b.task for b in bs} & set(wanted), key=wanted.index)
        if here:
            text = (root / rel).read_bytes().decode("utf-8")
            stripped = markers.strip(text, {t: messages[t] for t in here}, rel)
            try:
                compile(stripped, rel, "exec")
            except SyntaxError as e:
                raise markers.MarkerError(f"{rel}:{e.lineno}: the stripped file does not "
                                          f"compile ({e.msg}); check the blocks there") from None
            stubbed[rel] = (here, stripped)
    commit = (_git(root, "rev-parse", "HEAD") or b"").decode().strip() or None
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    manifest = {
        "format": FORMAT,
        "tasks": wanted,
        "points": {t: task_table.by_id(t).points for t in wanted},
        "files": {rel: here for rel, (here, _) in sorted(stubbed.items())},
        "made_from": {"commit": commit, "modified": bool(status) if status is not None
                      else None},
        "grader_sha256": grader_digest(root, files),
    }
    with temporary_folder(target) as work:
        copy = work / "copy"
        for rel in files:
            dst = copy / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if rel in stubbed:
                dst.write_bytes(stubbed[rel][1].encode("utf-8"))
                shutil.copymode(root / rel, dst)
            else:
                shutil.copy2(root / rel, dst)
        (copy / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        (copy / GUIDE).write_text(_guide([task_table.by_id(t) for t in wanted],
                                         stubbed_by_task, commit), encoding="utf-8")
        if target.exists():
            os.replace(target, work / "old")
        try:
            os.replace(copy, target)
        except OSError:
            if (work / "old").exists():
                os.replace(work / "old", target)
            raise
    return Made(target, tuple(wanted), len(files), tuple(sorted(stubbed)),
                time.perf_counter() - start)


def read_manifest(copy):
    """The manifest of a student copy.

    Raises:
        FileNotFoundError: ``copy`` is not a folder, or has no manifest.
        ValueError: the manifest is not one ``make_copy`` writes.
    """
    copy = Path(copy)
    if not copy.is_dir():
        raise FileNotFoundError(f"{copy} is not a folder")
    path = copy / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{copy} is not a student copy: it has no {MANIFEST} "
                                "(make one with minicnn homework make)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        ok = (manifest.get("format") == FORMAT and isinstance(manifest.get("tasks"), list)
              and isinstance(manifest.get("files"), dict))
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        raise ValueError(f"{path} is not a homework manifest (format {FORMAT})")
    return manifest


def fill_copy(copy, root, task_ids=None, force=True):
    """Put the reference solutions of ``task_ids`` (default: all of the copy's) into a copy.

    The answer key: a copy filled with every task is the repository again,
    byte for byte (the manifest and the guide aside). Files are rewritten
    atomically.

    Returns:
        The relative paths rewritten.
    """
    copy, root = Path(copy), Path(root)
    manifest = read_manifest(copy)
    wanted = set(manifest["tasks"] if task_ids is None else task_ids)
    written = []
    for rel, here in manifest["files"].items():
        chosen = [t for t in here if t in wanted]
        if not chosen:
            continue
        reference = markers.bodies((root / rel).read_bytes().decode("utf-8"), rel)
        text = (copy / rel).read_bytes().decode("utf-8")
        filled = markers.fill(text, {t: reference[t] for t in chosen}, rel)
        atomic_write(copy / rel, lambda f, data=filled.encode("utf-8"): f.write(data),
                     force=force)
        written.append(rel)
    return written

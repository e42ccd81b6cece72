"""Grade a student copy: each task's tests, one process per task, with a time limit.

For every task of the copy (``homework.json``):

1. a grading tree is made in a temporary folder: the student's copy, with the
   *clone's* tests, configuration and ``homework/`` tools laid over it (the
   lecturer's tests grade the student's code) and, unless ``together``, the
   reference solution put back into the blocks of the copy's *other* tasks, so
   a wrong ``conv-forward`` costs the ``conv-forward`` points only, not those
   of every method built on it;
2. ``python -m pytest -p homework.pytest_plugin --task ID`` runs there, in a
   process of its own, killed after ``timeout`` seconds: an endless loop
   scores 0 for its task and grading goes on;
3. the score is ``points * passed / total``; ``total`` counts the task's tests
   collected in the clone, less those skipped for want of an optional library
   (a test that did not run, crashed or timed out counts as failed).

The result is a table and a JSON file in the layout of Gradescope's
``results.json`` (``score``, ``tests``: one entry per task with ``score``,
``max_score``, ``status``, ``output``), the details under ``extra_data``.

The grader runs the student's code: run it in a container or a throw-away
account, as with any autograder.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple, Tuple

from minicnn.files import atomic_write, refuse_overwrite

from . import markers, tasks as task_table
from .make import GRADER_FILES, MANIFEST, ROOT, grader_digest, read_manifest

SCORE_FORMAT = "minicnn-homework-score/1"
#: Seconds one task's tests may take (grading several copies in parallel is slower).
DEFAULT_TIMEOUT = 120
BLOCKED = "needs homework task"
#: Files that could change how pytest or Python runs in the copy: the clone's or none.
_RUNTIME_FILES = ("pytest.ini", ".pytest.ini", "tox.ini", "sitecustomize.py",
                  "usercustomize.py")


class TaskResult(NamedTuple):
    """The grade of one task.

    Attributes:
        task: the id; points, max_points: earned and possible.
        passed, total: tests passed and tests counted.
        status: ``passed``, ``failed``, ``timeout`` or ``error``.
        failed: ``(node id, one-line reason)`` of each test not passed.
        seconds: wall-clock time of its pytest process.
        note: anything the lecturer should know (a broken marker, a crash).
    """
    task: str
    points: float
    max_points: int
    passed: int
    total: int
    status: str
    failed: Tuple[Tuple[str, str], ...]
    seconds: float
    note: str


def task_files(root, ids):
    """``{task: [file, ...]}``: the test files and doctest modules that hold its tests."""
    marked = markers.marked_tests(root)
    files = {}
    for task_id in ids:
        found = {rel for rel, _ in marked.get(task_id, [])}
        found |= {node.split("::", 1)[0] for node in task_table.by_id(task_id).doctests}
        files[task_id] = sorted(found)
    return files


def _pytest(cwd, args, report, timeout):
    """Run pytest with the plugin in ``cwd``; ``(report dict or None, status, output, seconds)``."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "homework.pytest_plugin",
           "--continue-on-collection-errors", "--task-report", str(report), *args]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(cwd)] + [p for p in [env.get("PYTHONPATH")] if p])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=(os.name == "posix"))
    try:
        out, _ = proc.communicate(timeout=timeout)
        status = "done"
    except subprocess.TimeoutExpired:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)        # the tests' children too
        else:
            proc.kill()
        out, _ = proc.communicate()
        status = "timeout"
    seconds = time.perf_counter() - start
    text = out.decode("utf-8", "replace")
    data = None
    if status == "done" and Path(report).is_file():
        data = json.loads(Path(report).read_text(encoding="utf-8"))
    return data, status, text, seconds


def reference_tests(root, ids, files, work, timeout=DEFAULT_TIMEOUT):
    """``{task: [node id, ...]}`` of each task's tests, collected in the clone."""
    report = Path(work) / "reference.json"
    args = ["--collect-only"] + [f"--task={t}" for t in ids] + sorted(
        {f for t in ids for f in files[t]})
    data, status, text, _ = _pytest(root, args, report, timeout)
    if data is None or data["collect_errors"]:
        reason = (data["collect_errors"][0]["message"] if data and data["collect_errors"]
                  else text.strip().splitlines()[-1:] or [status])
        raise RuntimeError(f"the clone's own tests do not collect: {reason}")
    found = {t: [] for t in ids}
    for node, entry in data["items"].items():
        for t in entry["tasks"]:
            if t in found:
                found[t].append(node)
    return found


def _skip_caches_and_own_tests(folder, names):
    own = Path(folder).name == "tests" and "homework" in names      # tests/homework/
    return [n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith(".pyc")
            or (own and n == "homework")]


def _overlay(tree, root):
    """Lay the clone's tests, tools and configuration over the tree; drop foreign conftests."""
    for name in GRADER_FILES + _RUNTIME_FILES:
        name = name.rstrip("/")
        path = tree / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        source = root / name
        if source.is_dir():
            shutil.copytree(source, path, ignore=_skip_caches_and_own_tests)
        elif source.is_file():
            shutil.copy2(source, path)
    for conftest in tree.rglob("conftest.py"):
        if not (root / conftest.relative_to(tree)).is_file():
            conftest.unlink()


def _grading_tree(copy, root, manifest, task_id, together, work):
    """The folder in which ``task_id`` is graded; returns ``(path, note)``."""
    tree = Path(work) / task_id
    shutil.copytree(copy, tree, symlinks=True, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", ".pytest_cache", ".git"))
    _overlay(tree, root)
    notes = []
    stripped = list(manifest["tasks"])
    if not together:
        for rel, here in manifest["files"].items():
            others = [t for t in here if t != task_id]
            if not others or not (tree / rel).is_file():
                continue
            try:
                reference = markers.bodies((root / rel).read_bytes().decode("utf-8"), rel)
                text = (tree / rel).read_bytes().decode("utf-8")
                text = markers.fill(text, {t: reference[t] for t in others}, rel)
            except (markers.MarkerError, KeyError) as e:
                notes.append(f"{rel}: markers changed, graded as written ({e})")
                continue
            (tree / rel).write_bytes(text.encode("utf-8"))
        stripped = [task_id]
    (tree / MANIFEST).write_text(json.dumps(dict(manifest, tasks=stripped)), encoding="utf-8")
    return tree, "; ".join(notes)


def _score(task_id, reference, data, status, text, seconds, note, tree):
    task = task_table.by_id(task_id)
    items = (data or {}).get("items", {})
    counted, passed, failed = 0, 0, []
    for node in reference:
        entry = items.get(node, {})
        outcome = entry.get("outcome")
        message = entry.get("message", "").replace(f"{tree}{os.sep}", "")
        if (outcome == "skipped" and not message.startswith(f"Skipped: {BLOCKED}")
                and not str(entry.get("where", "")).startswith(markers.SOURCE_DIRS)):
            continue                     # skipped by the tests (an optional library is missing)
        counted += 1
        if outcome == "passed":
            passed += 1
        else:
            failed.append((node, message or ("timed out" if status == "timeout"
                                             else "did not run")))
    if status == "timeout":
        verdict, passed = "timeout", 0
        note = "; ".join(filter(None, [note, "killed after the time limit"]))
    elif data is None:
        verdict, passed = "error", 0
        tail = text.replace(f"{tree}{os.sep}", "").strip().splitlines()[-1:] or ["no output"]
        note = "; ".join(filter(None, [note, f"pytest crashed: {tail[0]}"]))
    elif data.get("collect_errors"):
        verdict = "error"
        note = "; ".join(filter(None, [note] + [f"{e['nodeid']}: {e['message']}"
                                                 for e in data["collect_errors"]]))
    else:
        verdict = "passed" if counted and passed == counted else "failed"
    if not counted:
        note = "; ".join(filter(None, [note, "no test of this task ran"]))
    points = round(task.points * passed / counted, 2) if counted else 0.0
    return TaskResult(task_id, points, task.points, passed, counted, verdict, tuple(failed),
                      round(seconds, 2), note)


def grade(copy, root=ROOT, task_ids=None, timeout=DEFAULT_TIMEOUT, together=False,
          progress=None):
    """Grade the tasks of a student copy.

    Args:
        copy: the student's folder (made by ``make.make_copy``).
        root: the clone with the reference tests and solutions.
        task_ids: the tasks to grade (default: every task of the copy).
        timeout: seconds for one task's tests.
        together: grade the copy as it is, without the reference solutions of
            the other tasks (a broken ``conv-forward`` then fails the tests of
            the tasks that use it, too).
        progress: ``progress(line)`` after each task (e.g. ``print``), or None.

    Returns:
        ``(results, info)``: a list of :class:`TaskResult` in lecture order and
        a dict describing the run (mode, commit, warnings).
    """
    copy, root = Path(copy).resolve(), Path(root).resolve()
    manifest = read_manifest(copy)
    for t in manifest["tasks"]:
        task_table.by_id(t)
    if task_ids is None:
        wanted = list(manifest["tasks"])
    else:
        wanted = task_table.parse_ids(",".join(task_ids))
        extra = [t for t in wanted if t not in manifest["tasks"]]
        if extra:
            raise ValueError(f"{copy} holds no task {', '.join(extra)}; its tasks: "
                             f"{', '.join(manifest['tasks'])}")
    if timeout <= 0:
        raise ValueError(f"the time limit must be positive (got {timeout})")
    warnings = []
    if manifest.get("grader_sha256") != grader_digest(root):
        warnings.append("the clone's tests or tools changed since this copy was made "
                        f"(from commit {(manifest.get('made_from') or {}).get('commit')}); "
                        "graded with the clone's")
    files = task_files(root, wanted)
    results = []
    with tempfile.TemporaryDirectory(prefix="minicnn-grade-") as work:
        work = Path(work)
        reference = reference_tests(root, wanted, files, work)
        for task_id in wanted:
            tree, note = _grading_tree(copy, root, manifest, task_id, together, work)
            report = work / f"{task_id}.json"
            data, status, text, seconds = _pytest(
                tree, [f"--task={task_id}"] + files[task_id], report, timeout)
            result = _score(task_id, reference[task_id], data, status, text, seconds, note,
                            tree)
            results.append(result)
            shutil.rmtree(tree, ignore_errors=True)
            if progress:
                progress(f"{task_id}: {result.passed}/{result.total} tests, "
                         f"{result.points:g}/{result.max_points} points, {result.status} "
                         f"({result.seconds:.1f} s)")
    info = {"mode": "together" if together else "isolated", "timeout_s": timeout,
            "made_from": manifest.get("made_from"), "warnings": warnings}
    return results, info


def table(results):
    """The score table: task, tests passed / total, points, status."""
    width = max([len("total")] + [len(r.task) for r in results])
    lines = [f"{'task':<{width}}  {'tests':>7}  {'points':>10}  status"]
    for r in results:
        lines.append(f"{r.task:<{width}}  {f'{r.passed}/{r.total}':>7}  "
                     f"{f'{r.points:g}/{r.max_points}':>10}  {r.status}"
                     + (f" ({r.note})" if r.note else ""))
    earned, possible = sum(r.points for r in results), sum(r.max_points for r in results)
    lines.append(f"{'total':<{width}}  {'':>7}  {f'{earned:g}/{possible}':>10}")
    return "\n".join(lines)


def score_json(results, info):
    """The score file: Gradescope's ``results.json`` layout, details in ``extra_data``."""
    tests = []
    for r in results:
        lines = [f"{r.passed}/{r.total} tests passed ({r.status})"]
        lines += [f"{node}: {why}" for node, why in r.failed]
        if r.note:
            lines.append(r.note)
        tests.append({"name": r.task, "score": r.points, "max_score": r.max_points,
                      "status": "passed" if r.status == "passed" else "failed",
                      "output": "\n".join(lines),
                      "extra_data": {"passed": r.passed, "total": r.total,
                                     "result": r.status, "seconds": r.seconds,
                                     "failed": [node for node, _ in r.failed]}})
    return {"score": round(sum(r.points for r in results), 2),
            "max_score": sum(r.max_points for r in results),
            "output": table(results), "tests": tests,
            "extra_data": dict(info, format=SCORE_FORMAT)}


def write_score(path, results, info, force=False):
    """Write :func:`score_json` to ``path`` atomically (refused if it exists, unless force)."""
    data = (json.dumps(score_json(results, info), indent=1) + "\n").encode("utf-8")
    return atomic_write(path, lambda f: f.write(data), force=force)


def check_score_path(path, force=False):
    """Refuse an existing score file before the grading starts."""
    refuse_overwrite(path, force)

"""The pytest side of the homework: the ``task`` mark, ``--task``, and blocked tests.

Load it with ``python -m pytest -p homework.pytest_plugin`` (from the top of a
clone or a student copy). It

* registers ``@pytest.mark.task(id)`` and marks the doctests that
  ``tasks.py`` lists;
* ``--task ID[,ID...]`` keeps only the tests of those tasks (pytest's ``-m``
  cannot match a mark's argument);
* in a student copy (a ``homework.json`` at the top), turns the failure of a
  test that belongs to no stripped task into a skip when the failure is the
  stub of a stripped task: "needs homework task conv-forward". A test of a
  stripped task still fails, whatever stub it hits first;
* ``--task-report PATH`` writes every selected test's tasks and outcome as
  JSON, which the grader reads.

It imports nothing of the package, so a student's syntax error shows up as a
collection error of the tests, not as a broken plugin.
"""

import json
import os
from pathlib import Path

import pytest

from . import tasks as task_table

MANIFEST = "homework.json"
MARKER_LINE = ("task(id): the homework task whose solution block this test checks "
               "(homework/tasks.py; select with -p homework.pytest_plugin --task ID)")


def pytest_addoption(parser):
    group = parser.getgroup("homework")
    group.addoption("--task", action="append", default=[], metavar="ID[,ID...]",
                    help="run only the tests of these homework tasks")
    group.addoption("--task-report", metavar="PATH",
                    help="write the selected tests, their tasks and outcomes as JSON")


def pytest_configure(config):
    config.addinivalue_line("markers", MARKER_LINE)
    config.pluginmanager.register(Recorder(config), "homework-recorder")


def item_tasks(item):
    """The task ids marked on a test item."""
    return [mark.args[0] for mark in item.iter_markers("task") if mark.args]


def stub_of(excinfo, text, stripped):
    """The stripped task whose stub made a test fail, or None.

    Looks for the ``NotImplementedError`` of a stub in the exception and what
    caused it (a doctest wraps it), then for the start of a stub's message in
    the report and the captured output (a command that caught and printed it).
    """
    seen, errors = set(), [excinfo.value] if excinfo is not None else []
    while errors:
        e = errors.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, NotImplementedError) and str(e).split(":", 1)[0] in stripped:
            return str(e).split(":", 1)[0]
        inner = getattr(e, "exc_info", None)             # doctest.UnexpectedException
        if isinstance(inner, tuple) and len(inner) > 1:
            errors.append(inner[1])
        errors += [e.__cause__, e.__context__]
    for task in task_table.TASKS:
        if task.id in stripped and task_table.stub_message(task)[:60] in text:
            return task.id
    return None


def _reason(error):
    """One line for an exception; a doctest's is the error inside it, or the mismatch."""
    inner = getattr(error, "exc_info", None)              # doctest.UnexpectedException
    if isinstance(inner, tuple) and len(inner) > 1 and inner[1] is not None:
        error = inner[1]
    example, got = getattr(error, "example", None), getattr(error, "got", None)
    if example is not None and got is not None:           # doctest.DocTestFailure
        return (f"doctest {example.source.strip()!r} printed {got.strip()!r}, expected "
                f"{example.want.strip()!r}")
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def _short(report):
    """One line saying why a test failed or was skipped."""
    if isinstance(report.longrepr, tuple):                # a skip: (path, line, reason)
        return str(report.longrepr[2])[:300]
    if getattr(report, "homework_message", None):
        return report.homework_message[:300]
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.splitlines()[0][:300] if crash.message else ""
    lines = report.longreprtext.strip().splitlines()
    return lines[-1][:300] if lines else ""


class Recorder:
    """Selection, blocked stubs and the outcome of every test of one pytest run."""

    def __init__(self, config):
        self.wanted = []
        for value in config.getoption("task") or []:
            try:
                self.wanted += task_table.parse_ids(value)
            except ValueError as e:
                raise pytest.UsageError(str(e)) from None
        self.stripped = set()
        manifest = Path(config.rootpath) / MANIFEST
        if manifest.is_file():
            try:
                self.stripped = set(json.loads(manifest.read_text(encoding="utf-8"))["tasks"])
            except (ValueError, KeyError, TypeError):
                raise pytest.UsageError(f"{manifest} is not a homework manifest") from None
        self.report_path = config.getoption("task_report")
        self.rootpath = Path(config.rootpath).resolve()
        self.items = {}              # nodeid -> {"tasks", "outcome", "message"}
        self.collect_errors = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        doctests = {node: task.id for task in task_table.TASKS for node in task.doctests}
        for item in items:
            if item.nodeid in doctests:
                item.add_marker(pytest.mark.task(doctests[item.nodeid]))
        if self.wanted:
            keep = [item for item in items if set(item_tasks(item)) & set(self.wanted)]
            dropped = [item for item in items if item not in keep]
            if dropped:
                config.hook.pytest_deselected(items=dropped)
            items[:] = keep

    def pytest_collection_finish(self, session):
        for item in session.items:                        # after every other selection
            self.items[item.nodeid] = {"tasks": item_tasks(item), "outcome": None,
                                       "message": ""}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.failed and call.excinfo is not None:
            report.homework_message = _reason(call.excinfo.value)
        if not (self.stripped and report.failed) or set(item_tasks(item)) & self.stripped:
            return
        text = report.longreprtext + "".join(content for _, content in report.sections)
        blocker = stub_of(call.excinfo, text, self.stripped)
        if blocker:
            path, line, _ = item.location
            report.outcome = "skipped"
            report.longrepr = (path, (line or 0) + 1,
                               f"Skipped: needs homework task {blocker} (still a stub)")

    def pytest_runtest_logreport(self, report):
        entry = self.items.get(report.nodeid)
        if entry is None or entry["outcome"] == "failed":
            return
        if report.failed:
            entry["outcome"], entry["message"] = "failed", _short(report)
        elif report.skipped:
            entry["outcome"], entry["message"] = "skipped", _short(report)
            entry["where"] = self._where(report)
        elif report.when == "call" and entry["outcome"] is None:
            entry["outcome"] = "passed"

    def _where(self, report):
        """The file (relative to the root where possible) that raised a skip."""
        if not isinstance(report.longrepr, tuple):
            return ""
        path = Path(str(report.longrepr[0]))
        try:
            return (self.rootpath / path).resolve().relative_to(self.rootpath).as_posix()
        except ValueError:
            return path.as_posix()

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append({"nodeid": report.nodeid, "message": _short(report)})

    def pytest_sessionfinish(self, session, exitstatus):
        if not self.report_path:
            return
        path = Path(self.report_path)
        data = {"exitstatus": int(exitstatus), "items": self.items,
                "collect_errors": self.collect_errors}
        part = path.with_name(f".{path.name}.part")
        part.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(part, path)

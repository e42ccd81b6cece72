"""A student copy under its tests, and ``homework grade`` on known failures.

The suite runs in the copies in subprocesses on a representative subset: the
test files that hold the tasks' tests and the doctests of the stubbed modules
(the PyTorch oracles and the 10 s VGG16 parameter count left out), so this
file takes about a minute on 2 cores.
"""

import argparse
import json
import os
import subprocess
import sys

import pytest

from homework import tasks as task_table
from homework.grade import grade, score_json, table, task_files, write_score
from homework.make import ROOT, fill_copy, make_copy
from homework.markers import fill
from vis.commands import homework as command

DESELECT = "not torch and not summary_counts"
SUBSET = sorted({f for files in task_files(ROOT, task_table.ids()).values() for f in files})
BLOCKED = "Skipped: needs homework task "


def run_tests(copy, files, report):
    """Run pytest with the homework plugin in a copy; the plugin's JSON report."""
    env = dict(os.environ, PYTHONPATH=str(copy), OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "homework.pytest_plugin",
                           "-k", DESELECT, "--task-report", str(report), *files],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(report.read_text())["items"]


def check_only_stripped_tasks_fail(items, stripped):
    """Failed == marked with a stripped task; everything else passed or waits for a stub."""
    failed = {n for n, e in items.items() if e["outcome"] == "failed"}
    marked = {n for n, e in items.items() if set(e["tasks"]) & set(stripped)}
    assert failed == marked, (sorted(failed - marked)[:5], sorted(marked - failed)[:5])
    for node, entry in items.items():
        if node not in marked:
            assert entry["outcome"] == "passed" or (
                entry["outcome"] == "skipped" and entry["message"].startswith(BLOCKED)), (
                node, entry)
    for node in marked:                    # a test of a stripped task fails on a stub
        assert "NotImplementedError: " in items[node]["message"], (node, items[node])
    return failed


def test_every_task_stripped_fails_exactly_the_marked_tests(tmp_path):
    copy = make_copy(ROOT, tmp_path / "all", task_table.ids()).out
    items = run_tests(copy, SUBSET, tmp_path / "report.json")
    failed = check_only_stripped_tasks_fail(items, task_table.ids())
    passed = [n for n, e in items.items() if e["outcome"] == "passed"]
    assert len(failed) >= 50 and len(passed) >= 20
    for task_id in task_table.ids():       # every task has failing tests here
        assert any(task_id in items[n]["tasks"] for n in failed), task_id


def test_one_task_stripped_fails_only_its_tests(tmp_path):
    copy = make_copy(ROOT, tmp_path / "one", ["gradcam-weights"]).out
    files = ["tests/minicnn/test_layers.py", "tests/minicnn/test_rules.py",
             "tests/vis/attribution", "vis/attribution"]
    items = run_tests(copy, files, tmp_path / "report.json")
    failed = check_only_stripped_tasks_fail(items, ["gradcam-weights"])
    assert len(failed) == sum("gradcam-weights" in e["tasks"] for e in items.values()) >= 5
    blocked = [n for n, e in items.items() if e["outcome"] == "skipped"]
    assert all(items[n]["message"] == BLOCKED + "gradcam-weights (still a stub)"
               for n in blocked)
    assert sum(e["outcome"] == "passed" for e in items.values()) > 10 * len(blocked) > 0


FORWARD_DIFFERENCE = """\
    grad = np.zeros_like(x, dtype=np.float64)
    fx = f(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - fx) / h
        x[i] = old
    return grad
"""
ENDLESS = """\
        while True:
            pass
"""
TIMEOUT = 15


def write_block(copy, rel, task_id, body):
    """What a student does: write code between the markers of a task."""
    path = copy / rel
    path.write_text(fill(path.read_text(encoding="utf-8"), {task_id: [body]}, rel),
                    encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A copy with four tasks: one solved, one wrong, one left a stub, one endless loop."""
    copy = make_copy(ROOT, tmp_path_factory.mktemp("grade") / "student",
                     ["softmax-cross-entropy", "gradient-check", "receptive-field",
                      "saliency"]).out
    fill_copy(copy, ROOT, ["saliency"])
    write_block(copy, "minicnn/gradcheck.py", "gradient-check", FORWARD_DIFFERENCE)
    write_block(copy, "minicnn/receptive_field.py", "receptive-field", ENDLESS)
    results, info = grade(copy, ROOT, timeout=TIMEOUT)
    return copy, {r.task: r for r in results}, info


def test_grade_reports_exactly_the_known_failures(graded):
    _, results, info = graded
    assert list(results) == ["softmax-cross-entropy", "gradient-check", "receptive-field",
                             "saliency"]                         # lecture order
    ce = results["softmax-cross-entropy"]                        # still a stub
    assert (ce.passed, ce.total, ce.points, ce.status) == (0, 3, 0, "failed")
    assert all(why.startswith("NotImplementedError: softmax-cross-entropy: ")
               for _, why in ce.failed)
    # Forward differences: exact on the linear GAP/flatten only, O(h) wrong elsewhere.
    # Its cross-entropy test fails on the error, not on the stub: the other tasks'
    # blocks hold the reference solutions while one task is graded.
    gc = results["gradient-check"]
    assert (gc.passed, gc.total, gc.points, gc.status) == (1, 6, 0.83, "failed")
    assert sorted(node for node, _ in gc.failed) == [
        "tests/minicnn/test_layers.py::test_lrn_gradient[1]",
        "tests/minicnn/test_layers.py::test_lrn_gradient[4]",
        "tests/minicnn/test_layers.py::test_lrn_gradient[5]",
        "tests/minicnn/test_layers.py::test_softmax_gradient_and_rows",
        "tests/minicnn/test_train.py::test_cross_entropy_value_and_gradient"]
    assert all(why.startswith("AssertionError") for _, why in gc.failed)
    rf = results["receptive-field"]                              # the endless loop
    assert (rf.passed, rf.total, rf.points, rf.status) == (0, 4, 0, "timeout")
    assert TIMEOUT <= rf.seconds < TIMEOUT + 15
    sal = results["saliency"]                                    # graded after the timeout
    assert (sal.passed, sal.total, sal.points, sal.status) == (3, 3, 5, "passed")
    assert info["mode"] == "isolated"


def test_the_score_table_and_file(graded, tmp_path):
    _, results, info = graded
    results = list(results.values())
    text = table(results)
    lines = [line.split() for line in text.splitlines()]
    assert lines[0] == ["task", "tests", "points", "status"]
    assert lines[2] == ["gradient-check", "1/6", "0.83/5", "failed"]
    assert lines[3][:4] == ["receptive-field", "0/4", "0/10", "timeout"]
    assert lines[-1] == ["total", "5.83/30"]
    data = score_json(results, info)
    assert data["score"] == 5.83 and data["max_score"] == 30
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in data["tests"]] == [
        ("softmax-cross-entropy", 0, 10, "failed"), ("gradient-check", 0.83, 5, "failed"),
        ("receptive-field", 0, 10, "failed"), ("saliency", 5, 5, "passed")]
    assert "timeout" in data["tests"][2]["output"]
    path = tmp_path / "score.json"
    write_score(path, results, info)
    assert json.loads(path.read_text()) == json.loads(json.dumps(data))
    with pytest.raises(FileExistsError):
        write_score(path, results, info)
    write_score(path, results, info, force=True)


def test_the_plugin_selects_a_task_and_refuses_an_unknown_one():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "homework.pytest_plugin",
                           "--collect-only", "--task", "relu-rules,linear",
                           "tests/minicnn/test_layers.py", "minicnn/layers/relu.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    nodes = sorted(line for line in done.stdout.splitlines() if "::" in line)
    assert nodes == ["minicnn/layers/relu.py::minicnn.layers.relu",
                     "tests/minicnn/test_layers.py::test_linear_gradients",
                     "tests/minicnn/test_layers.py::test_relu_gradient"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "homework.pytest_plugin",
                           "--task", "relu", "--collect-only", "minicnn/layers/relu.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 4
    assert "unknown task 'relu'; valid tasks: conv-forward, " in done.stderr


def grade_command(*argv):
    p = argparse.ArgumentParser(prog="minicnn")
    command.register(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(["homework", "grade", *argv])
    return args.func(args)


def test_grading_what_is_not_a_student_copy_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a student copy: it has no "
                                                "homework.json"):
        grade_command(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        grade(tmp_path / "missing", ROOT)
    (tmp_path / "homework.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a homework manifest"):
        grade(tmp_path, ROOT)


def test_grade_refuses_before_running_anything(tmp_path):
    copy = make_copy(ROOT, tmp_path / "hw", ["linear"]).out
    with pytest.raises(ValueError, match="holds no task saliency; its tasks: linear"):
        grade(copy, ROOT, ["saliency"])
    with pytest.raises(ValueError, match="unknown task 'lin'"):
        grade_command(str(copy), "--tasks", "lin")
    with pytest.raises(ValueError, match="time limit must be positive"):
        grade(copy, ROOT, timeout=0)
    (copy / "score.json").write_text("{}")
    with pytest.raises(FileExistsError, match="score.json exists"):
        grade_command(str(copy))
    assert (copy / "score.json").read_text() == "{}"


def test_the_grading_tree_holds_the_clones_tests_and_the_other_tasks_solutions(tmp_path):
    from homework.grade import _grading_tree
    from homework.make import read_manifest
    copy = make_copy(ROOT, tmp_path / "hw", ["conv-forward", "linear", "saliency"]).out
    write_block(copy, "minicnn/layers/conv.py", "conv-forward", "    return None\n")
    test_file = copy / "tests/minicnn/test_layers.py"
    test_file.write_text(test_file.read_text() + "\ndef test_planted():\n    pass\n")
    (copy / "minicnn" / "conftest.py").write_text("raise SystemExit('planted')\n")
    (copy / "pytest.ini").write_text("[pytest]\naddopts = -p no:homework\n")
    gradients = copy / "vis/attribution/gradients.py"              # markers deleted
    gradients.write_text(gradients.read_text().replace("# BEGIN SOLUTION saliency\n", ""))
    manifest = read_manifest(copy)
    tree, note = _grading_tree(copy, ROOT, manifest, "conv-forward", False, tmp_path / "work")
    conv = (tree / "minicnn/layers/conv.py").read_text()
    assert "    return None\n" in conv                                 # the student's block
    assert conv == (copy / "minicnn/layers/conv.py").read_text()
    assert (tree / "minicnn/layers/linear.py").read_bytes() == (
        ROOT / "minicnn/layers/linear.py").read_bytes()              # another task: reference
    assert note.startswith("vis/attribution/gradients.py: markers changed, graded as written")
    assert (tree / "tests/minicnn/test_layers.py").read_bytes() == (
        ROOT / "tests/minicnn/test_layers.py").read_bytes()
    assert not (tree / "minicnn/conftest.py").exists() and not (tree / "pytest.ini").exists()
    assert not (tree / "tests/homework").exists()
    assert json.loads((tree / "homework.json").read_text())["tasks"] == ["conv-forward"]
    together, _ = _grading_tree(copy, ROOT, manifest, "linear", True, tmp_path / "work2")
    assert "    return None\n" in (together / "minicnn/layers/conv.py").read_text()
    assert "NotImplementedError" in (together / "minicnn/layers/linear.py").read_text()

"""``homework make``: the student copy, its manifest, the answer key, and bad input."""

import argparse
import os
import re
import subprocess
import sys
import time

import pytest

from homework import tasks as task_table
from homework.make import (GUIDE, MANIFEST, ROOT, fill_copy, make_copy, read_manifest,
                           student_files, walk_files)
from vis.commands import homework as command


@pytest.fixture(scope="module")
def full_copy(tmp_path_factory):
    """A student copy with every task stripped, and how long making it took."""
    out = tmp_path_factory.mktemp("hw") / "all"
    start = time.perf_counter()
    made = make_copy(ROOT, out, task_table.ids())
    return made, time.perf_counter() - start


def test_make_writes_every_file_with_stubs_and_a_manifest(full_copy):
    made, seconds = full_copy
    assert seconds < 5, f"homework make took {seconds:.1f} s"
    files = student_files(ROOT)
    assert made.files == len(files) and "minicnn/weights/tiny.npz" in files
    copied = sorted(p.relative_to(made.out).as_posix() for p in made.out.rglob("*")
                    if p.is_file())
    assert copied == sorted(files + [MANIFEST, GUIDE])
    assert not any(f.startswith("tests/homework/") for f in copied)
    manifest = read_manifest(made.out)
    assert manifest["tasks"] == task_table.ids() == list(made.tasks)
    assert manifest["points"] == {t.id: t.points for t in task_table.TASKS}
    assert sorted(manifest["files"]) == list(made.stubbed)
    for rel, here in manifest["files"].items():
        text = (made.out / rel).read_text(encoding="utf-8")
        for task_id in here:
            assert f"# BEGIN SOLUTION {task_id}\n" in text
            assert 'raise NotImplementedError(\n' in text
            assert f'"{task_id}: ' in text
    guide = (made.out / GUIDE).read_text(encoding="utf-8")
    assert all(f"`{t}`" in guide for t in made.tasks)
    assert "--task conv-forward" in guide


def test_the_copy_imports_and_each_stub_says_what_to_write(full_copy):
    made, _ = full_copy
    code = ("import minicnn, vis.attribution\n"
            "from minicnn.layers import conv\n"
            "import numpy as np\n"
            "print(minicnn.__file__)\n"
            "try:\n"
            "    conv.im2col(np.zeros((1, 1, 3, 3)), 2, 2, (1, 1), (0, 0))\n"
            "except NotImplementedError as e:\n"
            "    print(e)\n")
    env = dict(os.environ, PYTHONPATH=str(made.out))
    done = subprocess.run([sys.executable, "-c", code], cwd=made.out, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    where, message = done.stdout.strip().splitlines()
    assert os.path.realpath(where).startswith(os.path.realpath(made.out))
    assert message == task_table.stub_message(task_table.by_id("conv-forward"))
    assert "Araujo" in task_table.stub_message(task_table.by_id("receptive-field"))


def test_filling_the_copy_gives_back_the_repository_byte_for_byte(tmp_path):
    made = make_copy(ROOT, tmp_path / "copy", task_table.ids())
    assert any((made.out / rel).read_bytes() != (ROOT / rel).read_bytes()
               for rel in made.stubbed)
    assert sorted(fill_copy(made.out, ROOT)) == list(made.stubbed)
    for rel in student_files(ROOT):
        assert (made.out / rel).read_bytes() == (ROOT / rel).read_bytes(), rel


def test_one_task_strips_only_its_blocks(tmp_path):
    made = make_copy(ROOT, tmp_path / "one", ["gradcam-weights"])
    assert made.stubbed == ("vis/attribution/cam.py",)
    text = (made.out / "vis/attribution/cam.py").read_text(encoding="utf-8")
    assert "gradcam-weights: alpha[n, k]" in text and "w.astype(f.dtype" in text  # cam kept
    for rel in student_files(ROOT):
        if rel != "vis/attribution/cam.py":
            assert (made.out / rel).read_bytes() == (ROOT / rel).read_bytes(), rel


def test_unknown_or_pending_tasks_are_one_line_listing_the_valid_ones(tmp_path):
    pending = [(t.id, f"'{t.id}' is not marked in the source yet") for t in task_table.PENDING]
    for bad, what in [("conv-fwd", "unknown task 'conv-fwd'")] + pending + [(" , ", "no task")]:
        with pytest.raises(ValueError) as e:
            make_copy(ROOT, tmp_path / "x", [bad] if bad.strip(" ,") else [])
        if bad.strip(" ,"):
            message = str(e.value)
            assert what in message and "\n" not in message
            assert all(t in message for t in task_table.ids())
        with pytest.raises(ValueError, match="valid tasks"):
            task_table.parse_ids(bad)
    assert not (tmp_path / "x").exists()


def test_out_inside_the_repository_is_refused_even_with_force(tmp_path):
    for out in [ROOT / "hw", ROOT / "tests" / "hw", ROOT]:
        for force in (False, True):
            with pytest.raises(ValueError, match="inside the repository"):
                make_copy(ROOT, out, ["linear"], force=force)
    with pytest.raises(ValueError, match="contains the repository"):
        make_copy(ROOT, ROOT.parent, ["linear"], force=True)
    assert not (ROOT / "hw").exists()


def test_an_existing_out_needs_force_and_must_be_a_copy(tmp_path):
    out = tmp_path / "hw"
    make_copy(ROOT, out, ["linear"])
    with pytest.raises(FileExistsError, match="exists: use --force"):
        make_copy(ROOT, out, ["saliency"])
    assert read_manifest(out)["tasks"] == ["linear"]
    make_copy(ROOT, out, ["saliency"], force=True)           # an earlier copy: replaced
    assert read_manifest(out)["tasks"] == ["saliency"]
    assert [p.name for p in tmp_path.iterdir()] == ["hw"]    # no temporary folder left
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a student copy.*even with --force"):
        make_copy(ROOT, other, ["linear"], force=True)
    assert (other / "mine.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    make_copy(ROOT, tmp_path / "empty", ["linear"], force=True)


def test_without_git_the_walk_skips_builds_caches_and_big_weights(tmp_path):
    for rel in ["setup.cfg", "minicnn/a.py", "minicnn/__pycache__/a.cpython-311.pyc",
                "build/lib/minicnn/a.py", "minicnn.egg-info/PKG-INFO", ".git/HEAD",
                "minicnn/weights/tiny.npz", "minicnn/weights/vgg16.npz", "out/x.png",
                "weights.h5", "tests/homework/test_x.py", "tests/test_a.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert walk_files(tmp_path) == ["minicnn/a.py", "minicnn/weights/tiny.npz", "setup.cfg",
                                    "tests/homework/test_x.py", "tests/test_a.py"]
    assert student_files(tmp_path) == ["minicnn/a.py", "minicnn/weights/tiny.npz",
                                       "setup.cfg", "tests/test_a.py"]


def parser():
    p = argparse.ArgumentParser(prog="minicnn")
    command.register(p.add_subparsers(dest="command", required=True))
    return p


def test_the_command_lists_makes_and_refuses(tmp_path, capsys):
    run = lambda *argv: (lambda a: a.func(a))(parser().parse_args(list(argv)))  # noqa: E731
    run("homework", "make", "--all")
    listing = capsys.readouterr().out
    assert all(t.id in listing for t in task_table.TASKS + task_table.PENDING)
    total = sum(t.points for t in task_table.TASKS)
    assert re.search(rf"^total +{total} pts$", listing, re.M) and total >= 100
    run("homework", "make", "--tasks", "linear,saliency", "--out", str(tmp_path / "hw"))
    assert "2 task(s) (linear, saliency)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--all lists the tasks"):
        run("homework", "make", "--all", "--tasks", "linear")
    with pytest.raises(ValueError, match="needs --tasks"):
        run("homework", "make", "--out", str(tmp_path / "x"))
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        run("homework", "make", "--tasks", "nope", "--out", str(tmp_path / "x"))


def test_without_a_clone_the_command_says_so(monkeypatch):
    monkeypatch.setattr(command, "homework_root", lambda: None)
    with pytest.raises(FileNotFoundError, match="clone of the repository.*pip install -e"):
        command.tools()

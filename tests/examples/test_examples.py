"""The lecture examples (examples/, vis/commands/examples.py): they run, write what they say,
are seeded, open as notebooks, and refuse bad input.

Every example runs once, in a subprocess with one BLAS thread, under the 60 s
limit of issue 12; the runs are shared by the tests of this module.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vis.commands import examples as ex

FOLDER = ex.examples_dir()
pytestmark = pytest.mark.skipif(FOLDER is None, reason="needs a clone with examples/")

TINY = [n for n, e in ex.EXAMPLES.items() if e.model == "tiny"]
REAL = [n for n, e in ex.EXAMPLES.items() if e.model != "tiny"]
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_script(number, out, *extra, env=None):
    """Run example ``number`` into ``out``; returns (CompletedProcess, seconds)."""
    path = ONE_THREAD | {"PYTHONPATH": os.pathsep.join(        # the clone's packages
        filter(None, [str(FOLDER.parent), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ex.script(number)), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=ex.LIMIT_SECONDS,
                          env=dict(os.environ, **path, **(env or {})), cwd=Path(out).parent)
    return proc, time.perf_counter() - start


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``runs(number) -> (out, CompletedProcess, seconds)``, each example run once."""
    done = {}

    def get(number):
        if number not in done:
            out = tmp_path_factory.mktemp(f"example{number}") / "out"
            done[number] = (out, *run_script(number, out))
        return done[number]
    return get


def command(*argv):
    """``minicnn examples ...`` in this process: (function's result)."""
    parser = argparse.ArgumentParser(prog="minicnn")
    ex.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["examples", *argv])
    return args.func(args)


def printed(proc, pattern):
    """The float numbers of the first stdout line matching ``pattern``."""
    line = next(line for line in proc.stdout.splitlines() if re.search(pattern, line))
    return [float(v) for v in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", line)]


# The catalogue and the scripts

def test_catalogue_matches_the_folder_and_the_lecture_order():
    stems = {p.stem for p in FOLDER.glob("[0-9][0-9]_*.py")}
    assert stems == {e.stem for e in ex.EXAMPLES.values()}
    for number, e in ex.EXAMPLES.items():
        assert e.number == number and e.stem.startswith(number + "_")
        assert 0 < e.seconds < ex.LIMIT_SECONDS and e.writes
        assert e.model in ("tiny", "vgg16_hed")
    assert not set(ex.EXAMPLES) & set(ex.RESERVED)
    numbers = sorted(set(ex.EXAMPLES) | set(ex.RESERVED))
    assert numbers == [f"{k:02d}" for k in range(1, len(numbers) + 1)]   # no gaps
    assert list(ex.EXAMPLES) == sorted(ex.EXAMPLES)
    assert ex.EXAMPLES["06"].stem == "06_top_patches"                     # after activations


@pytest.mark.parametrize("number", list(ex.EXAMPLES))
def test_script_is_cells_with_the_equation_and_the_paper(number):
    e = ex.EXAMPLES[number]
    text = ex.script(number).read_text(encoding="utf-8")
    assert text.startswith("# %% [markdown]\n")
    assert text.splitlines()[1] == f"# # {number} · {e.title}"
    cells = re.split(r"^# %%.*$", text, flags=re.M)[1:]
    kinds = re.findall(r"^# %%(.*)$", text, flags=re.M)
    markdown = [c for c, k in zip(cells, kinds) if k.strip() == "[markdown]"]
    assert len(markdown) >= 2 and len(cells) - len(markdown) >= 2
    first = markdown[0]
    assert re.search(r"^#     \S.*[=~]", first, flags=re.M), "no indented equation"
    assert re.search(r"[A-Z][a-z]+ (et al\. |& [A-Z][a-z]+ )?(19|20)\d\d", first), "no paper"
    for name in e.writes:
        stem = name.split("_relu")[0] if name.startswith("activations_") else name
        assert stem.split(".")[0] in first, f"the first cell does not say it writes {name}"
    assert f'default=Path("out/examples/{e.stem}")' in text     # under out/, as the CLI's
    assert "--force" in text and "parse_known_args" in text
    assert not re.search(r"['\"]/(tmp|home|root|work|Users)/", text)


# Running them

@pytest.mark.parametrize("number", TINY)
def test_tiny_example_runs_in_time_and_writes_its_files(runs, number):
    out, proc, seconds = runs(number)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert seconds < ex.LIMIT_SECONDS
    assert sorted(p.name for p in out.iterdir()) == sorted(ex.EXAMPLES[number].writes)
    for name in ex.EXAMPLES[number].writes:
        assert f"wrote {out / name}" in proc.stdout
        with Image.open(out / name) as img:
            assert img.format == "PNG" and min(img.size) >= 64
            assert np.ptp(np.asarray(img.convert("L"))) > 50     # not blank


@pytest.mark.parametrize("number", REAL)
def test_real_photo_example_runs_when_the_weights_are_installed(runs, number):
    model = ex.EXAMPLES[number].model
    if not ex.installed(model):
        pytest.skip(f"{model} weights not installed (minicnn weights fetch hed)")
    out, proc, seconds = runs(number)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert seconds < ex.LIMIT_SECONDS
    assert sorted(p.name for p in out.iterdir()) == sorted(ex.EXAMPLES[number].writes)
    for name in ex.EXAMPLES[number].writes:
        with Image.open(out / name) as img:
            assert img.format == "PNG" and img.size[0] >= 224


@pytest.mark.parametrize("number", REAL)
def test_real_photo_example_says_in_one_line_when_the_weights_are_missing(tmp_path, number):
    out = tmp_path / "out"
    proc, _ = run_script(number, out, env={"MINICNN_WEIGHTS": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skipped: ")
    assert ex.EXAMPLES[number].model in lines[0] and "minicnn weights" in lines[0]
    assert not out.exists()


def test_printed_numbers_are_what_the_lectures_say(runs):
    """Numbers the examples print that could be wrong: each one's lesson, checked."""
    for number in ("01", "02", "04", "07", "09", "10"):
        proc = runs(number)[1]
        assert proc.returncode == 0, proc.stderr[-2000:]       # (a stub's message shows here)
    proc = runs("01")[1]
    assert printed(proc, r"im2col - naive")[0] < 1e-12
    assert printed(proc, r"layer - naive")[0] < 1e-5                     # float32 model
    proc = runs("02")[1]
    for layer in ("Conv2d", "MaxPool2d", "ReLU", "Linear"):
        assert max(printed(proc, rf"^{layer} ")) < 1e-6
    assert all(printed(proc, rf"^direction {k}:")[-1] < 1e-6 for k in range(3))
    best64, best32 = printed(proc, r"^float64:")[0], printed(proc, r"^float32:")[0]
    assert best64 < 1e-8 < best32                            # why checks run in float64
    proc = runs("04")[1]
    assert printed(proc, r"two runs' weights")[-1] == 0.0    # same seed, same weights
    acc = printed(proc, r"^training accuracy per epoch")
    assert acc[-1] > 0.6 and acc[-1] > acc[0] + 0.3          # it overfits 64 images
    assert printed(proc, r"64 images for 30 epochs")[-1] < 0.35     # ... and learns little
    assert printed(proc, r"the shipped model")[-1] > 0.9
    proc = runs("09")[1]
    assert printed(proc, r"Grad-CAM - ReLU\(CAM\)")[0] < 1e-5   # Grad-CAM generalises CAM


def test_printed_numbers_of_the_dataset_examples(runs):
    """06, 16, 17: the lesson of each, as a number it prints."""
    for number in ("06", "16", "17"):
        proc = runs(number)[1]
        assert proc.returncode == 0, proc.stderr[-2000:]
    proc = runs("06")[1]
    chance = printed(proc, r"^1000 test images; chance level")[-1]
    first, last = printed(proc, r"^relu1_2: ")[-1], printed(proc, r"^relu4_2: 64 channels")[-1]
    assert last > first + 0.2 and last > chance + 0.2       # deeper units: more class-specific
    assert "merged == one pass over 1000 images: True" in proc.stdout     # the merge is exact
    for rule in ("deconvnet", "guided"):                    # zero outside the receptive field
        assert printed(proc, rf"^{rule}: share of the projection outside")[0] == 0.0
    deconvnet, guided = printed(proc, r"^relu4_2: projections of one channel alike")
    assert guided < deconvnet
    proc = runs("16")[1]
    assert printed(proc, r"code space: neighbours")[0] > 0.8      # Krizhevsky Fig. 4 ...
    pixel, chance = printed(proc, r"pixel space: neighbours")
    assert pixel < chance + 0.05                                   # ... pixels: near chance
    _, _, perp, worst = printed(proc, r"^perplexity 30: point 0")
    assert perp == 30.0 and worst <= 1e-5                          # Perp = 2^H, every row
    assert printed(proc, r"^t-SNE 2-D map")[0] > printed(proc, r"^PCA 2-D map")[0] + 0.2
    proc = runs("17")[1]
    assert min(printed(proc, r"^accuracy, test set biased as in training")) > 0.9   # looks fine
    biased, clean = printed(proc, r"recognised, without it")
    assert biased < 0.1 < 0.8 < clean                       # no mark, no heart: the bias
    area = printed(proc, r"^the mark covers")[0] / 100
    biased, clean = printed(proc, r"^CAM energy in the mark's box")
    assert biased > 4 * area > 4 * clean                    # the evidence sits on the mark
    called = printed(proc, r"^tiny_biased: other classes called")[1::2]
    assert called[-1] > 0.5 and all(np.diff(called) >= 0)   # follows the mark's weight
    assert printed(proc, r"^tiny: other classes called")[-1] < 0.15


def test_examples_are_deterministic_from_their_seed(runs, tmp_path):
    """03 again through ``minicnn examples run``, 09 again with a notebook kernel's
    arguments: the same PNG bytes and the same printed numbers."""
    out3 = tmp_path / "again03"
    assert command("run", "3", "--out", str(out3)) == 0
    out9 = tmp_path / "again09"
    proc9, _ = run_script("09", out9, "-f", str(tmp_path / "kernel-1.json"))
    assert proc9.returncode == 0, proc9.stderr[-2000:]
    for number, again, stdout in (("03", out3, None), ("09", out9, proc9.stdout)):
        first, proc, _ = runs(number)
        for name in ex.EXAMPLES[number].writes:
            assert (first / name).read_bytes() == (again / name).read_bytes(), name
        if stdout is not None:
            assert stdout.replace(str(again), "OUT") == proc.stdout.replace(str(first), "OUT")


# Bad input

def test_a_folder_that_is_not_empty_is_refused_without_force(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc, _ = run_script("03", out)
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()
    assert len(message) == 1 and "--force" in message[0] and str(out) in message[0]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    with pytest.raises(FileExistsError, match="--force"):
        command("run", "03", "--out", str(out))
    with pytest.raises(FileExistsError, match="is a file"):
        command("run", "03", "--out", str(out / "notes.txt"))


@pytest.mark.parametrize("number, words", [("99", "unknown example '99'"),
                                           ("conv", "unknown example 'conv'")] + [
    (k, f"{k} ({topic}) is not written yet") for k, topic in list(ex.RESERVED.items())[:1]])
def test_unknown_or_reserved_number_lists_the_valid_ones(number, words, tmp_path):
    with pytest.raises(ValueError) as err:
        command("run", number, "--out", str(tmp_path / "x"))
    message = str(err.value)
    assert words in message and "\n" not in message
    assert message.endswith("choose one of " + ", ".join(ex.EXAMPLES))
    assert not (tmp_path / "x").exists()


def test_a_missing_clone_is_said_clearly(monkeypatch, capsys):
    monkeypatch.setattr(ex, "examples_dir", lambda: None)
    with pytest.raises(FileNotFoundError, match="clone of the repository"):
        ex.script("03")
    command("--list")                              # the list still shows what exists
    assert "note: this installation has no examples folder" in capsys.readouterr().err


def test_the_folder_readme_lists_every_example_and_the_reserved_numbers():
    text = (FOLDER / "README.md").read_text(encoding="utf-8")
    for number, e in ex.EXAMPLES.items():
        assert re.search(rf"^\| {number} \| \[[^]]+\]\({e.stem}\.py\) \| {e.model} \|$", text,
                         flags=re.M), number
    for number, topic in ex.RESERVED.items():
        assert f"| {number} | {topic} (to come) | |" in text


def test_list_shows_every_example_and_the_reserved_numbers(capsys):
    command("--list")
    text = capsys.readouterr().out
    for number, e in ex.EXAMPLES.items():
        assert re.search(rf"^  {number}  {re.escape(e.title)} .*{e.model}.*~{e.seconds} s$",
                         text, flags=re.M)
    for number, topic in ex.RESERVED.items():
        assert re.search(rf"^  {number}  \({re.escape(topic)}: to come\)$", text, flags=re.M)


# Notebooks

def test_every_notebook_is_valid_and_keeps_every_cell(tmp_path):
    jupytext = pytest.importorskip("jupytext")
    nbformat = pytest.importorskip("nbformat")
    out = tmp_path / "notebooks"
    written = command("notebooks", "--out", str(out))
    assert written is None and sorted(p.name for p in out.iterdir()) == sorted(
        f"{e.stem}.ipynb" for e in ex.EXAMPLES.values())
    for e in ex.EXAMPLES.values():
        nb = nbformat.read(out / f"{e.stem}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        assert nb.cells[0].cell_type == "markdown"
        assert nb.cells[0].source.startswith(f"# {e.number} · {e.title}")
        assert {c.cell_type for c in nb.cells} == {"markdown", "code"}
        script = jupytext.read(ex.script(e.number), fmt="py:percent")
        assert [(c.cell_type, c.source) for c in nb.cells] == \
            [(c.cell_type, c.source) for c in script.cells]             # nothing lost
    with pytest.raises(FileExistsError, match="--force"):
        command("notebooks", "--out", str(out))
    command("notebooks", "03", "--out", str(out), "--force")


def test_notebooks_without_jupytext_say_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "jupytext", None)        # import jupytext fails
    with pytest.raises(RuntimeError, match="pip install jupytext"):
        command("notebooks", "--out", str(tmp_path / "nb"))
    assert not (tmp_path / "nb").exists()


def test_printed_numbers_of_the_synthesis_and_attack_examples(runs):
    """11: the log-probability keeps every class model in its class, the score may not;
    15: PGD is at least as strong as FGSM, and the one-pixel attack changes one pixel."""
    proc = runs("11")[1]
    assert proc.returncode == 0, proc.stderr[-2000:]
    score = printed(proc, r"^objective score:")[0]
    probability = printed(proc, r"^objective probability:")[0]
    assert probability == 1.0 and score < probability
    assert printed(proc, r"^mean gain of the unit")[0] > 1.0
    proc = runs("15")[1]
    assert proc.returncode == 0, proc.stderr[-2000:]
    fgsm, pgd = printed(proc, r"^FGSM accuracy"), printed(proc, r"^PGD, 10 steps accuracy")
    assert fgsm[0] == pgd[0] > 0.9                            # epsilon 0: the clean accuracy
    assert all(p <= f + 0.02 for f, p in zip(fgsm, pgd)) and pgd[-1] < 0.1
    assert proc.stdout.count("1 pixel(s) changed") == 4

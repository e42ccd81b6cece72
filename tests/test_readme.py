"""The README: its two quick-start commands and the lecture map, checked against the tree."""

import re
from pathlib import Path

from homework.tasks import TASKS
from vis import cli
from vis.commands.examples import EXAMPLES
from vis.registry import METHODS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def lecture_map():
    """The rows of the lecture map: lists of the 7 cells."""
    text = README.split("<!-- lecture map", 1)[1].splitlines()[1:]
    lines = []
    for ln in text:
        if not ln.startswith("|"):
            break
        lines.append(ln)
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
    assert rows and all(len(r) == 7 for r in rows), "a malformed row"
    return rows


def ticked(cell):
    return re.findall(r"`([^`]+)`", cell)


def subcommands():
    parser = cli.build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices


def test_quick_start_is_two_commands():
    block = README.split("## Quick start", 1)[1].split("```")[1].strip().splitlines()
    assert block == ["pip install -e . && minicnn tour --out tour",
                     "pip install -e '.[test]' && python -m pytest -q"]


def test_every_file_command_example_and_task_in_the_map_exists():
    commands, tasks = subcommands(), {t.id for t in TASKS}
    stems = {e.stem for e in EXAMPLES.values()}
    for topic, _, code, command, example, test, homework in lecture_map():
        for path in ticked(code) + ticked(test):
            assert (ROOT / path).exists(), f"{topic}: {path}"
        for c in ticked(command):
            assert c.startswith("minicnn ") and c.split()[1] in commands, f"{topic}: {c}"
        for e in ticked(example):
            assert e in stems and (ROOT / "examples" / f"{e}.py").is_file(), f"{topic}: {e}"
        for t in ticked(homework):
            assert t in tasks, f"{topic}: task {t}"


def test_every_method_example_and_task_is_in_the_map():
    rows = lecture_map()
    commands = {c.split()[1] for r in rows for c in ticked(r[3])}
    assert set(METHODS) <= commands | {"localize"} and "localize" in commands
    assert {e.stem for e in EXAMPLES.values()} <= {e for r in rows for e in ticked(r[4])}
    assert {t.id for t in TASKS} <= {t for r in rows for t in ticked(r[6])}


def test_python_blocks_run_as_written():
    """Every ```python block of the README runs; the API example yields a saliency batch."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for code in blocks:
        scope = {}
        exec(compile(code, "README.md", "exec"), scope)
    assert scope["saliency"].shape == (2, 3, 64, 64)
    assert scope["saliency"].any()

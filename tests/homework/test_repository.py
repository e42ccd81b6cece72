"""The markers of the real repository: one grammar, every task marked in code and tests.

Every BEGIN has its END, every block names a task of ``homework/tasks.py``, lies
in a function after its docstring and comes back byte for byte after
stripping; every task has blocks and tests; no test names an unknown task.
"""

import ast
from pathlib import Path

import pytest

from homework import tasks as task_table
from homework.make import ROOT, solution_blocks
from homework.markers import bodies, fill, marked_tests, placement_errors, scan, strip

BLOCKS = solution_blocks(ROOT)         # raises on any grammar error or unknown id
MARKED = marked_tests(ROOT)
MESSAGES = {t.id: task_table.stub_message(t) for t in task_table.TASKS}


def test_every_block_names_a_task_and_sits_in_a_function():
    assert BLOCKS, "no solution block in minicnn/ or vis/"
    for rel in BLOCKS:
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert placement_errors(text, rel) == []


def test_every_task_has_blocks_tests_and_a_message():
    in_code = {b.task for blocks in BLOCKS.values() for b in blocks}
    ids = [t.id for t in task_table.TASKS + task_table.PENDING]
    assert len(ids) == len(set(ids)) and len(task_table.TASKS) >= 10
    for task in task_table.TASKS:
        assert task.id in in_code, f"{task.id}: no solution block"
        assert MARKED.get(task.id) or task.doctests, f"{task.id}: no test"
        assert isinstance(task.points, int) and task.points > 0
        assert task.summary and task.todo and task.reference
        assert '"' not in MESSAGES[task.id] and "\\" not in MESSAGES[task.id]
    for task in task_table.PENDING:    # moved to TASKS when its blocks and tests are marked
        assert task.id not in in_code and task.id not in MARKED, task.id
        message = task_table.stub_message(task)
        assert '"' not in message and "\\" not in message and task.points > 0
    unknown = set(MARKED) - set(task_table.ids())
    assert not unknown, f"tests marked with unknown tasks: {sorted(unknown)}"


def test_the_doctests_of_a_task_exist():
    for task in task_table.TASKS:
        for node in task.doctests:
            rel, name = node.split("::")
            assert (ROOT / rel).is_file(), node
            module = rel[:-3].replace("/", ".")
            assert name == module or name.startswith(module + "."), node
            tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
            if name == module:
                doc = ast.get_docstring(tree)
            else:
                found = [n for n in ast.walk(tree) if getattr(n, "name", None)
                         == name.rsplit(".", 1)[1]]
                doc = ast.get_docstring(found[0]) if found else None
            assert doc and ">>>" in doc, f"{node} has no doctest"


@pytest.mark.parametrize("rel", sorted(BLOCKS))
def test_stripping_and_filling_back_is_byte_identical(rel):
    text = (ROOT / rel).read_bytes().decode("utf-8")
    here = {b.task for b in BLOCKS[rel]}
    stripped = strip(text, {t: MESSAGES[t] for t in here}, rel)
    assert stripped != text and stripped.count("raise NotImplementedError(") == len(BLOCKS[rel])
    assert fill(stripped, bodies(text, rel), rel).encode("utf-8") == (ROOT / rel).read_bytes()


@pytest.mark.parametrize("rel", sorted(BLOCKS))
def test_a_stripped_file_keeps_every_signature_and_docstring(rel):
    text = (ROOT / rel).read_text(encoding="utf-8")
    stripped = strip(text, MESSAGES, rel)

    def functions(source):
        return {node.name: (ast.dump(node.args), ast.get_docstring(node))
                for node in ast.walk(ast.parse(source))
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assert functions(stripped) == functions(text)
    assert ast.get_docstring(ast.parse(stripped)) == ast.get_docstring(ast.parse(text))


def test_the_scan_covers_the_package_source_only():
    assert set(scan(ROOT)) == set(BLOCKS)
    assert all(Path(rel).parts[0] in ("minicnn", "vis") for rel in BLOCKS)

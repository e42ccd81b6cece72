"""The engine's import graph: no cycles, one pinned back-edge, the old names still there.

Module-level imports between minicnn modules must form a DAG, so any module
can be imported first. The one import that points back up (``models.load``
needs the zoo, which reads files with ``io``, which rebuilds architectures
from ``models``) sits inside the function and is pinned here.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import minicnn

PACKAGE = Path(minicnn.__file__).resolve().parent


def _modules():
    """``{"minicnn.layers.conv": Path, ...}`` for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("minicnn",) + path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _resolve(name, path, node):
    """The minicnn modules an ``import`` / ``from ... import`` node in module ``name`` loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    if node.level:
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    return targets or ([base] if base in MODULES else [])


def _edges():
    """(module-level edges, function-level edges) between minicnn modules."""
    top, inner = set(), set()
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def visit(node, in_function):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    for target in _resolve(name, path, child):
                        if target != "minicnn":        # the package itself is always loaded
                            (inner if in_function else top).add((name, target))
                visit(child, in_function or isinstance(
                    child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
        visit(tree, False)
    return top, inner


def test_module_level_imports_have_no_cycle():
    top, _ = _edges()
    graph = {m: sorted(t for s, t in top if s == m) for m in MODULES}
    state = {}

    def visit(m, trail):
        if state.get(m) == "done":
            return
        assert state.get(m) != "open", "import cycle: " + " -> ".join(trail + [m])
        state[m] = "open"
        for t in graph[m]:
            visit(t, trail + [m])
        state[m] = "done"

    for m in graph:
        visit(m, [])
    assert ("minicnn.io", "minicnn.models") in top and ("minicnn.zoo", "minicnn.io") in top
    assert ("minicnn.fetch", "minicnn.zoo") in top


def test_the_only_function_level_import_is_models_load_to_the_zoo():
    _, inner = _edges()
    assert inner == {("minicnn.models", "minicnn.zoo")}


@pytest.mark.parametrize("first", ["minicnn", "minicnn.io", "minicnn.models", "minicnn.fetch",
                                   "minicnn.zoo", "minicnn.npzfile", "minicnn.net"])
def test_any_module_can_be_imported_first(first):
    code = f"import {first}, minicnn, minicnn.io, minicnn.models, minicnn.fetch, minicnn.zoo"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


def test_old_import_paths_are_the_new_objects():
    from minicnn import data, errors, fetch, io, kerasfile, net, npzfile, receptive_field
    from minicnn import tiny, torchfile, zoo
    assert fetch.list_models is zoo.list_models and fetch.sources is zoo.sources
    assert tiny.TEST_SEED is data.TEST_SEED == 12345
    assert (tiny.TRAIN_SEED, tiny.VAL_SEED) == (data.TRAIN_SEED, data.VAL_SEED) == (1, 2)
    assert torchfile.WeightFileError is errors.WeightFileError is kerasfile.WeightFileError
    assert torchfile.UnsafeFileError is errors.UnsafeFileError
    assert fetch.DownloadError is errors.DownloadError
    assert io.save is npzfile.save and io.load is npzfile.load
    assert minicnn.ReceptiveField is net.ReceptiveField is receptive_field.ReceptiveField


def _code_uses(path, module, attr=None):
    """Whether ``path`` imports ``module`` (or calls ``module.attr``) in its code."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if attr is None and isinstance(node, ast.Import):
            if any(a.name == module for a in node.names):
                return True
        if (attr is not None and isinstance(node, ast.Attribute) and node.attr == attr
                and isinstance(node.value, ast.Name) and node.value.id == module):
            return True
    return False


def test_one_did_you_mean_and_one_atomic_writer():
    assert [m for m, p in MODULES.items() if _code_uses(p, "difflib")] == ["minicnn.errors"]
    assert [m for m, p in MODULES.items() if _code_uses(p, "os", "replace")] == ["minicnn.files"]


def test_every_module_reads_in_one_sitting():
    """One concept per file: at most ~300 lines (the unpickler lecture excepted)."""
    long = {m: n for m, p in MODULES.items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert set(long) <= {"minicnn.torchfile"}, long

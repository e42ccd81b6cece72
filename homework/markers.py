r"""The marker grammar: solution blocks in the source, task marks on the tests.

A **solution block** is a run of lines inside a function body, between two
comment lines with the same indentation and the same task id::

    def backward(self, dout, rule="gradient", param_grads=False):
        '''dout: same shape as y -> dx. The three rules, side by side.'''
        check_rule(rule)
        # BEGIN SOLUTION relu-rules
        xp = get_array_module(dout)
        ...
        # END SOLUTION relu-rules

Rules: the id is lower-case words joined by hyphens and names a row of
``tasks.py``; blocks do not nest; every line of a block is indented at least
as far as its markers; a block holds code, lies inside a function and after
its docstring, so the signature and the docstring stay in a student copy. A
task may have several blocks (``conv-backward``: ``col2im`` and
``Conv2d.backward``). Any other line that looks like a marker is an error.

**Stripping** keeps both marker lines and replaces what lies between them by a
stub at the marker's indentation::

        # BEGIN SOLUTION relu-rules
        raise NotImplementedError(
            "relu-rules: return dx for the rule: ... "
            "...")
        # END SOLUTION relu-rules

so the student writes between the markers, the copy still imports (the rest
of the function becomes unreachable, not invalid), and putting the original
lines back (:func:`fill`) gives the file back byte for byte.

A **test of a task** carries ``@pytest.mark.task("<id>")``, one id per mark
(stack two marks for a test of two tasks); doctests are listed in
``tasks.py``. :func:`marked_tests` finds the marks without importing the tests.

Example:
    >>> text = ("def f(x):\n"
    ...         "    '''Twice x.'''\n"
    ...         "    # BEGIN SOLUTION twice\n"
    ...         "    return 2 * x\n"
    ...         "    # END SOLUTION twice\n")
    >>> [(b.task, b.begin, b.end) for b in parse(text)]
    [('twice', 2, 4)]
    >>> stripped = strip(text, {"twice": "twice: return 2 x"})
    >>> print(stripped, end="")
    def f(x):
        '''Twice x.'''
        # BEGIN SOLUTION twice
        raise NotImplementedError(
            "twice: return 2 x")
        # END SOLUTION twice
    >>> fill(stripped, bodies(text)) == text
    True
"""

import ast
import re
from pathlib import Path
from typing import NamedTuple

#: Folders of the package source that may hold solution blocks.
SOURCE_DIRS = ("minicnn", "vis")

_ID = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_MARKER = re.compile(rf"^(?P<indent>[ ]*)# (?P<kind>BEGIN|END) SOLUTION (?P<task>{_ID})[ \t]*$")
_LOOSE = re.compile(r"(BEGIN|END)\s+SOLUTION", re.IGNORECASE)
_WIDTH = 92                  # stub lines are wrapped to stay within this many columns


class MarkerError(ValueError):
    """A solution block that breaks the grammar; the message starts with ``path:line:``."""


class Block(NamedTuple):
    """One solution block of a file.

    Attributes:
        task: the task id.
        begin, end: 0-based line numbers of the BEGIN and END lines.
        indent: the markers' indentation (spaces).
        body: the lines between the markers, line endings included.
    """
    task: str
    begin: int
    end: int
    indent: str
    body: str


def parse(text, path="<text>"):
    """The solution blocks of a source text, in order.

    Raises:
        MarkerError: a malformed marker, a nested or unclosed block, an END that
            does not match its BEGIN, an empty block, or a line of a block
            indented less than its markers.
    """
    lines = text.splitlines(keepends=True)
    blocks, open_ = [], None
    for n, line in enumerate(lines):
        where = f"{path}:{n + 1}"
        m = _MARKER.match(line.rstrip("\r\n"))
        if m is None:
            if _LOOSE.search(line):
                raise MarkerError(f"{where}: malformed marker {line.strip()!r}; the grammar is "
                                  "'# BEGIN SOLUTION task-id' ... '# END SOLUTION task-id' "
                                  "on lines of their own")
            if open_ is not None and line.strip() and not line.startswith(open_[2]):
                raise MarkerError(f"{where}: a line of block {open_[0]!r} is indented less "
                                  f"than its BEGIN marker (line {open_[1] + 1})")
            continue
        kind, task, indent = m["kind"], m["task"], m["indent"]
        if kind == "BEGIN":
            if open_ is not None:
                raise MarkerError(f"{where}: BEGIN SOLUTION {task} inside block {open_[0]!r} "
                                  f"(opened on line {open_[1] + 1}); blocks do not nest")
            open_ = (task, n, indent)
            continue
        if open_ is None:
            raise MarkerError(f"{where}: END SOLUTION {task} without a BEGIN")
        if task != open_[0] or indent != open_[2]:
            raise MarkerError(f"{where}: END SOLUTION {task} does not close BEGIN SOLUTION "
                              f"{open_[0]} of line {open_[1] + 1} (same id and indentation "
                              "needed)")
        body = "".join(lines[open_[1] + 1:n])
        if not body.strip():
            raise MarkerError(f"{where}: block {task!r} is empty")
        blocks.append(Block(task, open_[1], n, indent, body))
        open_ = None
    if open_ is not None:
        raise MarkerError(f"{path}:{open_[1] + 1}: BEGIN SOLUTION {open_[0]} is never closed")
    return blocks


def _newline(text):
    return "\r\n" if "\r\n" in text else "\n"


def stub(indent, message, newline="\n"):
    """The stub lines: ``raise NotImplementedError(...)``, wrapped, at ``indent``.

    The message is split between words into string literals that Python joins
    back, so the raised message is exactly ``message``.
    """
    if '"' in message or "\\" in message:
        raise ValueError(f"a stub message holds no double quote or backslash: {message!r}")
    room = max(_WIDTH - len(indent) - 8, 30)
    pieces, line = [], ""
    for word in message.split(" "):
        if line and len(line) + len(word) + 1 > room:
            pieces.append(line + " ")
            line = word
        else:
            line = f"{line} {word}" if line else word
    pieces.append(line)
    literals = [f'{indent}    "{piece}"' for piece in pieces]
    literals[-1] += ")"
    return newline.join([f"{indent}raise NotImplementedError("] + literals) + newline


def strip(text, messages, path="<text>"):
    """Replace the body of every block whose task is in ``messages`` by its stub.

    Args:
        text: a source file.
        messages: ``{task id: stub message}`` of the tasks to strip.

    Returns:
        The stripped text (marker lines kept, everything else unchanged).
    """
    lines = text.splitlines(keepends=True)
    newline = _newline(text)
    for block in reversed(parse(text, path)):
        if block.task in messages:
            lines[block.begin + 1:block.end] = [stub(block.indent, messages[block.task],
                                                     newline)]
    return "".join(lines)


def bodies(text, path="<text>"):
    """``{task id: [body, ...]}``: what the blocks of ``text`` hold, in order."""
    found = {}
    for block in parse(text, path):
        found.setdefault(block.task, []).append(block.body)
    return found


def fill(text, solutions, path="<text>"):
    """Put ``solutions`` (``{task: [body, ...]}``, as :func:`bodies` gives) into the blocks.

    Blocks of other tasks are left as they are.

    Raises:
        MarkerError: the text has a different number of blocks for a task.
    """
    blocks = parse(text, path)
    for task, given in solutions.items():
        count = sum(block.task == task for block in blocks)
        if count != len(given):
            raise MarkerError(f"{path}: {count} block(s) of {task!r} where the solution "
                              f"has {len(given)}")
    lines = text.splitlines(keepends=True)
    seen = {}
    replacements = []
    for block in blocks:
        k = seen[block.task] = seen.get(block.task, -1) + 1
        if block.task in solutions:
            replacements.append((block, solutions[block.task][k]))
    for block, body in reversed(replacements):
        lines[block.begin + 1:block.end] = [body]
    return "".join(lines)


def source_files(root):
    """Relative paths (POSIX) of the Python files of ``SOURCE_DIRS`` under ``root``."""
    root = Path(root)
    return sorted(p.relative_to(root).as_posix() for folder in SOURCE_DIRS
                  for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)


def scan(root):
    """``{relative path: [Block, ...]}`` of every source file that has blocks."""
    found = {}
    for rel in source_files(root):
        text = (Path(root) / rel).read_text(encoding="utf-8")
        blocks = parse(text, rel)
        if blocks:
            found[rel] = blocks
    return found


def placement_errors(text, path="<text>"):
    """Blocks outside a function body, or before its docstring ends: one line each."""
    tree = ast.parse(text, path)
    functions = [node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    errors = []
    for block in parse(text, path):
        first = block.begin + 1                                  # 1-based BEGIN line
        inside = [f for f in functions if f.lineno < first <= f.end_lineno]
        if not inside:
            errors.append(f"{path}:{first}: block {block.task!r} is not inside a function")
            continue
        f = max(inside, key=lambda node: node.lineno)            # the innermost
        doc = f.body[0]
        if (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str) and first <= doc.end_lineno):
            errors.append(f"{path}:{first}: block {block.task!r} starts inside the docstring "
                          f"of {f.name}")
    return errors


def marked_tests(root, folder="tests"):
    """``{task id: [(relative path, test name), ...]}`` from the ``task`` marks in ``folder``.

    Reads the source with ``ast``. ``@pytest.mark.task("id")`` on a test
    function or method counts, one id per mark, and so does a mark inside its
    decorators (``pytest.param(..., marks=pytest.mark.task("id"))``); a mark
    anywhere else in the file (``pytestmark = ...``) is listed as ``"<module>"``.
    """
    root = Path(root)
    found = {}
    for path in sorted((root / folder).rglob("test_*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), rel)
        seen = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    for call in ast.walk(decorator):
                        task = _task_mark(call)
                        if task:
                            seen.add(id(call))
                            found.setdefault(task, []).append((rel, node.name))
        for call in ast.walk(tree):
            task = _task_mark(call)
            if task and id(call) not in seen:
                found.setdefault(task, []).append((rel, "<module>"))
    return found


def _task_mark(node):
    """The id of a ``pytest.mark.task("id")`` call, else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "task" and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "mark" and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return None

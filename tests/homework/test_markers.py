"""The marker grammar on small texts: parse, strip, fill, and every error it names."""

import textwrap

import pytest

from homework.markers import (MarkerError, bodies, fill, marked_tests, parse,
                              placement_errors, strip, stub)

SOURCE = textwrap.dedent('''\
    def twice(x):
        """Twice x."""
        # BEGIN SOLUTION twice
        y = 2 * x
        return y
        # END SOLUTION twice


    class Layer:
        def forward(self, x):
            """Shapes first."""
            self.x = x
            # BEGIN SOLUTION layer
            out = x + 1
            # END SOLUTION layer
            return out

        def backward(self, dout):
            # BEGIN SOLUTION layer
            return dout
            # END SOLUTION layer
    ''')
LONG = ("layer: " + "a long message about what to write, " * 6
        + "with H'*W' and the paper; see Sec. 3, Eq. 1-2")


def test_parse_finds_every_block_in_order():
    blocks = parse(SOURCE)
    assert [(b.task, b.begin, b.end, len(b.indent)) for b in blocks] == [
        ("twice", 2, 5, 4), ("layer", 12, 14, 8), ("layer", 18, 20, 8)]
    assert blocks[0].body == "    y = 2 * x\n    return y\n"
    assert bodies(SOURCE) == {"twice": ["    y = 2 * x\n    return y\n"],
                              "layer": ["        out = x + 1\n", "        return dout\n"]}


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_strip_then_fill_gives_back_the_same_bytes(newline):
    text = SOURCE.replace("\n", newline)
    stripped = strip(text, {"twice": "twice: double it", "layer": LONG})
    assert stripped != text and stripped.count("raise NotImplementedError(") == 3
    assert "2 * x" not in stripped and "return dout" not in stripped
    assert "\r\n" not in stripped.replace(newline, "") and stripped.count("BEGIN SOLUTION") == 3
    assert fill(stripped, bodies(text)) == text
    only = strip(text, {"layer": LONG})                  # other tasks are left alone
    assert "2 * x" in only and fill(only, {"layer": bodies(text)["layer"]}) == text


def test_a_stub_raises_exactly_its_message_and_the_rest_still_runs():
    stripped = strip(SOURCE, {"twice": "twice: double it", "layer": LONG})
    assert max(len(line) for line in stripped.splitlines()) <= 92
    namespace = {}
    exec(compile(stripped, "stripped.py", "exec"), namespace)
    with pytest.raises(NotImplementedError) as e:
        namespace["twice"](3)
    assert str(e.value) == "twice: double it"
    layer = namespace["Layer"]()
    with pytest.raises(NotImplementedError) as e:
        layer.forward(1)
    assert str(e.value) == LONG and layer.x == 1          # the lines before the block ran
    assert namespace["twice"].__doc__ == "Twice x."


BAD = [
    ("def f():\n    # BEGIN SOLUTION a\n    pass\n", 2, "never closed"),
    ("def f():\n    pass\n    # END SOLUTION a\n", 3, "without a BEGIN"),
    ("def f():\n    # BEGIN SOLUTION a\n    # BEGIN SOLUTION b\n    pass\n", 3, "do not nest"),
    ("def f():\n    # BEGIN SOLUTION a\n    pass\n    # END SOLUTION b\n", 4, "does not close"),
    ("def f():\n    # BEGIN SOLUTION a\n    if 1:\n        pass\n        # END SOLUTION a\n",
     5, "does not close"),
    ("def f():\n    # BEGIN SOLUTION a\n\n    # END SOLUTION a\n", 4, "empty"),
    ("def f():\n    # BEGIN SOLUTION\n    pass\n", 2, "malformed"),
    ("def f():\n    #BEGIN SOLUTION a\n    pass\n", 2, "malformed"),
    ("def f():\n    # BEGIN SOLUTION Conv_Forward\n    pass\n", 2, "malformed"),
    ("def f():\n    # BEGIN SOLUTION a\n    pass\n    # END SOLUTION\n", 4, "malformed"),
    ("def f():\n    x = 1  # BEGIN SOLUTION a\n", 2, "malformed"),
    ("def f():\n    if 1:\n        # BEGIN SOLUTION a\n        x = 1\n    y = 2\n"
     "        # END SOLUTION a\n", 5, "indented less"),
]


@pytest.mark.parametrize("text,line,what", BAD)
def test_grammar_errors_name_the_file_and_line(text, line, what):
    with pytest.raises(MarkerError, match=rf"^f\.py:{line}: .*{what}"):
        parse(text, "f.py")


def test_fill_refuses_a_different_number_of_blocks():
    with pytest.raises(MarkerError, match="1 block.*'layer'.*has 3"):
        fill(SOURCE.split("class Layer")[0] + "class Layer:\n    def backward(self, d):\n"
             "        # BEGIN SOLUTION layer\n        return d\n        # END SOLUTION layer\n",
             {"layer": ["a\n", "b\n", "c\n"]})


def test_blocks_must_sit_in_a_function_after_its_docstring():
    assert placement_errors(SOURCE) == []
    module_level = "x = 1\n# BEGIN SOLUTION a\ny = 2\n# END SOLUTION a\n"
    assert placement_errors(module_level, "m.py") == ["m.py:2: block 'a' is not inside a function"]
    in_docstring = ('def f():\n    """Doc.\n    # BEGIN SOLUTION a\n    y = 2\n'
                    '    # END SOLUTION a\n    """\n    return 1\n')
    assert placement_errors(in_docstring, "m.py") == [
        "m.py:3: block 'a' starts inside the docstring of f"]


def test_stub_messages_hold_no_quote_or_backslash():
    assert stub("    ", "a: b") == '    raise NotImplementedError(\n        "a: b")\n'
    for bad in ['a: say "x"', "a: c:\\path"]:
        with pytest.raises(ValueError, match="no double quote or backslash"):
            stub("", bad)


def test_marked_tests_reads_the_decorators(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(textwrap.dedent('''\
        import pytest

        @pytest.mark.task("a")
        @pytest.mark.parametrize("n", [1, 2])
        def test_one(n):
            pass

        @pytest.mark.task("a")
        @pytest.mark.task("b")
        def test_two():
            pass

        class TestThree:
            @pytest.mark.task("c")
            def test_method(self):
                pass

        def test_unmarked():
            pass

        @pytest.mark.parametrize("k", [1, pytest.param(2, marks=pytest.mark.task("d"))])
        def test_param(k):
            pass
        '''))
    (tmp_path / "tests" / "test_y.py").write_text('import pytest\n'
                                                   'pytestmark = pytest.mark.task("e")\n')
    assert marked_tests(tmp_path) == {"a": [("tests/test_x.py", "test_one"),
                                            ("tests/test_x.py", "test_two")],
                                      "b": [("tests/test_x.py", "test_two")],
                                      "c": [("tests/test_x.py", "test_method")],
                                      "d": [("tests/test_x.py", "test_param")],
                                      "e": [("tests/test_y.py", "<module>")]}


def test_the_examples_in_the_homework_docstrings():
    """``homework/`` is not in setup.cfg's testpaths: run its doctests here."""
    import doctest

    import homework.markers
    import homework.tasks
    for module in (homework.markers, homework.tasks):
        failed, attempted = doctest.testmod(module)
        assert attempted > 0 and failed == 0, module.__name__

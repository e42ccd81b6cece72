"""Homework from the package's own code and tests (after needle and minitorch).

A lecturer hands out parts of minicnn as homework::

    minicnn homework make --all                              # the tasks and their points
    minicnn homework make --tasks conv-forward,relu-rules --out hw1
    minicnn homework grade hw1                               # table + hw1/score.json

* ``tasks.py``: the table of tasks: id, one-line summary, points, what to
  implement, and where the equation is (paper and section).
* ``markers.py``: the marker grammar: ``# BEGIN SOLUTION <id>`` /
  ``# END SOLUTION <id>`` around a solution block in ``minicnn/`` or ``vis/``,
  ``@pytest.mark.task("<id>")`` on its tests.
* ``make.py``: a student copy of the repository, each chosen block replaced
  by a stub that raises ``NotImplementedError("<id>: <what>; see <where>")``.
* ``grade.py``: runs each task's tests in the copy, one process per task with
  a time limit, and writes the score.
* ``pytest_plugin.py``: ``python -m pytest -p homework.pytest_plugin --task ID``
  runs one task's tests; in a copy, tests that only wait for a stub are skipped.

``homework/`` is not part of the installed package: the commands run from a
clone (``pip install -e .``).
"""

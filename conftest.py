"""Project-wide pytest setup: the homework plugin (task marks, --task ID, blocked stubs)."""

pytest_plugins = ("homework.pytest_plugin",)

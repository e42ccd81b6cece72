"""The method registry (vis/registry.py): one record per method, and everything built from it."""

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import vis
from vis import cli
from vis.registry import METHODS, SECTIONS, evaluated, map_methods

ROOT = Path(__file__).resolve().parents[2]


def subcommands():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_every_record_has_a_subcommand_with_its_options():
    commands = subcommands()
    for name, record in METHODS.items():
        assert name in commands, name
        flags = {s for a in commands[name]._actions for s in a.option_strings}
        for option in record.options:
            assert option.cli_flag in flags, (name, option.name)
            assert option.source, (name, option.name)          # every default cites its source


def test_every_record_has_a_tour_section_and_a_readme_row():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, record in METHODS.items():
        assert record.section in SECTIONS, name
        assert re.search(rf"`minicnn {re.escape(name)}\b", readme), f"README row for {name}"


def test_every_record_function_is_public_and_its_options_are_its_arguments():
    for name, record in METHODS.items():
        fn = record.function
        assert getattr(vis, fn.__name__) is fn, f"vis.{fn.__name__}"
        params = inspect.signature(fn).parameters
        for option in record.options:
            # a map method's options are its arguments (localize's --from picks the map;
            # dataset and image commands also choose their data: --n, --steps)
            if record.kind == "map" and name != "localize":
                assert option.name in params, (name, option.name)
            elif option.name not in ("n", "source", "steps", "octaves", "xi"):
                assert option.name in params, (name, option.name)
        for option, value in (record.evaluation or {}).items():
            assert option in params, (name, option)


def test_every_public_method_function_has_a_record():
    """Each name vis exports from a method folder is a record's function (or a helper of one)."""
    recorded = {m.function.__name__ for m in METHODS.values()}
    helpers = {"activation_grid", "filter_grid", "gradients", "segment", "box_iou",
               "energy_inside", "evaluate", "pointing_game", "codes", "grid_layout",
               "label_agreement", "pca", "invert_layers", "average_pooling", "attack_summary",
               "robustness_curve"}
    missing = [n for n in vis.__all__ if n not in recorded | helpers]
    assert not missing


def test_the_localization_table_and_map_commands_come_from_the_records():
    assert set(evaluated()) <= set(map_methods())
    assert evaluated()["occlusion"] == {"window": 16, "stride": 8}
    assert "localize" not in map_methods() and "activations" not in map_methods()


FORBIDDEN = ("vis.draw", "vis.registry", "vis.tour", "vis.commands", "vis.cli", "matplotlib",
             "vis.explain", "vis.inputs")
CORE = ["attribution", "localization", "features", "synthesis", "adversarial", "objectives"]


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names += [base] + [f"{base}.{a.name}" for a in node.names]
    return names


@pytest.mark.parametrize("path", sorted(p for folder in CORE for p in (ROOT / "vis" / folder)
                                        .rglob("*.py"))
                         + [ROOT / "vis" / f for f in ("targets.py", "netinfo.py",
                                                         "optimize.py",
                                                         "transforms.py")
                            if (ROOT / "vis" / f).exists()],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_methods_never_import_drawing_registry_tour_or_commands(path):
    bad = [n for n in _imports(path) if n.startswith(FORBIDDEN)]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_importing_a_method_folder_loads_no_drawing():
    code = ("import sys, vis.attribution, vis.localization, vis.features, vis.targets, "
            "vis.netinfo; bad = [m for m in ('matplotlib', 'vis.draw', 'vis.tour', "
            "'vis.registry', 'vis.commands') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_every_option_without_a_default_says_what_its_absence_means():
    from vis.commands.common import help_text
    unsaid = [(m.name, o.name) for m in METHODS.values() for o in m.options
              if o.default is None and not o.absent.strip()]
    assert unsaid == []
    window = next(o for o in METHODS["occlusion"].options if o.name == "window")
    assert help_text(window).startswith("square side in pixels (default: 8 px at 64x64, ")
    assert all("None" not in help_text(o) for m in METHODS.values() for o in m.options)

"""benchmarks/bench.py: runs from a clone, outside the package, with its documented options."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import minicnn

ROOT = Path(minicnn.__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_harness_is_not_in_the_package():
    assert BENCH.is_file() and not (ROOT / "minicnn" / "bench.py").exists()


def test_defaults_are_the_readme_ones(bench):
    args = bench.parser().parse_args([])
    assert (args.batch, args.mode, args.rounds, args.repeat, args.threads, args.no_torch) == \
        ([1, 8], ["forward", "grad"], 5, 5, 2, False)
    args = bench.parser().parse_args(["--batch", "2", "--mode", "grad", "--rounds", "1",
                                      "--repeat", "3", "--threads", "1", "--no-torch"])
    assert (args.batch, args.mode, args.rounds, args.repeat, args.threads, args.no_torch) == \
        ([2], ["grad"], 1, 3, 1, True)
    with pytest.raises(SystemExit):
        bench.main(["--rounds", "0"])


def test_vgg16_flops_count(bench):
    # 15.47 GMACs for VGG16 at 224 (convs 15.35 + fcs 0.12): 30.9 GFLOPs forward.
    assert bench.vgg16_flops(1, backward=False) == 30_940_528_640
    assert bench.vgg16_flops(8, backward=True) == 16 * 30_940_528_640


def test_help_runs_as_a_script_from_anywhere(tmp_path):
    out = subprocess.run([sys.executable, str(BENCH), "--help"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    for option in ("--batch", "--mode", "--rounds", "--repeat", "--threads", "--no-torch"):
        assert option in out
    assert "--worker" not in out and "(default: 5)" in out


def test_json_figures_and_no_overwrite(bench, tmp_path, capsys):
    out = tmp_path / "bench.json"
    results = bench.main(["--rows", "tiny", "--rounds", "1", "--repeat", "1", "--no-torch",
                          "--json", str(out)])
    saved = json.loads(out.read_text())
    assert list(saved["results"]) == ["tiny 400 fwd"] == list(results)
    assert saved["results"]["tiny 400 fwd"]["ms"] == results["tiny 400 fwd"]["ms"] > 0
    assert (saved["threads"], saved["rounds"], saved["repeat"]) == (2, 1, 1)
    with pytest.raises(SystemExit):
        bench.main(["--rows", "tiny", "--json", str(out)])
    assert "exists" in capsys.readouterr().err


def test_default_rows_are_every_table_but_the_per_layer_one(bench, monkeypatch):
    assert bench.parser().parse_args([]).rows is None        # decided by --device
    asked = []
    monkeypatch.setattr(bench, "configurations", lambda args: asked.append(args.rows) or [])
    bench.main(["--no-torch"])
    assert asked == [["vgg16", "style", "tiny"]]


def test_gpu_and_json_refused_before_any_timing(bench, monkeypatch, capsys, tmp_path):
    """Without CuPy, --device gpu is one error before any worker starts; so are the GPU
    rows that do not exist and a --json file under a file."""
    from minicnn import backend
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", "ModuleNotFoundError: No module named 'cupy'")
    monkeypatch.setattr(bench, "_run", lambda *a: pytest.fail("a worker ran"))
    for argv, says in ((["--device", "gpu"], "needs CuPy"),
                       (["--device", "gpu", "--rows", "style"], "vgg16 and layers rows only"),
                       (["--json", str(tmp_path / "f" / "x.json")], "is a file, not a folder")):
        (tmp_path / "f").write_text("")
        with pytest.raises(SystemExit) as e:
            bench.main(argv)
        assert e.value.code == 2 and says in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script")
def test_gpu_script_refuses_without_a_gpu_and_writes_nothing(tmp_path):
    from minicnn.backend import gpu_available
    script = ROOT / "benchmarks" / "gpu.sh"
    usage = subprocess.run(["sh", str(script)], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage" in usage.stderr
    if gpu_available():
        return
    done = subprocess.run(["sh", str(script), str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "CuPy" in done.stderr
    assert not (tmp_path / "out").exists()

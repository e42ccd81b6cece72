"""The tour (vis/tour.py): the gallery, its links, the localization table, safe writing."""

import csv
import json
import re

import numpy as np
import pytest
from PIL import Image

from minicnn import io, models
from minicnn.data import CLASS_NAMES
from vis import cli
from vis.tour import page
from vis.registry import evaluated
from vis.tour import run_tour


def small_tiny():
    return models.tiny(width=(4, 8), class_names=list(CLASS_NAMES))


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """One quick tour shared by the read-only tests: 2 samples, 6 evaluation images."""
    out = tmp_path_factory.mktemp("tours") / "tour"
    return out, run_tour(small_tiny(), out, samples=2, n_eval=6, quick=True, progress=False)


def links(index):
    return re.findall(r'(?:src|href)="([^"]+)"', index.read_text(encoding="utf-8"))


def test_index_references_only_files_that_exist(done):
    out, result = done
    refs = [r for r in links(out / "index.html") if not r.startswith("#")]
    assert refs and all(not r.startswith(("/", "http:", "https:", "..")) for r in refs)
    missing = [r for r in refs if not (out / r).is_file()]
    assert not missing
    pngs = {p.name for p in out.glob("*.png")}
    assert pngs <= set(refs)                      # every picture is shown
    assert set(result["files"]) == {p.name for p in out.iterdir()}
    for name in ("sample0_saliency.png", "sample1_gradcam.png", "filters.png",
                 "activations_relu1_1.png", "sample1_localize.png"):
        assert name in pngs
    with Image.open(out / "sample0_guided.png") as img:
        assert img.format == "PNG" and img.size == (2 * 192 + 4, 192)   # map | overlay at 3x
        assert np.ptp(np.asarray(img)) > 0


def test_index_has_the_lecture_sections_and_captions(done):
    out, _ = done
    page = (out / "index.html").read_text(encoding="utf-8")
    for title in ("The network", "Gradients and rules", "Beyond the gradient",
                  "Class activation maps", "Occlusion", "Localization",
                  "How well do they localize?"):
        assert f"<h2>{title}</h2>" in page
    assert "dout * (x &gt; 0) * (dout &gt; 0)" in page           # the rule table, escaped
    assert "Simonyan et al. 2014, Sec. 3.1" in page and "Zhou et al. 2016" in page
    assert re.search(r"Grad-CAM \(sample0\): layer relu2_2, target \w+ \(\d\)", page)
    assert "<pre>" in page and "Total params" in page


def test_localization_table_one_row_per_method_in_unit_range(done):
    out, result = done
    table = result["localization"]
    assert list(table) == list(evaluated()) + ["centre"]
    for row in table.values():
        for key in ("pointing", "pointing_box", "box_iou", "energy"):
            assert 0.0 <= row[key] <= 1.0
    # a map peaked in the middle points to the middle: the centre prior is deterministic
    assert result["n_eval"] == 6
    saved = json.loads((out / "localization.json").read_text())
    assert saved["methods"] == table and saved["n_eval"] == 6
    with open(out / "localization.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == list(table)
    assert all(abs(float(r["pointing"]) - table[r["method"]]["pointing"]) < 1e-4 for r in rows)
    assert table["occlusion"]["settings"] == "window=16, stride=8"


def test_top_classes_are_returned(done):
    _, result = done
    assert [t["name"] for t in result["top"]] == ["sample0", "sample1"]
    for t in result["top"]:
        assert t["label"] in CLASS_NAMES and len(t["top5"]) == 5
        probs = [p for _, _, p in t["top5"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9


def test_refuses_a_non_empty_out_without_force(tmp_path):
    out = tmp_path / "tour"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="--force"):
        run_tour(small_tiny(), out, samples=1, n_eval=0, quick=True, progress=False)
    with pytest.raises(FileExistsError, match="not a minicnn tour"):   # --force never wipes it
        run_tour(small_tiny(), out, samples=1, n_eval=0, quick=True, force=True, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["tour"]
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_force_replaces_a_previous_tour(tmp_path):
    out = tmp_path / "tour"
    run_tour(small_tiny(), out, samples=2, n_eval=0, quick=True, progress=False)
    assert (out / "sample1_cam.png").is_file()
    result = run_tour(small_tiny(), out, samples=1, n_eval=0, quick=True, force=True,
                      progress=False)
    assert not (out / "sample1_cam.png").exists()                 # the old tour is gone
    assert {p.name for p in out.iterdir()} == set(result["files"])
    assert [p.name for p in tmp_path.iterdir()] == ["tour"]       # no temporary folders
    assert result["localization"] == {}
    assert "Not evaluated: n_eval is 0" in (out / "index.html").read_text()


def test_unwritable_out_is_one_clear_error_and_nothing_is_written(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(PermissionError, match="cannot write the tour to .*afile"):
        run_tour(small_tiny(), afile / "tour", samples=1, n_eval=0, quick=True, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]


def test_a_failure_half_way_leaves_nothing(tmp_path, monkeypatch):
    def broken(folder, arch, sections):
        raise RuntimeError("disk full")
    monkeypatch.setattr(page, "write_index", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_tour(small_tiny(), tmp_path / "tour", samples=1, n_eval=2, quick=True,
                 progress=False)
    assert list(tmp_path.iterdir()) == []


def test_tour_on_given_images(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "grey.png"
    Image.fromarray(rng.integers(0, 256, (70, 90), dtype=np.uint8), mode="L").save(path)
    result = run_tour(small_tiny(), tmp_path / "tour", images=[path], n_eval=0, quick=True,
                      progress=False)
    assert [t["name"] for t in result["top"]] == ["grey"] and result["top"][0]["label"] is None
    assert "converted L image to RGB" in result["notes"][0]
    assert (tmp_path / "tour" / "grey_localize.png").is_file()


def test_cli_tour(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINICNN_WEIGHTS", str(tmp_path / "weights"))
    io.save(small_tiny(), tmp_path / "weights" / "tiny.npz")
    out = tmp_path / "tour"
    argv = ["tour", "--out", str(out), "--quick", "--samples", "1", "--n-eval", "3",
            "--no-progress"]
    assert cli.main(argv) == 0
    stdout = capsys.readouterr().out
    assert "Guided Grad-CAM" in stdout and "(3 shapes test images)" in stdout
    assert f"open {out / 'index.html'}" in stdout
    assert cli.main(argv) == 2                                   # exists: refuse
    err = capsys.readouterr().err.strip()
    assert "--force" in err and "\n" not in err
    assert cli.main(argv + ["--force"]) == 0
    assert cli.main(["tour", "--out", str(tmp_path / "t2"), "--samples", "0"]) == 2


def test_force_never_deletes_a_file_the_tour_did_not_write(tmp_path):
    out = tmp_path / "tour"
    run_tour(small_tiny(), out, samples=1, n_eval=0, quick=True, progress=False)
    (out / "my-notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="my-notes.txt.*did not write"):
        run_tour(small_tiny(), out, samples=1, n_eval=0, quick=True, force=True,
                 progress=False)
    assert (out / "my-notes.txt").read_text() == "mine"


def test_a_second_tour_into_the_same_folder_is_refused_while_one_runs(tmp_path):
    out = tmp_path / "tour"
    (tmp_path / ".tour.lock").write_text("")                 # as a running tour holds it
    with pytest.raises(FileExistsError, match="another tour is writing"):
        run_tour(small_tiny(), out, samples=1, n_eval=0, quick=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tour.lock"]
    (tmp_path / ".tour.lock").unlink()
    run_tour(small_tiny(), out, samples=1, n_eval=0, quick=True, progress=False)
    assert not (tmp_path / ".tour.lock").exists()             # released


def test_tour_of_a_net_without_scores_projects_units(tmp_path):
    from minicnn.net import Net
    net = small_tiny()
    trunk = Net([layer for layer in net.layers if layer.name not in ("gap", "fc")],
                dict(net.meta, arch="trunk"))
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 80, 3), np.uint8)).save(path)
    result = run_tour(trunk, tmp_path / "tour", images=[path], n_eval=0, quick=True,
                      progress=False)
    page_ = (tmp_path / "tour" / "index.html").read_text(encoding="utf-8")
    assert "<h2>A real photo through trunk</h2>" in page_
    assert "Gradients and rules" not in page_ and result["localization"] == {}
    for layer in ("relu1_2", "relu2_2"):
        with Image.open(tmp_path / "tour" / f"photo_{layer}_rules.png") as img:
            assert img.size == (4 * 64 + 3 * 4, 64)           # image | 3 rules
    assert re.search(r"the most active unit of relu2_2 \(channel \d+ at row \d+, column \d+\)",
                     page_)


def test_the_wants_section_shows_class_models_and_units(tmp_path):
    """Class models of every class, and 8 maximized units whose images are not a flat grey."""
    from vis.inputs import shapes_samples
    from vis.netinfo import class_names
    from vis.tour.gallery import Gallery
    from vis.tour.synthesis import wants_section
    net = models.load("tiny")
    made = Gallery(net, tmp_path, shapes_samples(range(1), net), class_names(net),
                 quick=False, progress=False)
    section, title, html = wants_section(made)
    assert section == "wants" and html.count("<figure") == 3
    with Image.open(tmp_path / "maximize.png") as img:
        picture = np.asarray(img.convert("RGB"), np.float64)
    width = picture.shape[1] // 8
    tiles = [picture[:, k * width:(k + 1) * width - 8] for k in range(8)]
    assert all(tile.std() > 5 for tile in tiles), [round(t.std(), 1) for t in tiles]

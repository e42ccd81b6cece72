"""The dataset subcommands (vis/commands/dataset.py), run in-process on small sets."""

import re

import numpy as np
import pytest
from PIL import Image

from minicnn import models
from vis import cli


def run(*argv):
    return cli.main([str(a) for a in argv])


def picture(path):
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def test_patches_writes_both_projections_and_a_page(tmp_path, capsys):
    out = tmp_path / "o"
    assert run("patches", "--n", 40, "--channels", 1, 5, "-k", 4, "--out", out) == 0
    for rule in ("deconvnet", "guided"):
        pixels = picture(out / f"tiny_patches_relu4_2_{rule}.png")
        assert pixels.shape[0] > 2 * 4 and np.ptp(pixels) > 0
    page = (out / "tiny_patches_relu4_2.html").read_text(encoding="utf-8")
    assert page.count("<tr>") == 2 and len(re.findall(r"image \d+", page)) == 2 * 4
    assert run("patches", "--n", 40, "--channels", 99, "--out", tmp_path / "p") == 2
    assert "64 channels" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_neighbours_print_both_agreement_rates(tmp_path, capsys):
    assert run("neighbours", "--n", 120, "--queries", 3, "-k", 4, "--out", tmp_path) == 0
    rates = [float(r) for r in re.findall(r"query's label: ([0-9.]+)", capsys.readouterr().out)]
    assert len(rates) == 2 and rates[0] > rates[1]            # code space beats pixel space
    assert picture(tmp_path / "tiny_neighbours_code.png").shape[1] > 5 * 64


def test_embed_writes_tsne_grid_and_pca(tmp_path, capsys):
    assert run("embed", "--n", 60, "--perplexity", 10, "--out", tmp_path) == 0
    for kind in ("tsne", "grid", "pca"):
        assert np.ptp(picture(tmp_path / f"tiny_{kind}_gap.png")) > 0
    assert "explained variance" in capsys.readouterr().out
    assert run("embed", "--n", 60, "--layer", "nope", "--out", tmp_path / "x") == 2
    assert "nope" in capsys.readouterr().err


def test_bias_prints_the_table(tmp_path, capsys):
    try:
        models.load("tiny_biased")
    except FileNotFoundError:
        pytest.skip("tiny_biased is not installed")
    assert run("bias", "--n", 64, "--out", tmp_path) == 0
    out = capsys.readouterr().out
    row = re.search(r"biased_without_mark\s+([0-9.]+)\s+([0-9.]+)", out)
    assert row and float(row.group(1)) < float(row.group(2))   # the biased model misses it
    assert (tmp_path / "tiny_biased_bias.png").is_file()

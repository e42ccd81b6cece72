"""The synthesis subcommands (vis/commands/synthesis.py), with tiny budgets."""

import re
import shutil

import numpy as np
import pytest
from PIL import Image

from minicnn import io, models, zoo
from vis import cli


def run(*argv):
    return cli.main([str(a) for a in argv])


def pixels(path):
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def test_class_model_writes_images_and_a_loss_plot(tmp_path, capsys):
    assert run("class-model", "--target", "star", "circle", "--steps", 8, "--out", tmp_path) == 0
    out = capsys.readouterr().out
    score = float(re.search(r"score ([-0-9.e+]+)", out).group(1))
    assert score > 1.0                                    # ascent raised the class scores
    picture = pixels(tmp_path / "tiny_class_model_score.png")
    assert picture.shape[1] >= 2 * 192 and np.ptp(picture) > 0
    assert np.ptp(pixels(tmp_path / "tiny_class_model_score_loss.png")) > 0
    assert run("class-model", "--target", "hexagon", "--out", tmp_path / "x") == 2
    assert "hexagon" in capsys.readouterr().err and not (tmp_path / "x").exists()


@pytest.mark.parametrize("argv, files", [
    (["maximize", "--channels", "0", "3", "--steps", "4"], ["tiny_maximize_relu4_2.png"]),
    (["invert", "--sample", "0", "--layer", "relu2_2", "--steps", "4"],
     ["tiny_invert_relu2_2.png"]),
    (["texture", "--steps", "4"], ["tiny_texture.png"]),
    (["dream", "--octaves", "1", "--steps", "2"], ["tiny_dream.png"]),
])
def test_each_synthesis_command_on_tiny(argv, files, tmp_path):
    assert run(*argv, "--model", "tiny", "--out", tmp_path) == 0
    for name in files:
        assert np.ptp(pixels(tmp_path / name)) > 0
        assert (tmp_path / name.replace(".png", "_loss.png")).is_file()


@pytest.fixture(params=["as installed", "without vgg16_hed"])
def weights_folder(request, tmp_path, monkeypatch):
    """The weights as this machine has them, then a folder with the shipped tiny only
    (the photo commands fall back to tiny and say so)."""
    if request.param == "without vgg16_hed":
        folder = tmp_path / "weights"
        folder.mkdir()
        shutil.copy(io.weights_dir() / "tiny.npz", folder / "tiny.npz")
        monkeypatch.setenv("MINICNN_WEIGHTS", str(folder))
    return request.param


@pytest.mark.parametrize("argv, words", [
    (["maximize", "--preset", "nope"], "nope"),
    (["maximize", "--layer", "conv9"], "conv9"),
    (["style", "--model", "tiny"], "relu5_1"),
    (["dream", "--layer", "conv9"], "conv9"),
    (["dream", "--size", "5"], "too small"),
    (["invert", "--layer", "conv9"], "conv9"),
    (["invert", "--size", "4"], "too small"),
    (["texture", "--image", "no_such.png"], "no_such.png"),
    (["texture", "--size", "3"], "too small"),
])
def test_bad_synthesis_input_is_one_line(argv, words, weights_folder, tmp_path, capsys):
    assert run(*argv, "--steps", 2, "--out", tmp_path / "o") == 2, argv
    err = capsys.readouterr().err.strip()
    assert err.startswith("minicnn: error:") and "\n" not in err and words in err, err
    assert not (tmp_path / "o").exists()


def test_a_taken_output_is_refused_before_any_work(weights_folder, tmp_path, capsys):
    """The run is not spent and then lost: the refusal comes before the first step."""
    for argv in (["dream", "--octaves", "1", "--steps", 2], ["maximize", "--steps", 2],
                 ["invert", "--sample", 0, "--layer", "relu2_2", "--steps", 2]):
        assert run(*argv, "--model", "tiny", "--out", tmp_path) == 0
        capsys.readouterr()
        assert run(*argv, "--model", "tiny", "--out", tmp_path) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("minicnn: error:") and "exists" in err and "\n" not in err, err


def test_the_fallback_to_tiny_is_said_once(weights_folder, tmp_path, capsys):
    assert run("invert", "--size", 32, "--layer", "conv1_1", "relu1_2", "--steps", 2,
               "--out", tmp_path) == 0                   # two results, one note
    err = capsys.readouterr().err
    installed = {m["name"]: m["installed"] for m in zoo.list_models()}
    fell_back = not installed.get("vgg16_hed")
    assert err.count("made with tiny") == (1 if fell_back else 0), err


def test_style_on_the_real_vgg16(tmp_path, capsys):
    try:
        models.load("vgg16_hed")
    except FileNotFoundError:
        pytest.skip("vgg16_hed is not installed")
    assert run("style", "--size", 48, "--steps", 4, "--out", tmp_path) == 0
    assert (tmp_path / "vgg16_hed_style_gatys2016.png").is_file()


def test_class_model_reports_the_objective_its_progress_bar_shows(tmp_path, capsys):
    from vis.synthesis import class_model
    assert run("class-model", "--target", "star", "circle", "--steps", 5, "--out",
               tmp_path) == 0
    captured = capsys.readouterr()
    net = models.load("tiny")
    r = class_model(net, [3, 0], steps=5, progress=False)           # the same run
    bar = captured.err.strip().splitlines()[-1]
    assert "\r" not in captured.err                                 # not a terminal
    assert bar.endswith(f"objective {np.sum(r.history['objective'][-1]):.4g}")
    said = (f"5 steps; at the result: objective {np.sum(r.final['objective']):.4g} (sum over "
            f"the 2 images), score {np.sum(r.final['score']):.4g}")
    assert said in captured.out and "(steps)" not in captured.out


def test_dream_names_the_layer_it_used(tmp_path, capsys):
    from vis.synthesis.common import middle_conv
    assert run("dream", "--model", "tiny", "--octaves", 1, "--steps", 2, "--out", tmp_path) == 0
    out = capsys.readouterr().out
    assert f"layer {middle_conv(models.load('tiny'))}, 1 octave: 2 steps;" in out
    assert "default" not in out and "None" not in out

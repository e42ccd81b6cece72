"""The adversarial subcommands (vis/commands/adversarial.py), with small budgets."""

import re

import numpy as np
from PIL import Image

from vis import cli


def run(*argv):
    return cli.main([str(a) for a in argv])


def test_fgsm_writes_three_panels_and_both_top5_lists(tmp_path, capsys):
    assert run("fgsm", "--sample", 1, "--out", tmp_path) == 0
    out = capsys.readouterr().out
    assert "before: " in out and "after:  " in out
    linf = float(re.search(r"L-inf ([0-9.]+)", out).group(1))
    assert 0.5 * 8 / 255 < linf <= 8 / 255 + 1e-4      # moved, within the epsilon ball
    with Image.open(tmp_path / "sample1_tiny_fgsm.png") as img:
        assert img.width >= 3 * 256


def test_fool_needs_a_target_and_reaches_it(tmp_path, capsys):
    assert run("fool", "--target", "star", "--sample", 0, "--out", tmp_path) == 0
    assert re.search(r"-> star \([0-9.]+\): fooled", capsys.readouterr().out)
    assert run("fool", "--out", tmp_path / "x") == 2    # argparse: --target is required
    err = capsys.readouterr().err.strip()
    assert err == ("minicnn: error: the following arguments are required: --target "
                   "(see `minicnn fool --help`)")


def test_bad_attack_input_is_one_line(tmp_path, capsys):
    for argv, words in ((["fgsm", "--epsilon", "-1"], "epsilon"),
                        (["pgd", "--norm", "3"], "norm"),
                        (["fgsm", "--target", "relu4_2:3"], "not a unit"),
                        (["one-pixel", "--target", "hexagon"], "hexagon")):
        assert run(*argv, "--out", tmp_path / "o") == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("minicnn: error:") and "\n" not in err and words in err, err
        assert not (tmp_path / "o").exists()


def test_one_pixel_changes_at_most_one_pixel(tmp_path, capsys):
    assert run("one-pixel", "--popsize", 20, "--maxiter", 2, "--sample", 0, "--out",
               tmp_path) == 0
    assert "sample0" in capsys.readouterr().out
    with Image.open(tmp_path / "sample0_tiny_one-pixel.png") as img:
        assert np.ptp(np.asarray(img)) > 0


def test_a_photo_on_the_shapes_model_gets_the_domain_note_once(tmp_path, capsys):
    import matplotlib.cbook
    photo = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    assert run("fgsm", "--image", photo, "--epsilon", "0.01", "--out", tmp_path / "o") == 0
    err = capsys.readouterr().err
    assert err.count("tiny knows 8 synthetic shapes") == 1

"""The method subcommands (vis/cli_methods.py), run in-process through ``vis.cli.main``.

A small random ``tiny`` is saved into a temporary weights folder
(``MINICNN_WEIGHTS``), so ``models.load("tiny")`` finds it whether or not the
trained weights exist.
"""

import re

import numpy as np
import pytest
from PIL import Image

from minicnn import io, models
from minicnn.data import CLASS_NAMES
from vis import cli, draw
from vis.registry import map_methods

ZOOM = 4                      # draw.auto_zoom(64): 64 px panels shown at 256 px
PANEL = 64 * ZOOM
FAST = {"occlusion": ["--window", "16", "--stride", "16"], "smoothgrad": ["-n", "2"],
        "ig": ["--steps", "4"]}


def small_tiny(input_size=None):
    net = models.tiny(width=(4, 8), class_names=list(CLASS_NAMES))
    if input_size is not None:
        net.meta["input_size"] = list(input_size)
    return net


@pytest.fixture
def weights(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    io.save(small_tiny(), folder / "tiny.npz")
    monkeypatch.setenv("MINICNN_WEIGHTS", str(folder))
    return folder


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out"


def run(*argv):
    return cli.main([str(a) for a in argv])


def check_png(path, size, scale=True):
    """A valid PNG: a title strip with text, a picture of ``size`` (W, H) that is not
    one flat colour, and (``scale``) a colour scale below; returns the picture's pixels."""
    assert path.is_file(), path
    W, H = size
    bar = draw.SCALE_HEIGHT if scale else 0         # vis.draw.titled's scale strip
    with Image.open(path) as img:
        # the picture is W wide; a long title may widen the strip (padded white)
        assert img.format == "PNG" and img.width >= W and img.height >= H + bar + 22
        pixels = np.asarray(img.convert("RGB"))
    strip = pixels[:-(H + bar)]
    picture = pixels[len(pixels) - bar - H:len(pixels) - bar, :W]
    assert (pixels[len(pixels) - bar - H:len(pixels) - bar, W:] == 255).all()
    assert strip.min() < 100 and strip.max() == 255, "the title strip has no text"
    if scale:
        assert np.ptp(pixels[-bar:].astype(int), axis=(0, 1)).max() > 200    # a colour ramp
    assert np.ptp(picture) > 0, f"{path} is a constant image"
    return picture


def one_error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("minicnn: error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize("method", map_methods() + ["localize"])
def test_each_method_writes_its_panels_and_prints_the_top_classes(method, weights, out, capsys):
    assert run(method, "--sample", 0, 2, "--out", out, *FAST.get(method, [])) == 0
    stdout = capsys.readouterr().out
    for n in (0, 2):
        path = out / f"sample{n}_tiny_{method}.png"
        pixels = check_png(path, (3 * PANEL + 2 * 4, PANEL))       # three panels, 4 px apart
        assert f"wrote {path}" in stdout
        if method != "localize":                                   # panel 1 is the input
            assert pixels[:, PANEL:PANEL + 4].min() == 255          # a white gap
    tops = [line for line in stdout.splitlines() if line.startswith("sample0 (true: ")]
    assert len(tops) == 1 and tops[0].count(",") == 4             # the top 5 classes
    assert sorted(p.name for p in out.iterdir()) == [f"sample0_tiny_{method}.png",
                                                     f"sample2_tiny_{method}.png"]


def test_activations_default_to_every_conv_layer(weights, out, capsys):
    assert run("activations", "--out", out) == 0                   # default: --sample 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"sample0_tiny_activations_{layer}.png"
                     for layer in ("relu1_1", "relu1_2", "relu2_1", "relu2_2")]
    # 4 channels of 64x64: a 2x2 grid with 1 px gaps, 129 px, zoomed 2x (about 320 px)
    check_png(out / names[0], (258, 258))
    assert run("activations", "--sample", 1, "--layer", "pool1", "--out", out) == 0
    check_png(out / "sample1_tiny_activations_pool1.png", (65 * 5, 65 * 5))


def test_filters(weights, out, capsys):
    assert run("filters", "--out", out) == 0
    # 4 filters 3x3 at 11x in a 2x2 grid (67 px), shown 4x for a projector (at least 256 px)
    pixels = check_png(out / "tiny_filters.png", (4 * 67, 4 * 67), scale=False)
    assert pixels.shape == (268, 268, 3)
    assert "conv1_1" in capsys.readouterr().out


def test_refuses_to_overwrite_without_force(weights, out, capsys):
    assert run("saliency", "--out", out) == 0
    path = out / "sample0_tiny_saliency.png"
    before = path.read_bytes()
    path.write_bytes(before + b"marker")                  # any change would be visible
    capsys.readouterr()
    assert run("saliency", "--out", out) == 2
    err = one_error_line(capsys)
    assert "--force" in err and str(path) in err
    assert path.read_bytes() == before + b"marker"
    assert run("saliency", "--out", out, "--force") == 0
    assert path.read_bytes() == before                    # deterministic, rewritten


def test_unknown_method_lists_the_choices(weights, capsys):
    assert run("saliencyy", "--out", "x") == 2
    err = one_error_line(capsys)
    assert "invalid choice: 'saliencyy'" in err and "gradcam" in err and "tour" in err


def test_unknown_model_lists_the_choices(weights, out, capsys):
    assert run("saliency", "--model", "vgg17", "--out", out) == 2
    err = one_error_line(capsys)
    assert "vgg17" in err and "tiny" in err and "vgg16" in err
    assert not out.exists()


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch, out, capsys):
    monkeypatch.setenv("MINICNN_WEIGHTS", str(tmp_path / "empty"))
    assert run("gradcam", "--out", out) == 2
    assert "train-tiny" in one_error_line(capsys)


@pytest.mark.parametrize("command", ["gradcam", "guided-gradcam", "activations"])
def test_unknown_layer_lists_the_choices(command, weights, out, capsys):
    assert run(command, "--layer", "conv9", "--out", out) == 2
    err = one_error_line(capsys)
    assert "conv9" in err and "relu1_1" in err and "pool1" in err
    assert run(command, "--layer", "fc", "--out", out) == 2          # no spatial map
    assert "fc is not spatial" in one_error_line(capsys)
    assert not out.exists() or not any(out.iterdir())


def test_gradcam_at_another_layer(weights, out, capsys):
    assert run("gradcam", "--layer", "relu1_2", "--out", out) == 0
    assert "layer relu1_2" in capsys.readouterr().out


def test_target_by_index_or_name_and_out_of_range(weights, out, capsys):
    assert run("saliency", "--target", "star", "--out", out) == 0
    assert "sample0: star (3), layer input" in capsys.readouterr().out
    assert run("guided", "--target", 5, "--out", out) == 0
    assert "sample0: ring (5), layer input" in capsys.readouterr().out
    for bad in ("8", "-1"):
        assert run("cam", "--target", bad, "--out", out) == 2
        err = one_error_line(capsys)
        assert "out of range" in err and "0 .. 7" in err
    assert run("cam", "--target", "hexagon", "--out", out) == 2
    assert "circle" in one_error_line(capsys)
    assert not (out / "sample0_tiny_cam.png").exists()


def test_a_text_file_is_refused_naming_it(weights, tmp_path, out, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    assert run("saliency", "--image", notes, "--out", out) == 2
    assert "notes.txt" in one_error_line(capsys)
    assert run("saliency", "--image", tmp_path / "missing.png", "--out", out) == 2
    assert "missing.png" in one_error_line(capsys)


def test_greyscale_image_is_converted_with_a_note(weights, tmp_path, out, capsys):
    rng = np.random.default_rng(0)
    path = tmp_path / "grey.png"
    Image.fromarray(rng.integers(0, 256, (80, 120), dtype=np.uint8), mode="L").save(path)
    assert run("gradcam", "--image", path, "--out", out) == 0
    captured = capsys.readouterr()
    assert f"note: {path}: converted L image to RGB\n" in captured.err     # not a result:
    assert "note:" not in captured.out                                     # stderr only
    pixels = check_png(out / "grey_tiny_gradcam.png", (3 * PANEL + 8, PANEL))
    # the input panel is grey: R = G = B
    assert np.array_equal(pixels[:, :PANEL, 0], pixels[:, :PANEL, 1])


def test_too_small_image_names_size_and_minimum(weights, tmp_path, out, capsys):
    path = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 100, 3), np.uint8)).save(path)
    assert run("saliency", "--image", path, "--out", out) == 2
    err = one_error_line(capsys)
    assert "small.png" in err and "100x40" in err and "64x64" in err


def test_samples_need_a_64x64_model(weights, out, capsys):
    io.save(small_tiny(input_size=(96, 96)), weights / "wide.npz")
    assert run("saliency", "--model", "wide", "--sample", 0, "--out", out) == 2
    assert "64x64" in one_error_line(capsys)
    assert run("saliency", "--model", "wide", "--out", out) == 2       # no default sample
    assert "--image" in one_error_line(capsys)


def test_out_must_be_a_folder(weights, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert run("saliency", "--out", afile) == 2
    assert "afile" in one_error_line(capsys)
    assert run("saliency", "--out", afile / "sub") == 2
    assert "afile" in one_error_line(capsys)


def trunk():
    """tiny without its head: conv layers only, no class scores (like vgg16_hed)."""
    from minicnn.net import Net
    net = small_tiny()
    layers = [layer for layer in net.layers if layer.name not in ("gap", "fc")]
    meta = dict(net.meta, arch="trunk")
    meta.pop("class_names", None)
    return Net(layers, meta)


@pytest.mark.parametrize("method", ["saliency", "deconvnet", "guided", "gradcam",
                                    "guided-gradcam", "occlusion", "smoothgrad"])
def test_a_net_without_scores_explains_its_most_active_unit(method, weights, out, capsys,
                                                            monkeypatch):
    import vis.commands.common as common
    monkeypatch.setattr(common, "load_model", lambda name: trunk())
    assert run(method, "--model", "trunk", "--out", out, *FAST.get(method, [])) == 0
    captured = capsys.readouterr()
    stdout = captured.out
    assert "no class scores" in captured.err and "relu2_2:top" in captured.err
    assert re.search(r"sample0: unit relu2_2:\d+@\d+,\d+", stdout), stdout
    check_png(out / f"sample0_trunk_{method}.png", (3 * PANEL + 8, PANEL))


def test_unit_targets_from_the_command_line(weights, out, capsys):
    assert run("guided", "--target", "relu2_1:3@4,5", "--out", out) == 0
    assert "unit relu2_1:3@4,5" in capsys.readouterr().out
    assert run("gradcam", "--target", "relu2_2:top", "--out", out, "--force") == 0
    assert re.search(r"unit relu2_2:\d+@\d+,\d+, layer relu2_1", capsys.readouterr().out)
    for bad, words in (("relu2_1:x", "number or 'top'"), ("relu2_1:3@4", "ROW,COLUMN"),
                       ("conv9:1", "conv9"), ("relu2_1:99", "8 channels")):
        assert run("guided", "--target", bad, "--out", out) == 2, bad
        assert words in one_error_line(capsys), bad
    assert run("cam", "--target", "relu2_1:3", "--out", out) == 2
    assert "not a unit" in one_error_line(capsys)


def test_ambiguous_class_names_are_refused_listing_every_index(weights, out, capsys):
    net = small_tiny()
    net.meta["class_names"] = ["crane", "b", "c", "crane", "e", "f", "g", "h"]
    io.save(net, weights / "cranes.npz")
    assert run("saliency", "--model", "cranes", "--target", "crane", "--out", out) == 2
    err = one_error_line(capsys)
    assert "ambiguous" in err and "0, 3" in err


def test_photo_on_the_shapes_model_says_it_is_out_of_domain(weights, tmp_path, out, capsys):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (70, 90, 3), np.uint8)).save(path)
    assert run("saliency", "--image", path, "--out", out) == 0
    assert "out of its domain" in capsys.readouterr().err


def test_arguments_are_checked_before_any_folder_is_made(weights, out, capsys):
    for argv in (["saliency", "--target", "99"], ["gradcam", "--layer", "nope"],
                 ["saliency", "--sample", "100000"], ["saliency", "--model", "nope"]):
        assert run(*argv, "--out", out) == 2, argv
        one_error_line(capsys)
        assert not out.exists(), argv
    assert run("saliency", "--sample", "-1", "--out", out) == 2
    assert "out of range" in one_error_line(capsys)


def test_bad_option_is_one_line_pointing_to_the_subcommand_help(weights, capsys):
    assert run("occlusion", "--window", "0") == 2
    assert one_error_line(capsys) == ("minicnn: error: argument --window: 0 must be at least 1 "
                                      "(see `minicnn occlusion --help`)")
    assert run("saliency", "--octaves", "3") == 2          # another command's option
    assert one_error_line(capsys) == ("minicnn: error: unrecognized arguments: --octaves 3 "
                                      "(see `minicnn saliency --help`)")


def test_ctrl_c_is_one_line_and_leaves_nothing(weights, out, capsys, monkeypatch):
    import vis.commands.maps as maps

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(maps, "explain", interrupted)
    assert run("saliency", "--out", out) == 130
    assert capsys.readouterr().err.strip() == "minicnn: interrupted; nothing written"
    assert not out.exists()


def test_train_tiny_refuses_zero_epochs_and_protects_the_shipped_model(weights, out, capsys):
    assert run("train-tiny", "--epochs", "0", "--out", out / "t.npz") == 2
    assert "--epochs must be at least 1" in one_error_line(capsys)
    assert run("train-tiny") == 2                                 # the shipped file exists
    err = one_error_line(capsys)
    assert "--out" in err and err.index("--out") < err.index("--force")


def test_summary_takes_architectures_installed_names_and_npz_paths(weights, capsys):
    assert run("summary", "vgg16") == 0
    assert "138,357,544" in capsys.readouterr().out
    assert run("summary", "tiny") == 0 and run("summary", weights / "tiny.npz") == 0
    assert run("summary", "nope") == 2
    one_error_line(capsys)
    assert run("summary", "--model", "tiny") == 0                 # like every other command
    assert "Total params: 74,128" in capsys.readouterr().out
    assert run("summary") == 2
    assert "give a model" in one_error_line(capsys)


def test_a_16_bit_png_of_8_bit_values_is_one_warning_line_on_stderr(weights, tmp_path, out,
                                                                   capsys):
    values = np.random.default_rng(2).integers(0, 256, (80, 96)).astype(np.uint16)
    path = tmp_path / "photo.png"
    Image.fromarray(values).save(path)                   # Pillow writes mode "I;16"
    assert run("saliency", "--image", path, "--out", out) == 0
    captured = capsys.readouterr()
    said = [line for line in captured.err.splitlines() if str(path) in line]
    assert said == [f"warning: {path}: 16-bit PNG whose largest value is 255 of 65535; it "
                    "will look almost black (was it 8-bit data saved as 16-bit?)"]
    assert "16-bit" not in captured.out


def parsers():
    """(command words, parser) for ``minicnn`` and every subcommand, nested ones too."""
    import argparse
    todo = [([], cli.build_parser())]
    while todo:
        words, parser = todo.pop()
        yield words, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(words + [name], sub) for name, sub in action.choices.items()]


def test_every_option_of_every_subcommand_has_help():
    import argparse
    missing = [f"minicnn {' '.join(words)} {action.option_strings or action.dest}"
               for words, parser in parsers() for action in parser._actions
               if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
               and not (action.help or "").strip()]
    assert missing == []
    assert len(list(parsers())) > 35                 # the walk reached the nested commands


def test_no_help_text_says_default_none():
    texts = {" ".join(words): parser.format_help() for words, parser in parsers()}
    said = [words for words, text in texts.items() if re.search(r"default:?\s*None", text)]
    assert said == []
    assert "toolbox's budget per preset is 500-1000" in " ".join(texts["maximize"].split())
    assert "(default: the ReLU after the last conv layer" in " ".join(texts["gradcam"].split())


MODEL_COMMANDS = (map_methods() + ["localize", "activations", "filters", "patches",
                  "neighbours", "embed", "class-model", "maximize", "invert", "texture",
                  "style", "dream", "fgsm", "pgd", "one-pixel", "universal", "tour"])


@pytest.mark.parametrize("command", MODEL_COMMANDS + ["fool", "patch"])
def test_an_architecture_without_weights_is_not_an_unknown_model(command, weights, out, capsys):
    target = ["--target", "0"] if command in ("fool", "patch") else []
    assert run(command, "--model", "alexnet_caffe", "--out", out, *target) == 2
    err = one_error_line(capsys)
    assert err.startswith("minicnn: error: alexnet_caffe is an architecture without weights")
    assert "unknown" not in err and "minicnn weights fetch alexnet" in err
    assert not out.exists()


def test_summary_of_an_architecture_without_weights_says_so_once(weights, capsys):
    assert run("summary", "alexnet_caffe") == 0
    captured = capsys.readouterr()
    assert "Total params: 60,965,224" in captured.out
    assert captured.err == ("note: alexnet_caffe is shown as an architecture: it has no "
                            "weights (`minicnn weights list` says how to get them)\n")


def test_summary_prints_the_input_shape_as_a_user_reads_it(weights, capsys):
    assert run("summary", "tiny") == 0
    captured = capsys.readouterr()
    last = captured.out.splitlines()[-1]
    assert last.startswith("Input: N x 3 x 64 x 64 (") and "(None,) +" not in captured.out
    assert captured.err == ""                           # tiny is installed: nothing to note


def test_a_class_prefix_is_the_class_and_an_ambiguous_one_lists_every_match(weights, out,
                                                                            capsys):
    assert run("saliency", "--target", "c", "--out", out) == 2
    assert one_error_line(capsys) == ("minicnn: error: class 'c' is ambiguous in tiny: circle "
                                      "(0), cross (4) start with it; give more letters or the "
                                      "index")
    assert not out.exists()
    assert run("saliency", "--target", "sq", "--out", out) == 0
    assert "sample0: square (1), layer input" in capsys.readouterr().out


def test_the_map_figures_scales_sit_under_the_map_and_the_overlay(weights, out, capsys):
    assert run("gradcam", "--out", out) == 0
    with Image.open(out / "sample0_tiny_gradcam.png") as img:
        strip = np.asarray(img.convert("RGB"))[-draw.SCALE_HEIGHT:, :3 * PANEL + 8]
    ramp = strip[2:11].astype(int)                            # the rows of the colour ramps
    spread = (ramp.max(axis=2) - ramp.min(axis=2)).max(axis=0)   # colour per column
    under = [slice(k * (PANEL + 4) + 6, k * (PANEL + 4) + PANEL - 6) for k in range(3)]
    assert (strip[:, under[0]] == 255).all()                  # nothing under the input
    assert spread[under[2]].max() > 200                       # jet under the overlay
    assert spread[under[1]].max() < 10                        # grey (R = G = B) under the map
    assert np.ptp(ramp[:, under[1]].mean(axis=(0, 2))) > 200   # ... running black to white


def test_notes_go_to_stderr_and_results_to_stdout(weights, tmp_path, out, capsys):
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((70, 70), 128, np.uint8), mode="L").save(path)
    assert run("saliency", "--image", path, "--out", out) == 0
    captured = capsys.readouterr()
    assert all(line.startswith(("note: ", "warning: ")) for line in captured.err.splitlines())
    assert len(captured.err.splitlines()) == 2                # the conversion, the domain
    assert [line.split()[0] for line in captured.out.splitlines()] == [
        "grey:", "Saliency", "wrote"]                         # top 5, the title, the file


def test_python_warnings_are_one_line_on_stderr(weights, out, capsys, monkeypatch):
    import warnings
    import vis.commands.maps as maps
    real = maps.explain

    def warns(*args, **kwargs):
        warnings.warn("something odd, said once", UserWarning)
        return real(*args, **kwargs)
    monkeypatch.setattr(maps, "explain", warns)
    assert run("saliency", "--out", out) == 0
    assert capsys.readouterr().err == "warning: something odd, said once\n"


@pytest.mark.parametrize("argv", [["maximize", "--steps", "3"], ["saliency"], ["embed"],
                                  ["patches"], ["invert", "--steps", "2"]])
def test_an_out_that_cannot_be_made_is_refused_before_any_work(argv, weights, tmp_path,
                                                                capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for out in (afile / "sub", ""):
        assert run(*argv, "--model", "tiny", "--out", str(out)) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("minicnn: error:") and "\n" not in err, err  # no progress lines
        assert "--out" in err
    assert afile.read_text() == "not a folder"


@pytest.mark.parametrize("argv, words", [
    (["neighbours", "--n", "5"], "--k 6 neighbours need at least 7 images, --n gives 5"),
    (["invert", "--sample", "0", "--image", "x.png", "--steps", "2"], "--sample or --image"),
    (["occlusion", "--window", "1000"], "--window 1000 must be between 1 and the image size"),
])
def test_bad_options_are_refused_before_any_work(argv, words, weights, out, capsys):
    assert run(*argv, "--model", "tiny", "--out", out) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and words in captured.err, \
        captured
    assert not out.exists()


def test_a_class_out_of_range_names_the_model_asked_for(weights, out, capsys):
    import shutil
    shutil.copy(weights / "tiny.npz", weights / "tiny_copy.npz")
    assert run("cam", "--model", "tiny_copy", "--target", "99", "--out", out) == 2
    assert "tiny_copy has 8 classes" in capsys.readouterr().err


def test_occlusion_runs_with_its_default_window(weights, out, capsys):
    """No --window: the method's default (8 px at 64x64), not a comparison with None."""
    assert run("occlusion", "--sample", "0", "--out", out) == 0
    assert "window 8, stride 4" in capsys.readouterr().out
    assert (out / "sample0_tiny_occlusion.png").is_file()


def test_bench_exits_0_and_its_usage_errors_are_one_line(capsys, tmp_path):
    from vis.commands.engine import bench_script
    if bench_script() is None:
        pytest.skip("an installation without the benchmarks folder")
    assert run("bench", "--rows", "tiny", "--rounds", "1", "--repeat", "1", "--no-torch") == 0
    assert "tiny 400 fwd" in capsys.readouterr().out
    for argv, said in [(["--rows", "nosuch"], "invalid choice: 'nosuch'"),
                       (["--rounds", "0"], "--rounds must be at least 1")]:
        assert run("bench", *argv) == 2
        line = one_error_line(capsys)
        assert said in line and line.endswith("(see `minicnn bench --help`)")

"""vis/image.py: loading and converting, pre/deprocessing, maps, grids, safe PNG writing."""

import os
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from minicnn.models import CAFFE_BGR, SHAPES_RGB
from vis import image
from minicnn.preprocessing import deprocess, preprocess
from vis.image import (center_crop, load_image, normalize_map, overlay, resize, save_png, tile,
                       to_uint8)


@pytest.fixture
def rgb(rng):
    return rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)


@pytest.mark.parametrize("pre", [SHAPES_RGB, CAFFE_BGR])
def test_preprocess_deprocess_round_trip(pre, rng):
    net = SimpleNamespace(meta={"preprocess": pre})
    img = rng.random((2, 3, 6, 5)).astype(np.float32)
    x = preprocess(img, net)
    assert x.shape == (2, 3, 6, 5) and x.dtype == np.float32
    assert np.allclose(deprocess(x, net), img, atol=1e-5)
    one = preprocess(img[0], net)                              # one image -> one image
    assert one.shape == (3, 6, 5) and deprocess(one, net).shape == (3, 6, 5)
    if pre["channel_order"] == "BGR":
        assert np.allclose(x[:, 0], img[:, 2] * 255 - pre["mean"][0], atol=1e-3)


def test_load_rgb_png(tmp_path, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.shape == (3, 5, 7) and img.dtype == np.float32
    assert np.array_equal(to_uint8(img), rgb)
    assert load_image(tmp_path / "a.png", size=(4, 6)).shape == (3, 4, 6)


@pytest.mark.parametrize("mode,words", [("L", "converted L image to RGB$"),
                                        ("RGBA", r"RGBA image to RGB \(transparency dropped"),
                                        ("P", "converted P image to RGB$")])
def test_other_modes_are_converted_with_a_warning(tmp_path, rgb, mode, words):
    src = Image.fromarray(rgb)
    src = src.convert(mode) if mode != "P" else src.quantize(16)
    src.save(tmp_path / "b.png")
    with pytest.warns(UserWarning, match=words):
        img = load_image(tmp_path / "b.png")
    assert np.array_equal(to_uint8(img), np.asarray(src.convert("RGB")))
    if mode == "L":
        assert np.array_equal(img[0], img[1]) and np.array_equal(img[1], img[2])


def test_sixteen_bit_greyscale(tmp_path):
    a = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    Image.fromarray(a).save(tmp_path / "c.png")
    with pytest.warns(UserWarning, match="to RGB"):
        img = load_image(tmp_path / "c.png")
    assert np.allclose(img, a / 65535.0)


def test_not_an_image_names_the_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not pixels\n")
    with pytest.raises(ValueError, match="notes.txt"):
        load_image(path)
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.png")


def test_resize_and_center_crop(rng):
    img = rng.random((3, 40, 60)).astype(np.float32)
    assert resize(img, 20).shape == (3, 20, 30)                # shorter side
    assert resize(img, (8, 9)).shape == (3, 8, 9)
    assert np.allclose(resize(np.full((3, 4, 4), 0.25, np.float32), (9, 7)), 0.25)
    assert np.array_equal(center_crop(img, (10, 20)), img[:, 15:25, 20:40])
    with pytest.raises(ValueError, match="larger"):
        center_crop(img, 50)


def test_normalize_map():
    m = np.stack([np.array([[1.0, 3.0], [2.0, 5.0]]), np.full((2, 2), 7.0)])
    out = normalize_map(m)                                     # each map separately
    assert np.allclose(out[0], [[0, 0.5], [0.25, 1]]) and np.array_equal(out[1], 0 * out[1])
    assert np.array_equal(normalize_map(np.full((3, 3), 1e6) + 1e-12), np.zeros((3, 3)))
    spike = np.arange(100.0).reshape(10, 10)
    spike[0, 0] = 1e6
    assert normalize_map(spike, clip_percentile=99).max() == 1
    with pytest.raises(ValueError, match="NaN"):
        normalize_map(np.array([[np.nan, 1.0]]))


def test_overlay_blends_with_jet():
    img = np.full((3, 8, 8), 0.5)
    heat = np.zeros((4, 4))
    heat[0, 0] = 1.0                                           # resized to 8x8
    assert np.allclose(overlay(img, heat, alpha=0.0), img)
    full = overlay(img, heat, alpha=1.0)
    assert full.shape == (3, 8, 8)
    assert np.allclose(full[:, 0, 0], [0.5, 0, 0], atol=0.02)   # jet(1) = dark red
    assert np.allclose(full[:, 7, 7], [0, 0, 0.5], atol=0.02)   # jet(0) = dark blue
    mid = overlay(img, heat)                                   # alpha = 0.4
    assert np.allclose(mid, 0.6 * img + 0.4 * full)


def test_tile_uses_chollets_normalisation():
    """Chollet, Deep Learning with Python, Sec. 5.4.1, map by map, then a grid."""
    maps = np.zeros((3, 2, 5))
    maps[0] = [[0, 1, 1.5, 1.5, 4], [2, 3, 1.5, -2, 1.5]]
    maps[1] = 5.0                        # constant -> 128
    maps[2, 1, 4] = 100.0                # nine 0s, one 100: mean 10, std 30
    grid = tile(maps, ncols=2, pad=1)
    assert grid.shape == (2 * 2 + 1, 2 * 5 + 1) and grid.dtype == np.uint8
    m0 = maps[0]
    chollet = np.clip((m0 - m0.mean()) / (m0.std() + 1e-5) * 64 + 128, 0, 255).astype("uint8")
    assert np.array_equal(grid[:2, :5], chollet)
    assert np.all(grid[:2, 6:] == 128)
    # 0 -> -1/3 * 64 + 128 = 106.7 -> 106; 100 -> 3 * 64 + 128 = 320 -> clipped to 255
    assert np.all(grid[3:, :5][maps[2] == 0] == 106) and grid[4, 4] == 255
    assert np.all(grid[2] == 0) and np.all(grid[:, 5] == 0)     # padding
    assert np.all(grid[3:, 6:] == 255)                   # the empty cell: white, not a dead map


def test_tile_hand_example_and_rgb():
    # [[0, 1], [2, 3]]: mean 1.5, std 1.1180 -> 42.1, 99.4, 156.6, 213.9 (truncated)
    grid = tile(np.array([[[0.0, 1], [2, 3]]]))
    assert np.array_equal(grid, [[42, 99], [156, 213]])
    rgb = tile(np.ones((5, 3, 2, 2)) * 0.5, normalize=False)    # ncols = ceil(sqrt 5) = 3
    assert rgb.shape == (2 * 2 + 1, 3 * 2 + 2, 3) and rgb[0, 0, 0] == 128


def test_to_uint8_layouts():
    assert to_uint8(np.ones((3, 2, 4))).shape == (2, 4, 3)
    assert np.array_equal(to_uint8(np.array([[0.0, 0.5, 1.0]])), [[0, 128, 255]])
    assert np.array_equal(to_uint8(np.array([[0, 1]])), [[0, 255]])      # ints: as floats


@pytest.mark.parametrize("bad", [np.full((3, 4, 4), 255, np.uint16),
                                 np.full((3, 4, 4), 200.0), np.full((3, 4, 4), -0.5),
                                 np.arange(48, dtype=np.int64).reshape(3, 4, 4)])
def test_images_outside_0_1_are_refused_never_rescaled(bad):
    """A 0-255 photo where [0, 1] is documented: one error naming the range, for the
    overlay and for every picture written (to_uint8)."""
    with pytest.raises(ValueError, match=r"must be RGB in \[0, 1\]; its values lie in"):
        overlay(bad, np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"must be RGB in \[0, 1\]"):
        to_uint8(bad)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        to_uint8(np.zeros((2, 4, 3)))


def test_save_png_is_safe(tmp_path, rng):
    path = tmp_path / "out.png"
    img = rng.random((3, 6, 4))
    assert save_png(path, img) == str(path)
    assert np.array_equal(np.asarray(Image.open(path)), to_uint8(img))
    with pytest.raises(FileExistsError, match="force=True"):
        save_png(path, np.zeros((6, 4)))
    save_png(path, np.zeros((6, 4)), force=True)
    assert np.asarray(Image.open(path)).max() == 0
    assert os.listdir(tmp_path) == ["out.png"]                  # no temporary files
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_png(tmp_path / "nowhere" / "x.png", img)


def test_save_png_leaves_nothing_when_writing_fails(tmp_path, monkeypatch):
    def broken(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG half")
        raise OSError("disk full")
    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_png(tmp_path / "x.png", np.zeros((4, 4)))
    assert os.listdir(tmp_path) == []


def test_save_png_unwritable_folder(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    import minicnn.files
    monkeypatch.setattr(minicnn.files.tempfile, "mkdtemp", denied)   # a read-only folder
    with pytest.raises(PermissionError, match="not writable"):
        save_png(tmp_path / "x.png", np.zeros((4, 4)))
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can write to read-only folders")
def test_save_png_really_unwritable_folder(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="not writable"):
            save_png(tmp_path / "x.png", np.zeros((4, 4)))
    finally:
        tmp_path.chmod(0o700)


def test_sixteen_bit_png_of_8_bit_values_warns_that_it_will_look_black(tmp_path):
    values = np.arange(60 * 80, dtype=np.uint16).reshape(60, 80) % 256     # 8-bit data
    written = Image.fromarray(values)
    assert written.mode == "I;16"                       # Pillow's 16-bit greyscale
    written.save(tmp_path / "photo.png")
    with pytest.warns(image.DarkImageWarning) as caught:
        img = load_image(tmp_path / "photo.png")
    assert [str(w.message) for w in caught] == [         # one warning, not also "converted"
        f"{tmp_path / 'photo.png'}: 16-bit PNG whose largest value is 255 of 65535; it will "
        "look almost black (was it 8-bit data saved as 16-bit?)"]
    assert img.max() == pytest.approx(255 / 65535)      # read as stored: never rescaled
    values[0, 0] = 256                                  # real 16-bit data: the plain note
    Image.fromarray(values).save(tmp_path / "deep.png")
    with pytest.warns(UserWarning) as caught:
        load_image(tmp_path / "deep.png")
    assert [type(w.message) for w in caught] == [UserWarning]
    assert str(caught[0].message).endswith("converted I;16 image to RGB")


def test_a_32_bit_integer_image_is_refused_naming_it(tmp_path):
    Image.fromarray(np.full((8, 8), 70000, np.int32)).save(tmp_path / "deep.tif")
    with pytest.raises(ValueError, match=r"deep.tif: 32-bit integer image with values in "
                                         r"\[70000, 70000\]"):
        load_image(tmp_path / "deep.tif")

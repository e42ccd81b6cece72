"""Dataset sources (vis/features/sources.py): the same images as make_shapes, folders, bad input."""

import numpy as np
import pytest
from PIL import Image

from minicnn import models
from minicnn.data import make_shapes
from minicnn.preprocessing import preprocess
from vis.features.folder import FolderSource
from vis.features.sources import ArraySource, ShapesSource, as_source, batches


def test_shapes_source_streams_make_shapes_exactly():
    ref = make_shapes(600, seed=7)
    src = ShapesSource(600, seed=7)
    assert len(src) == 600
    for a, b in [(0, 5), (250, 262), (511, 513), (590, 600)]:     # across chunk boundaries
        images, labels = src.read(a, b)
        np.testing.assert_array_equal(images, ref.images[a:b])
        np.testing.assert_array_equal(labels, ref.labels[a:b])
    idx = [599, 3, 300, 3]                                         # any order, repeats
    images, labels = src.take(idx)
    np.testing.assert_array_equal(images, ref.images[idx])
    np.testing.assert_array_equal(labels, ref.labels[idx])
    sub = src.subset(260, 520)
    np.testing.assert_array_equal(sub.read(0, 4)[0], ref.images[260:264])
    np.testing.assert_array_equal(sub.take([259])[0], ref.images[[519]])


def test_batches_are_preprocessed_as_meta_says():
    net = models.load("tiny")
    data = make_shapes(10, seed=1)
    got = [(start, x, lab) for start, x, lab in batches(ArraySource(data.images, data.labels),
                                                        net, batch_size=4)]
    assert [g[0] for g in got] == [0, 4, 8]
    np.testing.assert_array_equal(np.concatenate([g[1] for g in got]),
                                  preprocess(data.images, net.meta))
    np.testing.assert_array_equal(np.concatenate([g[2] for g in got]), data.labels)


def test_array_source_bad_input():
    with pytest.raises(ValueError, match="no images"):
        ArraySource(np.zeros((0, 3, 8, 8)))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        ArraySource(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="already preprocessed"):
        ArraySource(np.full((2, 3, 8, 8), -2.0))
    with pytest.raises(ValueError, match="labels"):
        ArraySource(np.zeros((2, 3, 8, 8)), labels=[1, 2, 3])
    with pytest.raises(ValueError, match="n >= 1"):
        ShapesSource(0)
    with pytest.raises(ValueError, match="outside"):
        ShapesSource(10).take([10])
    with pytest.raises(TypeError, match="a source is"):
        as_source(42, models.tiny())


def _png(path, colour, size=(40, 30)):
    Image.new("RGB", size, colour).save(path)


def test_folder_skips_non_images_and_says_how_many(tmp_path):
    _png(tmp_path / "b.png", (255, 0, 0))
    _png(tmp_path / "a.png", (0, 255, 0))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.warns(UserWarning, match="skipped 2 file"):
        src = as_source(str(tmp_path), models.tiny())
    assert src.files == ["a.png", "b.png"] and sorted(src.skipped) == ["broken.jpg", "notes.txt"]
    images, labels = src.read(0, 2)
    assert images.shape == (2, 3, 64, 64) and labels is None         # the model's input size
    np.testing.assert_allclose(images[0, 1], 1.0)                     # a.png is green
    np.testing.assert_allclose(images[1, 0], 1.0)


def test_folder_with_class_subfolders_has_labels(tmp_path):
    for k, name in enumerate(["cat", "dog"]):
        (tmp_path / name).mkdir()
        for i in range(k + 1):
            _png(tmp_path / name / f"{i}.png", (10 * i, 0, 0))
    src = FolderSource(tmp_path, (16, 16))
    assert len(src) == 3 and src.class_names == ["cat", "dog"]
    assert src.labels.tolist() == [0, 1, 1]
    assert src.subset(1, 3).take([0])[1].tolist() == [1]


def test_empty_or_missing_folder(tmp_path):
    (tmp_path / "readme.md").write_text("hello")
    with pytest.warns(UserWarning, match="skipped 1"), pytest.raises(ValueError, match="no images"):
        FolderSource(tmp_path, (64, 64))
    with pytest.raises(FileNotFoundError, match="no such folder"):
        FolderSource(tmp_path / "missing", (64, 64))

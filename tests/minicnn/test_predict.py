"""Net.predict (minicnn/inference.py): forward's numbers, depth first, nothing kept."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from minicnn import inference, models
from minicnn.layers import Dropout, Flatten, Linear, ReLU
from minicnn.net import Net


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _alexnet_caffe64():
    """Every layer type but GAP/AvgPool (tiny has GAP): groups, LRN, overlapping pools,
    dropout, flatten, linear; float64 so no fast path rounds differently."""
    return models.alexnet_caffe(num_classes=10, seed=3).astype(np.float64)


def test_predict_equals_forward_float64_every_layer_type(rng, monkeypatch):
    monkeypatch.setattr(inference, "CHUNK_BYTES", 2**20)       # several chunks
    for net, size in [(_alexnet_caffe64(), 227), (models.tiny(seed=1).astype(np.float64), 64)]:
        x = rng.standard_normal((5, 3, size, size))
        want = net.forward(x)
        got = net.predict(x)
        assert got.shape == want.shape and got.dtype == want.dtype
        assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()
        for layer in ("relu2", "pool5", "fc7") if size == 227 else ("pool2", "gap"):
            mid = net.predict(x, until=layer)
            assert np.abs(mid - net.outputs[layer]).max() <= 1e-12 * np.abs(mid).max()


def test_predict_float32_on_the_shipped_tiny(rng):
    net = models.load("tiny")
    x = rng.standard_normal((70, 3, 64, 64)).astype(np.float32)
    want, got = net.forward(x, keep=()), net.predict(x)
    assert got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-5 * np.abs(want).max()
    assert np.array_equal(got.argmax(1), want.argmax(1))


def test_one_thread_or_two_give_the_same_bits(rng, monkeypatch):
    monkeypatch.setattr(inference, "CHUNK_BYTES", 2**19)       # chunks of 4 tiny images
    net = models.load("tiny")
    x = rng.standard_normal((37, 3, 64, 64)).astype(np.float32)
    runs = []
    for n in (1, 2):
        with threadpool_limits(n):
            runs.append(net.predict(x))
    assert np.array_equal(runs[0], runs[1])


def test_predict_keeps_nothing_and_leaves_the_last_forward_alone(rng):
    net = models.tiny(seed=2).astype(np.float64)
    x1, x2 = rng.standard_normal((2, 3, 3, 64, 64))
    scores = net.forward(x1)
    outputs = dict(net.outputs)
    before = net.backward({"fc": np.ones_like(scores)})
    net.predict(x2)
    assert net.outputs.keys() == outputs.keys()
    assert all(net.outputs[k] is outputs[k] for k in outputs)
    assert np.array_equal(net.backward({"fc": np.ones_like(scores)}), before)


def test_the_input_is_never_written(rng):
    """ReLU works in place only on temporaries: not on x, nor on a view of it."""
    net = Net([Dropout("drop", 0.5), ReLU("relu1"), Flatten("flat"), ReLU("relu2"),
               Linear("fc", 3 * 4 * 4, 2, rng=rng, dtype=np.float64)])
    x = rng.standard_normal((6, 3, 4, 4))
    keep = x.copy()
    got = net.predict(x)
    assert np.array_equal(x, keep)
    assert np.array_equal(got, net.forward(x))
    assert np.array_equal(net.predict(x, until="drop"), x)


def test_bad_input_gets_forwards_errors(rng):
    net = models.load("tiny")
    with pytest.raises(ValueError, match="dtype int64"):
        net.predict(np.zeros((1, 3, 64, 64), np.int64))
    with pytest.raises(ValueError, match="NaN or inf"):
        net.predict(np.full((1, 3, 64, 64), np.nan, np.float32))
    with pytest.raises(KeyError, match="conv9"):
        net.predict(np.zeros((1, 3, 64, 64), np.float32), until="conv9")
    with pytest.raises(ValueError, match="expected input"):
        net.predict(np.zeros((3, 64, 64), np.float32))
    for run in (net.predict, net.forward):
        with pytest.raises(ValueError, match=r"input of 3x4x4 \(C x H x W\): pool3: input 1x1"):
            run(np.zeros((1, 3, 4, 4), np.float32))
        with pytest.raises(ValueError, match=r"no images \(N = 0\)"):
            run(np.zeros((0, 3, 64, 64), np.float32))
        with pytest.raises(ValueError, match="dtype float16; the network computes in float32"):
            run(np.zeros((1, 3, 64, 64), np.float16))
    net.train()
    with pytest.raises(RuntimeError, match="training mode.*net.eval"):
        net.predict(np.zeros((1, 3, 64, 64), np.float32))

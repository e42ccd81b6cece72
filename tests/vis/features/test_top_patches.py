"""Maximally activating patches (vis/features/patches.py, topk.py, shards.py).

Oracles: a brute-force search with every activation in memory; the
receptive field checked by perturbing pixels; the projection checked against
``net.backward`` injected at the one unit.
"""

import numpy as np
import pytest

from minicnn import models
from minicnn.data import make_shapes
from minicnn.preprocessing import preprocess
from vis.features.patches import top_patches
from vis.features.shards import ranges, scan
from vis.features.sources import ArraySource, ShapesSource
from vis.features.topk import batch_state, merge

N, SEED, K = 500, 12345, 9
LAYERS = ("relu3_2", "relu4_2")


@pytest.fixture(scope="module")
def net():
    return models.load("tiny")


@pytest.fixture(scope="module")
def data():
    return make_shapes(N, seed=SEED)


def brute_force(act, k):
    """(N, C, h, w) activations -> per channel the k best (value, image, i, j), by sorting."""
    n_img, C, h, w = act.shape
    out = []
    for c in range(C):
        entries = []
        for n in range(n_img):
            m = act[n, c]
            flat = int(np.argmax(m))                    # first maximum, row-major
            entries.append((-float(m.flat[flat]), n, flat // w, flat % w))
        entries.sort()                                  # value desc, then image index
        out.append(entries[:k])
    return out


@pytest.fixture(scope="module")
def results(net):
    """Both layers from one pass over the data."""
    return top_patches(net, ShapesSource(N, seed=SEED), list(LAYERS), k=K, rules=(),
                       batch_size=96, progress=False)


@pytest.fixture(scope="module")
def activations(net, data):
    """Every activation of both layers, in memory."""
    acts = {layer: [] for layer in LAYERS}
    for a in range(0, N, 250):
        net.forward(preprocess(data.images[a:a + 250], net.meta), until=LAYERS[-1])
        for layer in LAYERS:
            acts[layer].append(net.outputs[layer].copy())
    return {layer: np.concatenate(v) for layer, v in acts.items()}


@pytest.mark.parametrize("layer", LAYERS)
def test_equals_brute_force_for_every_channel(results, activations, layer):
    act = activations[layer]
    r = results[layer]
    assert r.layer == layer
    C = act.shape[1]
    assert r.values.shape == (C, K) and r.image_index.shape == (C, K)
    assert r.position.shape == (C, K, 2) and r.channels.tolist() == list(range(C))
    for c, best in enumerate(brute_force(act, K)):
        assert r.image_index[c].tolist() == [b[1] for b in best]
        assert r.position[c].tolist() == [[b[2], b[3]] for b in best]
        np.testing.assert_allclose(r.values[c], [-b[0] for b in best], rtol=1e-5)


def test_shards_and_batch_sizes_give_the_one_pass_result(net):
    src = ShapesSource(300, seed=SEED)
    one = scan(net, src, "relu3_2", k=K, batch_size=100, progress=False)
    other_batches = scan(net, src, "relu3_2", k=K, batch_size=64, progress=False)
    two_workers = scan(net, src, "relu3_2", k=K, batch_size=100, workers=2, progress=False)
    one_layer = top_patches(net, src, "relu3_2", k=K, rules=(), progress=False)
    for state in (other_batches, two_workers, one_layer[2:5]):
        for a, b in zip(one, state):
            np.testing.assert_array_equal(a, b)


def test_dask_cluster_gives_the_one_pass_result(net):
    distributed = pytest.importorskip("dask.distributed")
    src = ShapesSource(200, seed=SEED)
    one = scan(net, src, "relu4_2", channels=[0, 3, 9], k=5, batch_size=64, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = scan(net, src, "relu4_2", channels=[0, 3, 9], k=5, batch_size=64,
                       client=client, progress=False)
    for a, b in zip(one, on_dask):
        np.testing.assert_array_equal(a, b)


def test_merge_is_associative_and_commutative():
    rng = np.random.default_rng(0)
    act = rng.integers(0, 4, (40, 3, 2, 2)).astype(np.float32)       # many ties
    parts = [batch_state(act[a:b], a, 6) for a, b in ranges(40, 5)]
    whole = batch_state(act, 0, 6)
    for merged in (merge(*parts), merge(*parts[::-1]),
                   merge(merge(parts[0], parts[1]), merge(parts[2], merge(parts[3], parts[4])))):
        for a, b in zip(whole, merged):
            np.testing.assert_array_equal(a, b)
    assert ranges(10, 3) == [(0, 4), (4, 8), (8, 10)]
    assert ranges(300, 2, align=128) == [(0, 256), (256, 300)]


def test_ties_go_to_the_lower_image_index(net):
    images = make_shapes(6, seed=3).images
    images = np.concatenate([images, images[[2]], images[[2]]])       # images 6, 7 copy 2
    r = top_patches(net, ArraySource(images), "relu4_2", channels=[0], k=8, rules=(),
                    progress=False)
    idx = r.image_index[0].tolist()
    assert idx.index(2) < idx.index(6) < idx.index(7)
    assert idx.index(7) == idx.index(2) + 2                            # adjacent in the order


def test_box_is_the_receptive_field(net, results):
    """Outside the box a pixel cannot change the unit; inside it can."""
    net64 = models.load("tiny").astype(np.float64)
    layer = "relu3_2"                                                  # 32x32 fields, stride 4
    r = top_patches(net64, ShapesSource(60, seed=SEED), layer, channels=[2, 11], k=2,
                    rules=(), progress=False)
    data = make_shapes(60, seed=SEED)
    rng = np.random.default_rng(0)
    for c_pos, c in enumerate(r.channels):
        for s in range(2):
            n, (i, j) = r.image_index[c_pos, s], r.position[c_pos, s]
            x0, y0, x1, y1 = r.boxes[c_pos, s]
            assert (y1 - y0, x1 - x0) == (32, 32)
            x = preprocess(data.images[[n]], net64.meta).astype(np.float64)
            base = net64.forward(x, until=layer)[0, c, i, j]
            inside_changes = 0
            for _ in range(6):
                yy, xx = rng.integers(0, 64, 2)
                hit = y0 <= yy < y1 and x0 <= xx < x1
                if hit:                        # keep outside pixels outside
                    continue
                xo = x.copy()
                xo[0, :, yy, xx] += 50.0
                assert net64.forward(xo, until=layer)[0, c, i, j] == base
            for yy, xx in [(max(y0, 0) + 14, max(x0, 0) + 14), ((y0 + y1) // 2, (x0 + x1) // 2)]:
                if 0 <= yy < 64 and 0 <= xx < 64:
                    xi = x.copy()
                    xi[0, :, yy, xx] += 50.0
                    inside_changes += net64.forward(xi, until=layer)[0, c, i, j] != base
            assert inside_changes >= 1


def test_patch_pixels_and_padding(net):
    data = make_shapes(40, seed=5)
    r = top_patches(net, ArraySource(data.images), "relu4_2", channels=[1, 4], k=3, rules=(),
                    progress=False)
    assert r.patches.shape == (2, 3, 3, 68, 68) and r.inside.shape == (2, 3, 68, 68)
    for c in range(2):
        for s in range(3):
            x0, y0, x1, y1 = r.boxes[c, s]
            i, j = r.position[c, s]
            assert (y0, x0) == (-30 + 8 * i, -30 + 8 * j)              # offset + stride * index
            image = data.images[r.image_index[c, s]]
            ys, xs = np.arange(y0, y1), np.arange(x0, x1)
            ok = ((ys >= 0) & (ys < 64))[:, None] & ((xs >= 0) & (xs < 64))[None]
            np.testing.assert_array_equal(r.inside[c, s], ok)
            assert not ok.all()                                        # 68 > 64: always padded
            rows, cols = np.nonzero(ok)
            np.testing.assert_array_equal(r.patches[c, s][:, ok],
                                          image[:, ys[rows], xs[cols]])
            np.testing.assert_allclose(r.patches[c, s][:, ~ok], 0.5)   # tiny's mean: input 0


@pytest.mark.parametrize("rule", ["deconvnet", "guided"])
def test_projection_is_backward_from_the_one_unit(net, rule):
    data = make_shapes(50, seed=9)
    both = top_patches(net, ArraySource(data.images), ["relu3_2", "relu4_2"], channels=[0, 5],
                       k=3, progress=False)                  # two layers, one backward pass
    for layer, r in both.items():
        _check_projections(net, data, layer, r, getattr(r, rule), rule)


def _check_projections(net, data, layer, r, proj, rule):
    for c_pos, c in enumerate(r.channels):
        for s in range(3):
            n, (i, j) = r.image_index[c_pos, s], r.position[c_pos, s]
            x = preprocess(data.images[[n]], net.meta)
            out = net.forward(x, until=layer)
            g = np.zeros_like(out)
            g[0, c, i, j] = out[0, c, i, j]
            dx = net.backward({layer: g}, rule=rule)[0]
            x0, y0, x1, y1 = r.boxes[c_pos, s]
            ya, yb, xa, xb = max(y0, 0), min(y1, 64), max(x0, 0), min(x1, 64)
            window = np.zeros_like(dx, dtype=bool)
            window[:, ya:yb, xa:xb] = True
            assert np.abs(dx[~window]).max() == 0                     # nothing outside the field
            np.testing.assert_allclose(proj[c_pos, s][:, ya - y0:yb - y0, xa - x0:xb - x0],
                                       dx[:, ya:yb, xa:xb], rtol=1e-4,
                                       atol=1e-5 * np.abs(dx).max())
            assert np.abs(dx).max() > 0


def test_bad_input(net):
    src = ShapesSource(7, seed=0)
    with pytest.raises(ValueError, match="no spatial"):
        top_patches(net, src, "gap", progress=False)
    with pytest.raises(ValueError, match="larger than the dataset"):
        top_patches(net, src, "relu4_2", k=8, progress=False)
    with pytest.raises(ValueError, match="out of range"):
        top_patches(net, src, "relu4_2", channels=[64], k=2, progress=False)
    with pytest.raises(ValueError, match="k must be"):
        top_patches(net, src, "relu4_2", k=0, progress=False)
    with pytest.raises(ValueError, match="rule"):
        top_patches(net, src, "relu4_2", k=2, rules=("gradient",), progress=False)
    with pytest.raises(KeyError, match="relu4_2"):
        top_patches(net, src, "relu4_3", progress=False)
    with pytest.raises(ValueError, match="no images"):
        top_patches(net, np.zeros((0, 3, 64, 64), np.float32), "relu4_2", progress=False)

"""CNN codes and their cache (vis/features/codes.py), neighbours, PCA and the grid layout."""

import itertools
import json
import warnings

import numpy as np
import pytest

from minicnn import models
from minicnn.data import make_shapes
from minicnn.preprocessing import preprocess
from vis.features.codes import codes
from vis.features.layout import grid_layout
from vis.features.neighbours import label_agreement, nearest_neighbours
from vis.features.pca import pca
from vis.features.sources import ArraySource, ShapesSource


@pytest.fixture(scope="module")
def net():
    return models.load("tiny")


def test_codes_are_the_layer_output(net):
    data = make_shapes(40, seed=4)
    c = codes(net, ShapesSource(40, seed=4), "gap", batch_size=16, progress=False)
    np.testing.assert_allclose(c.codes, net.forward(preprocess(data.images, net.meta), until="gap"),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(c.labels, data.labels)
    conv = codes(net, data.images[:3], "pool3", progress=False)          # a map, flattened
    assert conv.codes.shape == (3, 32 * 8 * 8) and conv.shape == (32, 8, 8) and conv.labels is None


def test_cache_is_reused_then_rebuilt_when_stale(net, tmp_path, monkeypatch):
    path = tmp_path / "codes.npy"
    src = ShapesSource(30, seed=4)
    first = codes(net, src, "gap", cache=path, progress=False)
    assert not first.reused and isinstance(first.codes, np.memmap) and path.exists()
    record = json.loads((tmp_path / "codes.npy.json").read_text())
    assert record["key"]["layer"] == "gap" and record["labels"] == first.labels.tolist()

    def no_forward(*args, **kwargs):
        raise AssertionError("the cache should have been reused")
    monkeypatch.setattr(net, "forward", no_forward)
    monkeypatch.setattr(net, "predict", no_forward)
    second = codes(net, src, "gap", cache=path, progress=False)
    assert second.reused
    np.testing.assert_array_equal(second.codes, first.codes)
    np.testing.assert_array_equal(second.labels, first.labels)
    monkeypatch.undo()

    with pytest.warns(UserWarning, match="another source"):                   # other images
        other = codes(net, ShapesSource(30, seed=5), "gap", cache=path, progress=False)
    assert not other.reused and not np.array_equal(other.codes, first.codes)
    with pytest.warns(UserWarning, match="another layer"):
        assert not codes(net, ShapesSource(30, seed=5), "relu4_2", cache=path,
                         progress=False).reused
    changed = models.load("tiny")
    changed["fc"].params["b"] = changed["fc"].params["b"] + 1                # after gap, still
    with pytest.warns(UserWarning, match="another model"):                    # another model
        assert not codes(changed, ShapesSource(30, seed=5), "relu4_2", cache=path,
                         progress=False).reused
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                       # no warning now
        assert codes(changed, ShapesSource(30, seed=5), "relu4_2", cache=path,
                     progress=False).reused


def test_interrupted_run_leaves_no_cache(net, tmp_path):
    class Failing(ArraySource):
        def read(self, start, stop):
            if start > 0:
                raise KeyboardInterrupt
            return super().read(start, stop)
    with pytest.raises(KeyboardInterrupt):
        codes(net, Failing(make_shapes(20, seed=0).images), "gap", cache=tmp_path / "c.npy",
              batch_size=8, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=".npy"):
        codes(net, ShapesSource(4), "gap", cache=tmp_path / "c.bin", progress=False)
    with pytest.raises(ValueError, match="no images"):
        codes(net, np.zeros((0, 3, 64, 64)), "gap", progress=False)


def brute_neighbours(X, q, k, metric):
    d = []
    for j, x in enumerate(X):
        if j == q:
            continue
        if metric == "l2":
            d.append((float(np.sqrt(((X[q] - x) ** 2).sum())), j))
        else:
            d.append((1 - float(X[q] @ x / np.linalg.norm(X[q]) / np.linalg.norm(x)), j))
    return sorted(d)[:k]


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_nearest_neighbours_equal_brute_force(metric):
    X = np.random.default_rng(1).standard_normal((60, 7))
    X[10] = X[3]                                            # a tie: the lower index first
    X[20] = X[3]
    nn = nearest_neighbours(X, np.arange(60), k=4, metric=metric, batch_size=16)
    for q in range(60):
        best = brute_neighbours(X, q, 4, metric)
        assert nn.index[q].tolist() == [j for _, j in best]
        np.testing.assert_allclose(nn.distance[q], [d for d, _ in best], atol=1e-9)
    assert nn.index[3, :2].tolist() == [10, 20]
    assert not (nn.index == np.arange(60)[:, None]).any()              # never itself
    vec = nearest_neighbours(X, X[[3]], k=3, metric=metric)             # a vector query
    assert vec.index[0].tolist() == [3, 10, 20]


def test_neighbours_bad_input():
    X = np.zeros((5, 3))
    with pytest.raises(ValueError, match="metric"):
        nearest_neighbours(X, [0], metric="manhattan")
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbours(X, [0], k=5)
    with pytest.raises(ValueError, match="outside"):
        nearest_neighbours(X, [5])
    with pytest.raises(ValueError, match="queries"):
        nearest_neighbours(X, np.zeros((2, 4)))


def test_code_neighbours_share_the_label_more_than_pixel_neighbours(net):
    """Krizhevsky et al. 2012, Fig. 4: similar codes, same class; similar pixels, not so."""
    data = make_shapes(400, seed=12345)
    c = codes(net, ArraySource(data.images, data.labels), "gap", progress=False)
    queries = np.arange(0, 400, 4)
    in_codes = label_agreement(nearest_neighbours(c.codes, queries, k=5).index, data.labels,
                               queries)
    in_pixels = label_agreement(nearest_neighbours(data.images.reshape(400, -1), queries,
                                                   k=5).index, data.labels, queries)
    print(f"label agreement at k=5: codes {in_codes:.3f}, pixels {in_pixels:.3f}")
    assert in_codes > 0.7 and in_pixels < 0.4 and in_codes > in_pixels + 0.4


def test_pca_against_the_closed_form_and_scikit_learn():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6)) @ rng.standard_normal((6, 6)) + 3
    p = pca(X, 6)
    cov = np.cov(X, rowvar=False)
    np.testing.assert_allclose(p.explained_variance, np.sort(np.linalg.eigvalsh(cov))[::-1])
    np.testing.assert_allclose(p.explained_variance_ratio.sum(), 1)
    np.testing.assert_allclose(p.components @ p.components.T, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(p.projected @ p.components + p.mean, X, atol=1e-10)
    decomposition = pytest.importorskip("sklearn.decomposition")
    ref = decomposition.PCA(3, svd_solver="full").fit(X)
    q = pca(X, 3)
    np.testing.assert_allclose(q.explained_variance, ref.explained_variance_)
    np.testing.assert_allclose(np.abs(q.components @ ref.components_.T), np.eye(3), atol=1e-10)
    with pytest.raises(ValueError, match="k must be"):
        pca(X, 7)


def test_grid_layout_is_an_optimal_assignment():
    rng = np.random.default_rng(3)
    Y = rng.random((6, 2)) * [10, 3] - 5
    cells = grid_layout(Y, (2, 3))
    assert sorted(map(tuple, cells.tolist())) == [(r, c) for r in range(2) for c in range(3)]
    P = (Y - Y.min(0)) / np.ptp(Y, axis=0)
    centre = lambda r, c: np.array([(c + 0.5) / 3, 1 - (r + 0.5) / 2])  # noqa: E731
    cost = lambda cs: sum(((P[n] - centre(*cs[n])) ** 2).sum() for n in range(6))  # noqa: E731
    all_cells = [(r, c) for r in range(2) for c in range(3)]
    best = min(cost(perm) for perm in itertools.permutations(all_cells))
    assert cost([tuple(c) for c in cells]) == pytest.approx(best)
    top_right = np.argmax(P[:, 0] + P[:, 1])
    assert tuple(cells[top_right]) != (1, 0)                          # not bottom-left
    few = grid_layout(rng.random((7, 2)), (2, 2))                      # more points than cells
    assert (few[:, 0] == -1).sum() == 3
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        grid_layout(np.zeros((4, 3)))

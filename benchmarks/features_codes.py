"""Benchmark CNN codes: the cache, neighbours in code vs pixel space, t-SNE of 2,000 points.

Run it from a clone of the repository::

    python benchmarks/features_codes.py                 # the issue's figures
    python benchmarks/features_codes.py --sklearn       # also scikit-learn's exact t-SNE

Figures (issue 11), on ``tiny``'s ``gap`` codes of fresh shapes (seed 12345):

* codes of 10,000 images: first run (forward passes, written to a
  memory-mapped ``.npy``) and second run (the cache reused);
* nearest neighbours (k = 5, Euclidean) of every image among 2,000: the
  share of neighbours with the query's label, in code space and in pixel
  space (Krizhevsky et al. 2012, Fig. 4);
* exact t-SNE of 2,000 codes (target: under 60 s on 2 cores), its KL and
  trustworthiness (k = 10; scikit-learn's function when installed, else the
  formula of Venna & Kaski 2001), and with ``--sklearn`` the same for
  scikit-learn's exact t-SNE with the same settings.

One BLAS thread (set before NumPy loads); a shared machine makes every time
noisy, so run it twice and quote both.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from minicnn import models  # noqa: E402
from minicnn.data import make_shapes  # noqa: E402
from vis.features.codes import codes  # noqa: E402
from vis.features.layout import grid_layout  # noqa: E402
from vis.features.neighbours import label_agreement, nearest_neighbours  # noqa: E402
from vis.features.pca import pca  # noqa: E402
from vis.features.sources import ArraySource, ShapesSource  # noqa: E402
from vis.features.tsne import squared_distances, tsne  # noqa: E402


def trustworthiness(X, Y, k=10):
    """scikit-learn's when installed, else Venna & Kaski 2001 written out."""
    try:
        from sklearn.manifold import trustworthiness as sk
        return sk(X, Y, n_neighbors=k)
    except ImportError:
        N = len(X)
        dx, dy = squared_distances(X), squared_distances(Y)
        np.fill_diagonal(dx, np.inf)
        np.fill_diagonal(dy, np.inf)
        rank = np.empty((N, N), np.int64)
        rank[np.arange(N)[:, None], np.argsort(dx, axis=1)] = np.arange(1, N + 1)
        near = np.argsort(dy, axis=1)[:, :k]
        pen = np.clip(np.take_along_axis(rank, near, axis=1) - k, 0, None).sum()
        return 1 - 2 / (N * k * (2 * N - 3 * k - 1)) * pen


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-cache", type=int, default=10000)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--sklearn", action="store_true")
    a = p.parse_args()
    net = models.load("tiny")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gap.npy"
        t0 = time.perf_counter()
        codes(net, ShapesSource(a.n_cache), "gap", cache=path, progress=False)
        t1 = time.perf_counter()
        again = codes(net, ShapesSource(a.n_cache), "gap", cache=path, progress=False)
        t2 = time.perf_counter()
        print(f"codes of {a.n_cache} images: {t1 - t0:.1f} s; cached, reused={again.reused}: "
              f"{t2 - t1:.2f} s; file {path.stat().st_size / 1e6:.1f} MB")

    data = make_shapes(a.n, seed=12345)
    c = codes(net, ArraySource(data.images, data.labels), "gap", progress=False)
    X = np.asarray(c.codes, np.float64)
    q = np.arange(a.n)
    for metric in ("l2", "cosine"):
        in_codes = label_agreement(nearest_neighbours(X, q, 5, metric).index, data.labels, q)
        in_pixels = label_agreement(nearest_neighbours(data.images.reshape(a.n, -1), q, 5,
                                                       metric).index, data.labels, q)
        print(f"label agreement of the 5 nearest neighbours ({metric}), {a.n} queries: "
              f"codes {in_codes:.3f}, pixels {in_pixels:.3f} (chance {1 / 8:.3f})")
    p2 = pca(X, 2)
    print(f"PCA of the codes: first two components explain "
          f"{p2.explained_variance_ratio.sum():.1%} of the variance")

    t0 = time.perf_counter()
    r = tsne(X, seed=0)
    t1 = time.perf_counter()
    print(f"t-SNE (exact, ours) of {a.n} points: {t1 - t0:.1f} s, KL {r.kl:.4f}, "
          f"trustworthiness(k=10) {trustworthiness(X, r.embedding):.4f}, "
          f"max |perplexity - 30| {np.abs(r.perplexity - 30).max():.2e}")
    t0 = time.perf_counter()
    cells = grid_layout(r.embedding)
    print(f"grid layout of {a.n} points ({cells.max(0)[0] + 1} rows): "
          f"{time.perf_counter() - t0:.1f} s")
    if a.sklearn:
        from sklearn.manifold import TSNE
        t0 = time.perf_counter()
        ref = TSNE(method="exact", init="random", learning_rate=200.0, random_state=0).fit(X)
        t1 = time.perf_counter()
        print(f"t-SNE (exact, scikit-learn) of {a.n} points: {t1 - t0:.1f} s, KL "
              f"{ref.kl_divergence_:.4f}, trustworthiness(k=10) "
              f"{trustworthiness(X, ref.embedding_):.4f}")


if __name__ == "__main__":
    main()

# %% [markdown]
# # 16 · CNN codes, nearest neighbours and t-SNE
#
# **CNN codes** (Krizhevsky et al. 2012, Sec. 6.1, Fig. 4): the activations
# of the last hidden layer are a vector per image, a *code*. "If two images
# produce feature activation vectors with a small Euclidean separation, we
# can say that the higher levels of the neural network consider them to be
# similar." On `tiny` the code is the 64-D output of `gap` (AlexNet's is the
# 4096-D `fc7`). The neighbours of a query q among the codes x_n:
#
#     d(q, x_n) = ||q - x_n||_2,   the k smallest, q left out        (Sec. 6.1)
#
# and the same on raw pixels for the contrast.
#
# **PCA** (Pearson 1901): the linear 2-D view, `X - mu = U S V^T`, the codes
# projected on the first two columns of V, with `S_i^2 / sum_j S_j^2` the
# share of the variance each keeps.
#
# **t-SNE** (van der Maaten & Hinton 2008), the non-linear one: point i picks
# j as its neighbour with a Gaussian probability, sigma_i set per point so
# that the row's *perplexity* equals the one asked for (Sec. 2):
#
#     p_{j|i} = exp(-d_ij / 2 sigma_i^2) / sum_{k != i} exp(-d_ik / 2 sigma_i^2)
#     Perp(P_i) = 2^{H(P_i)},   H(P_i) = -sum_j p_{j|i} log2 p_{j|i}
#
# with d_ij = ||x_i - x_j||^2; the perplexity is "a smooth measure of the
# effective number of neighbours". Then the map y minimises KL(P || Q) for a
# Student-t q_ij in the map (Sec. 3.3, Eq. 4-5).
# The code is `vis/features/` (`codes.py`, `neighbours.py`, `pca.py`,
# `tsne.py`, `layout.py`).
#
# Writes into `--out`: `neighbours_code.png`, `neighbours_pixel.png`,
# `pca.png`, `tsne.png`, `tsne_perplexity.png` (perplexity 5 and 50) and
# `tsne_grid.png` (the images at their place in the map, Karpathy's grid).

# %%
import argparse
import sys
from pathlib import Path

import numpy as np

from minicnn import models
from minicnn.data import CLASS_NAMES, TEST_SEED
from vis import draw, pictures
from vis.features.codes import codes
from vis.features.layout import grid_layout
from vis.features.neighbours import label_agreement, nearest_neighbours
from vis.features.pca import pca
from vis.features.sources import ShapesSource
from vis.features.tsne import conditional_probabilities, squared_distances, tsne
from vis.image import save_png

parser = argparse.ArgumentParser(description="CNN codes: nearest neighbours, PCA and t-SNE")
parser.add_argument("--out", type=Path, default=Path("out/examples/16_cnn_codes_tsne"),
                    help="folder for the pictures (default: %(default)s)")
parser.add_argument("--force", action="store_true", help="write into a folder that is not empty")
args = parser.parse_known_args()[0]          # a notebook kernel passes arguments of its own
taken = args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir()))
if taken and not args.force:
    sys.exit(f"{args.out} exists and is not an empty folder: use --force, or another --out")
args.out.mkdir(parents=True, exist_ok=True)


def save(name, picture, title):
    """One PNG with a title strip into --out."""
    save_png(args.out / name, draw.titled(picture, title), force=args.force)
    print(f"wrote {args.out / name}")


# %% [markdown]
# ## The codes of 1000 test images
#
# One forward pass to `gap` per batch; the codes are an (N, 64) array.

# %%
net = models.load("tiny")
source = ShapesSource(1000, seed=TEST_SEED)
images, labels = source.read(0, len(source))
c = codes(net, source, "gap", progress=False)
X = np.asarray(c.codes, dtype=np.float64)
print(f"codes of {c.layer}: {X.shape[0]} images x {X.shape[1]} values, "
      f"{np.mean(X == 0):.1%} exactly zero (channels the ReLU switched off)")

# %% [markdown]
# ## Neighbours in code space and in pixel space
#
# The number: the share of each image's 5 nearest neighbours that have its
# class (precision at 5), over all 1000 images as queries. Chance is the
# probability that two random images share a class, `sum_k f_k^2` for class
# frequencies f_k. In pixel space the nearest images share the background
# colour and the layout, not the shape.

# %%
queries = np.arange(len(X))
chance = float((np.bincount(labels) / len(labels)) @ (np.bincount(labels) / len(labels)))
pixels = images.reshape(len(images), -1)
for space, Z in (("code", X), ("pixel", pixels)):
    agree = label_agreement(nearest_neighbours(Z, queries, k=5).index, labels, queries)
    print(f"{space:>5} space: neighbours with the query's class {agree:.3f} "
          f"(chance {chance:.3f})")
    shown = np.arange(6)
    rows = nearest_neighbours(Z, shown, k=6).index
    save(f"neighbours_{space}.png", pictures.neighbour_rows(images, shown, rows, labels=labels),
         f"tiny: 6 test images (green) and their 6 nearest of 1000 in {space} space"
         f"{' (gap, 64-D)' if space == 'code' else ' (64x64x3)'}\nKrizhevsky et al. 2012, "
         "Fig. 4; red: another class")

# %% [markdown]
# ## PCA: the linear view
#
# How much of the variance the first components keep, and how many
# components 90 % needs. A 2-D map keeps a neighbourhood if a point's
# nearest neighbours in the map are also its nearest codes: the number is
# the share of each point's 10 nearest codes that are among its 10 nearest
# in the map, and the class agreement of the map's 5 nearest.

# %%


def map_numbers(name, Y, k=10):
    """Print the share of each point's k nearest codes among its k nearest in the 2-D map
    Y, and the class agreement of the map's 5 nearest."""
    near_x = nearest_neighbours(X, queries, k=k).index
    near_y = nearest_neighbours(Y, queries, k=k).index
    kept = np.mean([len(np.intersect1d(a, b)) / k for a, b in zip(near_x, near_y)])
    agree = label_agreement(nearest_neighbours(Y, queries, k=5).index, labels, queries)
    print(f"{name} 2-D map: {k} nearest codes kept {kept:.3f}; neighbours with the query's "
          f"class {agree:.3f}")


full = pca(X, min(X.shape))
cum = np.cumsum(full.explained_variance_ratio)
p = pca(X, 2)
print(f"PCA: the first two components keep {cum[1]:.1%} of the variance; 90% needs "
      f"{int(np.searchsorted(cum, 0.9)) + 1} of {X.shape[1]}")
map_numbers("PCA", p.projected)
save("pca.png", pictures.scatter(p.projected, labels, CLASS_NAMES),
     f"PCA of the codes of tiny's gap, 1000 test images\nexplained variance "
     f"{p.explained_variance_ratio[0]:.1%} + {p.explained_variance_ratio[1]:.1%}")

# %% [markdown]
# ## The perplexity search, one row at a time
#
# For each point the bisection finds the precision beta_i = 1 / (2 sigma_i^2)
# whose row has the target perplexity (`conditional_probabilities`, the
# homework task `tsne-perplexity`). Points in a dense region get a small
# sigma, isolated ones a large one. Checked from the row itself:
# `2^H(P_i)` with H in bits.

# %%
P, beta, reached = conditional_probabilities(squared_distances(X), 30.0)
sigma = np.sqrt(1 / (2 * beta))
row = P[0][P[0] > 0]
bits = float(-(row * np.log2(row)).sum())
print(f"perplexity 30: point 0 has sigma {sigma[0]:.3f}, H(P_0) = {bits:.4f} bits, "
      f"2^H = {2 ** bits:.4f}; over all rows max |Perp - 30| = {np.abs(reached - 30).max():.1e}")
print(f"sigma_i from {sigma.min():.2f} to {sigma.max():.2f} (median {np.median(sigma):.2f})")

# %% [markdown]
# ## The t-SNE map
#
# Perplexity 30, 1000 iterations, seeded (the defaults and their sources are
# in the docstring of `vis/features/tsne.py`). The same two numbers as for
# PCA: t-SNE keeps the neighbourhoods a 2-D linear map loses.

# %%
t = tsne(X, perplexity=30, seed=0)
print(f"t-SNE: KL(P || Q) {t.kl_history[0, 1]:.3f} after {int(t.kl_history[0, 0])} "
      f"iterations, {t.kl:.3f} after {int(t.kl_history[-1, 0])}")
map_numbers("t-SNE", t.embedding)
save("tsne.png", pictures.scatter(t.embedding, labels, CLASS_NAMES),
     f"t-SNE of the codes of tiny's gap, 1000 test images\nperplexity 30, seed 0, "
     f"KL {t.kl:.3f} (van der Maaten & Hinton 2008)")
cells = grid_layout(t.embedding)
save("tsne_grid.png", pictures.thumbnail_grid(images[:, :, ::2, ::2], cells),
     f"the 1000 images at their t-SNE places, snapped to a {cells.max() + 1}x"
     f"{cells.max() + 1} grid (Karpathy's t-SNE of CNN codes)")

# %% [markdown]
# ## What the perplexity changes
#
# A small perplexity looks at a few neighbours: many small clumps. A large
# one at many: smoother, rounder clusters ("typical values are between 5 and
# 50", Sec. 2). On the first 500 codes.

# %%
panels = []
for perplexity in (5, 50):
    r = tsne(X[:500], perplexity=perplexity, seed=0)
    print(f"perplexity {perplexity}: KL {r.kl:.3f}, sigma_i median "
          f"{np.median(np.sqrt(1 / (2 * r.beta))):.2f}")
    panels.append(pictures.scatter(r.embedding, labels[:500], CLASS_NAMES,
                                   f"perplexity {perplexity}"))
save("tsne_perplexity.png", draw.side_by_side(panels),
     "t-SNE of 500 codes at perplexity 5 and 50 (van der Maaten & Hinton 2008, Sec. 2)")

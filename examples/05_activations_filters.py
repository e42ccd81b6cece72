# %% [markdown]
# # 05 · Activations and filters
#
# The simplest looks inside a CNN need no gradient at all.
#
# **First-layer filters** (Krizhevsky et al. 2012, Fig. 3): a filter `W[f]`
# of shape (3, KH, KW) lives in the same space as an image patch, so it can be
# drawn as a tiny colour image, each min-max scaled on its own:
#
#     img = (W[f] - min W[f]) / (max W[f] - min W[f])
#
# **Activations** (Zeiler & Fergus 2014, Fig. 2; Chollet 2017, *Deep Learning
# with Python*, Sec. 5.4.1): every channel of a layer's output (C, h, w) as a
# grey image, standardised per channel, `g = clip(64 * (a - mean a) / (std a +
# 1e-5) + 128, 0, 255)`. Early layers look like edge maps; deep layers are
# sparse and fire only where a part they detect is.
#
# **Receptive field** (Araujo et al. 2019, "Computing receptive fields of
# convolutional neural networks", Distill): a unit of a deeper layer sees a
# larger window of the image, `size += (k - 1) * jump; jump *= stride` layer by
# layer (`minicnn/receptive_field.py`).
#
# Writes into `--out`: `filters.png` and one `activations_<layer>.png` for the
# last ReLU of each of `tiny`'s four blocks.

# %%
import argparse
import sys
from pathlib import Path

import numpy as np

import vis
from minicnn import models
from minicnn.data import TEST_SEED, make_shapes
from minicnn.preprocessing import preprocess
from vis import draw
from vis.features.filters import filter_norms
from vis.image import save_png

parser = argparse.ArgumentParser(description="activations and first-layer filters")
parser.add_argument("--out", type=Path, default=Path("out/examples/05_activations_filters"),
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
# ## The filters of `conv1_1`
#
# `tiny` has 8 filters of 3x3: too small for Krizhevsky's Gabor-like pictures
# (AlexNet's are 11x11), but the colour-opponent and edge filters are there.
# Their norms say how strongly each one reacts.

# %%
net = models.load("tiny")
filters = vis.first_layer_filters(net)                     # (F, KH, KW, 3) in [0, 1]
norms = filter_norms(net, "conv1_1")
print(f"conv1_1: {filters.shape[0]} filters of {filters.shape[1]}x{filters.shape[2]}; "
      "norms " + " ".join(f"{v:.2f}" for v in norms))
save("filters.png", draw.zoom(vis.filter_grid(filters, ncols=8, pad=4), 2),
     "tiny conv1_1: 8 filters, 3x3, each min-max scaled")

# %% [markdown]
# ## The activations of one image, block by block
#
# Numbers per layer: the share of zero activations (after the ReLU) on 32
# test images, the channels that are zero on all 32 ("dead" here), and the
# receptive field of one unit.

# %%
data = make_shapes(32, seed=TEST_SEED)
x = preprocess(data.images, net)
layers = ["relu1_2", "relu2_2", "relu3_2", "relu4_2"]
acts = vis.activations(net, x, layers)
for name in layers:
    a = acts[name]                                         # (N, C, h, w)
    dead = int((a.max(axis=(0, 2, 3)) == 0).sum())
    rf = net.receptive_field(name)
    print(f"{name}: {a.shape[1]:2d} x {a.shape[2]}x{a.shape[3]}, {np.mean(a == 0):5.1%} zeros, "
          f"dead channels: {dead}, receptive field {rf.size[0]}x{rf.size[1]} px")
    grid = vis.activation_grid(a[0], ncols=8, pad=1)
    save(f"activations_{name}.png", draw.zoom(grid, max(1, round(520 / grid.shape[1]))),
         f"tiny {name} for a {data.class_names[data.labels[0]]}: {a.shape[1]} channels "
         f"of {a.shape[2]}x{a.shape[3]}")

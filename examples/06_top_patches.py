# %% [markdown]
# # 06 · Maximally activating patches
#
# What does one channel of a layer respond to? Zeiler & Fergus 2014 (Fig. 2,
# Sec. 4) search "across the validation data" for the 9 strongest activations
# of a feature map and show, for each, the image patch the unit sees and that
# one activation projected back to the pixels by the *deconvnet* (Sec. 2.1).
#
# **The patch.** Unit (i, j) of a layer sees the box of its receptive field,
# the composition of every window, stride and padding below it
# (`minicnn/receptive_field.py`):
#
#     y0 = offset + i * stride,   y1 = y0 + size        (rows; likewise x, columns)
#
# **The projection** (Sec. 2.1: "we set all other activations in the layer
# to zero and pass the feature maps as input to the attached deconvnet
# layer"): inject the unit's own value and backpropagate under a rule,
#
#     g[c, i, j] = A[c, i, j],  0 elsewhere;   projection = net.backward({layer: g}, rule)
#
# through unpooling with the forward pass's switches, the rule's ReLU and the
# transposed filters. The deconvnet's ReLU keeps `dout > 0`; guided
# backpropagation (Springenberg et al. 2015, Sec. 3.4, Fig. 7) keeps
# `dout > 0` *and* `x > 0` (example 03; `minicnn/layers/relu.py`). The code
# is `vis/features/patches.py`.
#
# Writes into `--out`: `patches_relu2_2.png`, `patches_relu3_2.png` and
# `patches_relu4_2.png` (the top 9 patches of 6 channels | their deconvnet
# projections) and `guided_relu4_2.png` (the same patches | guided
# backpropagation).

# %%
import argparse
import sys
from pathlib import Path

import numpy as np

from minicnn import models
from minicnn.data import CLASS_NAMES, TEST_SEED
from minicnn.preprocessing import preprocess
from vis import draw, pictures
from vis.features.patches import project, top_patches
from vis.features.shards import scan_shard
from vis.features.sources import ShapesSource
from vis.features.topk import merge
from vis.image import save_png

parser = argparse.ArgumentParser(description="maximally activating patches and projections")
parser.add_argument("--out", type=Path, default=Path("out/examples/06_top_patches"),
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
# ## The search: the 9 strongest images of every channel
#
# One entry per image: an image's value for channel c is its strongest unit
# of c, `max_{i,j} A[n, c, i, j]` (`vis/features/topk.py`), so one image
# cannot fill the top 9 with overlapping patches. 1000 test images, every
# channel of four layers, one forward pass.
#
# Numbers per layer: the receptive field, the share of the patches' pixels
# that lie outside the image (the network saw its zero padding there; drawn
# hatched), and how *class-specific* the units are: the share of a channel's
# top 9 that belong to its most frequent class, averaged over the channels.
# Nine images drawn at random from the 8 classes give the chance level.

# %%
net = models.load("tiny")
source = ShapesSource(1000, seed=TEST_SEED)
layers = ["relu1_2", "relu2_2", "relu3_2", "relu4_2"]
search = top_patches(net, source, layers, k=9, rules=(), progress=False)   # no projections yet


def purity(labels):
    """(C, 9) labels -> (C,) share of the most frequent class among each row's 9."""
    return np.array([np.bincount(row, minlength=len(CLASS_NAMES)).max() for row in labels]) / 9


_, all_labels = source.read(0, len(source))
chance = purity(np.random.default_rng(0).choice(all_labels, (10000, 9))).mean()
print(f"1000 test images; chance level of one class among 9 random images: {chance:.3f}")
for name, r in search.items():
    rf = net.receptive_field(name)
    print(f"{name}: {len(r.channels):2d} channels, receptive field {rf.size[0]}x{rf.size[1]} "
          f"px, stride {rf.stride[0]}; padding in the patches {1 - r.inside.mean():6.1%}; "
          f"one class in the top 9: {purity(r.labels).mean():.3f}")

# %% [markdown]
# ## A merge that does not depend on the split
#
# The search is a streaming reduction: each batch keeps its k best entries
# per channel and two states merge into the k best of both. Entries are
# ordered by value, then by image index, so the order is total and
#
#     merge(top9(images 0..499), top9(images 500..999)) == top9(images 0..999)
#
# exactly: the shards can run in parallel processes or on a cluster (DESIGN
# §5; `top_patches(..., workers=4)`).

# %%
halves = [scan_shard(net, source.subset(a, a + 500), ["relu4_2"], None, 9, 128, offset=a)
          for a in (0, 500)]
merged = merge(*(h["relu4_2"] for h in halves))
whole = search["relu4_2"]
same = (np.array_equal(merged.values, whole.values)
        and np.array_equal(merged.image_index, whole.image_index)
        and np.array_equal(merged.position, whole.position))
print(f"relu4_2: two halves merged == one pass over 1000 images: {same}")

# %% [markdown]
# ## Patches and their deconvnet projections, layer by layer
#
# Six channels per layer, drawn at random as Zeiler & Fergus did ("a random
# subset of feature maps"), seeded. Each row: the channel's 9 patches (3x3,
# best first) | their projections (grey 0, the colours the sign of each
# input channel). Deeper layers see larger patches (14, 32, then 68 px,
# more than the 64 px image) and answer to whole shapes, not edges.

# %%
rng = np.random.default_rng(0)
drawn = {}
for name in layers[1:]:
    C = len(search[name].channels)
    channels = np.sort(rng.choice(C, 6, replace=False))
    r = top_patches(net, source, name, channels=channels, k=9, progress=False)
    drawn[name] = r
    classes = ", ".join(f"{int(c)} {CLASS_NAMES[np.bincount(l).argmax()]}"
                        for c, l in zip(r.channels, r.labels))
    print(f"{name}: channels and their most frequent class: {classes}")
    save(f"patches_{name}.png", pictures.patch_grid(r, rule="deconvnet"),
         f"tiny {name}, channels {', '.join(map(str, r.channels))} (one per row): top 9 of "
         f"1000 images | deconvnet projections\nZeiler & Fergus 2014, Fig. 2 "
         f"(hatched: outside the image)")

# %% [markdown]
# ## The projection stays inside the receptive field
#
# A unit depends only on the pixels of its box, so its projection is exactly
# zero outside it: cropping the projection to the box loses nothing. Checked
# on the full 64x64 projection of the strongest unit of each drawn relu4_2
# channel (its box is clipped to the image).

# %%
r = drawn["relu4_2"]
images, _ = source.take(r.image_index[:, 0])
units = np.concatenate([r.channels[:, None], r.position[:, 0]], axis=1)
full = project(net, preprocess(images, net), "relu4_2", units)
for rule, dx in full.items():
    outside = 0.0
    for d, (x0, y0, x1, y1) in zip(np.abs(np.asarray(dx)).sum(axis=1), r.boxes[:, 0]):
        mask = np.ones(d.shape, bool)
        mask[max(y0, 0):y1, max(x0, 0):x1] = False
        outside += float(d[mask].sum()) / float(d.sum())
    print(f"{rule}: share of the projection outside the receptive field {outside / len(dx):.1e}")

# %% [markdown]
# ## Deconvnet or guided backpropagation?
#
# Springenberg et al. 2015, Fig. 7: the same patches projected with guided
# backpropagation, which also zeroes the signal where the forward ReLU was
# off. Numbers: how alike the 9 projections of one channel are (the mean
# correlation between pairs, averaged over the channels); a projection that
# says more about the unit than about the image is alike across images. On
# `tiny` the guided ones are the less alike at every layer: the forward mask
# ties them to each image's own edges, the sharper pictures of Fig. 7 (Nie
# et al. 2018 show that guided backpropagation partly reconstructs the
# image, whatever the unit).

# %%


def alike(proj):
    """(C, k, 3, h, w) -> mean correlation between the k projections of a channel."""
    f = proj.reshape(proj.shape[0], proj.shape[1], -1).astype(np.float64)
    f -= f.mean(axis=2, keepdims=True)
    f /= np.linalg.norm(f, axis=2, keepdims=True) + 1e-12
    corr = np.einsum("ckd,cld->ckl", f, f)
    k = f.shape[1]
    return float(((corr.sum(axis=(1, 2)) - k) / (k * (k - 1))).mean())


for name, r in drawn.items():
    print(f"{name}: projections of one channel alike (mean correlation): deconvnet "
          f"{alike(r.deconvnet):.3f}, guided {alike(r.guided):.3f}")
save("guided_relu4_2.png", pictures.patch_grid(drawn["relu4_2"], rule="guided"),
     f"tiny relu4_2, channels {', '.join(map(str, drawn['relu4_2'].channels))}: top 9 | "
     "guided backpropagation\nSpringenberg et al. 2015, Fig. 7")

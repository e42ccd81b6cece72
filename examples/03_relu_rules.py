# %% [markdown]
# # 03 · The three ReLU rules: gradient, deconvnet, guided backprop
#
# The forward pass of a ReLU is `y = max(x, 0)`. Three famous visualizations
# are the same backward pass through the network and differ only in what a
# ReLU sends back (Simonyan, Vedaldi & Zisserman 2014, Sec. 4; Springenberg et
# al. 2015, Sec. 3.4 and Fig. 1; `minicnn/layers/relu.py`):
#
#     gradient     dx = dout * (x > 0)                  masks by the forward input
#     deconvnet    dx = dout * (dout > 0)               masks by the backward signal
#     guided       dx = dout * (x > 0) * (dout > 0)     masks by both
#
# *gradient* is the true derivative (saliency, Simonyan et al. 2014, Sec. 3.1);
# *deconvnet* is Zeiler & Fergus 2014, Sec. 2.1; *guided backpropagation* is
# Springenberg et al. 2015, Sec. 3.4. Convolutions go back through their
# transposed filters and max-pooling through its switches under all three.
#
# Writes into `--out`: `rules.png` (three samples under the three rules) and
# `class_sensitivity.png` (each rule explaining two different classes).

# %%
import argparse
import sys
from pathlib import Path

import numpy as np

import vis
from minicnn import models
from minicnn.data import TEST_SEED, make_shapes
from minicnn.layers import ReLU
from minicnn.preprocessing import preprocess
from vis import draw
from vis.image import save_png

parser = argparse.ArgumentParser(description="the three ReLU backward rules")
parser.add_argument("--out", type=Path, default=Path("out/examples/03_relu_rules"),
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
# ## By hand
#
# Four positions, one of each kind: active with a positive signal, active with
# a negative one, inactive with a positive one, inactive with a negative one.

# %%
relu = ReLU("relu")
x = np.array([2.0, 3.0, -1.0, -4.0])
dout = np.array([5.0, -7.0, 11.0, -13.0])
relu.forward(x)
print("x        ", x)
print("dout     ", dout)
for rule in ("gradient", "deconvnet", "guided"):
    print(f"{rule:9s}", relu.backward(dout, rule))

# %% [markdown]
# ## Through `tiny`
#
# The target is each image's top class score (before the softmax). The maps
# are drawn as colour images, `0.5 + 0.5 * a / s` with `s` the 99th
# percentile of `|a|` (0 = grey, Springenberg et al. 2015, Fig. 3). Numbers:
# the share of pixels that get any signal, and the share of `max_c |a|` that
# falls on the object (the masks of the shapes data).

# %%
net = models.load("tiny")
data = make_shapes(3, seed=TEST_SEED)
x = preprocess(data.images, net)
rules = ("gradient", "deconvnet", "guided")
maps = {rule: vis.gradients(net, x, rule=rule) for rule in rules}
for rule in rules:
    m = draw.attribution_map(maps[rule])
    nonzero = (m > 0).mean()
    inside = (m * data.masks).sum() / m.sum()
    print(f"{rule:9s}: {nonzero:6.1%} of pixels non-zero, {inside:6.1%} of max_c|a| on the object")
rows = [draw.side_by_side([data.images[n]] + [draw.signed_rgb(maps[r][n]) for r in rules],
                          factor=2)
        for n in range(len(x))]
picture = np.concatenate([np.pad(r, ((0, 4), (0, 0), (0, 0)), constant_values=255)
                          for r in rows])[:-4]
save("rules.png", picture, "tiny, top class: image | gradient | deconvnet | guided backprop")

# %% [markdown]
# ## Do they depend on the class?
#
# A map that explains "the class" should change when the class changes. Here
# each rule explains the top class and the least likely class of the same
# image; the number is the correlation of the two maps `max_c |a|` (1: the
# same picture). Guided backprop and the deconvnet were found to reconstruct
# the image more than to explain the class (Mahendran & Vedaldi 2016, "Salient
# deconvolutional networks"; Nie, Zhang & Patel 2018, "A theoretical
# explanation for perplexing behaviors of backpropagation-based
# visualizations"; Adebayo et al. 2018, "Sanity checks for saliency maps").
# Which rule's maps hardly change on `tiny`?

# %%
scores = net.forward(x)
top, bottom = scores.argmax(axis=1), scores.argmin(axis=1)
panels = []
for rule in rules:
    a = draw.attribution_map(vis.gradients(net, x, target=top, rule=rule))
    b = draw.attribution_map(vis.gradients(net, x, target=bottom, rule=rule))
    r = [np.corrcoef(a[n].ravel(), b[n].ravel())[0, 1] for n in range(len(x))]
    print(f"{rule:9s}: correlation of the maps for the top and the last class: "
          + ", ".join(f"{v:.2f}" for v in r))
    panels += [draw.grey(draw.cap(a[0])), draw.grey(draw.cap(b[0]))]
names = data.class_names
save("class_sensitivity.png", draw.side_by_side(panels, factor=2),
     f"pairs: {names[top[0]]} | {names[bottom[0]]}, for gradient, deconvnet, guided")

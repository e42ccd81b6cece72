# %% [markdown]
# # 10 · Occlusion sensitivity
#
# Zeiler & Fergus 2014, Sec. 4.2 and Fig. 7: "systematically covering up
# different portions of the scene with a grey square, and monitoring the
# output of the classifier". No gradient, only forward passes, so it works for
# any model and is the sanity check of the gradient methods. For every
# position (y, x) of the square:
#
#     drop[y, x] = S_c(image) - S_c(image with the square at (y, x))
#
# (the class score before the softmax; the probability too, Fig. 7(d)).
# Positive: the patch mattered. Each pixel gets the mean drop of the windows
# that cover it (`vis/attribution/occlusion.py`). The grey is 0 in the
# preprocessed input, i.e. the dataset's mean colour. Zeiler & Fergus slid
# the square over 224x224 images; on the 64x64 shapes we scale it to 8 px
# with a stride of 4 (the registry's default).
#
# Writes into `--out`: `occlusion.png` (four images: score drop, probability
# under occlusion, overlay) and `occlusion_windows.png` (square sizes 4, 8, 16).

# %%
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import vis
from minicnn import models
from minicnn.data import TEST_SEED, make_shapes
from minicnn.losses import softmax
from minicnn.preprocessing import preprocess
from vis import draw
from vis.image import save_png

parser = argparse.ArgumentParser(description="occlusion sensitivity")
parser.add_argument("--out", type=Path, default=Path("out/examples/10_occlusion"),
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


def stack(rows, gap=4):
    """Pictures of one width, one under the other."""
    return np.concatenate([np.pad(draw.side_by_side(r, factor=2), ((0, gap), (0, 0), (0, 0)),
                                  constant_values=255) for r in rows])[:-gap]


# %% [markdown]
# ## The score drop and the probability
#
# Left to right: the image, the score drop (red: the score fell, blue: it
# rose), the probability of the class with the square at each position
# (Zeiler & Fergus Fig. 7(d): black 0, white 1, dark where covering kills the
# class), and the positive drop over the image.

# %%
net = models.load("tiny")
data = make_shapes(4, seed=TEST_SEED)
x = preprocess(data.images, net)
p = softmax(net.forward(x))
r = vis.occlusion(net, x, window=8, stride=4, progress=False)
rows = []
for n in range(len(x)):
    k = r.target[n]
    under = np.clip(p[n, k] - r.prob_drop[n], 0, 1)      # p_c, the square over each pixel
    lowest = max(0.0, float(p[n, k] - r.grid_prob_drop[n].max()))   # the most harmful square
    print(f"image {n}: {data.class_names[k]} p = {p[n, k]:.3f}; largest score drop "
          f"{r.grid_score_drop[n].max():.2f}, lowest probability under occlusion {lowest:.3f}")
    rows.append([data.images[n], draw.diverging(r.score_drop[n]), np.repeat(under[None], 3, 0),
                 draw.heat_overlay(data.images[n], np.maximum(r.score_drop[n], 0))])
save("occlusion.png", stack(rows), "tiny, 8 px square, stride 4: image | score drop |\n"
     "p(class) with the square there (black 0, white 1) | overlay")

# %% [markdown]
# ## The size of the square
#
# A square much smaller than the object hides no part that matters; a square
# much larger hides everything. The cost is one forward pass per position:
# `(1 + (64 - window) // stride)^2` of them (plus the last row and column
# moved flush with the border).

# %%
panels = [data.images[0]]
for window in (4, 8, 16):
    start = time.perf_counter()
    rw = vis.occlusion(net, x[:1], window=window, stride=window // 2, progress=False)
    seconds = time.perf_counter() - start
    rows_, cols_ = rw.grid_score_drop.shape[1:]
    print(f"window {window:2d}, stride {window // 2}: {rows_ * cols_:3d} forward passes, "
          f"largest drop {rw.grid_score_drop.max():.2f} ({seconds:.2f} s here and now)")
    panels.append(draw.diverging(rw.score_drop[0]))
save("occlusion_windows.png", draw.side_by_side(panels, factor=2),
     "score drop for squares of 4, 8 and 16 px (stride: half the square)")

# %% [markdown]
# ## Does it point at the object?
#
# The pointing game (Zhang et al. 2016, Sec. 5.1) on 40 test images with the
# cheaper settings of the localization table (16 px, stride 8), beside the
# saliency map of example 07.

# %%
test = make_shapes(40, seed=TEST_SEED)
xt = preprocess(test.images, net)
occ = vis.occlusion(net, xt, window=16, stride=8, progress=False).score_drop
print(f"pointing game on 40 images: occlusion {vis.pointing_game(occ, test.masks).mean():.2f}, "
      f"saliency {vis.pointing_game(vis.saliency(net, xt), test.masks).mean():.2f}")

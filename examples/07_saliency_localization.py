# %% [markdown]
# # 07 · Saliency maps and weakly supervised localization
#
# **Saliency** (Simonyan, Vedaldi & Zisserman 2014, Sec. 3.1): the class
# score `S_c` (before the softmax) is, near the image `I0`, approximately
# linear, `S_c(I) ~ w^T I + b` with `w = dS_c/dI` at `I0`. The pixels with a
# large `|w|` are those whose change moves the score most. For colour images
# take the largest magnitude over the channels:
#
#     M[i, j] = max_c |w[c, i, j]|
#
# One forward and one backward pass (`vis/attribution/gradients.py`).
#
# **Localization** (same paper, Sec. 6): the most salient pixels (above the
# 95% quantile of `M`) are foreground seeds, the least salient (below 30%)
# background seeds; colour models of both and a graph cut (GrabCut, Rother et
# al. 2004) grow the seeds to a segmentation; its largest connected component
# is the object and its bounding box the localization
# (`vis/localization/segmentation.py`).
#
# **How good is it?** The shapes data give every image its mask and box:
# the *pointing game* (Zhang et al. 2016, Sec. 5.1: a hit when the map's
# maximum lies on the object, within 15 px at 224x224, 4 px at 64x64) and the
# box IoU (area of intersection over area of union).
#
# Writes into `--out`: `saliency.png` (four images, their maps and overlays)
# and `localization.png` (seeds -> segmentation -> box, with the true box).

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
from vis.image import save_png

parser = argparse.ArgumentParser(description="saliency maps and weakly supervised localization")
parser.add_argument("--out", type=Path, default=Path("out/examples/07_saliency_localization"),
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
# ## Saliency maps of the top class
#
# Gradients are spiky: for display the map is clipped at its 99th percentile
# (Smilkov et al. 2017, Sec. 3) and min-max scaled; the overlay uses the jet
# colormap at alpha 0.4 (Chollet 2017, Sec. 5.4.3).

# %%
net = models.load("tiny")
data = make_shapes(4, seed=TEST_SEED)
x = preprocess(data.images, net)
top = net.forward(x).argmax(axis=1)
maps = vis.saliency(net, x)                                # (N, H, W), target: the top class
rows = [[data.images[n], draw.grey(draw.cap(maps[n])), draw.heat_overlay(data.images[n], maps[n])]
        for n in range(len(x))]
save("saliency.png", stack(rows), "tiny: image | saliency max_c |dS/dI| | overlay\n"
     "top classes: " + ", ".join(data.class_names[k] for k in top))

# %% [markdown]
# ## From saliency to a box
#
# The seeds (red: foreground, blue: background), the graph-cut segmentation,
# and its box (red) against the true box (green).

# %%
rows = []
for n in range(len(x)):
    m = maps[n]
    fg, bg = m >= np.quantile(m, 0.95), m <= np.quantile(m, 0.30)
    seeds = draw.mask_overlay(draw.mask_overlay(data.images[n], fg, (1, 0, 0), 0.8),
                              bg, (0, 0, 1), 0.5)
    mask, box = vis.localize(data.images[n], m)
    boxed = draw.draw_box(draw.draw_box(data.images[n], data.boxes[n], draw.TRUE_BOX), box)
    iou = float(vis.box_iou(box, data.boxes[n]))
    print(f"image {n} ({data.class_names[data.labels[n]]}): box {list(box)}, true "
          f"{data.boxes[n].tolist()}, "
          f"IoU {iou:.2f}")
    rows.append([seeds, draw.mask_overlay(data.images[n], mask), boxed])
save("localization.png", stack(rows), "seeds | graph-cut segmentation | box (red) and "
     "true box (green)")

# %% [markdown]
# ## Scores on 40 test images
#
# `vis.evaluate` runs a map method over a shapes set and scores it. A map
# that ignores the image (a Gaussian at the centre, Zhang et al.'s "center"
# baseline) is what every method must beat: objects tend to lie near the
# middle, and a box grown from the middle is often not bad. Which score does
# saliency win, and which not?

# %%
test = make_shapes(40, seed=TEST_SEED)
H, W = test.images.shape[2:]
yy, xx = np.mgrid[0:H, 0:W]
centre = np.exp(-((yy - H / 2 + 0.5) ** 2 + (xx - W / 2 + 0.5) ** 2) / (2 * (H / 4) ** 2))
for name, method in [("saliency", vis.saliency),
                     ("centre prior", lambda net, x: np.repeat(centre[None], len(x), axis=0))]:
    r = vis.evaluate(method, net, test, progress=False)
    print(f"{name:12s}: pointing game {r['pointing']:.2f}, box IoU {r['box_iou']:.2f}, "
          f"energy on the object {r['energy']:.2f}")

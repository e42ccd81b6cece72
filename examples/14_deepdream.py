# %% [markdown]
# # 14 · DeepDream
#
# Mordvintsev et al. 2015 turn the net's view of an image up: ascend
# the squared activations of a layer, whose gradient is the activation itself,
# with a step normalized by the mean gradient, over an octave pyramid with
# random jitter:
#
#     L = 1/2 ||A_l(x)||^2       x <- x + step * g / mean|g|,   g = dL/dx
#
# (`vis/objectives/units.py`: `deepdream`; `vis/synthesis/dream.py`). Runs on the
# VGG16 trunk `vgg16_hed` (`minicnn weights fetch hed`); without it this
# example says so in one line.
#
# Writes into `--out`: `dream.png` (the photo | DeepDream at a middle layer |
# at a deeper layer).

# %%
import argparse
import sys
from pathlib import Path

import matplotlib.cbook
import numpy as np

import vis
from minicnn import models
from minicnn.preprocessing import preprocess
from vis import draw, pictures
from vis.image import load_image, save_png

parser = argparse.ArgumentParser(description="DeepDream on vgg16_hed")
parser.add_argument("--out", type=Path, default=Path("out/examples/14_deepdream"),
                    help="folder for the pictures (default: %(default)s)")
parser.add_argument("--force", action="store_true", help="write into a folder that is not empty")
args = parser.parse_known_args()[0]          # a notebook kernel passes arguments of its own
taken = args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir()))
if taken and not args.force:
    sys.exit(f"{args.out} exists and is not an empty folder: use --force, or another --out")
try:
    net = models.load("vgg16_hed")
except FileNotFoundError as e:
    print(f"skipped: {e}")
    raise SystemExit(0)
args.out.mkdir(parents=True, exist_ok=True)


def save(name, picture, title):
    """One PNG with a title strip into --out."""
    save_png(args.out / name, draw.titled(picture, title), force=args.force)
    print(f"wrote {args.out / name}")


def photo(name, size):
    """One of matplotlib's sample photos as RGB (3, size, size) in [0, 1]."""
    return load_image(matplotlib.cbook.get_sample_data(name, asfileobj=False), size=size)


# %% [markdown]
# ## Two layers, two octaves
#
# 160 px, 2 octaves of 6 steps (the notebook: 4 octaves of 10). The numbers:
# the objective at each octave's start and the end.

# %%
image = photo("grace_hopper.jpg", 160)
x = preprocess(image[None], net)
dreams = []
for layer in ("relu3_3", "relu4_3"):
    r = vis.deepdream(net, x, layer=layer, octaves=2, steps=6, seed=0, progress=False)
    values = np.asarray(r.history["objective"]).reshape(len(r.history["objective"]), -1)
    print(f"{layer}: objective {float(values[0].mean()):.4g} -> {float(values[-1].mean()):.4g}")
    dreams.append(r.image[0])
save("dream.png", draw.side_by_side([image] + dreams, factor=1),
     "DeepDream (Mordvintsev et al. 2015) on vgg16_hed\nphoto | relu3_3 | relu4_3")

# %% [markdown]
# # 08 · Deconvnet and guided backpropagation on a real photo
#
# **Deconvnet** (Zeiler & Fergus 2014, Sec. 2.1): to see what one unit of a
# deep layer responds to, keep its activation, set every other activation of
# the layer to zero, and map it back to the pixels through "unpooling" (the
# max-pool switches), "rectification" (a ReLU on the way down) and "filtering"
# with the transposed filters. Simonyan et al. (2014, Sec. 4) showed this is
# the backward pass with one change, at the ReLUs. **Guided backpropagation**
# (Springenberg et al. 2015, Sec. 3.4) masks by both signals:
#
#     gradient     dx = dout * (x > 0)
#     deconvnet    dx = dout * (dout > 0)
#     guided       dx = dout * (x > 0) * (dout > 0)
#
# The injected signal is the layer's output with all but the chosen unit
# zeroed, `g[k, i, j] = A[k, i, j]` at the unit and 0 elsewhere
# (`vis/targets.py`). We use the VGG16 trunk of HED (Xie & Tu 2015, an edge
# detector built on VGG16, Simonyan & Zisserman 2015) on matplotlib's photo of
# Grace Hopper: the most active unit of the last layer of blocks 3, 4 and 5.
# Needs the `vgg16_hed` weights (`minicnn weights fetch hed`); without them
# this example says so in one line and stops.
#
# Writes into `--out`: `projections.png` (one row per layer: image |
# gradient | deconvnet | guided) and `relu5_3_channels.png` (guided
# backprop of the four most active channels of relu5_3).

# %%
import argparse
import sys
from pathlib import Path

import matplotlib.cbook
import numpy as np

import vis
from minicnn import models
from minicnn.preprocessing import preprocess
from vis import draw
from vis.image import load_image, save_png

parser = argparse.ArgumentParser(description="deconvnet and guided backprop on vgg16_hed")
parser.add_argument("--out", type=Path, default=Path("out/examples/08_deconvnet_guided"),
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


# %% [markdown]
# ## The photo, preprocessed as the network was trained
#
# HED's VGG16 expects Caffe's input: BGR, 0-255, minus the mean colour
# (`net.meta["preprocess"]`, `minicnn/preprocessing.py`).

# %%
path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
image = load_image(path, size=net.meta["input_size"])      # (3, 224, 224) RGB in [0, 1]
x = preprocess(image[None], net)
print(f"input {x.shape}, channel order {net.meta['preprocess']['channel_order']}")

# %% [markdown]
# ## One unit per block, three rules
#
# HED was trained to find edges, and the zero padding makes the border of
# the image a strong edge: several of the most active units sit at or near
# the border. So we pick, for each layer, the most active unit in the
# middle half of the map (rows and columns from h/4 to 3h/4), as the target
# `(layer, channel, row, column)`. The numbers: the unit's receptive field,
# the share of pixels each rule reaches (non-zero in some channel), and the
# correlation of each map `max_c |a|` with the guided one.

# %%
rules = ("gradient", "deconvnet", "guided")
order = net.meta["preprocess"]["channel_order"]
layers = ("relu3_3", "relu4_3", "relu5_3")
acts = vis.activations(net, x, list(layers))
rows = []
for layer in layers:
    A = acts[layer][0]                                         # (K, h, w)
    h, w = A.shape[1:]
    middle = A[:, h // 4:3 * h // 4, w // 4:3 * w // 4]
    k, i, j = np.unravel_index(np.argmax(middle), middle.shape)
    unit = (layer, int(k), int(i) + h // 4, int(j) + w // 4)
    corner = np.unravel_index(np.argmax(A), A.shape)
    maps = {rule: vis.gradients(net, x, unit, rule=rule)[0] for rule in rules}
    flat = {rule: draw.attribution_map(maps[rule][None])[0] for rule in rules}
    rf = net.receptive_field(layer).size
    print(f"{layer} (receptive field {rf[0]}x{rf[1]}): the strongest unit "
          f"{tuple(int(v) for v in corner)} ({A.max():.0f}); the strongest in the middle "
          f"{unit[1:]} ({A[unit[1], unit[2], unit[3]]:.0f})")
    for r in rules:
        print(f"    {r:9s}: {np.mean(flat[r] > 0):5.1%} of pixels reached, correlation with "
              f"guided {np.corrcoef(flat[r].ravel(), flat['guided'].ravel())[0, 1]:.2f}")
    rows.append(draw.side_by_side([image] + [draw.signed_rgb(maps[r], order) for r in rules]))
picture = np.concatenate([np.pad(r, ((0, 4), (0, 0), (0, 0)), constant_values=255)
                          for r in rows])[:-4]
save("projections.png", picture, "vgg16_hed, a strong unit of relu3_3, relu4_3, relu5_3:\n"
     "image | gradient | deconvnet (Zeiler & Fergus) | guided backprop (Springenberg et al.)")

# %% [markdown]
# ## Different units see different things
#
# Guided backprop of the four channels of relu5_3 with the largest
# activation in the middle of the map, each at its most active position there.

# %%
A = acts["relu5_3"][0]                                      # (512, 14, 14)
middle = A[:, 14 // 4:3 * 14 // 4, 14 // 4:3 * 14 // 4]
best = np.argsort(middle.max(axis=(1, 2)))[::-1][:4]
panels = []
for k in best:
    i, j = np.unravel_index(np.argmax(middle[k]), middle[k].shape)
    g = vis.guided_backprop(net, x, ("relu5_3", int(k), int(i) + 14 // 4, int(j) + 14 // 4))[0]
    panels.append(draw.signed_rgb(g, order))
print("relu5_3 channels by peak activation in the middle:", ", ".join(
    f"{int(k)} ({middle[k].max():.0f})" for k in best))
save("relu5_3_channels.png", draw.side_by_side(panels), "guided backprop of relu5_3 channels "
     + ", ".join(str(int(k)) for k in best))

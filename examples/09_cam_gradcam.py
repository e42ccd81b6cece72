# %% [markdown]
# # 09 · Class activation maps: CAM and Grad-CAM
#
# **CAM** (Zhou et al. 2016, Sec. 2, Eq. 2). When a network ends in global
# average pooling and one linear layer, the class score is
# `S_c = sum_k w_k^c * mean_{x,y} f_k(x, y) + b_c`: the spatial mean of the
# *class activation map*
#
#     M_c(x, y) = sum_k w_k^c f_k(x, y)
#
# with `f_k` the last conv block's channels and `w^c` the row of the linear
# layer for class c. `tiny` has exactly this head (`gap -> fc`).
#
# **Grad-CAM** (Selvaraju et al. 2017, Sec. 3, Eq. 1-2) works at any conv
# layer A (K channels of h x w) of any network:
#
#     alpha_k^c = 1/Z sum_{i,j} dy^c / dA_ij^k           (Eq. 1, Z = h*w)
#     L^c       = ReLU(sum_k alpha_k^c A^k)             (Eq. 2)
#
# On a GAP -> linear head `dy^c/dA_ij^k = w_k^c / Z`, so Grad-CAM is
# ReLU(CAM) / Z ("Grad-CAM generalizes CAM", Sec. 3). **Guided Grad-CAM**
# multiplies guided backprop by the upsampled Grad-CAM map: fine detail,
# class-discriminative. The code is `vis/attribution/cam.py`.
#
# Writes into `--out`: `cam_gradcam.png`, `gradcam_layers.png`,
# `gradcam_classes.png` and `guided_gradcam.png`.

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

parser = argparse.ArgumentParser(description="CAM, Grad-CAM and Guided Grad-CAM")
parser.add_argument("--out", type=Path, default=Path("out/examples/09_cam_gradcam"),
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
# ## CAM and Grad-CAM of the top class
#
# Both maps are 8x8 (the resolution of `relu4_2`), upsampled bilinearly to
# 64x64. CAM keeps its sign (blue negative, red positive); Grad-CAM is the
# ReLU of the same map, divided by Z = 64.

# %%
net = models.load("tiny")
data = make_shapes(4, seed=TEST_SEED)
x = preprocess(data.images, net)
c = vis.cam(net, x)
g = vis.gradcam(net, x)
Z = g.coarse.shape[1] * g.coarse.shape[2]
print(f"CAM at {c.layer} {c.coarse.shape[1:]}, Grad-CAM at {g.layer} {g.coarse.shape[1:]}")
gap = np.abs(g.coarse - np.maximum(c.coarse, 0) / Z).max()
print(f"max |Grad-CAM - ReLU(CAM) / Z| = {gap:.1e}")
rows = [[data.images[n], draw.diverging(c.upsampled[n]), draw.grey(g.upsampled[n]),
         draw.heat_overlay(data.images[n], g.upsampled[n])] for n in range(len(x))]
save("cam_gradcam.png", stack(rows), "tiny: image | CAM (signed) | Grad-CAM | overlay\n"
     "top classes: " + ", ".join(data.class_names[k] for k in c.target))

# %% [markdown]
# ## Which layer?
#
# Earlier layers give finer maps, later layers more class-specific evidence
# (Selvaraju et al. 2017, Sec. 3, take the last conv layer). The numbers: the
# pointing game (Zhang et al. 2016, Sec. 5.1) of each layer's map on 40 test
# images (the first 40 of the test seed; image 0 is drawn).

# %%
test = make_shapes(40, seed=TEST_SEED)
xt = preprocess(test.images, net)
panels = [data.images[0]]
for layer in ("relu2_2", "relu3_2", "relu4_2"):
    r = vis.gradcam(net, xt, layer=layer)
    hits = vis.pointing_game(r.upsampled, test.masks)
    print(f"Grad-CAM at {layer} ({r.coarse.shape[1]}x{r.coarse.shape[2]}): pointing game "
          f"{hits.mean():.2f}")
    panels.append(draw.heat_overlay(data.images[0], r.upsampled[0]))
save("gradcam_layers.png", draw.side_by_side(panels, factor=2),
     "Grad-CAM at relu2_2 (32x32), relu3_2 (16x16), relu4_2 (8x8)")

# %% [markdown]
# ## Is it class-discriminative?
#
# Grad-CAM of the top class and of the runner-up class of the same image.
# Unlike guided backprop (example 03), the maps should differ.

# %%
order = np.argsort(net.forward(x)[0])[::-1]
panels = [data.images[0]]
for k in order[:2]:
    m = vis.gradcam(net, x[:1], target=int(k))
    panels.append(draw.heat_overlay(data.images[0], m.upsampled[0]))
    i, j = np.unravel_index(np.argmax(m.coarse[0]), m.coarse.shape[1:])
    print(f"class {data.class_names[k]}: Grad-CAM sum {m.coarse.sum():.3f}, maximum at "
          f"row {i}, column {j} of 8x8")
save("gradcam_classes.png", draw.side_by_side(panels, factor=2),
     f"Grad-CAM of {data.class_names[order[0]]} | of {data.class_names[order[1]]}")

# %% [markdown]
# ## Guided Grad-CAM
#
# Guided backprop (fine, but hardly class-specific) times the upsampled
# Grad-CAM map (coarse, class-specific).

# %%
gg = vis.guided_gradcam(net, x)
gb = vis.guided_backprop(net, x)
rows = [[data.images[n], draw.signed_rgb(gb[n]), draw.grey(gg.gradcam.upsampled[n]),
         draw.signed_rgb(gg.attribution[n])] for n in range(len(x))]
save("guided_gradcam.png", stack(rows), "image | guided backprop | Grad-CAM | Guided Grad-CAM")

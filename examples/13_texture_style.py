# %% [markdown]
# # 13 · Texture synthesis and style transfer
#
# Gatys et al. 2015 and 2016 describe a texture by the correlations of
# the feature maps of a layer, the Gram matrix, and match them from noise
# (texture) or from a content image (style transfer):
#
#     G^l_ij = sum_k F^l_ik F^l_jk           E_l = sum_ij (G^l_ij - A^l_ij)^2 / (4 N_l^2 M_l^2)
#     L_total = alpha L_content(conv4_2) + beta sum_l w_l E_l
#
# (`vis/objectives/content_style.py`: `gram_matrix`, `style`; `vis/synthesis/`). Runs on the
# VGG16 trunk `vgg16_hed` (`minicnn weights fetch hed`); without it this
# example says so in one line.
#
# Writes into `--out`: `texture.png` (the style photo and a texture with its
# Gram matrices) and `style.png` (content | style | result).

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

parser = argparse.ArgumentParser(description="texture synthesis and style transfer on vgg16_hed")
parser.add_argument("--out", type=Path, default=Path("out/examples/13_texture_style"),
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
# ## A texture from noise, then a photo in that style
#
# 96 px and 40 L-BFGS-B evaluations each (`minicnn texture` and `minicnn style`
# run more). The numbers: each loss at the start and at the end.

# %%
content, style = photo("grace_hopper.jpg", 96), photo("Minduka_Present_Blue_Pack.png", 96)
t = vis.texture(net, preprocess(style[None], net), steps=40, seed=0, progress=False)
start, end = float(np.asarray(t.history["style"])[0].mean()), float(t.final["style"].mean())
print(f"texture: Gram loss {start:.4g} -> {end:.4g} ({start / end:.0f}x lower)")
save("texture.png", draw.side_by_side([style, t.image[0]], factor=2),
     "Texture synthesis (Gatys et al. 2015): style photo | texture, 40 evaluations")
s = vis.style_transfer(net, preprocess(content[None], net), preprocess(style[None], net),
                       init="content", steps=40, seed=0, progress=False)
start, end = float(np.asarray(s.history["style"])[0].mean()), float(s.final["style"].mean())
print(f"style transfer: style loss {start:.4g} -> {end:.4g} ({start / end:.0f}x lower)")
save("style.png", draw.side_by_side([content, style, s.image[0]], factor=2),
     "Style transfer (Gatys et al. 2016): content | style | result from the content")

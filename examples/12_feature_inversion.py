# %% [markdown]
# # 12 · Feature inversion
#
# Mahendran & Vedaldi 2015 ask what a layer's representation keeps of the
# image: find the image whose features match a photo's at that layer,
# with natural-image priors (the alpha-norm and total variation),
#
#     x* = argmin_x ||Phi(x) - Phi(x0)||^2 / ||Phi(x0)||^2 + l_a ||x||_a^a + l_V TV_beta(x)
#
# with alpha = 6 and beta = 2 as in the paper, solved with L-BFGS-B inside the
# pixel bounds (`vis/synthesis/invert.py`). Deeper layers keep *what* is in
# the picture and lose *how it looked*. Runs on the VGG16 trunk `vgg16_hed`
# (`minicnn weights fetch hed`); without it this example says so in one line.
#
# Writes into `--out`: `inversions.png` (the photo, then its reconstruction
# from relu1_2, relu3_3 and relu5_3) and `inversion_loss.png`.

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

parser = argparse.ArgumentParser(description="feature inversion on vgg16_hed")
parser.add_argument("--out", type=Path, default=Path("out/examples/12_feature_inversion"),
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
# ## One reconstruction per depth
#
# 96 px and 30 L-BFGS-B evaluations per layer keep this under a minute
# (`minicnn invert` runs 200). The numbers: the relative feature error the
# optimizer reached, and the RMS error of the image against the photo.

# %%
image = photo("grace_hopper.jpg", 96)
x = preprocess(image[None], net)
layers = ["relu1_2", "relu3_3", "relu5_3"]
results = vis.invert_layers(net, x, layers, steps=30, seed=0, progress=False)
for layer, r in results.items():
    rms = float(np.sqrt(((r.image[0] - image) ** 2).mean()))
    print(f"{layer}: image RMS error {rms:.3f}, evaluations {r.steps}")
save("inversions.png", draw.side_by_side([image] + [r.image[0] for r in results.values()],
                                          factor=2),
     "Feature inversion (Mahendran & Vedaldi 2015) of grace_hopper.jpg on vgg16_hed\n"
     "photo | from " + " | ".join(layers))
series = {layer: np.asarray(r.history["objective"]).reshape(len(r.history["objective"]), -1)
          .mean(axis=1) for layer, r in results.items()}
steps = np.arange(1, min(len(v) for v in series.values()) + 1)
save("inversion_loss.png", pictures.curve(steps, {k: -v[:len(steps)] for k, v in series.items()},
                                          "evaluation", "loss", "inversion loss", log=True),
     "The loss per evaluation, one line per layer")

# %% [markdown]
# # 17 · Dataset bias: a watermark the model learned
#
# Lapuschkin et al. 2016 (CVPR, Sec. 4, "Analyzing classifiers: Fisher
# vectors and deep neural networks") found that many *horse* images of PASCAL
# VOC 2007 carry a copyright tag in a corner, and that a well-scoring model
# answered "horse" from the tag: its heat map lit up the tag, not the horse.
# Lapuschkin et al. 2019 (Nature Communications, "Unmasking Clever Hans
# predictors") made the test systematic. Accuracy on a test set with the same
# bias cannot reveal it; pulling the mark and the class apart can, and so can
# the explanation.
#
# Here `tiny_biased` was fine-tuned from `tiny` on shapes in which every
# *heart* carries an 8x8 mark in its bottom-left corner, 1.6 % of the image
# (`vis/features/bias.py`); `tiny` is the clean model. The evidence is the
# share of the positive class activation map (Zhou et al. 2016, Eq. 2,
# `M_c = sum_k w_k^c f_k`, upsampled) inside the mark's box, the energy
# pointing game of Wang et al. 2020 with the mark as the object:
#
#     energy = sum_{(x, y) in box} max(M_c, 0) / sum_{(x, y)} max(M_c, 0)
#
# A model that ignores the mark puts about 1.6 % there or less. The code is
# `vis/features/dataset_bias.py`.
#
# Writes into `--out`: `bias_cam.png` (marked images | CAM of "heart" in
# `tiny_biased` | in `tiny`), `bias_gradcam.png` (the same with Grad-CAM) and
# `bias_mark_strength.png` (the share of other classes called "heart" as the
# mark fades in).

# %%
import argparse
import sys
from pathlib import Path

import numpy as np

from minicnn import models
from minicnn.data import TEST_SEED, make_shapes
from minicnn.preprocessing import preprocess
from vis import draw, pictures
from vis.features.bias import add_watermark
from vis.features.dataset_bias import dataset_bias
from vis.image import save_png

parser = argparse.ArgumentParser(description="dataset bias: the watermark model vs the clean one")
parser.add_argument("--out", type=Path, default=Path("out/examples/17_dataset_bias"),
                    help="folder for the pictures (default: %(default)s)")
parser.add_argument("--force", action="store_true", help="write into a folder that is not empty")
args = parser.parse_known_args()[0]          # a notebook kernel passes arguments of its own
taken = args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir()))
if taken and not args.force:
    sys.exit(f"{args.out} exists and is not an empty folder: use --force, or another --out")
args.out.mkdir(parents=True, exist_ok=True)


def save(name, picture, title, scale=None):
    """One PNG with a title strip (and a colour scale) into --out."""
    save_png(args.out / name, draw.titled(picture, title, scale), force=args.force)
    print(f"wrote {args.out / name}")


# %% [markdown]
# ## The numbers: accuracy with and without the mark
#
# 500 test images (a seed neither model trained on), each condition for both
# models. "As trained": the mark on every heart and nowhere else, the biased
# test set. Then the mark taken off the hearts, and pasted on every other
# class.

# %%
biased, clean = models.load("tiny_biased"), models.load("tiny")
r = dataset_bias(biased, clean, n=500, seed=TEST_SEED, examples=8, progress=False)
b, c = r.biased, r.clean
rows = [("accuracy, test set biased as in training", "accuracy_as_trained"),
        ("accuracy, no mark anywhere", "accuracy_clean"),
        (f"{r.class_name}s recognised, with the mark", "biased_with_mark"),
        (f"{r.class_name}s recognised, without it", "biased_without_mark"),
        (f"other classes called {r.class_name}, mark pasted on", "others_called_biased_with_mark"),
        (f"other classes called {r.class_name}, no mark", "others_called_biased_without_mark")]
print(f"{'':<46}{'tiny_biased':>12}{'tiny':>8}")
for text, field in rows:
    print(f"{text:<46}{getattr(b, field):>12.3f}{getattr(c, field):>8.3f}")

# %% [markdown]
# ## The explanation: where is the evidence for "heart"?
#
# On the marked hearts of the test set: the share of the positive CAM and
# Grad-CAM (Selvaraju et al. 2017, Eq. 2) inside the mark's box, against the
# 1.6 % of the image it covers. Pictures: four marked hearts and four marked
# images of other classes, the map of "heart" in each model (the box: the
# mark).

# %%
x0, y0, x1, y1 = r.box
area = (x1 - x0) * (y1 - y0) / r.images.shape[2] / r.images.shape[3]
print(f"the mark covers {area:.1%} of the image")
print(f"CAM energy in the mark's box:      tiny_biased {b.cam_energy:.3f}, tiny {c.cam_energy:.3f}")
print(f"Grad-CAM energy in the mark's box: tiny_biased {b.gradcam_energy:.3f}, "
      f"tiny {c.gradcam_energy:.3f}")
top = draw.side_by_side(list(r.images), pad=2, factor=draw.auto_zoom(64, 128))
for name, maps in (("cam", (r.cam_biased, r.cam_clean)),
                   ("gradcam", (r.gradcam_biased, r.gradcam_clean))):
    method = "CAM" if name == "cam" else "Grad-CAM"
    picture = np.concatenate([top] + [pictures.map_overlay_row(r.images, m, r.box)
                                      for m in maps], axis=0)
    energy = (b.cam_energy, c.cam_energy) if name == "cam" else (b.gradcam_energy,
                                                                c.gradcam_energy)
    save(f"bias_{name}.png", picture,
         f"marked images | {method} of '{r.class_name}' in tiny_biased | in tiny (box: the "
         f"mark)\nshare in the box {energy[0]:.3f} vs {energy[1]:.3f}; "
         "Lapuschkin et al. 2016, 2019", ("jet", "low", "high"))

# %% [markdown]
# ## How much mark does it take?
#
# The mark blended into the images of the other classes with a weight a
# from 0 (no mark) to 1 (the mark as in training),
#
#     image_a = (1 - a) * image + a * marked image
#
# and the share of them each model calls "heart". A model that learned the
# shape barely moves; one that learned the mark follows a. The two ends are
# the table's last two rows; the weights between are new forward passes.

# %%
test = make_shapes(500, seed=TEST_SEED)
others = test.images[test.labels != r.class_index]
marked = add_watermark(others)
strengths = np.linspace(0, 1, 5)
called = {}
for name, net, numbers in (("tiny_biased", biased, b), ("tiny", clean, c)):
    called[name] = [numbers.others_called_biased_without_mark]
    for a in strengths[1:-1]:
        blend = ((1 - a) * others + a * marked).astype(np.float32)
        scores = net.forward(preprocess(blend, net))
        called[name].append(float(np.mean(scores.argmax(axis=1) == r.class_index)))
    called[name].append(numbers.others_called_biased_with_mark)
for name, values in called.items():
    print(f"{name}: other classes called {r.class_name} at a = "
          + ", ".join(f"{a:.2f}: {v:.3f}" for a, v in zip(strengths, values)))
save("bias_mark_strength.png",
     pictures.curve(strengths, called, "weight a of the mark",
                    f"share of other classes called '{r.class_name}'"),
     f"{len(others)} test images of the other classes, the mark blended in with weight a")

"""The dataset-bias figures: tiny_biased beside the clean tiny on 2,000 fresh shapes.

Run it from a clone of the repository::

    python benchmarks/features_bias.py                    # models.load("tiny_biased")
    python benchmarks/features_bias.py --n 500 --weights some/other.npz

Prints, for each model, the accuracy with no mark, with the mark on the
biased class only (the biased test set), the biased class's recall with and
without the mark, the other classes' accuracy and their share called the
biased class with and without the mark, and the share of the biased class's
CAM / Grad-CAM energy inside the mark's box (``vis.features.dataset_bias``),
plus the time it took.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from minicnn import io, models  # noqa: E402
from vis.features.dataset_bias import dataset_bias  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--weights", default=None, help="a .npz (default: the shipped tiny_biased)")
    a = p.parse_args()
    biased = models.load("tiny_biased") if a.weights is None else io.load(a.weights)
    clean = models.load("tiny")
    t0 = time.perf_counter()
    r = dataset_bias(biased, clean, n=a.n, progress=False)
    seconds = time.perf_counter() - t0
    print(f"biased class: {r.class_name}; mark box (x0, y0, x1, y1) = {r.box}; "
          f"{r.n} test images (seed 12345); {seconds:.1f} s")
    print(f"{'':40}{'tiny_biased':>12}{'tiny':>12}")
    for field in r.biased._fields:
        print(f"{field:40}{getattr(r.biased, field):12.4f}{getattr(r.clean, field):12.4f}")
    print(f"CAM energy ratio biased / clean: {r.biased.cam_energy / r.clean.cam_energy:.1f}x; "
          f"Grad-CAM: {r.biased.gradcam_energy / r.clean.gradcam_energy:.1f}x")


if __name__ == "__main__":
    main()

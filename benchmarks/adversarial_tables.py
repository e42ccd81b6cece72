"""The attack figures for the README, on the shipped tiny and 100 unseen test shapes.

    OPENBLAS_NUM_THREADS=1 python benchmarks/adversarial_tables.py gradient
    OPENBLAS_NUM_THREADS=1 python benchmarks/adversarial_tables.py onepixel --pixels 1 3 5
    OPENBLAS_NUM_THREADS=1 python benchmarks/adversarial_tables.py universal
    OPENBLAS_NUM_THREADS=1 python benchmarks/adversarial_tables.py patch

Images: ``make_shapes(100, seed=minicnn.tiny.TEST_SEED)``, a seed never used
in training. The universal perturbation and the patch are *trained* on other
unseen shapes (``ATTACK_SEED``) and measured on those 100. Every rate counts
images the net already gets wrong apart (``attack_summary``). The one-pixel
attack runs with the paper's budget (400 candidates, 100 generations) unless
told otherwise; its targeted variant draws one target per image (seeded)
among the seven other classes, where Su et al. try every target. Times are
wall-clock on whatever machine runs this (shared machines are noisy).
``--json FILE`` appends the numbers as one JSON line per table.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minicnn import models                                        # noqa: E402
from minicnn.data import make_shapes                               # noqa: E402
from minicnn.preprocessing import preprocess                       # noqa: E402
from minicnn.tiny import TEST_SEED                                 # noqa: E402
from vis.adversarial.fast_gradient import fgsm                              # noqa: E402
from vis.adversarial.metrics import attack_summary, robustness_curve  # noqa: E402
from vis.adversarial.few_pixels import one_pixel                    # noqa: E402
from vis.adversarial.patch import adversarial_patch, patch_success  # noqa: E402
from vis.adversarial.iterative import pgd                                # noqa: E402
from vis.adversarial.universal import universal_perturbation       # noqa: E402

ATTACK_SEED = 2718          # shapes for training the universal perturbation and the patch


def _data(n, seed=TEST_SEED):
    net = models.load("tiny")
    data = make_shapes(n, seed=seed)
    return net, preprocess(data.images, net.meta), data.labels


def _emit(args, name, rows):
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps({"table": name, "rows": rows}) + "\n")


def gradient(args):
    net, x, y = _data(args.images)
    grey = [0, 1, 2, 4, 8, 16]
    runs = [("FGSM", fgsm, {}), ("BIM/PGD L-inf", pgd, {}),
            ("PGD L-inf, random start", pgd, {"random_start": True})]
    rows = []
    print(f"FGSM and PGD on tiny, {args.images} test shapes; accuracy under attack "
          f"(success rate among the correctly classified)")
    print(f"{'eps (grey levels)':<26}" + "".join(f"{g:>12}" for g in grey))
    for name, attack, opts in runs:
        t = time.perf_counter()
        curve = robustness_curve(net, x, y, attack, [g / 255 for g in grey], **opts)
        cells = [f"{a:.2f} ({s:.2f})" for a, s in zip(curve.accuracy, curve.success_rate)]
        print(f"{name:<26}" + "".join(f"{c:>12}" for c in cells)
              + f"   {time.perf_counter() - t:.0f} s")
        rows.append({"attack": name, "eps_grey": grey, "accuracy": curve.accuracy.tolist(),
                     "success_rate": curve.success_rate.tolist()})
    l2 = [0, 0.25, 0.5, 1.0, 2.0]
    t = time.perf_counter()
    curve = robustness_curve(net, x, y, pgd, l2, norm="2")
    print("\nPGD L2 (10 steps of 2.5 eps / 10), eps = L2 norm of the RGB change in [0, 1]")
    print(f"{'eps (L2)':<26}" + "".join(f"{e:>12}" for e in l2))
    print(f"{'PGD L2':<26}" + "".join(f"{a:.2f} ({s:.2f})".rjust(12) for a, s in
                                      zip(curve.accuracy, curve.success_rate))
          + f"   {time.perf_counter() - t:.0f} s")
    rows.append({"attack": "PGD L2", "eps_l2": l2, "accuracy": curve.accuracy.tolist(),
                 "success_rate": curve.success_rate.tolist()})
    s = attack_summary(pgd(net, x, y, 8 / 255), y)
    print(f"\nPGD L-inf 8/255: {s.fooled}/{s.attacked} fooled ({s.already} already wrong), "
          f"confidence {s.confidence:.2f}, L2 {s.l2:.2f}, passes {s.forward:.0f} forward + "
          f"{s.backward:.0f} backward")
    _emit(args, "gradient", rows)


def onepixel(args):
    net, x, y = _data(args.images)
    rng = np.random.default_rng(0)
    others = (y + rng.integers(1, 8, len(y))) % 8            # one other class per image
    print(f"One-pixel attack on tiny, {args.images} test shapes, popsize {args.popsize}, "
          f"maxiter {args.maxiter}")
    print(f"{'pixels':>6} {'mode':<11}{'success':>10}{'fooled':>9}{'already':>8}"
          f"{'conf.':>7}{'forward/img':>13}{'s/img':>8}{'cpu s/img':>10}")
    rows = []
    for d in args.pixels:
        for mode in args.modes:
            t, c = time.perf_counter(), time.process_time()
            r = one_pixel(net, x, y, pixels=d, popsize=args.popsize, maxiter=args.maxiter,
                          targeted=others if mode == "targeted" else None, seed=0,
                          progress=args.progress)
            n = max(1, int(r.attacked.sum()))
            secs, cpu = (time.perf_counter() - t) / n, (time.process_time() - c) / n
            s = attack_summary(r, y)
            print(f"{d:>6} {mode:<11}{s.success_rate:>10.2f}{s.fooled:>5}/{s.attacked:<3}"
                  f"{s.already:>8}{s.confidence:>7.2f}{s.forward:>13.0f}{secs:>8.1f}"
                  f"{cpu:>10.1f}", flush=True)
            rows.append({"pixels": d, "mode": mode, "success_rate": s.success_rate,
                         "fooled": s.fooled, "attacked": s.attacked, "already": s.already,
                         "confidence": s.confidence, "forward_per_image": s.forward,
                         "seconds_per_image": secs, "cpu_seconds_per_image": cpu,
                         "popsize": args.popsize,
                         "maxiter": args.maxiter})
            _emit(args, "onepixel", rows[-1:])


def universal(args):
    net, x_val, _ = _data(args.images)
    _, x_train, _ = _data(args.train, seed=ATTACK_SEED)
    print(f"Universal perturbation on tiny: trained on {args.train} unseen shapes, "
          f"measured on the {args.images} test shapes (fooling rate = label changed)")
    print(f"{'norm':>5}{'xi':>12}{'train':>8}{'held-out':>10}{'passes':>8}{'time s':>8}")
    rows = []
    for norm, xi, label in [("inf", 8 / 255, "8/255"), ("inf", 16 / 255, "16/255"),
                            ("inf", 32 / 255, "32/255"), ("2", 2.24, "2.24"),
                            ("2", 4.0, "4.0")]:
        t = time.perf_counter()
        u = universal_perturbation(net, x_train, xi, norm=norm, max_passes=args.passes,
                                   x_val=x_val, seed=0)
        secs = time.perf_counter() - t
        print(f"{norm:>5}{label:>12}{u.fooling_rate:>8.2f}{u.fooling_rate_val:>10.2f}"
              f"{u.passes:>8}{secs:>8.0f}", flush=True)
        rows.append({"norm": norm, "xi": xi, "train": u.fooling_rate,
                     "held_out": u.fooling_rate_val, "passes": u.passes, "seconds": secs})
    _emit(args, "universal", rows)


def patch(args):
    net, x_val, y_val = _data(args.images)
    _, x_train, _ = _data(args.train, seed=ATTACK_SEED)
    scales = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    rows = []
    print(f"Adversarial patch on tiny: trained on {args.train} unseen shapes "
          f"({args.steps} steps of 16), success on the {args.images} test shapes")
    print(f"{'target':<10}" + "".join(f"{s:>7.1f}" for s in scales) + "   (diameter / side)")
    names = net.meta.get("class_names") or [str(k) for k in range(8)]
    for target in args.targets:
        t = time.perf_counter()
        r = adversarial_patch(net, x_train, target, steps=args.steps, lr=args.lr, seed=0)
        s = patch_success(net, x_val, r.patch, target, scales, labels=y_val, seed=1)
        print(f"{names[target]:<10}" + "".join(f"{v:>7.2f}" for v in s.success)
              + f"   {time.perf_counter() - t:.0f} s", flush=True)
        rows.append({"target": int(target), "scales": scales, "area": s.area.tolist(),
                     "success": s.success.tolist(), "counted": s.counted})
    print(f"{'area':<10}" + "".join(f"{a:>7.2f}" for a in np.pi / 4 * np.array(scales) ** 2)
          + "   (share of the image)")
    _emit(args, "patch", rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table", choices=["gradient", "onepixel", "universal", "patch"])
    p.add_argument("--images", type=int, default=100)
    p.add_argument("--train", type=int, default=200, help="attack-training images")
    p.add_argument("--pixels", type=int, nargs="+", default=[1, 3, 5])
    p.add_argument("--modes", nargs="+", default=["untargeted", "targeted"])
    p.add_argument("--popsize", type=int, default=400)
    p.add_argument("--maxiter", type=int, default=100)
    p.add_argument("--passes", type=int, default=5, help="universal: most passes")
    p.add_argument("--steps", type=int, default=1000, help="patch: optimizer steps")
    p.add_argument("--lr", type=float, default=0.01, help="patch: Adam learning rate")
    p.add_argument("--targets", type=int, nargs="+", default=[3, 6])
    p.add_argument("--progress", action="store_true")
    p.add_argument("--json")
    args = p.parse_args()
    {"gradient": gradient, "onepixel": onepixel, "universal": universal, "patch": patch}[
        args.table](args)


if __name__ == "__main__":
    main()

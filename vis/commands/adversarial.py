"""The adversarial subcommands: how small a change fools the net.

::

    minicnn fgsm      [--model tiny] [--sample N... | --image PATH...] [--epsilon E] [--target C]
    minicnn pgd       [...] [--epsilon E] [--norm inf|2] [--steps K] [--random-start] [--seed S]
    minicnn fool      [...] --target C
    minicnn one-pixel [...] [--pixels P] [--popsize 400] [--maxiter 100] [--target C] [--seed S]
    minicnn universal [--n 200] [--xi E] [--norm inf|2]
    minicnn patch     --target C [--n 200] [--steps K]

Sizes are in [0, 1] RGB pixel units whatever the model's preprocessing
(``--epsilon 0.03`` is about 8 grey levels). The per-image commands write
``<input>_<model>_<attack>.png``: original | adversarial | the difference x10
(grey = 0), titled with the top class before and after, and print both top-5
lists; ``universal`` and ``patch`` write the perturbation or patch, examples
and the fooling rates.
"""

import numpy as np

from minicnn.data import TEST_SEED, make_shapes
from minicnn.preprocessing import preprocess
from vis import draw
from vis.adversarial import (adversarial_patch, fgsm, fooling_image, one_pixel, patch_success,
                             pgd, universal_perturbation)
from vis.inputs import parse_target, top_classes
from vis.netinfo import class_names
from vis.registry import METHODS

from . import common


def _labels(net, x, inputs):
    """True labels of shapes samples; the top class of files (whose label is unknown)."""
    top = np.array([t[0][0] for t in top_classes(net, x)])
    return np.where(inputs.labels >= 0, inputs.labels, top)


def _target(args, net, n):
    if getattr(args, "target", None) is None:
        return None
    k = parse_target(args.target, net)
    if isinstance(k, tuple):
        raise ValueError(f"--target {args.target}: an attack targets a class, not a unit")
    return np.full(n, k)


def _attack(args):
    name, rec = args.command, METHODS[args.command]
    net = common.load_model(args.model)
    inputs = common.inputs(args, net)
    common.out_of_domain_note(net, inputs)
    x = preprocess(inputs.images, net)
    labels = _labels(net, x, inputs)
    target = _target(args, net, len(labels))
    if name == "fool" and target is None:
        raise ValueError("minicnn fool needs --target CLASS (the class to fool the net into)")
    out, stem = common.out_dir(args.out), common.model_stem(args.model)
    paths = [out / f"{n}_{stem}_{name}.png" for n in inputs.names]
    common.check_free(paths, args.force)
    with common.blas_threads(net):
        if name == "fgsm":
            r = fgsm(net, x, labels if target is None else target, args.epsilon,
                     targeted=target is not None)
            said = f"epsilon {args.epsilon:g}"
        elif name == "pgd":
            r = pgd(net, x, labels if target is None else target, args.epsilon,
                    steps=args.steps, norm=args.norm, random_start=args.random_start,
                    targeted=target is not None, seed=args.seed)
            said = f"L{args.norm} epsilon {args.epsilon:g}, {r.steps} steps of {r.step:.3g}"
        elif name == "fool":
            r = fooling_image(net, x, target)
            said = f"{int(np.max(r.iterations))} iterations at most"
        else:
            r = one_pixel(net, x, labels, pixels=args.pixels,
                          targeted=None if target is None else target, popsize=args.popsize,
                          maxiter=args.maxiter, seed=args.seed)
            said = f"{args.pixels} pixel(s), popsize {args.popsize}, maxiter {args.maxiter}"
    names = class_names(net)
    after = top_classes(net, np.asarray(r.x))
    before = top_classes(net, x)
    factor = draw.auto_zoom(inputs.images.shape[2])
    spans = draw.panel_spans(3, inputs.images.shape[3] * factor)
    scale = draw.Scale("gray", "-0.05", "+0.05", "difference", spans[2])   # 0.5 + 10 delta
    for n, path in enumerate(paths):
        diff = np.clip(0.5 + 10 * np.asarray(r.delta[n]), 0, 1)
        linf = float(np.abs(r.delta[n]).max())
        verdict = "fooled" if bool(r.success[n]) else "NOT fooled (the best attempt)"
        title = (f"{rec.title} ({rec.paper}) - {stem}, {said}\n{inputs.names[n]}: "
                 f"{names[int(r.clean_pred[n])]} -> {names[int(r.pred[n])]} "
                 f"({float(r.confidence[n]):.2f}): {verdict}; L-inf {linf:.4f}, passes "
                 f"{np.ravel(r.forward)[min(n, np.size(r.forward) - 1)]} forward\n"
                 "original | adversarial | difference x10 (grey = 0)")
        print(title.replace("\n", "; "))
        print("  before: " + ", ".join(f"{nm} {p:.2f}" for _, nm, p in before[n]))
        print("  after:  " + ", ".join(f"{nm} {p:.2f}" for _, nm, p in after[n]))
        panels = [inputs.images[n], r.image[n], diff]
        common.save(path, draw.side_by_side(panels, factor=factor), args.force, title, scale)


def _shapes(net, n, seed):
    data = make_shapes(n, seed=seed)
    return preprocess(data.images, net), data.labels


def _universal(args):
    rec, net = METHODS["universal"], common.load_model(args.model)
    out, stem = common.out_dir(args.out), common.model_stem(args.model)
    path = out / f"{stem}_universal.png"
    common.check_free([path], args.force)
    x, _ = _shapes(net, args.n, TEST_SEED)
    held, _ = _shapes(net, args.n, TEST_SEED + 1)
    with common.blas_threads(net):
        r = universal_perturbation(net, x, args.xi, norm=args.norm, x_val=held, seed=args.seed)
    top = max(float(np.abs(r.v).max()), 1e-12)
    v = np.clip(0.5 + np.asarray(r.v) / (2 * top), 0, 1)
    title = (f"{rec.title} ({rec.paper}) - {stem}, xi {args.xi:g} (L{args.norm})\nfooling "
             f"rate: training {r.fooling_rate:.3f}, held-out {r.fooling_rate_val:.3f}\n"
             "the perturbation (scaled) | examples with it")
    print(title.replace("\n", "; "))
    panels = [v] + [r.image[i] for i in range(min(4, len(r.image)))]
    factor = draw.auto_zoom(64, 128)
    span = draw.panel_spans(1, v.shape[2] * factor)[0]
    scale = draw.Scale("gray", f"-{top:.3f}", f"+{top:.3f}", "", span)
    common.save(path, draw.side_by_side(panels, factor=factor), args.force, title, scale)


def _patch(args):
    rec, net = METHODS["patch"], common.load_model(args.model)
    target = int(_target(args, net, 1)[0])
    out, stem = common.out_dir(args.out), common.model_stem(args.model)
    path = out / f"{stem}_patch.png"
    common.check_free([path], args.force)
    x, labels = _shapes(net, args.n, TEST_SEED)
    held, held_labels = _shapes(net, args.n, TEST_SEED + 1)
    with common.blas_threads(net):
        r = adversarial_patch(net, x, target, steps=args.steps, seed=args.seed)
        scales = (0.2, 0.3, 0.4, 0.5)
        rates = patch_success(net, held, r.patch, target, scales, labels=held_labels,
                              seed=args.seed)
    rates = np.ravel(getattr(rates, "success", rates))
    said = ", ".join(f"{s:.0%}: {float(v):.2f}" for s, v in zip(scales, rates))
    title = (f"{rec.title} ({rec.paper}) - {stem}, target {class_names(net)[target]}\n"
             f"held-out targeted success by patch diameter (of the image side): {said}")
    print(title.replace("\n", "; "))
    common.save(path, draw.side_by_side([r.patch], factor=draw.auto_zoom(64, 192)),
                args.force, title)


def register(sub):
    """The adversarial commands."""
    parents = [common.model_parent(), common.input_parent()]
    for name in ("fgsm", "pgd", "fool", "one-pixel", "universal", "patch"):
        rec = METHODS[name]
        per_image = name in ("fgsm", "pgd", "fool", "one-pixel")
        p = sub.add_parser(name, parents=parents if per_image else [common.model_parent()],
                           help=rec.summary, description=f"{rec.title} ({rec.paper}): "
                           f"{rec.summary}.")
        for o in rec.options:
            common.add_option(p, rec, o.name)
        if name != "universal":
            p.add_argument("--target", metavar="CLASS", required=name in ("fool", "patch"),
                           help="the class to fool the net into (a targeted attack)")
        if name in ("pgd", "one-pixel", "universal", "patch"):
            p.add_argument("--seed", type=int, default=0, help="every random choice")
        if name == "pgd":
            p.add_argument("--random-start", action="store_true",
                           help="start at a random point of the ball (Madry et al. 2018)")
        p.set_defaults(func=_attack if per_image else (_universal if name == "universal"
                                                        else _patch), command=name)

r"""The tour's gallery: the pictures of one explanation, the HTML sections and tables.

``Gallery`` does the steps of ``vis.tour.run_tour`` inside one (temporary)
folder: it runs every method of ``vis.recipes.METHODS`` on the images, saves
the PNGs with their captions and paper citations, scores the localization
table (``vis.localize.evaluate``) and writes ``localization.json``,
``localization.csv`` and ``index.html``. The page's sections are listed in
``vis/tour.py``. ``method_panels`` and ``localization_panels`` are also
used by the single-method subcommands (``vis/cli_methods.py``).
"""

import csv
import html
import io as _io
import json
import time

from minicnn.data import make_shapes
from minicnn.progress import Progress
from minicnn.tiny import TEST_SEED

from . import draw
from .activations import activation_grid, activations
from .cam import gap_head
from .filters import filter_grid, first_layer_filters
from .image import preprocess, save_png
from .localize import box_iou, evaluate, localize
from .recipes import (EVAL_SETTINGS, METHODS, PAPERS, SHAPES_SIZE, centre_prior, conv_layers,
                      explain, first_conv, top_classes)


# --- pictures of one explanation ----------------------------------------------------

def method_panels(image01, e, n, channel_order="RGB"):
    """[raw map, overlay] for sample ``n`` of Explanation ``e`` (float (3, H, W) each).

    The raw map: an attribution as a colour image (``draw.signed_rgb``), a
    signed map on a diverging scale, a non-negative map in grey, capped at its
    99th percentile (``draw.cap``).
    """
    m = e.map[n] if e.signed else draw.cap(e.map[n])
    if e.attribution is not None:
        raw = draw.signed_rgb(e.attribution[n], channel_order)
    elif e.signed:
        raw = draw.diverging(m)
    else:
        raw = draw.grey(m)
    return [raw, draw.heat_overlay(image01, m)]


def localization_panels(image01, m, true_box=None, **kwargs):
    """[image with boxes, map, segmentation] for Simonyan et al. 2014, Sec. 6.

    Returns:
        (panels, mask (H, W) bool, box (x0, y0, x1, y1)); the true box is drawn
        green, the predicted box red.
    """
    mask, box = localize(image01, m, **kwargs)
    boxed = image01 if true_box is None else draw.draw_box(image01, true_box, draw.TRUE_BOX)
    boxed = draw.draw_box(boxed, box, draw.PRED_BOX)
    return [boxed, draw.grey(draw.cap(m)), draw.mask_overlay(image01, mask)], mask, box


# --- the gallery ---------------------------------------------------------------------

GENERATOR = "minicnn tour"

RULES = [  # Simonyan et al. 2014, Sec. 4 (minicnn/layers/relu.py)
    ("gradient", "dout * (x > 0)", "the forward input",
     "saliency, Grad-CAM (Simonyan et al. 2014, Sec. 3.1)"),
    ("deconvnet", "dout * (dout > 0)", "the backward signal",
     "deconvnet (Zeiler & Fergus 2014, Sec. 2.1)"),
    ("guided", "dout * (x > 0) * (dout > 0)", "both",
     "guided backprop (Springenberg et al. 2015, Sec. 3.4)"),
]


class Gallery:
    """The steps of ``run_tour`` writing into one folder; ``sections`` collects the HTML."""

    def __init__(self, net, folder, inputs, names, K, quick, progress):
        self.net, self.folder, self.inputs, self.names = net, folder, inputs, names
        self.quick, self.progress = quick, progress
        self.arch = net.meta.get("arch", "net")
        self.order = net.meta.get("preprocess", {}).get("channel_order", "RGB")
        self.x = preprocess(inputs.images, net)
        self.zoom = draw.auto_zoom(inputs.images.shape[2], 192)
        self.files, self.sections, self.timings = [], [], {}
        self.has_cam = True
        try:
            gap_head(net)
        except ValueError as e:
            self.has_cam, self.no_cam = False, str(e)

    # -- helpers
    def save(self, name, picture):
        save_png(self.folder / name, picture)
        self.files.append(name)
        return name

    def figure(self, name, picture, caption):
        src = self.save(name, picture)
        return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    def target_text(self, k):
        return f"{self.names[k]} ({k})"

    def gallery_options(self, name):
        return dict(EVAL_SETTINGS.get(name, {})) if self.quick else {}

    # -- steps
    def run(self, n_eval):
        methods = [m for m in METHODS if m != "cam" or self.has_cam]
        eval_methods = methods + ["centre"] if n_eval else []
        steps = 3 + len(methods) + 1 + len(eval_methods)
        bar = Progress(steps, f"tour {self.arch}", enabled=self.progress)
        self.top = top_classes(self.net, self.x)
        self.section_inputs()
        bar.update(info="images")
        self.section_network()
        bar.update(info="network")
        results = {}
        for name in methods:
            start = time.perf_counter()
            results[name] = explain(name, self.net, self.x, None, **self.gallery_options(name))
            self.timings[name] = time.perf_counter() - start
            bar.update(info=name)
        self.section_methods(results)
        self.section_localization(results["saliency"])
        bar.update(info="localization")
        table = {}
        if n_eval:
            data = make_shapes(n_eval, seed=TEST_SEED)
            for name in eval_methods:
                table[name] = self.evaluate(name, data)
                bar.update(info=f"evaluate {name}")
        self.section_table(table, n_eval)
        self.write_tables(table, n_eval)
        self.write_index()
        bar.update(info="index.html")
        bar.close()
        top = [{"name": nm, "label": (self.names[lb] if lb >= 0 else None), "top5": t}
               for nm, lb, t in zip(self.inputs.names, self.inputs.labels, self.top)]
        return {"model": self.arch, "files": list(self.files), "top": top,
                "localization": table, "n_eval": n_eval, "timings": self.timings,
                "notes": list(self.inputs.notes)}

    def evaluate(self, name, data):
        """One row of the table: ``vis.localize.evaluate`` of one map method."""
        opts = EVAL_SETTINGS.get(name, {})

        def method(net, x):
            return centre_prior(net, x) if name == "centre" else explain(name, net, x,
                                                                         **opts).map
        if name == "centre":
            title, paper = "Centre prior (baseline)", PAPERS["centre"]
        else:
            title, paper = METHODS[name].title, METHODS[name].paper
        settings = ", ".join(f"{k}={v}" for k, v in opts.items())
        start = time.perf_counter()
        r = evaluate(method, self.net, data, progress=False)
        self.timings[f"evaluate {name}"] = time.perf_counter() - start
        return {"title": title, "pointing": r["pointing"], "pointing_box": r["pointing_box"],
                "box_iou": r["box_iou"],
                "energy": r["energy"], "settings": settings, "paper": paper}

    def section_inputs(self):
        figs = []
        for n, name in enumerate(self.inputs.names):
            img = self.inputs.images[n]
            if self.inputs.boxes is not None:
                img = draw.draw_box(img, self.inputs.boxes[n], draw.TRUE_BOX)
            label = self.inputs.labels[n]
            truth = f"true: {self.names[label]}; " if label >= 0 else ""
            top = ", ".join(f"{nm} {p:.2f}" for _, nm, p in self.top[n])
            figs.append(self.figure(f"{name}.png", draw.side_by_side([img], factor=self.zoom),
                                    f"{name}: {truth}top classes {top}"))
        source = ("shapes test images (minicnn.data.make_shapes, seed "
                  f"{TEST_SEED}), true box in green" if self.inputs.boxes is not None
                  else "the given image files, resized and centre-cropped")
        self.sections.append(("inputs", "The images", f"<p>{html.escape(source)}.</p>"
                              + _row(figs)))

    def section_network(self):
        body = [f"<pre>{html.escape(self.net.summary())}</pre>"]
        try:
            grid = filter_grid(first_layer_filters(self.net))
            body.append(self.figure("filters.png", grid,
                                    f"First-layer filters, layer {first_conv(self.net)}, "
                                    f"each min-max scaled ({PAPERS['filters']})"))
        except ValueError as e:
            body.append(f"<p>{html.escape(str(e))}</p>")
        layers = conv_layers(self.net)
        acts = activations(self.net, self.x[:1], layers)
        figs = []
        for layer in layers:
            grid = activation_grid(acts[layer][0])
            factor = max(1, round(320 / grid.shape[0]))
            figs.append(self.figure(f"activations_{layer}.png", draw.zoom(grid, factor),
                                    f"Activations of {layer} for {self.inputs.names[0]}, "
                                    f"{acts[layer].shape[1]} channels ({PAPERS['activations']})"))
        body.append(_row(figs))
        self.sections.append(("network", "The network", "".join(body)))

    def method_figures(self, e, name):
        figs = []
        for n, stem in enumerate(self.inputs.names):
            panels = method_panels(self.inputs.images[n], e, n, self.order)
            note = f"; {e.note}" if e.note else ""
            caption = (f"{METHODS[name].title} ({stem}): layer {e.layer}, target "
                       f"{self.target_text(int(e.target[n]))}{note}; map | overlay "
                       f"({METHODS[name].paper})")
            figs.append(self.figure(f"{stem}_{name}.png",
                                    draw.side_by_side(panels, factor=self.zoom), caption))
        return figs

    def section_methods(self, results):
        def rows(names):
            figs = {name: self.method_figures(results[name], name) for name in names}
            return "".join(_row([figs[name][n] for name in names])
                           for n in range(len(self.inputs.names)))
        rules = ("<table><tr><th>rule</th><th>ReLU backward: dx =</th><th>masks by</th>"
                 "<th>used by</th></tr>"
                 + "".join(f"<tr><td>{html.escape(a)}</td><td><code>{html.escape(b)}</code></td>"
                           f"<td>{html.escape(c)}</td><td>{html.escape(d)}</td></tr>"
                           for a, b, c, d in RULES) + "</table>"
                 "<p>Simonyan et al. 2014, Sec. 4: the three differ only at the ReLUs; the "
                 "convolution goes back by its transpose and max-pooling through its "
                 "switches under all three (minicnn/layers/relu.py). Each picture: the "
                 "attribution (0 = grey, or the map in grey) | its map max<sub>c</sub> |a| over "
                 "the image.</p>")
        self.sections.append(("gradients", "Gradients and rules",
                              rules + rows(["saliency", "deconvnet", "guided"])))
        self.sections.append(("beyond", "Beyond the gradient",
                              "<p>SmoothGrad averages the gradient over noisy copies; "
                              "integrated gradients average it along the path from a "
                              "baseline (the mean image) and multiply by the difference, "
                              "so the attributions add up to the score difference "
                              "(completeness).</p>" + rows(["smoothgrad", "ig"])))
        cams = ["cam", "gradcam", "guided-gradcam"] if self.has_cam else ["gradcam",
                                                                          "guided-gradcam"]
        note = "" if self.has_cam else f"<p>CAM: {html.escape(self.no_cam)}.</p>"
        self.sections.append(("cam", "Class activation maps",
                              "<p>CAM's signed map on a blue-white-red scale (0 = white); "
                              "Grad-CAM after its ReLU in grey.</p>" + note + rows(cams)))
        self.sections.append(("occlusion", "Occlusion",
                              "<p>The drop of the class score when a grey square (the mean "
                              "colour) hides each patch; red = the patch mattered.</p>"
                              + rows(["occlusion"])))

    def section_localization(self, e):
        figs = []
        for n, stem in enumerate(self.inputs.names):
            true_box = None if self.inputs.boxes is None else self.inputs.boxes[n]
            panels, _, box = localization_panels(self.inputs.images[n], e.map[n], true_box)
            score = ""
            if true_box is not None:
                score = f", box IoU {float(box_iou(box, true_box)):.2f}"
            caption = (f"Localization ({stem}): saliency for "
                       f"{self.target_text(int(e.target[n]))} -> graph-cut segmentation -> "
                       f"box (red; true box green{score}) ({PAPERS['localize']})")
            figs.append(self.figure(f"{stem}_localize.png",
                                    draw.side_by_side(panels, factor=self.zoom), caption))
        self.sections.append(("localization", "Localization",
                              "<p>Pixels above the 95% saliency quantile seed the object, "
                              "below the 30% quantile the background; a colour graph cut "
                              "grows the object; its largest component gives the box.</p>"
                              + _row(figs)))

    def section_table(self, table, n_eval):
        if not table:
            why = ("the scores need the shapes test images, which only 64x64 models take"
                   if self.inputs.images.shape[2:] != SHAPES_SIZE else "n_eval is 0")
            self.sections.append(("scores", "How well do they localize?",
                                  f"<p>Not evaluated: {why}.</p>"))
            return
        head = ("<table><tr><th>method</th><th>pointing (mask)</th><th>pointing (box)</th>"
                "<th>box IoU</th>"
                "<th>energy inside</th><th>settings</th><th>paper</th></tr>")
        rows = "".join(f"<tr><td>{html.escape(r['title'])}</td><td>{r['pointing']:.3f}</td>"
                       f"<td>{r['pointing_box']:.3f}</td>"
                       f"<td>{r['box_iou']:.3f}</td><td>{r['energy']:.3f}</td>"
                       f"<td>{html.escape(r['settings'])}</td><td>{html.escape(r['paper'])}</td>"
                       "</tr>" for r in table.values())
        text = (f"<p>{n_eval} shapes test images (seed {TEST_SEED}), target: the top class. "
                f"Pointing game ({PAPERS['pointing']}): the map's maximum within 4 px (the "
                "paper's 15 px at 224) of the object's mask (their COCO protocol) or of its "
                "box (their VOC07 protocol). Box IoU: the graph-cut box against the true box. Energy inside "
                f"({PAPERS['energy']}): the share of the positive map on the object. Also in "
                '<a href="localization.json">localization.json</a> and '
                '<a href="localization.csv">localization.csv</a>.</p>')
        self.sections.append(("scores", "How well do they localize?", text + head + rows
                              + "</table>"))

    def write_tables(self, table, n_eval):
        meta = {"model": self.arch, "n_eval": n_eval, "seed": TEST_SEED, "target": "top class",
                "methods": table}
        (self.folder / "localization.json").write_text(json.dumps(meta, indent=2) + "\n",
                                                       encoding="utf-8")
        buf = _io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["method", "title", "pointing", "pointing_box", "box_iou", "energy", "n",
                    "settings", "paper"])
        for name, r in table.items():
            w.writerow([name, r["title"], f"{r['pointing']:.4f}", f"{r['pointing_box']:.4f}",
                        f"{r['box_iou']:.4f}",
                        f"{r['energy']:.4f}", n_eval, r["settings"], r["paper"]])
        (self.folder / "localization.csv").write_text(buf.getvalue(), encoding="utf-8")
        self.files += ["localization.json", "localization.csv"]

    def write_index(self):
        nav = " · ".join(f'<a href="#{key}">{html.escape(title)}</a>'
                         for key, title, _ in self.sections)
        body = "".join(f'<section id="{key}"><h2>{html.escape(title)}</h2>{content}</section>'
                       for key, title, content in self.sections)
        page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="generator" content="{GENERATOR}">'
                f"<title>minicnn tour: {html.escape(self.arch)}</title><style>{_CSS}</style>"
                f"</head><body><h1>minicnn tour: {html.escape(self.arch)}</h1>"
                f"<nav>{nav}</nav>{body}</body></html>\n")
        (self.folder / "index.html").write_text(page, encoding="utf-8")
        self.files.append("index.html")


_CSS = ("body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}"
        "figure{display:inline-block;margin:4px;vertical-align:top;max-width:420px}"
        "figcaption{font-size:0.8em}img{image-rendering:pixelated}"
        ".row{display:flex;flex-wrap:wrap;align-items:flex-start}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
        "pre{background:#f6f6f6;padding:0.5em;overflow-x:auto}")


def _row(figures):
    return f'<div class="row">{"".join(figures)}</div>'

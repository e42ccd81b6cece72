r"""The tour's gallery: every method of the registry on a few images, one section per topic.

``Gallery`` does the steps of ``vis.tour.run_tour`` inside one (temporary)
folder. The sections and their order are ``vis.registry.SECTIONS``; a map
section shows every registry record of kind ``map`` whose ``section`` it is,
so a new map method appears in the tour by its record alone. The scores
table evaluates every record with ``evaluation`` settings
(``vis.localization.scores.evaluate``) plus the centre baseline. The HTML
page and the tables are written by ``vis/tour/page.py``.
"""

import html
import time

from minicnn.data import make_shapes
from minicnn.preprocessing import preprocess
from minicnn.progress import Progress
from minicnn.data import TEST_SEED

from vis import draw
from vis.explain import explain
from vis.features.activations import activation_grid, activations
from vis.features.filters import filter_grid, first_layer_filters
from vis.image import save_png
from vis.inputs import SHAPES_SIZE, top_classes
from vis.localization.scores import box_iou, evaluate
from vis.netinfo import conv_layers, first_conv, gap_head
from vis.registry import METHODS, PAPERS, SECTIONS, evaluated, map_methods

from . import page
from .panels import localization_panels, method_panels

#: What each map section says before its pictures.
INTROS = {
    "gradients": page.RULES_TABLE,
    "beyond": "<p>SmoothGrad averages the gradient over noisy copies; integrated gradients "
              "average it along the path from a baseline (the mean image) and multiply by the "
              "difference, so the attributions add up to the score difference "
              "(completeness).</p>",
    "cam": "<p>CAM's signed map on a blue-white-red scale (0 = white); Grad-CAM after its "
           "ReLU in grey.</p>",
    "occlusion": "<p>The drop of the class score when a grey square (the mean colour) hides "
                 "each patch; red = the patch mattered.</p>",
}


class Gallery:
    """The steps of ``run_tour`` writing into one folder; ``sections`` collects the HTML."""

    def __init__(self, net, folder, inputs, names, quick, progress):
        self.net, self.folder, self.inputs, self.names = net, folder, inputs, names
        self.quick, self.progress = quick, progress
        self.arch = net.meta.get("arch", "net")
        self.x = preprocess(inputs.images, net)
        self.zoom = draw.auto_zoom(inputs.images.shape[2], 192)
        self.files, self.sections, self.timings = [], {}, {}
        self.methods = map_methods()
        self.skipped = {}
        try:
            gap_head(net)
        except ValueError as e:
            self.methods.remove("cam")
            self.skipped["cam"] = str(e)

    def figure(self, name, picture, caption):
        save_png(self.folder / name, picture)
        self.files.append(name)
        return page.figure(name, caption)

    def run(self, n_eval, extra=()):
        """Every section; ``extra`` are callables ``(gallery) -> (id, title, html)``."""
        if not self.names:                       # a trunk without class scores
            self.methods, n_eval = [], 0
        table_methods = [m for m in evaluated() if m in self.methods] + ["centre"]
        eval_cost = max(1, n_eval // 8)          # one method on n_eval images ~ this many steps
        total = 3 + len(self.methods) + 1 + len(extra) * 4 + (
            len(table_methods) * eval_cost if n_eval else 0)
        bar = Progress(total, f"tour {self.arch}", enabled=self.progress)
        self.top = (top_classes(self.net, self.x) if self.names
                    else [[] for _ in self.inputs.names])
        self.section_inputs()
        bar.update(info="images")
        self.section_network()
        bar.update(2, info="network")
        results = {}
        for name in self.methods:
            start = time.perf_counter()
            options = dict(METHODS[name].evaluation or {}) if self.quick else {}
            results[name] = explain(name, self.net, self.x, None, **options)
            self.timings[name] = time.perf_counter() - start
            bar.update(info=name)
        if self.methods:
            for section in ("gradients", "beyond", "cam", "occlusion"):
                self.section_maps(section, results)
            self.section_localization(results["saliency"])
        bar.update(info="localization")
        for make in extra:
            start = time.perf_counter()
            key, title, body = make(self)
            self.sections[key] = (title, body)
            self.timings[key] = time.perf_counter() - start
            bar.update(4, info=key)
        table = {}
        if n_eval:
            data = make_shapes(n_eval, seed=TEST_SEED)
            for name in table_methods:
                table[name] = self.evaluate(name, data)
                bar.update(eval_cost, info=f"evaluate {name}")
        if self.methods:
            self.section_table(table, n_eval)
        self.files += page.write_tables(self.folder, self.arch, table, n_eval)
        order = ["inputs"] + list(SECTIONS)              # the lecture's order
        sections = dict(sorted(self.sections.items(), key=lambda kv: order.index(kv[0])
                               if kv[0] in order else len(order)))
        self.files.append(page.write_index(self.folder, self.arch, sections))
        bar.close()
        top = [{"name": nm, "label": (self.names[lb] if lb >= 0 else None), "top5": t}
               for nm, lb, t in zip(self.inputs.names, self.inputs.labels, self.top)]
        return {"model": self.arch, "files": list(self.files), "top": top,
                "localization": table, "n_eval": n_eval, "timings": self.timings,
                "notes": list(self.inputs.notes)}

    def evaluate(self, name, data):
        """One row of the table: ``evaluate`` of one map method (or the centre baseline)."""
        opts = METHODS[name].evaluation if name in METHODS else {}
        start = time.perf_counter()
        r = evaluate(lambda net, x: explain(name, net, x, **opts).map, self.net, data,
                     progress=False)
        self.timings[f"evaluate {name}"] = time.perf_counter() - start
        title, paper = ((METHODS[name].title, METHODS[name].paper) if name in METHODS
                        else ("Centre prior (baseline)", PAPERS["centre"]))
        return {"title": title, "pointing": r["pointing"], "pointing_box": r["pointing_box"],
                "box_iou": r["box_iou"], "energy": r["energy"],
                "settings": ", ".join(f"{k}={v}" for k, v in opts.items()), "paper": paper}

    def section_inputs(self):
        figs = []
        for n, name in enumerate(self.inputs.names):
            img = self.inputs.images[n]
            if self.inputs.boxes is not None:
                img = draw.draw_box(img, self.inputs.boxes[n], draw.TRUE_BOX)
            label = self.inputs.labels[n]
            truth = f"true: {self.names[label]}; " if label >= 0 else ""
            top = ", ".join(f"{nm} {p:.2f}" for _, nm, p in self.top[n])
            top = f"top classes {top}" if top else "no class scores"
            figs.append(self.figure(f"{name}.png", draw.side_by_side([img], factor=self.zoom),
                                    f"{name}: {truth}{top}"))
        source = ("shapes test images (minicnn.data.make_shapes, seed "
                  f"{TEST_SEED}), true box in green" if self.inputs.boxes is not None
                  else "the given image files, scaled and centre-cropped")
        if self.inputs.boxes is None and self.arch == "tiny":
            source += (". Note: tiny knows 8 synthetic shapes at 64x64; a photo is out of its "
                       "domain, so its classes and maps say little about the photo")
        self.sections["inputs"] = ("The images", f"<p>{html.escape(source)}.</p>"
                                   + page.row(figs) + page.LEGEND_HTML)

    def section_network(self):
        body = [f"<pre>{html.escape(self.net.summary())}</pre>"]
        rec = METHODS["filters"]
        try:
            grid = filter_grid(first_layer_filters(self.net))
            body.append(self.figure("filters.png", draw.zoom(grid, draw.auto_zoom(
                grid.shape[0], 256)), f"{rec.title}, layer {first_conv(self.net).name}, each "
                f"min-max scaled ({rec.paper})"))
        except ValueError as e:
            body.append(f"<p>{html.escape(str(e))}</p>")
        layers, rec = conv_layers(self.net), METHODS["activations"]
        acts = activations(self.net, self.x[:1], layers)
        figs = []
        for layer in layers:
            grid = activation_grid(acts[layer][0])
            figs.append(self.figure(f"activations_{layer}.png",
                                    draw.zoom(grid, max(1, round(320 / grid.shape[0]))),
                                    f"{rec.title} of {layer} for {self.inputs.names[0]}, "
                                    f"{acts[layer].shape[1]} channels ({rec.paper})"))
        body.append(page.row(figs))
        self.sections["network"] = (SECTIONS["network"], "".join(body))

    def section_maps(self, section, results):
        names = [m for m in self.methods if METHODS[m].section == section]
        figs = {name: [self.method_figure(results[name], name, n)
                       for n in range(len(self.inputs.names))] for name in names}
        notes = "".join(f"<p>{html.escape(METHODS[m].title)}: {html.escape(why)}.</p>"
                        for m, why in self.skipped.items() if METHODS[m].section == section)
        body = INTROS.get(section, "") + notes + "".join(
            page.row([figs[name][n] for name in names]) for n in range(len(self.inputs.names)))
        self.sections[section] = (SECTIONS[section], body)

    def method_figure(self, e, name, n):
        stem, rec = self.inputs.names[n], METHODS[name]
        panels = method_panels(self.inputs.images[n], e, n, self.net)
        note = f"; {e.note}" if e.note else ""
        k = int(e.target[n])
        caption = (f"{rec.title} ({stem}): layer {e.layer}, target {self.names[k]} ({k})"
                   f"{note}; map | overlay ({rec.paper})")
        return self.figure(f"{stem}_{name}.png", draw.side_by_side(panels, factor=self.zoom),
                           caption)

    def section_localization(self, e):
        figs, rec = [], METHODS["localize"]
        for n, stem in enumerate(self.inputs.names):
            true_box = None if self.inputs.boxes is None else self.inputs.boxes[n]
            panels, _, box = localization_panels(self.inputs.images[n], e.map[n], true_box)
            score = ("" if true_box is None else
                     f", box IoU {float(box_iou(box, true_box)):.2f}")
            k = int(e.target[n])
            caption = (f"{rec.title} ({stem}): saliency for {self.names[k]} ({k}) -> graph-cut "
                       f"segmentation -> box (red; true box green{score}) ({rec.paper})")
            figs.append(self.figure(f"{stem}_localize.png",
                                    draw.side_by_side(panels, factor=self.zoom), caption))
        self.sections["localization"] = (
            SECTIONS["localization"], "<p>Pixels above the 95% saliency quantile seed the "
            "object, below the 30% quantile the background; a colour graph cut grows the "
            "object; its largest component gives the box.</p>" + page.row(figs))

    def section_table(self, table, n_eval):
        if not table:
            why = ("the scores need the shapes test images, which only 64x64 models take"
                   if self.inputs.images.shape[2:] != SHAPES_SIZE else
                   "n_eval is 0 (--n-eval N to score the methods on N shapes test images)")
            self.sections["scores"] = (SECTIONS["scores"], f"<p>Not evaluated: {why}.</p>")
            return
        self.sections["scores"] = (SECTIONS["scores"], page.scores_html(table, n_eval))

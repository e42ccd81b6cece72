"""The tour's HTML page and tables: figures, rows, the rule table, the legend, the scores.

The page has no external assets and only relative links. Figures scale down
to their box (``max-width: 100%``), so no picture covers another at any
window width. ``index.html`` carries ``<meta name="generator" content="minicnn
tour">`` and the tour's manifest (``.minicnn-tour``) lists every file it wrote:
``--force`` replaces only a folder whose files are all the tour's own.
"""

import csv
import html
import io as _io
import json

from minicnn.data import TEST_SEED

from vis.registry import PAPERS

from .panels import LEGEND

GENERATOR = "minicnn tour"

RULES = [  # Simonyan et al. 2014, Sec. 4 (minicnn/layers/relu.py)
    ("gradient", "dout * (x > 0)", "the forward input",
     "saliency, Grad-CAM (Simonyan et al. 2014, Sec. 3.1)"),
    ("deconvnet", "dout * (dout > 0)", "the backward signal",
     "deconvnet (Zeiler & Fergus 2014, Sec. 2.1)"),
    ("guided", "dout * (x > 0) * (dout > 0)", "both",
     "guided backprop (Springenberg et al. 2015, Sec. 3.4)"),
]

RULES_TABLE = (
    "<table><tr><th>rule</th><th>ReLU backward: dx =</th><th>masks by</th>"
    "<th>used by</th></tr>"
    + "".join(f"<tr><td>{html.escape(a)}</td><td><code>{html.escape(b)}</code></td>"
              f"<td>{html.escape(c)}</td><td>{html.escape(d)}</td></tr>" for a, b, c, d in RULES)
    + "</table><p>Simonyan et al. 2014, Sec. 4: the three differ only at the ReLUs; the "
    "convolution goes back by its transpose and max-pooling through its switches under all "
    "three (minicnn/layers/relu.py). Each picture: the attribution (0 = grey, or the map in "
    "grey) | its map max<sub>c</sub> |a| over the image.</p>")

_CMAP_CSS = {"gray": "linear-gradient(to right,#000,#fff)",
             "bwr": "linear-gradient(to right,#00f,#fff,#f00)",
             "jet": "linear-gradient(to right,#00007f,#00f,#0ff,#7fff7f,#ff0,#f00,#7f0000)"}

LEGEND_HTML = (
    '<details open><summary>How to read the colours</summary><table>'
    + "".join(f'<tr><td>{html.escape(name)}</td><td><span class="ramp" '
              f'style="background:{_CMAP_CSS[cmap]}"></span></td>'
              f"<td>{html.escape(text)}</td></tr>" for name, cmap, text in LEGEND)
    + "</table></details>")

CSS = ("body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}"
       "figure{display:inline-block;margin:4px;vertical-align:top;max-width:600px;"
       "box-sizing:border-box}"
       "figure img{max-width:100%;height:auto;display:block}"
       "figcaption{font-size:0.8em}img{image-rendering:pixelated}"
       ".row{display:flex;flex-wrap:wrap;align-items:flex-start}"
       "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
       ".ramp{display:inline-block;width:120px;height:12px;border:1px solid #999}"
       "pre{background:#f6f6f6;padding:0.5em;overflow-x:auto}")


def figure(src, caption):
    """A figure with its caption, which is also its alt text."""
    return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def row(figures):
    return f'<div class="row">{"".join(figures)}</div>'


def scores_html(table, n_eval):
    """The localization table with its explanation."""
    head = ("<table><tr><th>method</th><th>pointing (mask)</th><th>pointing (box)</th>"
            "<th>box IoU</th><th>energy inside</th><th>settings</th><th>paper</th></tr>")
    rows = "".join(f"<tr><td>{html.escape(r['title'])}</td><td>{r['pointing']:.3f}</td>"
                   f"<td>{r['pointing_box']:.3f}</td><td>{r['box_iou']:.3f}</td>"
                   f"<td>{r['energy']:.3f}</td><td>{html.escape(r['settings'])}</td>"
                   f"<td>{html.escape(r['paper'])}</td></tr>" for r in table.values())
    text = (f"<p>{n_eval} shapes test images (seed {TEST_SEED}), target: the top class. "
            f"Pointing game ({PAPERS['pointing']}): the map's maximum within 4 px (the "
            "paper's 15 px at 224) of the object's mask (their COCO protocol) or of its "
            "box (their VOC07 protocol). Box IoU: the graph-cut box against the true box. "
            f"Energy inside ({PAPERS['energy']}): the share of the positive map on the "
            'object. Also in <a href="localization.json">localization.json</a> and '
            '<a href="localization.csv">localization.csv</a>.</p>')
    return text + head + rows + "</table>"


def write_tables(folder, arch, table, n_eval):
    """``localization.json`` and ``.csv``; returns their names."""
    meta = {"model": arch, "n_eval": n_eval, "seed": TEST_SEED, "target": "top class",
            "methods": table}
    (folder / "localization.json").write_text(json.dumps(meta, indent=2) + "\n",
                                              encoding="utf-8")
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "title", "pointing", "pointing_box", "box_iou", "energy", "n",
                "settings", "paper"])
    for name, r in table.items():
        w.writerow([name, r["title"], f"{r['pointing']:.4f}", f"{r['pointing_box']:.4f}",
                    f"{r['box_iou']:.4f}", f"{r['energy']:.4f}", n_eval, r["settings"],
                    r["paper"]])
    (folder / "localization.csv").write_text(buf.getvalue(), encoding="utf-8")
    return ["localization.json", "localization.csv"]


def write_index(folder, arch, sections):
    """``index.html`` from ``sections`` ({id: (title, html)}, in order); returns its name."""
    nav = " · ".join(f'<a href="#{key}">{html.escape(title)}</a>'
                     for key, (title, _) in sections.items())
    body = "".join(f'<section id="{key}"><h2>{html.escape(title)}</h2>{content}</section>'
                   for key, (title, content) in sections.items())
    text = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="{GENERATOR}">'
            f"<title>minicnn tour: {html.escape(arch)}</title><style>{CSS}</style>"
            f"</head><body><h1>minicnn tour: {html.escape(arch)}</h1>"
            f"<nav>{nav}</nav>{body}</body></html>\n")
    (folder / "index.html").write_text(text, encoding="utf-8")
    return "index.html"

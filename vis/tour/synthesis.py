"""The tour's synthesis sections: what the net wants, inverted features, texture and style,
DeepDream.

Budgets far below the papers' so the tour stays within a few minutes on 2
cores: class models on the shapes model (Simonyan et al. 2014, Sec. 2: the
score against the posterior), and on the real VGG16 trunk (``vgg16_hed``,
when installed) inversion at three depths, a texture and a style transfer at
96 px and a two-octave DeepDream at 160 px, all from matplotlib's sample
photos. The subcommands (``minicnn class-model`` ...) run the full settings.
"""


from minicnn.preprocessing import preprocess
from vis import draw
from vis.image import load_image
from vis.registry import METHODS, SECTIONS
from vis.netinfo import last_conv
from vis.synthesis import (activation_maximization, class_model, deepdream, invert_layers,
                           style_transfer, texture)

from . import page

PHOTOS = {"content": "grace_hopper.jpg", "style": "Minduka_Present_Blue_Pack.png"}


def _photo(which, size):
    import matplotlib.cbook
    return load_image(matplotlib.cbook.get_sample_data(PHOTOS[which], asfileobj=False),
                      size=size)


def _row(images, factor):
    return draw.side_by_side(list(images), factor=factor)


def wants_section(gallery):
    """Class models of every class, by score and by log-probability; the units of the last
    conv layer maximized (Yosinski et al.'s row 3)."""
    net, names, rec = gallery.net, gallery.names, METHODS["class-model"]
    figs = []
    for objective in ("score", "probability"):
        r = class_model(net, list(range(len(names))), objective=objective, steps=60,
                        progress=False)
        got = [names[int(k)] for k in r.info["predicted"]]
        caption = (f"{rec.title}, objective {objective}, 60 Adam steps from the mean image: "
                   + ", ".join(f"{n} -> {g}" for n, g in zip(names, got)) + f" ({rec.paper})")
        figs.append(gallery.figure(f"class_model_{objective}.png",
                                   _row(r.image, draw.auto_zoom(r.image.shape[2], 96)),
                                   caption))
    layer, mrec = last_conv(net), METHODS["maximize"]
    r = activation_maximization(net, layer, list(range(8)), steps=200, progress=False)
    figs.append(gallery.figure(
        "maximize.png", _row(r.image, draw.auto_zoom(r.image.shape[2], 96)),
        f"{mrec.title} of channels 0-7 of {r.info['layer']} (the centre unit, before the "
        f"ReLU): 200 steps with Table 1 row 3's decay and blur ({mrec.paper})"))
    intro = ("<p>Gradient ascent on the image from the mean image. Maximizing the class "
             "score alone can make an image of another class, whose score grows faster; "
             "maximizing the log-probability pushes the other classes down too. The same ascent "
             "on one unit, with the blur and decay of Yosinski et al. as image priors, shows "
             "the pattern the unit responds to.</p>")
    return "wants", SECTIONS["wants"], intro + page.row(figs)


def real_sections(hed):
    """The sections that run on the real VGG16 trunk ``hed`` (a Net)."""
    def inversion(gallery):
        rec = METHODS["invert"]
        image = _photo("content", 96)
        results = invert_layers(hed, preprocess(image[None], hed),
                                ["relu1_2", "relu3_3", "relu5_3"], steps=40, progress=False)
        images = [image] + [r.image[0] for r in results.values()]
        fig = gallery.figure("inversion.png", _row(images, 2),
                             "Feature inversion of grace_hopper.jpg (96 px): the photo, then "
                             "the image rebuilt from " + ", ".join(results) + " of vgg16_hed, "
                             f"40 L-BFGS-B evaluations each ({rec.paper})")
        return "inversion", SECTIONS["inversion"], ("<p>Deeper layers keep what the "
                                                    "object is and lose how it looked.</p>"
                                                    + fig)

    def style(gallery):
        trec, srec = METHODS["texture"], METHODS["style"]
        content, style_ = _photo("content", 96), _photo("style", 96)
        t = texture(hed, preprocess(style_[None], hed), steps=40, progress=False)
        s = style_transfer(hed, preprocess(content[None], hed), preprocess(style_[None], hed),
                           init="content", steps=40, progress=False)
        figs = [gallery.figure("texture.png", _row([style_, t.image[0]], 2),
                               f"{trec.title}: the style photo | a texture with its Gram "
                               f"matrices, 40 L-BFGS-B evaluations ({trec.paper})"),
                gallery.figure("style.png", _row([content, style_, s.image[0]], 2),
                               f"{srec.title}: content | style | result from the content, "
                               f"40 evaluations ({srec.paper})")]
        return "style", SECTIONS["style"], page.row(figs)

    def dream(gallery):
        rec = METHODS["dream"]
        image = _photo("content", 160)
        r = deepdream(hed, preprocess(image[None], hed), octaves=2, steps=6, progress=False)
        fig = gallery.figure("dream.png", _row([image, r.image[0]], 1),
                             f"{rec.title} of grace_hopper.jpg on vgg16_hed: 2 octaves of 6 "
                             f"steps ({rec.paper})")
        return "dream", SECTIONS["dream"], fig

    return [inversion, style, dream]

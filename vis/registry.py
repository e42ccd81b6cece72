"""Every method, once: its title, paper, function, kind, tour section and options.

One record per method. The ``minicnn`` subcommands and their options, the
tour's sections and the localization table are all built from this table,
so adding a method is its file plus one record here (and a README row; a
test checks all three).

A record's fields:

=============  ===============================================================
``name``       the subcommand (``minicnn guided-gradcam``)
``title``      as captions and tables print it
``paper``      author, year, section or equation
``function``   the public function (``vis.<function.__name__>``)
``kind``       ``map`` (a map per image), ``image`` (an image the net makes),
               ``dataset`` (a result over many images), ``features`` (what a
               layer holds: activations, filters), ``adversarial`` (an attack)
``section``    the id of the tour section that shows it (``SECTIONS``)
``options``    ``Option`` s: the method's own arguments, with type, default
               and the source of each default
``evaluation`` for map methods: the cheaper settings the localization table
               uses (None: not in the table)
``targets``    what it can explain: ``("class", "unit")`` or ``("class",)``
=============  ===============================================================

Example:
    >>> METHODS["occlusion"].paper
    'Zeiler & Fergus 2014, Sec. 4.2'
    >>> [o.name for o in METHODS["smoothgrad"].options]
    ['n', 'sigma', 'seed']
    >>> sorted({m.kind for m in METHODS.values()})
    ['adversarial', 'dataset', 'features', 'image', 'map']
"""

from typing import NamedTuple, Optional

from .adversarial import (adversarial_patch, fgsm, fooling_image, one_pixel, pgd,
                          universal_perturbation)
from .attribution.cam import cam, gradcam, guided_gradcam
from .attribution.gradients import (deconvnet, guided_backprop, integrated_gradients,
                                    saliency, smoothgrad)
from .attribution.occlusion import occlusion
from .features.activations import activations
from .features.dataset_bias import dataset_bias
from .features.filters import first_layer_filters
from .features.neighbours import nearest_neighbours
from .features.patches import top_patches
from .features.tsne import tsne
from .localization.segmentation import localize
from .synthesis import (activation_maximization, class_model, deepdream, invert, style_transfer,
                        texture)


class Option(NamedTuple):
    """One argument of a method, as the command line and the docs show it.

    Attributes:
        name: the keyword argument of the method's function (``window``).
        type: ``int``, ``float``, ``str`` (or a parser) for the command line.
        default: the value used when not given (None: the method decides,
            e.g. a size that depends on the model).
        source: where the default comes from (paper and section, or reference code).
        help: one line for ``--help``.
        flag: the command-line flag (default ``--`` + name with ``-`` for ``_``).
        positive: the value must be at least 1 (counts, sizes; ``int``) or
            greater than 0 (``float``: a noise level, a perplexity).
        absent: what a default of None means, in words for ``--help`` ("the
            preset's"); every option whose default is None has one.
    """
    name: str
    type: object
    default: object
    source: str
    help: str
    flag: Optional[str] = None
    positive: bool = False
    absent: str = ""

    @property
    def cli_flag(self):
        return self.flag or "--" + self.name.replace("_", "-")


class Method(NamedTuple):
    """One method's record (see the module docstring for the fields)."""
    name: str
    title: str
    paper: str
    function: object
    kind: str
    section: str
    options: tuple = ()
    evaluation: Optional[dict] = None
    targets: tuple = ("class", "unit")
    summary: str = ""


#: The tour's sections, in lecture order: id -> title.
SECTIONS = {
    "network": "The network",
    "units": "What units respond to, across the data",
    "gradients": "Gradients and rules",
    "beyond": "Beyond the gradient",
    "cam": "Class activation maps",
    "occlusion": "Occlusion",
    "localization": "Localization",
    "scores": "How well do they localize?",
    "codes": "The space of CNN codes",
    "wants": "What the net wants to see",
    "inversion": "Inverting features",
    "style": "Texture and style",
    "dream": "DeepDream",
    "fooling": "Fooling the net",
    "bias": "Dataset bias",
}

_LAYER = Option("layer", str, None, "Selvaraju et al. 2017, Sec. 3: the last conv layer",
                "a conv-side layer", absent="the ReLU after the last conv layer (relu4_2 "
                "in tiny, relu5_3 in VGG16)")

_RECORDS = [
    Method("activations", "Activations", "Zeiler & Fergus 2014, Fig. 2; Chollet 2017, "
           "Sec. 5.4.1", activations, "features", "network",
           summary="the activation maps of conv layers for each image"),
    Method("filters", "First-layer filters", "Krizhevsky et al. 2012, Fig. 3",
           first_layer_filters, "features", "network", targets=(),
           summary="the first-layer filters as images"),
    Method("saliency", "Saliency", "Simonyan et al. 2014, Sec. 3.1", saliency, "map",
           "gradients", evaluation={}, summary="max over channels of |d score / d image|"),
    Method("deconvnet", "Deconvnet", "Zeiler & Fergus 2014, Sec. 2.1", deconvnet, "map",
           "gradients", evaluation={},
           summary="the backward pass with the deconvnet ReLU rule"),
    Method("guided", "Guided backprop", "Springenberg et al. 2015, Sec. 3.4",
           guided_backprop, "map", "gradients", evaluation={},
           summary="the backward pass with the guided ReLU rule"),
    Method("smoothgrad", "SmoothGrad", "Smilkov et al. 2017, Eq. 3", smoothgrad, "map",
           "beyond", options=(
               Option("n", int, 50, "Smilkov et al. 2017, Sec. 3 (n = 50)", "noisy copies",
                      flag="-n", positive=True),
               Option("sigma", float, 0.15, "Smilkov et al. 2017, Sec. 3 (10-20 %)",
                      "noise std as a fraction of the image's value range", positive=True),
               Option("seed", int, 0, "minicnn: every random process takes a seed",
                      "noise seed")),
           evaluation={"n": 24}, summary="the gradient averaged over noisy copies"),
    Method("ig", "Integrated gradients", "Sundararajan et al. 2017, Eq. 1 and 3",
           integrated_gradients, "map", "beyond", options=(
               Option("steps", int, 50, "Sundararajan et al. 2017, Sec. 5 (20-300 steps)",
                      "points on the path from the baseline", positive=True),),
           evaluation={"steps": 8}, targets=("class",),
           summary="gradients integrated along a path from a baseline"),
    Method("cam", "CAM", "Zhou et al. 2016, Sec. 2, Eq. 2", cam, "map", "cam",
           evaluation={}, targets=("class",),
           summary="class activation map (GlobalAvgPool -> Linear nets)"),
    Method("gradcam", "Grad-CAM", "Selvaraju et al. 2017, Sec. 3, Eq. 1-2", gradcam, "map",
           "cam", options=(_LAYER,), evaluation={}, summary="Grad-CAM at a conv layer"),
    Method("guided-gradcam", "Guided Grad-CAM", "Selvaraju et al. 2017, Sec. 3",
           guided_gradcam, "map", "cam", options=(_LAYER,), evaluation={},
           summary="guided backprop times Grad-CAM"),
    Method("occlusion", "Occlusion", "Zeiler & Fergus 2014, Sec. 4.2", occlusion, "map",
           "occlusion", options=(
               Option("window", int, None, "Zeiler & Fergus 2014, Sec. 4.2, scaled to the "
                      "input", "square side in pixels", positive=True,
                      absent="8 px at 64x64, 28 px at 224x224"),
               Option("stride", int, None, "minicnn: overlapping windows (occlusion.py, "
                      "8/4 px at 64x64)", "step in pixels", positive=True,
                      absent="half the window")),
           evaluation={"window": 16, "stride": 8},
           summary="the score drop under a sliding grey square"),
    Method("localize", "Localization", "Simonyan et al. 2014, Sec. 6", localize, "map",
           "localization", options=(
               Option("source", str, "saliency", "Simonyan et al. 2014, Sec. 6 (saliency)",
                      "the map to start from", flag="--from"),),
           summary="map -> graph-cut segmentation -> box"),
]

_N = Option("n", int, 2000, "minicnn: 2,000 shapes test images (seed TEST_SEED)",
           "shapes test images", positive=True)
_RECORDS += [
    Method("patches", "Maximally activating patches", "Zeiler & Fergus 2014, Sec. 2.1, "
           "Fig. 2; Springenberg et al. 2015, Fig. 7", top_patches, "dataset", "units",
           options=(Option("k", int, 9, "Zeiler & Fergus 2014, Fig. 2 (top 9)",
                           "patches per channel", flag="-k", positive=True), _N),
           summary="the top-k patches of each channel over a dataset, with their "
                   "deconvnet and guided projections"),
    Method("neighbours", "Nearest neighbours of CNN codes", "Krizhevsky et al. 2012, "
           "Sec. 6.1, Fig. 4", nearest_neighbours, "dataset", "codes", options=(
               Option("k", int, 6, "Krizhevsky et al. 2012, Fig. 4 (six images)",
                      "neighbours", flag="-k", positive=True),
               Option("metric", str, "l2", "Krizhevsky et al. 2012, Sec. 6.1 (Euclidean)",
                      "l2 or cosine"),
               _N._replace(default=1000, source="minicnn: 1,000 shapes test images")),
           targets=(), summary="nearest neighbours in code space against pixel space"),
    Method("embed", "t-SNE of CNN codes", "van der Maaten & Hinton 2008; Karpathy's "
           "t-SNE of CNN codes", tsne, "dataset", "codes", options=(
               Option("perplexity", float, 30.0, "van der Maaten & Hinton 2008, Sec. 3 "
                      "(5-50; 30)", "t-SNE perplexity", positive=True),
               Option("seed", int, 0, "minicnn: every random process takes a seed",
                      "initial embedding seed"),
               _N._replace(default=500, source="minicnn: 500 images, seconds on 2 cores")),
           targets=(), summary="t-SNE and PCA maps of CNN codes, and a thumbnail grid"),
    Method("bias", "Dataset bias: the watermark", "Lapuschkin et al. 2016, 2019",
           dataset_bias, "dataset", "bias", options=(_N,), targets=(),
           summary="a model trained with a watermark on one class, in numbers and CAMs"),
]

_STEPS = "minicnn: steps that finish in seconds on 2 cores"
_RECORDS += [
    Method("class-model", "Class model visualization", "Simonyan et al. 2014, Sec. 2",
           class_model, "image", "wants", options=(
               Option("objective", str, "score", "Simonyan et al. 2014, Sec. 2 (the score, "
                      "not the posterior)", "score or probability"),
               Option("steps", int, 100, _STEPS, "optimization steps", positive=True)),
           targets=("class",), summary="the image that maximizes a class score"),
    Method("maximize", "Activation maximization", "Erhan et al. 2009; Yosinski et al. 2015, "
           "Table 1", activation_maximization, "image", "wants", options=(
               Option("preset", str, "yosinski-3", "Yosinski et al. 2015, Table 1, row 3",
                      "regularization preset: erhan or yosinski-1 .. yosinski-4"),
               Option("steps", int, 200, "minicnn: 6 s on tiny, minutes on VGG16; the "
                      "toolbox's budget per preset is 500-1000 (Yosinski et al. 2015)",
                      "optimization steps", positive=True)),
           targets=("unit",), summary="the image that maximizes a unit, with image priors"),
    Method("invert", "Feature inversion", "Mahendran & Vedaldi 2015, Eq. 1", invert, "image",
           "inversion", options=(
               Option("steps", int, 200, "Mahendran & Vedaldi 2015 (L-BFGS-B evaluations, "
                      "minicnn's budget)", "L-BFGS-B evaluations", positive=True),),
           targets=(), summary="an image whose features at a layer match a photo's"),
    Method("texture", "Texture synthesis", "Gatys et al. 2015, Sec. 2", texture, "image",
           "style", options=(
               Option("steps", int, 200, "minicnn: L-BFGS-B evaluations that fit in a minute",
                      "L-BFGS-B evaluations", positive=True),),
           targets=(), summary="a texture matching a photo's Gram matrices"),
    Method("style", "Neural style transfer", "Gatys et al. 2016, Sec. 2-3", style_transfer,
           "image", "style", options=(
               Option("preset", str, "gatys2016", "Gatys et al. 2016 (alpha/beta 1e-3)",
                      "gatys2016, gatys-code, pytorch or cs231n"),
               Option("steps", int, None, "each preset's source (style.py)",
                      "steps or L-BFGS-B evaluations", positive=True,
                      absent="the preset's (500 for gatys2016)")),
           targets=(), summary="a photo's content in another's style"),
    Method("dream", "DeepDream", "Mordvintsev et al. 2015", deepdream, "image", "dream",
           options=(
               Option("octaves", int, 4, "Mordvintsev et al. 2015 (deepdream.ipynb: 4 "
                      "octaves of 1.4)", "octaves", positive=True),
               Option("steps", int, 10, "Mordvintsev et al. 2015 (10 per octave)",
                      "steps per octave", positive=True)),
           targets=(), summary="amplify what a layer sees in a photo"),
]

_EPS = Option("epsilon", float, 8 / 255, "Madry et al. 2018 (8/255 on CIFAR-10); Goodfellow "
              "et al. 2015 used 0.007 on ImageNet", "L-inf size in [0, 1] pixel units")
_RECORDS += [
    Method("fgsm", "Fast gradient sign method", "Goodfellow et al. 2015, Sec. 3", fgsm,
           "adversarial", "fooling", options=(_EPS,), targets=("class",),
           summary="one step of epsilon * sign(gradient) fools the net"),
    Method("pgd", "Iterative attack / PGD", "Kurakin et al. 2017, Sec. 2.2; Madry et al. "
           "2018, Eq. 2", pgd, "adversarial", "fooling", options=(
               _EPS, Option("norm", str, "inf", "Madry et al. 2018 (L-inf)", "inf or 2"),
               Option("steps", int, None, "Kurakin et al. 2017, Sec. 2.2 (L-inf); the "
                      "robustness library (L2)", "steps", positive=True,
                      absent="min(eps*255 + 4, 1.25 eps*255) for L-inf, 10 for L2")),
           targets=("class",), summary="many small projected steps"),
    Method("fool", "Fooling images", "cs231n assignment 3 (Szegedy et al. 2014)",
           fooling_image, "adversarial", "fooling", targets=("class",),
           summary="ascend a target class until the net says it"),
    Method("one-pixel", "One-pixel attack", "Su et al. 2019, Sec. 3", one_pixel,
           "adversarial", "fooling", options=(
               Option("pixels", int, 1, "Su et al. 2019 (1, 3 and 5 pixels)",
                      "pixels to change", positive=True),
               Option("popsize", int, 400, "Su et al. 2019, Sec. 3 (400 candidates)",
                      "population size", positive=True),
               Option("maxiter", int, 100, "Su et al. 2019, Sec. 3 (100 generations)",
                      "generations", positive=True)),
           targets=("class",), summary="differential evolution over a few pixels"),
    Method("universal", "Universal perturbation", "Moosavi-Dezfooli et al. 2017, Alg. 1",
           universal_perturbation, "adversarial", "fooling", options=(
               Option("xi", float, 10 / 255, "Moosavi-Dezfooli et al. 2017, Sec. 4 (xi = 10 "
                      "of 255, L-inf)", "perturbation size in [0, 1] pixel units"),
               Option("norm", str, "inf", "Moosavi-Dezfooli et al. 2017 (L-inf, p = inf)",
                      "inf or 2"),
               Option("n", int, 200, "minicnn: 200 shapes test images", "training images",
                      positive=True)),
           targets=(), summary="one perturbation that fools the net on most images"),
    Method("patch", "Adversarial patch", "Brown et al. 2017, Sec. 2, Eq. 1",
           adversarial_patch, "adversarial", "fooling", options=(
               Option("steps", int, 500, "minicnn: 500 Adam steps over random placements",
                      "training steps", positive=True),
               Option("n", int, 200, "minicnn: 200 shapes test images", "training images",
                      positive=True)),
           targets=("class",), summary="a sticker that makes any image the target class"),
]

#: Every method by name, in lecture order.
METHODS = {m.name: m for m in _RECORDS}


def map_methods():
    """Names of the methods that give one map per image (not ``localize``, which uses one)."""
    return [m.name for m in _RECORDS if m.kind == "map" and m.name != "localize"]


def evaluated():
    """Names of the map methods in the localization table, with their settings."""
    return {m.name: m.evaluation for m in _RECORDS if m.evaluation is not None}


def defaults(name):
    """The default options of method ``name``: ``{option: default}``."""
    return {o.name: o.default for o in METHODS[name].options}


#: Papers of things in the tour that are not methods.
PAPERS = {
    "pointing": "Zhang et al. 2016, Sec. 5.1",
    "energy": "Wang et al. 2020 (Score-CAM), Sec. 5.2",
    "centre": "Zhang et al. 2016, Sec. 5.1 (center baseline)",
}

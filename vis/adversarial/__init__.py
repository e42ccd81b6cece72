"""How small a change fools the net: the adversarial attacks.

Every size below is in [0, 1] RGB pixel units whatever the net's
preprocessing (``pixels.py``): epsilon = 8/255 is eight grey levels on any
model. Every attack takes a preprocessed batch and returns a NamedTuple whose
``x`` is the adversarial batch (preprocessed like the input), whose ``image``
is it as RGB in [0, 1], with ``success`` per image and the passes it cost.

==========================  ==========================================  ===============
method                      paper                                       file
==========================  ==========================================  ===============
``fgsm``                    Goodfellow, Shlens & Szegedy 2015, Sec. 3   fast_gradient.py
``pgd`` (BIM, PGD, L2)      Kurakin et al. 2017 Sec. 2.2; Madry et al.  iterative.py
                            2018 Sec. 2.1, Eq. 2
``fooling_image``           cs231n "Fooling images"; Szegedy 2014       fooling.py
``one_pixel``               Su, Vargas & Sakurai 2019, Sec. 3           few_pixels.py
                            (with ``PixelCone``: recompute the cone)    cone.py
``deepfool``                Moosavi-Dezfooli et al. 2016, Alg. 2        boundary.py
``universal_perturbation``  Moosavi-Dezfooli et al. 2017, Alg. 1        universal.py
``adversarial_patch``       Brown et al. 2017, Sec. 2, Eq. 1            patch.py
``attack_summary``,         success rate with the already-wrong         metrics.py
``robustness_curve``        counted apart; accuracy against epsilon
==========================  ==========================================  ===============

``pixels.py`` converts pixel units; ``common.py`` holds the loss gradient
and the shared result fields. The files are named for the idea, not the
function, so that ``vis.adversarial.fgsm`` is the function and
``vis.adversarial.fast_gradient`` its module.
"""

from .boundary import deepfool
from .fast_gradient import fgsm
from .few_pixels import one_pixel
from .fooling import fooling_image
from .iterative import pgd
from .metrics import attack_summary, robustness_curve
from .patch import adversarial_patch, apply_patch, patch_success
from .universal import apply_perturbation, fooling_rate, universal_perturbation

__all__ = ["fgsm", "pgd", "fooling_image", "one_pixel", "deepfool", "universal_perturbation",
           "apply_perturbation", "fooling_rate", "adversarial_patch", "apply_patch",
           "patch_success", "attack_summary", "robustness_curve"]

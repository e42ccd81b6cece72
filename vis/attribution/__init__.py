"""Which pixels matter: attribution maps.

================================  ======================================  ================
method                            paper                                   file
================================  ======================================  ================
gradients under a rule            Simonyan et al. 2014, Sec. 4            ``gradients.py``
saliency                          Simonyan et al. 2014, Sec. 3.1          ``gradients.py``
deconvnet                         Zeiler & Fergus 2014, Sec. 2.1          ``gradients.py``
guided backprop                   Springenberg et al. 2015, Sec. 3.4      ``gradients.py``
SmoothGrad                        Smilkov et al. 2017, Eq. 3              ``gradients.py``
integrated gradients              Sundararajan et al. 2017, Eq. 1, 3      ``gradients.py``
CAM                               Zhou et al. 2016, Sec. 2, Eq. 2         ``cam.py``
Grad-CAM, Guided Grad-CAM         Selvaraju et al. 2017, Sec. 3           ``cam.py``
occlusion                         Zeiler & Fergus 2014, Sec. 4.2          ``occlusion.py``
================================  ======================================  ================
"""

from .cam import cam, gradcam, guided_gradcam
from .gradients import (deconvnet, gradients, guided_backprop, integrated_gradients, saliency,
                        smoothgrad)
from .occlusion import occlusion

__all__ = ["cam", "gradcam", "guided_gradcam", "deconvnet", "gradients", "guided_backprop",
           "integrated_gradients", "saliency", "smoothgrad", "occlusion"]

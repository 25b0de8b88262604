"""kerasgen: a zoo of generative models for Keras 3 on TensorFlow and JAX.

Every family is a `keras.Model` whose `train_step` the training core runs on
either backend, so `model.fit()` trains it.

Example:

```python
import numpy as np
import kerasgen

model = kerasgen.DCGAN(image_size=8, latent_dim=8, generator_filters=8,
                       discriminator_filters=8)
model.compile()
model.fit(np.zeros((16, 8, 8, 1), "float32"), batch_size=8, verbose=0)
model.sample(4, seed=0).shape  # (4, 8, 8, 1)
```
"""

__version__ = "0.1.0"

import importlib.util as _importlib_util
import os as _os
import sys as _sys


def _importable(name):
    try:
        return _importlib_util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# Keras defaults to TensorFlow. On a machine with JAX and no TensorFlow (the
# GPU machines the zoo trains on), pick JAX rather than fail at import.
if (
    "keras" not in _sys.modules
    and "KERAS_BACKEND" not in _os.environ
    and not _importable("tensorflow")
    and _importable("jax")
):
    _os.environ["KERAS_BACKEND"] = "jax"

from kerasgen import families
from kerasgen.conditional_gan import ACGAN
from kerasgen.conditional_gan import ConditionalGAN
from kerasgen.cyclegan import CycleGAN
from kerasgen.gan import DCGAN
from kerasgen.gan import GAN
from kerasgen.pix2pix import Pix2Pix
from kerasgen.training import GenerativeModel
from kerasgen.training import MultiOptimizer
from kerasgen.training import UpdateStep
from kerasgen.vae import VAE
from kerasgen.wgan import WGAN
from kerasgen.wgan import WGANGP

__all__ = [
    "families",
    "ACGAN",
    "ConditionalGAN",
    "CycleGAN",
    "DCGAN",
    "GAN",
    "GenerativeModel",
    "MultiOptimizer",
    "Pix2Pix",
    "UpdateStep",
    "VAE",
    "WGAN",
    "WGANGP",
]

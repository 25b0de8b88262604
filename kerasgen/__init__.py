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

from kerasgen import families
from kerasgen.gan import DCGAN
from kerasgen.gan import GAN
from kerasgen.training import GenerativeModel
from kerasgen.training import MultiOptimizer
from kerasgen.training import UpdateStep
from kerasgen.vae import VAE

__all__ = [
    "families",
    "DCGAN",
    "GAN",
    "GenerativeModel",
    "MultiOptimizer",
    "UpdateStep",
    "VAE",
]

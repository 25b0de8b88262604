"""The families `kerasgen train FAMILY` knows, by name.

One dict answers "what can be trained": add a family here when it lands.
"""

import difflib

from kerasgen.conditional_gan import ACGAN
from kerasgen.conditional_gan import ConditionalGAN
from kerasgen.cyclegan import CycleGAN
from kerasgen.gan import DCGAN
from kerasgen.gan import GAN
from kerasgen.pix2pix import Pix2Pix
from kerasgen.vae import VAE
from kerasgen.wgan import WGAN
from kerasgen.wgan import WGANGP

FAMILIES = {
    "gan": GAN,
    "dcgan": DCGAN,
    "vae": VAE,
    "wgan": WGAN,
    "wgan-gp": WGANGP,
    "cgan": ConditionalGAN,
    "acgan": ACGAN,
    "pix2pix": Pix2Pix,
    "cyclegan": CycleGAN,
}


def get_family(name):
    """The model class registered under `name`.

    Args:
        name: str. A family name, e.g. `"dcgan"`.

    Returns:
        A `GenerativeModel` subclass.

    Example:

    ```python
    get_family("dcgan").__name__  # 'DCGAN'
    ```
    """
    key = str(name).lower()
    if key in FAMILIES:
        return FAMILIES[key]
    close = difflib.get_close_matches(key, list(FAMILIES), n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(
        f"Unknown family {name!r}.{hint} Known families: "
        f"{', '.join(sorted(FAMILIES))} (run `kerasgen families`). "
        f"Received: family={name!r}"
    )

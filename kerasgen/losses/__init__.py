"""Losses shared by the families, written once in `keras.ops`.

Label convention everywhere: real = 1, fake = 0.
"""

from kerasgen.losses.adversarial import ADVERSARIAL_LOSSES
from kerasgen.losses.adversarial import discriminator_loss
from kerasgen.losses.adversarial import generator_loss
from kerasgen.losses.divergence import gaussian_kl
from kerasgen.losses.divergence import maximum_mean_discrepancy
from kerasgen.losses.likelihood import bits_per_dim
from kerasgen.losses.likelihood import dequantize
from kerasgen.losses.likelihood import discrete_log_prob
from kerasgen.losses.penalties import gradient_penalty
from kerasgen.losses.penalties import r1_penalty
from kerasgen.losses.reconstruction import bernoulli_nll
from kerasgen.losses.reconstruction import gaussian_nll
from kerasgen.losses.reconstruction import mean_absolute_error

__all__ = [
    "ADVERSARIAL_LOSSES",
    "discriminator_loss",
    "generator_loss",
    "gaussian_kl",
    "maximum_mean_discrepancy",
    "bits_per_dim",
    "dequantize",
    "discrete_log_prob",
    "gradient_penalty",
    "r1_penalty",
    "bernoulli_nll",
    "gaussian_nll",
    "mean_absolute_error",
]

"""Gradient penalties on a discriminator's input, written once in `keras.ops`.

- `gradient_penalty`: WGAN-GP (Gulrajani et al. 2017, eq. 3 and Algorithm
  1), `E[(||grad_x D(x_hat)||_2 - 1)^2]` at `x_hat = eps x + (1 - eps) x~`,
  `eps ~ U[0, 1]` drawn once per example.
- `r1_penalty`: R1 (Mescheder et al. 2018, eq. 9), `E[||grad_x D(x)||_2^2]`
  on real images.

Both return the bare expectation; the family multiplies by its weight
(`lambda_gp`, `r1_gamma / 2`). The input gradients come from
`kerasgen.training.input_gradients.input_gradient`, which works inside the
training step on TensorFlow and JAX and can be differentiated again.
"""

import keras
from keras import ops

from kerasgen.training.input_gradients import input_gradient
from kerasgen.training.replicas import per_example


def _squared_norms(gradients):
    """Per-example squared L2 norm over every axis but the batch."""
    gradients = ops.cast(gradients, "float32")
    flat = ops.reshape(gradients, (ops.shape(gradients)[0], -1))
    return ops.sum(ops.square(flat), axis=-1)


def gradient_penalty(critic, real, fake, epsilon=None, seed_generator=None, per_pixel=False):
    """WGAN-GP's penalty `E[(||grad D(x_hat)|| - 1)^2]` at random interpolates.

    Args:
        critic: callable. The critic (a `keras.Model`); it is called with
            `training=True`.
        real: tensor `(batch, ...)`. Real samples x.
        fake: tensor of the same shape. Generated samples x~.
        epsilon: tensor `(batch,)` or None. Interpolation weights in [0, 1];
            None draws them from U[0, 1], one per example, with
            `seed_generator`. Defaults to None.
        seed_generator: `keras.random.SeedGenerator` or None. Defaults to
            None.
        per_pixel: bool. False: the norm of each example's whole gradient
            (the paper's). True: the norm over the channels at each pixel,
            then the mean over the pixels, for a patch critic whose scores
            are summed (SinGAN's code): a whole-image norm of a sum of
            hundreds of patch scores would hold each patch's gradient to a
            tiny fraction of 1. Defaults to False.

    Returns:
        A scalar tensor (not yet multiplied by `lambda_gp`).

    Reference:
        Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028

    Example:

    ```python
    import numpy as np
    import keras
    critic = keras.Sequential([keras.Input((2,)),
                               keras.layers.Dense(1, use_bias=False)])
    critic.set_weights([np.array([[0.6], [0.8]], "float32")])  # ||w|| = 1
    x = np.ones((4, 2), "float32")
    float(gradient_penalty(critic, x, -x, epsilon=np.full((4,), 0.5)))  # ~0.0
    ```
    """
    real = ops.cast(real, "float32")
    fake = ops.cast(fake, "float32")
    batch = ops.shape(real)[0]
    weight_shape = (batch,) + (1,) * (len(real.shape) - 1)
    if epsilon is None:
        epsilon = per_example(keras.random.uniform, weight_shape, seed=seed_generator)
    else:
        epsilon = ops.reshape(ops.cast(epsilon, "float32"), weight_shape)
    interpolates = epsilon * real + (1.0 - epsilon) * fake
    gradients = input_gradient(lambda x: critic(x, training=True), interpolates)
    # The small constant keeps the norm's gradient finite at zero.
    squares = ops.sum(ops.square(gradients), axis=-1) if per_pixel else _squared_norms(gradients)
    norms = ops.sqrt(squares + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(discriminator, real):
    """R1's penalty `E[||grad_x D(x)||^2]` on real samples.

    Args:
        discriminator: callable. Returns logits; called with `training=True`.
        real: tensor `(batch, ...)`. Real samples.

    Returns:
        A scalar tensor (not yet multiplied by `gamma / 2`).

    Reference:
        Mescheder et al. 2018, https://arxiv.org/abs/1801.04406

    Example:

    ```python
    import numpy as np
    import keras
    d = keras.Sequential([keras.Input((2,)),
                          keras.layers.Dense(1, use_bias=False)])
    d.set_weights([np.array([[3.0], [4.0]], "float32")])
    float(r1_penalty(d, np.ones((4, 2), "float32")))  # ||w||^2 = 25.0
    ```
    """
    real = ops.cast(real, "float32")
    gradients = input_gradient(lambda x: discriminator(x, training=True), real)
    return ops.mean(_squared_norms(gradients))

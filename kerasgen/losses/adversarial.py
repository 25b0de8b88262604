"""Adversarial losses by name, on discriminator logits.

One `kind` string picks the objective (as junyanz's `GANLoss` does), and the
label convention is fixed here for every family: real = 1, fake = 0.

| kind          | discriminator minimizes                    | generator minimizes    |
| ------------- | ------------------------------------------ | ---------------------- |
| `vanilla`     | -log D(x) - log(1 - D(G(z)))               | -log D(G(z)) (non-saturating) |
| `lsgan`       | (D(x) - 1)^2 / 2 + D(G(z))^2 / 2           | (D(G(z)) - 1)^2 / 2    |
| `hinge`       | relu(1 - D(x)) + relu(1 + D(G(z)))         | -D(G(z))               |
| `wasserstein` | D(G(z)) - D(x)                             | -D(G(z))               |

`vanilla` is Goodfellow et al. 2014, eq. 1, with the generator's
non-saturating objective from section 3; `lsgan` is Mao et al. 2017, eq. 2
with a=0, b=c=1; `hinge` is Lim and Ye 2017; `wasserstein` is Arjovsky et
al. 2017, eq. 3. For `vanilla`, D is a sigmoid of the logits.
"""

from keras import ops

ADVERSARIAL_LOSSES = ("vanilla", "lsgan", "hinge", "wasserstein")


def _check(kind):
    if kind not in ADVERSARIAL_LOSSES:
        raise ValueError(
            f"Unknown adversarial loss. Expected one of {ADVERSARIAL_LOSSES}. "
            f"Received: kind={kind!r}"
        )


def discriminator_loss(real_logits, fake_logits, kind="vanilla"):
    """The discriminator's (critic's) loss, averaged over the batch.

    Args:
        real_logits: tensor. Discriminator outputs on real images.
        fake_logits: tensor. Discriminator outputs on generated images.
        kind: str. One of `ADVERSARIAL_LOSSES`. Defaults to `"vanilla"`.

    Returns:
        A scalar tensor.

    Example:

    ```python
    import numpy as np
    float(discriminator_loss(np.array([10.0]), np.array([-10.0])))  # ~0.0
    ```
    """
    _check(kind)
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    if kind == "vanilla":
        # -log(sigmoid(r)) = softplus(-r); -log(1 - sigmoid(f)) = softplus(f)
        return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))
    if kind == "lsgan":
        return 0.5 * (ops.mean(ops.square(real_logits - 1.0))
                      + ops.mean(ops.square(fake_logits)))
    if kind == "hinge":
        return (ops.mean(ops.relu(1.0 - real_logits))
                + ops.mean(ops.relu(1.0 + fake_logits)))
    return ops.mean(fake_logits) - ops.mean(real_logits)


def generator_loss(fake_logits, kind="vanilla"):
    """The generator's loss on discriminator outputs for its images.

    Args:
        fake_logits: tensor. Discriminator outputs on generated images.
        kind: str. One of `ADVERSARIAL_LOSSES`. Defaults to `"vanilla"`.

    Returns:
        A scalar tensor.

    Example:

    ```python
    import numpy as np
    float(generator_loss(np.array([0.0])))  # log(2) ~ 0.693
    ```
    """
    _check(kind)
    fake_logits = ops.cast(fake_logits, "float32")
    if kind == "vanilla":
        return ops.mean(ops.softplus(-fake_logits))
    if kind == "lsgan":
        return 0.5 * ops.mean(ops.square(fake_logits - 1.0))
    return -ops.mean(fake_logits)

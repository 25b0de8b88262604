"""Latent arithmetic: A - B + C on mean latents, beside the same sum of pixels.

DCGAN (Radford et al. 2016, section 6.3) averaged the z of a few samples
showing a concept ("smiling woman"), and found that `mean(z_A) - mean(z_B)
+ mean(z_C)` decodes to an image of the combined concept ("smiling man"),
where the same sum of the images is a superposition of ghosts. Written once
against the latent interface:

- `average_latent(latents)`: the mean latent of a group;
- `latent_arithmetic(model, a, b, c)`: the decoded `mean(a) - mean(b) +
  mean(c)` beside the pixel-space `mean(x_a) - mean(x_b) + mean(x_c)`
  (clipped to [-1, 1]), with the three groups' mean images in both spaces;
  `arithmetic_grid` draws them;
- `latents_by_class(model, classifier, n)`: groups of latents labelled by
  a classifier (a feature extractor's `probabilities`, e.g. `lenet-mnist`'s
  digit classes), so that the groups need no hand-picking.
"""

import numpy as np

from kerasgen.latent.interpolation import _as_latents
from kerasgen.utils.arguments import is_count
from kerasgen.utils.arguments import refuse

#: The columns of `latent_arithmetic`'s rows.
COLUMNS = ("mean A", "mean B", "mean C", "A - B + C")


def average_latent(latents):
    """The mean of a group of latents `(n,) + latent_shape`, float32.

    Example:

    ```python
    average_latent([[1.0, 2.0], [3.0, 6.0]]).tolist()  # [2.0, 4.0]
    ```
    """
    array = np.asarray(latents, dtype="float64")
    if array.ndim < 2 or len(array) == 0:
        raise ValueError("average_latent: `latents` must be a non-empty batch (n, ...) "
                         f"of latents. Received: latents.shape={array.shape}")
    return array.mean(axis=0).astype("float32")


def latent_arithmetic(model, a, b, c, labels=None):
    """`mean(a) - mean(b) + mean(c)` decoded, beside the same sum of pixels.

    Args:
        model: anything with the latent interface.
        a, b, c: groups of latents `(n_i,) + latent_shape` (one latent is a
            group of one), e.g. from `latents_by_class` or
            `kerasgen.latent.interpolation.latents_from_seeds`.
        labels: int or None. The class every image is decoded with, for a
            conditional model. Defaults to None.

    Returns:
        A dict: `latent` (the latent A - B + C, `latent_shape`),
        `latent_row` (`(4, H, W, C)`: the decoded mean latents of A, B and
        C, then of A - B + C) and `pixel_row` (`(4, H, W, C)`: the mean
        images of the groups' decodes, then their sum, clipped to [-1,
        1]), floats in [-1, 1].

    Example:

    ```python
    import kerasgen
    from kerasgen.latent.interpolation import latents_from_seeds
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    z = latents_from_seeds(model, range(6))
    result = latent_arithmetic(model, z[0:2], z[2:4], z[4:6])
    result["latent"].shape, result["pixel_row"].shape  # ((4,), (4, 8, 8, 1))
    ```
    """
    groups = [_as_latents("latent_arithmetic", name, model, group)[0]
              for name, group in (("a", a), ("b", b), ("c", c))]
    if labels is not None and not isinstance(labels, (int, np.integer)):
        refuse("latent_arithmetic", "labels", labels, "an int (one class for every image) or None")
    means = [average_latent(group) for group in groups]
    result = means[0] - means[1] + means[2]
    latent_row = model.decode(np.stack(means + [result]), _labels(model, labels, 4))
    pixel_means = [model.decode(group, _labels(model, labels, len(group))).astype(
        "float64").mean(axis=0) for group in groups]
    pixel_sum = np.clip(pixel_means[0] - pixel_means[1] + pixel_means[2], -1.0, 1.0)
    pixel_row = np.stack(pixel_means + [pixel_sum]).astype("float32")
    return {"latent": result, "latent_row": np.asarray(latent_row, "float32"),
            "pixel_row": pixel_row}


def _labels(model, label, n):
    from kerasgen.models.interfaces import check_labels

    return check_labels(model, None if label is None else np.full((n,), label), n)


def arithmetic_grid(result, names=("A", "B", "C"), min_size=512):
    """`latent_arithmetic`'s result as one captioned uint8 picture: the
    latent row over the pixel row.

    Args:
        result: a dict from `latent_arithmetic`.
        names: three str naming the groups (e.g. digit classes). Defaults
            to `("A", "B", "C")`.
        min_size: int. The long side to enlarge to at least. Defaults to
            512.

    Example:

    ```python
    import numpy as np
    result = {"latent_row": np.zeros((4, 8, 8, 1)), "pixel_row": np.ones((4, 8, 8, 1))}
    arithmetic_grid(result, min_size=64).dtype.name  # 'uint8'
    ```
    """
    from kerasgen.utils.images import make_strips

    if len(names) != 3:
        refuse("arithmetic_grid", "names", names, "three names, of A, B and C")
    a, b, c = (str(name) for name in names)
    columns = (f"mean {a}", f"mean {b}", f"mean {c}", f"{a}-{b}+{c}")
    rows = np.stack([result["latent_row"], result["pixel_row"]])
    return make_strips(rows, [(1, "in latent space: decode(mean z)", columns),
                              (1, "in pixel space: mean x", columns)], min_size=min_size)


def latents_by_class(model, classifier, n=1000, seed=0, min_confidence=0.0, labels=None,
                     batch_size=250):
    """Samples `n` latents, decodes them, and groups them by the class a
    classifier gives their images (argmax of its `probabilities`).

    Args:
        model: anything with the latent interface.
        classifier: a feature extractor name (e.g. `"lenet-mnist"`), a
            `FeatureExtractor`, or any object with `probabilities(images)`
            giving `(n, classes)`.
        n: int >= 1. Latents to sample. Defaults to 1000.
        seed: int. Defaults to 0.
        min_confidence: float in [0, 1). Keep only the latents whose image
            the classifier puts in its class with at least this
            probability. Defaults to 0.
        labels: the labels to decode with, for a conditional model (see
            `kerasgen.models.interfaces.check_labels`).
        batch_size: int. Defaults to 250.

    Returns:
        A dict `{class index: latents (n_k,) + latent_shape}`, sorted by
        class, holding only the classes some image was put in.

    Example:

    ```python
    import numpy as np
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)

    class Brightness:  # a stand-in classifier: dark (0) or bright (1)
        def probabilities(self, images):
            p = (images.mean(axis=(1, 2, 3)) + 1) / 2
            return np.stack([1 - p, p], axis=1)

    groups = latents_by_class(model, Brightness(), n=10)
    sum(len(z) for z in groups.values())  # 10
    ```
    """
    from kerasgen.models.interfaces import check_labels

    if not is_count(n, minimum=1):
        refuse("latents_by_class", "n", n, "an int >= 1")
    if not 0.0 <= float(min_confidence) < 1.0:
        refuse("latents_by_class", "min_confidence", min_confidence, "a number in [0, 1)")
    if isinstance(classifier, str):
        from kerasgen.metrics.extractors import load_extractor

        classifier = load_extractor(classifier)
    if not callable(getattr(classifier, "probabilities", None)):
        refuse("latents_by_class", "classifier", classifier,
               "an extractor name or an object with probabilities(images)")
    latents = np.asarray(model.sample_latents(int(n), seed), "float32")
    labels = check_labels(model, labels, len(latents))
    probabilities = []
    for i in range(0, len(latents), batch_size):
        chunk = None if labels is None else labels[i:i + batch_size]
        probabilities.append(np.asarray(
            classifier.probabilities(model.decode(latents[i:i + batch_size], chunk))))
    probabilities = np.concatenate(probabilities)
    classes = probabilities.argmax(axis=-1)
    confident = probabilities.max(axis=-1) >= float(min_confidence)
    return {int(k): latents[(classes == k) & confident]
            for k in np.unique(classes[confident])}

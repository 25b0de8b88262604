"""Adversarial examples against the zoo's classifiers: FGSM and PGD.

- FGSM, the fast gradient sign method (Goodfellow, Shlens and Szegedy
  2015, "Explaining and Harnessing Adversarial Examples"):
  `x + eps * sign(grad_x J(x, y))`, one step up the loss `J`.
- PGD, projected gradient descent (Madry et al. 2018, "Towards Deep
  Learning Models Resistant to Adversarial Attacks"): `steps` such sign
  steps of `step_size` (default `2.5 * eps / steps`, the paper's), each
  followed by the projection back onto the L-infinity ball of radius `eps`
  around `x`, from a uniformly random point of the ball (`random_start`).

`J` is the cross-entropy of the *true* labels on the network's logits
(binary for a one-logit network such as `catdog-classifier-64`), and every
image is clipped to the valid range [-1, 1] after each step.

Units: `epsilon` (and `step_size`) are given in **[0, 1] image units**, as
the literature gives them (MNIST's 0.1 and 0.3, CIFAR's 8/255), so
`epsilon=0.1` lets a pixel move by a tenth of the full intensity range,
25.5 of the 255 8-bit levels (`epsilon * 255` levels). The images live in
[-1, 1], where that range is twice as wide: the attack adds
`2 * epsilon * sign(...)`. The adversarial images are floats, not
rounded to 8-bit levels (rounding moves a pixel by at most half a level).

`accuracy_under_attack` measures accuracy over a grid of epsilons;
`attack_figure` draws the "panda + noise = gibbon" figure of Goodfellow et
al.: the image, the perturbation scaled to be seen, and the adversarial
image, each captioned with the classifier's label and confidence.
"""

import numpy as np

from kerasgen.probes.networks import cached
from kerasgen.probes.networks import output_model
from kerasgen.probes.networks import resolve

METHODS = ("fgsm", "pgd")


def _is_number(value):
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and bool(np.isfinite(value)))


def _check_epsilon(epsilon, name="epsilon"):
    if not (_is_number(epsilon) and 0 <= epsilon <= 1):
        raise ValueError(
            f"`{name}` must be a number in [0, 1], in [0, 1] image units (0.1 = "
            f"25.5 of 255 levels). Received: {name}={epsilon!r}")
    return float(epsilon)


class _Attacker:
    """A classifier's loss gradient and logits, compiled once per network
    (`kerasgen.probes.networks.cached`)."""

    def __init__(self, extractor_or_network):
        self.target = resolve(extractor_or_network, "extractor")
        network = self.target.network
        self.binary = len(self.target.classes) == 2 and _logit_count(network) == 1
        self.num_classes = len(self.target.classes)
        self._sign, self._logits = cached(network, ("attack", self.binary),
                                          lambda: _compile(network, self.binary))

    def labels(self, labels, count):
        labels = np.asarray(labels)
        if (labels.shape != (count,) or labels.dtype.kind not in "iu"
                or count and not (0 <= labels.min() and labels.max() < self.num_classes)):
            raise ValueError(
                f"`labels` must be {count} ints in [0, {self.num_classes}), one per "
                f"image. Received: labels of shape {labels.shape} and dtype "
                f"{labels.dtype}")
        return labels.astype("int64")

    def _targets(self, labels):
        if self.binary:
            return labels.astype("float32")[:, None]
        return np.eye(self.num_classes, dtype="float32")[labels]

    def sign(self, x, labels):
        from keras import ops

        return ops.convert_to_numpy(self._sign(x, self._targets(labels)))

    def probabilities(self, x):
        from keras import ops

        from kerasgen.metrics.extractors import logits_to_probabilities

        return logits_to_probabilities(ops.convert_to_numpy(self._logits(x)))

    def fgsm(self, x, labels, epsilon):
        if epsilon == 0:
            return x.copy()
        return np.clip(x + 2 * epsilon * self.sign(x, labels), -1, 1).astype("float32")

    def pgd(self, x, labels, epsilon, steps, step_size, random_start, rng):
        radius = 2 * epsilon
        if radius == 0:
            return x.copy()
        step = 2 * (2.5 * epsilon / steps if step_size is None else step_size)
        adversarial = x
        if random_start:
            adversarial = x + rng.uniform(-radius, radius, x.shape).astype("float32")
            adversarial = np.clip(adversarial, -1, 1)
        for _ in range(steps):
            adversarial = adversarial + step * self.sign(adversarial, labels)
            adversarial = np.clip(adversarial, x - radius, x + radius)
            adversarial = np.clip(adversarial, -1, 1)
        return adversarial.astype("float32")

    def attack(self, x, labels, epsilon, method, options, rng):
        if method == "fgsm":
            return self.fgsm(x, labels, epsilon)
        return self.pgd(x, labels, epsilon, rng=rng, **options)


def _compile(network, binary):
    """`(sign of the loss gradient, logits)` of `network`, compiled."""
    from keras import ops

    from kerasgen.training.input_gradients import input_gradient
    from kerasgen.utils.compiled import compiled

    classifier = output_model(network)

    def logits(x):
        return ops.cast(classifier(x, training=False), "float32")

    def loss(x, targets):
        if binary:
            return ops.sum(ops.binary_crossentropy(targets, logits(x), from_logits=True),
                           axis=-1)
        return -ops.sum(targets * ops.log_softmax(logits(x), axis=-1), axis=-1)

    def sign_of_gradient(x, targets):
        return ops.sign(input_gradient(lambda v: loss(v, targets), x))

    return (compiled(sign_of_gradient, classifier.variables),
            compiled(logits, classifier.variables))


def _logit_count(network):
    shape = network.output_shape
    shape = shape[-1] if isinstance(shape, list) else shape
    return shape[-1]


def _pgd_options(steps, step_size, random_start):
    if not (isinstance(steps, (int, np.integer)) and not isinstance(steps, bool)
            and steps >= 1):
        raise ValueError(f"`steps` must be an int >= 1. Received: steps={steps!r}")
    if step_size is not None:
        _check_epsilon(step_size, "step_size")
    return dict(steps=int(steps), step_size=step_size, random_start=bool(random_start))


def _method_options(method, options):
    if method not in METHODS:
        raise ValueError(
            f"`method` must be one of {', '.join(METHODS)}. Received: method={method!r}")
    if method == "fgsm":
        if options:
            raise ValueError(
                f"FGSM takes no options (steps, step_size, random_start and seed are "
                f"PGD's). Received: {', '.join(sorted(options))}")
        return {}, 0
    unknown = sorted(set(options) - {"steps", "step_size", "random_start", "seed"})
    if unknown:
        raise ValueError(
            f"PGD takes steps, step_size, random_start and seed. Received: "
            f"{', '.join(unknown)}")
    seed = options.pop("seed", 0)
    return _pgd_options(options.get("steps", 10), options.get("step_size"),
                        options.get("random_start", True)), seed


def fgsm(extractor, images, labels, epsilon):
    """The fast gradient sign attack: `x + epsilon * sign(grad_x J)`.

    Args:
        extractor: a `FeatureExtractor` or a functional `keras.Model` from
            images in [-1, 1] to logits (or `[..., logits]`).
        images: `(N, H, W, C)`, uint8 or floats in [-1, 1].
        labels: ints `(N,)`, the true classes.
        epsilon: float in [0, 1], in [0, 1] image units (added as
            `2 * epsilon` in [-1, 1]; see the module's docstring).

    Returns:
        The adversarial images, float32 in [-1, 1] at the network's input
        size (`extractor.prepare(images)` for `epsilon=0`).

    Example:

    ```python
    from kerasgen.metrics import load_extractor
    lenet = load_extractor("lenet-mnist")
    x = np.zeros((2, 28, 28, 1), "uint8")
    adversarial = fgsm(lenet, x, [0, 1], epsilon=0.1)
    float(np.abs(adversarial - lenet.prepare(x)).max())  # 0.2: twice 0.1, in [-1, 1] units
    ```
    """
    epsilon = _check_epsilon(epsilon)
    attacker = _Attacker(extractor)
    x = attacker.target.prepare(images)
    return attacker.fgsm(x, attacker.labels(labels, len(x)), epsilon)


def pgd(extractor, images, labels, epsilon, steps=10, step_size=None,
        random_start=True, seed=0):
    """Projected gradient descent: `steps` sign steps up the loss, each
    projected onto the L-infinity ball of radius `epsilon` and [-1, 1].

    Args:
        extractor: a `FeatureExtractor` or a functional `keras.Model`.
        images: `(N, H, W, C)`, uint8 or floats in [-1, 1].
        labels: ints `(N,)`, the true classes.
        epsilon: float in [0, 1], in [0, 1] image units.
        steps: int. Defaults to 10.
        step_size: float in [0, 1] image units, or None for
            `2.5 * epsilon / steps` (Madry et al.). Defaults to None.
        random_start: bool. Start from a uniform point of the ball.
            Defaults to True.
        seed: int. Seed of the random start. Defaults to 0.

    Returns:
        The adversarial images, float32 in [-1, 1].

    Example:

    ```python
    from kerasgen.metrics import load_extractor
    lenet = load_extractor("lenet-mnist")
    x = np.zeros((2, 28, 28, 1), "uint8")
    adversarial = pgd(lenet, x, [0, 1], epsilon=0.1, steps=3)
    bool(np.abs(adversarial - lenet.prepare(x)).max() <= 0.2 + 1e-6)  # True
    ```
    """
    epsilon = _check_epsilon(epsilon)
    options = _pgd_options(steps, step_size, random_start)
    attacker = _Attacker(extractor)
    x = attacker.target.prepare(images)
    return attacker.pgd(x, attacker.labels(labels, len(x)), epsilon,
                        rng=np.random.default_rng(seed), **options)


def accuracy_under_attack(extractor, images, labels, epsilons, method="fgsm",
                          batch_size=250, **options):
    """The classifier's accuracy on images attacked with each epsilon.

    Args:
        extractor: a `FeatureExtractor` or a functional `keras.Model`.
        images: `(N, H, W, C)`, uint8 or floats in [-1, 1].
        labels: ints `(N,)`, the true classes.
        epsilons: floats in [0, 1], in [0, 1] image units (0 is the clean
            accuracy).
        method: `"fgsm"` or `"pgd"`. Defaults to `"fgsm"`.
        batch_size: int. Images per gradient batch. Defaults to 250.
        **options: PGD's `steps`, `step_size`, `random_start` and `seed`.

    Returns:
        A list of dicts, one per epsilon: `method`, `epsilon`, `levels`
        (`epsilon * 255`, in 8-bit levels), `accuracy`, `n` (and PGD's
        `steps`, `step_size`, `random_start`).

    Example:

    ```python
    from kerasgen.metrics import load_extractor
    lenet = load_extractor("lenet-mnist")
    x = np.zeros((4, 28, 28, 1), "uint8")
    rows = accuracy_under_attack(lenet, x, [0, 1, 2, 3], [0.0, 0.3])
    [row["levels"] for row in rows]  # [0.0, 76.5]
    ```
    """
    options, seed = _method_options(method, dict(options))
    if isinstance(epsilons, (int, float)):
        epsilons = [epsilons]
    epsilons = [_check_epsilon(e, "epsilons") for e in epsilons]
    if not epsilons:
        raise ValueError("`epsilons` must hold at least one number in [0, 1]. "
                         "Received: epsilons=[]")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ValueError(f"`batch_size` must be an int >= 1. Received: "
                         f"batch_size={batch_size!r}")
    attacker = _Attacker(extractor)
    images = np.asarray(images)
    labels = attacker.labels(labels, len(images))
    correct = np.zeros(len(epsilons))
    rng = np.random.default_rng(seed)
    for start in range(0, len(images), batch_size):
        x = attacker.target.prepare(images[start:start + batch_size])
        y = labels[start:start + batch_size]
        for i, epsilon in enumerate(epsilons):
            adversarial = attacker.attack(x, y, epsilon, method, options, rng)
            predicted = attacker.probabilities(adversarial).argmax(axis=-1)
            correct[i] += np.sum(predicted == y)
    rows = []
    for epsilon, right in zip(epsilons, correct):
        row = dict(method=method, epsilon=epsilon, levels=round(epsilon * 255, 4),
                   accuracy=float(right / max(len(images), 1)), n=len(images))
        if method == "pgd":
            row.update(steps=options["steps"], random_start=options["random_start"],
                       step_size=(2.5 * epsilon / options["steps"]
                                  if options["step_size"] is None
                                  else options["step_size"]))
        rows.append(row)
    return rows


def perturbation_image(clean, adversarial, epsilon):
    """The perturbation `adversarial - clean` as an image to look at: divided
    by its largest possible size, `2 * epsilon` in [-1, 1], so mid grey is
    no change and black and white are `-epsilon` and `+epsilon` (FGSM's
    perturbation is black and white wherever no clipping cut it).

    Example:

    ```python
    clean = np.zeros((1, 2, 2, 1), "float32")
    perturbation_image(clean, clean + 0.2, 0.1).max()  # 1.0
    ```
    """
    epsilon = _check_epsilon(epsilon)
    delta = np.asarray(adversarial, "float32") - np.asarray(clean, "float32")
    if epsilon == 0:
        return np.zeros_like(delta)
    return np.clip(delta / np.float32(2 * epsilon), -1, 1)


def attack_figure(extractor, images, labels, epsilon, method="fgsm", **options):
    """The "panda + noise = gibbon" figure: a row per image with the image,
    the perturbation (scaled by `perturbation_image`) and the adversarial
    image, captioned with the classifier's label and confidence.

    Args:
        extractor: a `FeatureExtractor` or a functional `keras.Model`.
        images: `(N, H, W, C)`, uint8 or floats in [-1, 1].
        labels: ints `(N,)`, the true classes.
        epsilon: float in [0, 1], in [0, 1] image units.
        method: `"fgsm"` or `"pgd"`. Defaults to `"fgsm"`.
        **options: PGD's `steps`, `step_size`, `random_start` and `seed`.

    Returns:
        `(picture, rows)`: the figure, uint8 `(height, width, C)`, and per
        image a dict with `label`, `clean` and `adversarial` (each
        `(class name, probability)`).

    Example:

    ```python
    from kerasgen.metrics import load_extractor
    lenet = load_extractor("lenet-mnist")
    picture, rows = attack_figure(lenet, np.zeros((1, 28, 28, 1), "uint8"), [0], 0.2)
    picture.dtype, len(rows)  # (dtype('uint8'), 1)
    ```
    """
    from kerasgen.utils.images import make_strips

    options, seed = _method_options(method, dict(options))
    epsilon = _check_epsilon(epsilon)
    attacker = _Attacker(extractor)
    x = attacker.target.prepare(images)
    y = attacker.labels(labels, len(x))
    adversarial = attacker.attack(x, y, epsilon, method, options,
                                  np.random.default_rng(seed))
    classes = attacker.target.classes
    rows, groups = [], []
    for clean_p, adversarial_p, label in zip(attacker.probabilities(x),
                                             attacker.probabilities(adversarial), y):
        clean_class, adversarial_class = clean_p.argmax(), adversarial_p.argmax()
        rows.append(dict(label=classes[label],
                         clean=(classes[clean_class], float(clean_p[clean_class])),
                         adversarial=(classes[adversarial_class],
                                      float(adversarial_p[adversarial_class]))))
        title = None
        if not groups:
            title = f"{method.upper()}, eps {epsilon:.3g} = {epsilon * 255:.3g}/255"
            if epsilon:
                title += f" (perturbation shown x{1 / (2 * epsilon):.3g})"
        groups.append((1, title, (
            f"{classes[clean_class]} {clean_p[clean_class]:.1%}",
            "+ perturbation",
            f"{classes[adversarial_class]} {adversarial_p[adversarial_class]:.1%}")))
    strips = np.stack([x, perturbation_image(x, adversarial, epsilon), adversarial],
                      axis=1)
    return make_strips(strips, groups), rows

"""Naive Bayes as a generative model: a class prior and, given the class,
independent pixels.

- Murphy 2012, "Machine Learning: A Probabilistic Perspective", 3.5
  (naive Bayes classifiers) and 3.5.1.2 (the MNIST digits as a
  class-conditional Bernoulli model).

Notation:

| code                 | Murphy 2012                                  |
| -------------------- | -------------------------------------------- |
| `class_counts`       | N_c, examples of class c                     |
| `on_counts`          | N_jc, examples of class c with pixel j on    |
| `pixel_probabilities`| theta_jc = (N_jc + alpha) / (N_c + 2 alpha)  |
| `prior()`            | pi_c = (N_c + alpha) / (N + C alpha)         |

The model is p(x, y) = pi_y prod_j p(x_j | y): per class, each pixel its
own Bernoulli (`likelihood="bernoulli"`, on digits binarized at
`threshold`) or its own Gaussian (`likelihood="gaussian"`, on dequantized
8-bit pixels, with `var_smoothing` added to each variance as scikit-learn
does). Fitting is counting, an assign step that adds each batch's counts
(exact for any batching: a second epoch counts every example again, which
leaves the estimates as they were, up to the weight of the smoothing).

Generating is sampling y, then every pixel independently given y: the
digits look like noisy class averages, since nothing ties neighbouring
pixels together (the notes' point). Classification comes for free:
argmax_y log pi_y + sum_j log p(x_j | y) (Bayes' rule); about 84% of
binarized MNIST digits are classified right (Murphy 2012, 3.5.1.2).
"""

import math

import keras
import numpy as np
from keras import ops

from kerasgen.losses.likelihood import BIN_WIDTH
from kerasgen.losses.likelihood import dequantize
from kerasgen.losses.likelihood import event_size
from kerasgen.losses.likelihood import quantize
from kerasgen.models.interfaces import DensityModel
from kerasgen.models.interfaces import Sampler
from kerasgen.models.registry import register_family
from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input
from kerasgen.models.serving import normal_cdf
from kerasgen.models.serving import seeded_normal
from kerasgen.training import AssignStep
from kerasgen.training import GenerativeModel
from kerasgen.training.replicas import per_example

LIKELIHOODS = ("bernoulli", "gaussian")
_LOG_2PI = math.log(2.0 * math.pi)


class PixelCounts(keras.layers.Layer):
    """The sufficient statistics of Naive Bayes, counted from the data:
    `class_counts (C,)` and per class and pixel `sums (C, D)` (pixels on,
    for Bernoulli) and `squares (C, D)` (Gaussian only).

    Example:

    ```python
    counts = PixelCounts(num_classes=10, dim=64, likelihood="gaussian")
    [w.name for w in counts.weights]  # ['class_counts', 'sums', 'squares']
    ```
    """

    def __init__(self, num_classes, dim, likelihood="bernoulli", **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.num_classes = int(num_classes)
        self.dim = int(dim)
        self.likelihood = likelihood
        c, d = self.num_classes, self.dim
        self.class_counts = self.add_weight(shape=(c,), initializer="zeros",
                                            trainable=False, name="class_counts")
        self.sums = self.add_weight(shape=(c, d), initializer="zeros", trainable=False,
                                    name="sums")
        if likelihood == "gaussian":
            self.squares = self.add_weight(shape=(c, d), initializer="zeros",
                                           trainable=False, name="squares")
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, dim=self.dim, likelihood=self.likelihood)
        return config


@register_family("naive-bayes")
class NaiveBayes(Sampler, DensityModel, GenerativeModel):
    """Class-conditional independent pixels (Bernoulli or Gaussian), fitted by counting.

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 or 3. Defaults to 1.
        num_classes: int. The classes of the labels it is fitted on
            (labels are required). Defaults to 10.
        likelihood: str. `"bernoulli"` (pixels binarized at `threshold`)
            or `"gaussian"` (dequantized 8-bit pixels). Defaults to
            `"bernoulli"`.
        threshold: float. Bernoulli: a pixel is on when its intensity in
            [0, 1] exceeds this. Defaults to 0.5.
        smoothing: float. alpha, the pseudo-count added to every count of
            the prior and the Bernoulli pixels (Laplace's rule is 1).
            Defaults to 1.0.
        var_smoothing: float. Gaussian: added to every pixel's variance
            (on the [-1, 1] scale). Defaults to 1e-3.
        seed: int or None. Seeds the dequantization noise (Gaussian).

    Reference:
        Murphy 2012, "Machine Learning: A Probabilistic Perspective", 3.5.

    Example:

    ```python
    import numpy as np
    model = NaiveBayes(image_size=2, num_classes=2)
    model.compile()
    images = np.array([[[-1, -1], [1, 1]], [[1, 1], [-1, -1]]] * 8, "float32")[..., None]
    labels = np.array([0, 1] * 8)
    model.fit(images, labels, batch_size=4, verbose=0)
    model.classify(images[:2]).tolist()  # [0, 1]
    model.sample(4, seed=0, labels=[0, 0, 1, 1]).shape  # (4, 2, 2, 1)
    ```
    """

    interfaces = Sampler.interfaces + DensityModel.interfaces
    description = "Naive Bayes (Bernoulli or Gaussian pixels per class), fitted by counting; a classifier too."
    default_batch_size = 500
    recipes = {"demo": dict(image_size=8)}

    def __init__(
        self,
        image_size=28,
        channels=1,
        num_classes=10,
        likelihood="bernoulli",
        threshold=0.5,
        smoothing=1.0,
        var_smoothing=1e-3,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"`likelihood` is one of {LIKELIHOODS}. "
                             f"Received: likelihood={likelihood!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError("`num_classes` must be an int >= 1 (Naive Bayes is fitted on "
                             f"labelled images). Received: num_classes={num_classes!r}")
        if not 0.0 <= float(threshold) < 1.0:
            raise ValueError(f"`threshold` must be in [0, 1). Received: threshold={threshold!r}")
        if not float(smoothing) > 0.0:
            raise ValueError(f"`smoothing` must be > 0. Received: smoothing={smoothing!r}")
        if not float(var_smoothing) > 0.0:
            raise ValueError(f"`var_smoothing` must be > 0. Received: var_smoothing={var_smoothing!r}")
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.num_classes = num_classes
        self.likelihood = likelihood
        self.threshold = float(threshold)
        self.smoothing = float(smoothing)
        self.var_smoothing = float(var_smoothing)
        self.dim = event_size(self.data_spec().shape)

        # === The counts (the model's only state) ===
        self.counts = PixelCounts(num_classes, self.dim, likelihood, name="counts")
        self._finish_networks()

    @property
    def log_prob_data(self):
        return "binarized" if self.likelihood == "bernoulli" else "8-bit"

    @property
    def log_prob_is_bound(self):
        # Gaussian: a dequantized density; Bernoulli: exact, of binarized digits.
        return self.likelihood == "gaussian"

    # --- The data the pixels model ------------------------------------------------

    def _flat(self, x):
        return ops.reshape(ops.cast(x, "float32"), (ops.shape(x)[0], self.dim))

    def binarize(self, images):
        """1 where a pixel's intensity in [0, 1] exceeds `threshold`, else
        0, flattened: `(n, D)`."""
        return ops.cast(self._flat(images) > 2.0 * self.threshold - 1.0, "float32")

    def _points(self, images, noise):
        if self.likelihood == "bernoulli":
            return self.binarize(images)
        return self._flat(dequantize(images, noise))

    # --- Parameters from the counts -------------------------------------------

    def prior(self):
        """log pi_c, `(C,)`, with `smoothing` pseudo-counts."""
        counts = ops.convert_to_tensor(self.counts.class_counts) + self.smoothing
        return ops.log(counts / ops.sum(counts))

    def pixel_probabilities(self):
        """Bernoulli: theta_jc = P(pixel j on | class c), `(C, D)`."""
        counts = ops.convert_to_tensor(self.counts.class_counts)[:, None]
        return (ops.convert_to_tensor(self.counts.sums) + self.smoothing) / (
            counts + 2.0 * self.smoothing)

    def pixel_gaussians(self):
        """Gaussian: per class and pixel `(mean, variance)`, each `(C, D)`."""
        counts = ops.maximum(ops.convert_to_tensor(self.counts.class_counts), 1.0)[:, None]
        mean = ops.convert_to_tensor(self.counts.sums) / counts
        variance = ops.convert_to_tensor(self.counts.squares) / counts - mean ** 2
        return mean, ops.maximum(variance, 0.0) + self.var_smoothing

    def class_log_likelihoods(self, points):
        """log p(x | y = c) for every class, `(n, C)`, of binarized or
        continuous points `(n, D)`."""
        if self.likelihood == "bernoulli":
            theta = self.pixel_probabilities()
            return (ops.matmul(points, ops.transpose(ops.log(theta)))
                    + ops.matmul(1.0 - points, ops.transpose(ops.log(1.0 - theta))))
        mean, variance = self.pixel_gaussians()
        precision = 1.0 / variance
        quadratic = (ops.matmul(points ** 2, ops.transpose(precision))
                     - 2.0 * ops.matmul(points, ops.transpose(mean * precision))
                     + ops.sum(mean ** 2 * precision, axis=1)[None, :])
        return -0.5 * (quadratic + ops.sum(ops.log(variance), axis=1)[None, :]
                       + self.dim * _LOG_2PI)

    # --- Fitting: counting ------------------------------------------------------

    def count_update(self, images, labels=None):
        """Adds the batch's counts (an assign step)."""
        if labels is None:
            raise ValueError("Naive Bayes is fitted on labelled images: pass the labels "
                             "with the images.")
        noise = per_example(keras.random.uniform, ops.shape(images), seed=self.seed_generator)
        points = self._points(images, noise)
        one_hot = ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), self.num_classes)
        new = [self.counts.class_counts + ops.sum(one_hot, axis=0),
               self.counts.sums + ops.matmul(ops.transpose(one_hot), points)]
        if self.likelihood == "gaussian":
            new.append(self.counts.squares + ops.matmul(ops.transpose(one_hot), points ** 2))
        joint = self.class_log_likelihoods(points) + self.prior()[None, :]
        # The batch's accuracy under the counts before it: a running test.
        accuracy = ops.mean(ops.cast(
            ops.equal(ops.argmax(joint, axis=1), ops.argmax(one_hot, axis=1)), "float32"))
        return {"counts": new}, {"seen": ops.sum(new[0]), "accuracy": accuracy}

    def update_steps(self):
        return [AssignStep("count", self.count_update, ("counts",))]

    # --- Classification: Bayes' rule -----------------------------------------------

    def log_posterior_tensor(self, images):
        """log p(y = c | x), `(n, C)`."""
        joint = self.class_log_likelihoods(
            self._points(images, ops.full(ops.shape(images), 0.5, "float32")))
        joint = joint + self.prior()[None, :]
        return joint - ops.logsumexp(joint, axis=1, keepdims=True)

    def classify(self, images, batch_size=1000):
        """The most probable class of each image, int32 numpy `(n,)`."""
        images = np.asarray(images, "float32")
        out = [np.argmax(ops.convert_to_numpy(self.log_posterior_tensor(images[i:i + batch_size])),
                         axis=1) for i in range(0, len(images), batch_size)]
        return np.concatenate(out).astype("int32") if out else np.zeros((0,), "int32")

    def accuracy(self, images, labels):
        """The share of images classified as their label.

        Example:

        ```python
        import numpy as np
        model = NaiveBayes(image_size=2, num_classes=2)
        model.accuracy(np.zeros((2, 2, 2, 1)), [0, 1])  # 0.5
        ```
        """
        return float(np.mean(self.classify(images) == np.asarray(labels).reshape(-1)))

    # --- Likelihood ---------------------------------------------------------------

    def log_prob_tensor(self, images, labels=None, noise=None):
        """log P(x | y): of the binarized image (Bernoulli, exact) or of the
        8-bit image (Gaussian, dequantized by `noise`)."""
        if noise is None:
            noise = ops.full(ops.shape(images), 0.5, "float32")
        per_class = self.class_log_likelihoods(self._points(images, noise))
        one_hot = ops.one_hot(ops.cast(labels, "int32"), self.num_classes)
        log_prob = ops.sum(per_class * one_hot, axis=1)
        if self.likelihood == "gaussian":
            log_prob = log_prob + self.dim * math.log(BIN_WIDTH)
        return log_prob

    # --- Sampling -----------------------------------------------------------------

    def generate_tensor(self, labels, noise):
        """Images for classes `labels (n,)` from per-pixel noise `(n, D)`:
        uniform (Bernoulli: a pixel is on where noise < theta) or standard
        normal (Gaussian)."""
        labels = ops.cast(labels, "int32")
        shape = (ops.shape(noise)[0],) + tuple(self.data_spec().shape)
        if self.likelihood == "bernoulli":
            theta = ops.take(self.pixel_probabilities(), labels, axis=0)
            on = ops.cast(noise < theta, "float32")
            return ops.reshape(2.0 * on - 1.0, shape)
        mean, variance = self.pixel_gaussians()
        points = ops.take(mean, labels, axis=0) + ops.take(ops.sqrt(variance), labels,
                                                           axis=0) * noise
        return ops.reshape(quantize(points), shape)

    def sample(self, n, seed=None, labels=None):
        """`n` images of classes `labels` (default: one block per class),
        each pixel drawn independently given the class."""
        labels = self.check_labels(labels, n)
        rng = np.random.default_rng(seed)
        if self.likelihood == "bernoulli":
            noise = rng.uniform(size=(int(n), self.dim))
        else:
            noise = rng.standard_normal((int(n), self.dim))
        return ops.convert_to_numpy(
            self.generate_tensor(labels, noise.astype("float32"))).astype("float32")

    def class_means(self):
        """Each class's mean image in [-1, 1], `(C, H, W, C)`: theta mapped
        to [-1, 1] (Bernoulli) or the Gaussians' means."""
        if self.likelihood == "bernoulli":
            mean = 2.0 * ops.convert_to_numpy(self.pixel_probabilities()) - 1.0
        else:
            mean = ops.convert_to_numpy(self.pixel_gaussians()[0])
        return np.clip(mean, -1, 1).reshape((self.num_classes,) + self.data_spec().shape)

    # --- Serving ------------------------------------------------------------------

    serving_default = "generate"

    def serving_endpoints(self):
        """`generate(labels, noise)`, `generate_from_seed(seed, labels)`,
        `classify(images)` and `log_prob(images, labels)`."""
        dim = self.dim
        images = Input("images", "float32", (None,) + tuple(self.data_spec().shape))

        def from_seed(seed, labels):
            normal = seeded_normal(seed, ops.shape(labels)[0], dim)
            if self.likelihood == "bernoulli":  # uniform through the normal CDF
                normal = normal_cdf(normal)
            return self.generate_tensor(labels, normal)

        def classify(images):
            log_posterior = self.log_posterior_tensor(images)
            # The first class at the maximum; Keras's TensorFlow argmax
            # brings ops (Bitcast, BitwiseAnd) the TFLite builtins lack.
            classes = ops.arange(self.num_classes, dtype="int32")[None, :]
            at_max = ops.equal(log_posterior, ops.max(log_posterior, axis=1, keepdims=True))
            labels = ops.min(ops.where(at_max, classes, self.num_classes), axis=1)
            return {"labels": labels, "log_posterior": log_posterior}

        noise = "uniform" if self.likelihood == "bernoulli" else "standard normal"
        return [
            Endpoint("generate", (Input("labels", "int32", (None,)),
                                  Input("noise", "float32", (None, dim))),
                     self.generate_tensor,
                     description=f"images of classes labels from {noise} per-pixel noise"),
            Endpoint("generate_from_seed",
                     (Input("seed", "int64"), Input("labels", "int32", (None,), batched=False)),
                     from_seed, builtin_ops=False,
                     description="one image per label, drawn from seed"),
            Endpoint("classify", (images,), classify, images=False,
                     description="Bayes' rule: the most probable class and log p(y | x)"),
            self.log_prob_endpoint(),
        ]

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.pop("ema_decay")  # nothing to average
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            num_classes=self.num_classes,
            likelihood=self.likelihood,
            threshold=self.threshold,
            smoothing=self.smoothing,
            var_smoothing=self.var_smoothing,
        )
        return config

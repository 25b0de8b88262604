"""Gaussian mixture model, trained by EM or by gradient descent on the
negative log-likelihood.

- Dempster, Laird and Rubin 1977, "Maximum Likelihood from Incomplete Data
  via the EM Algorithm"; Bishop 2006, "Pattern Recognition and Machine
  Learning", section 9.2 (the notation below).
- k-means++ initialization: Arthur and Vassilvitskii 2007.
- Stepwise EM for minibatches: Cappe and Moulines 2009; Liang and Klein
  2009, "Online EM for Unsupervised Models".

Notation:

| code                        | Bishop 2006                        |
| --------------------------- | ---------------------------------- |
| `components`                | K                                  |
| `mixture.logits`            | log pi_k (up to a constant)        |
| `mixture.means`             | mu_k                               |
| `scale_tril(...)`           | L_k, with Sigma_k = L_k L_k^T      |
| `responsibilities(...)`     | gamma(z_nk), eq. 9.23              |

The model is p(x) = sum_k pi_k N(x | mu_k, Sigma_k), on pixel vectors (the
images flattened, dequantized to continuous values in [-1, 1]: see
`kerasgen.losses.likelihood`) or on any vectors (`input_dim > 0`, e.g.
another family's latents, so that sampling the mixture and decoding gives
that family's samples).

EM (`training="em"`) is an assign step per batch: the E-step computes the
responsibilities with the current parameters (eq. 9.23), the M-step sets
pi, mu and Sigma from them (eq. 9.24 to 9.26). On a batch that holds the
whole data set with `em_step_power=0` that is classic EM, and the
log-likelihood never decreases. With minibatches it is stepwise EM: the
new statistics are a blend, weight eta_t = (t + 1)^-power, of the batch's
and those the current parameters stand for. The first batch initializes the
means by k-means++ seeding and the M-step runs on its hard assignments
(as scikit-learn's `init_params="k-means++"` does).

Gradient training (`training="gradient"`) minimizes the mean negative
log-likelihood with Adam over unconstrained parameters (logits, means, and
a lower-triangular scale whose diagonal passes through softplus), after the
same k-means++ initialization on the first batch.

Deviations: the covariance gets `reg_covar` added to its diagonal (as
scikit-learn does) so that a pixel that never changes does not make it
singular. TensorFlow Probability's `MixtureSameFamily` would give the same
density on TensorFlow, but its JAX substrate does not import with the JAX
kerasgen runs on (0.10), so the density is written once in `keras.ops`;
the tests check it against scipy and, on TensorFlow, against TFP.
"""

import dataclasses
import math

import keras
import numpy as np
from keras import ops

from kerasgen.losses.likelihood import BIN_WIDTH
from kerasgen.losses.likelihood import dequantize
from kerasgen.losses.likelihood import event_size
from kerasgen.losses.likelihood import quantize
from kerasgen.models.interfaces import DataSpec
from kerasgen.models.interfaces import DensityModel
from kerasgen.models.interfaces import Sampler
from kerasgen.models.registry import register_family
from kerasgen.models.serving import Endpoint
from kerasgen.models.serving import Input
from kerasgen.models.serving import normal_cdf
from kerasgen.models.serving import seeded_normal
from kerasgen.training import AssignStep
from kerasgen.training import GenerativeModel
from kerasgen.training import UpdateStep
from kerasgen.utils.arguments import check_count
from kerasgen.training.replicas import per_example

COVARIANCE_TYPES = ("full", "diagonal", "spherical")
TRAINING_MODES = ("em", "gradient")
_LOG_2PI = math.log(2.0 * math.pi)


def _softplus_inverse(x):
    # log(exp(x) - 1), stable for small and large x.
    return x + ops.log(-ops.expm1(-x))


class MixtureParameters(keras.layers.Layer):
    """The parameters of a Gaussian mixture: `logits (K,)`, `means (K, D)`
    and `scale (K, D, D)` (full, lower-triangular, diagonal through
    softplus), `(K, D)` (diagonal) or `(K,)` (spherical), the raw values of
    the standard deviations.

    Example:

    ```python
    params = MixtureParameters(components=3, dim=2, covariance="diagonal")
    tuple(params.scale.shape)  # (3, 2)
    ```
    """

    def __init__(self, components, dim, covariance="full", trainable=True, **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        self.components = int(components)
        self.dim = int(dim)
        self.covariance = covariance
        k, d = self.components, self.dim
        scale_shape = {"full": (k, d, d), "diagonal": (k, d), "spherical": (k,)}[covariance]
        one = float(np.log(np.expm1(1.0)))  # softplus(one) = 1: unit scales
        if covariance == "full":
            initial = np.broadcast_to(np.eye(d, dtype="float32") * one, scale_shape)
        else:
            initial = np.full(scale_shape, one, "float32")
        self.logits = self.add_weight(shape=(k,), initializer="zeros", name="logits")
        # Distinct means, so that components differ before k-means++ (on
        # the first batch) places them.
        self.means = self.add_weight(shape=(k, d), name="means",
                                     initializer=keras.initializers.RandomNormal(stddev=0.5))
        self.scale = self.add_weight(
            shape=scale_shape, name="scale",
            initializer=keras.initializers.Constant(np.array(initial)))
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.pop("ema_decay")  # nothing to average
        config.update(components=self.components, dim=self.dim, covariance=self.covariance)
        return config


@register_family("gmm")
class GaussianMixture(Sampler, DensityModel, GenerativeModel):
    """Gaussian mixture on pixel vectors or latents, trained by EM or gradient.

    Args:
        image_size: int. Height and width of the images. Defaults to 28.
        channels: int. 1 or 3. Defaults to 1.
        input_dim: int. 0 to model images (`image_size`, `channels`) as
            pixel vectors; else the length of the vectors modelled (another
            model's latents), which are not dequantized. Defaults to 0.
        components: int. K, the number of Gaussians. Defaults to 10.
        covariance: str. `"full"`, `"diagonal"` or `"spherical"`.
            Defaults to `"full"`.
        training: str. `"em"` (an assign step per batch) or `"gradient"`
            (Adam on the negative log-likelihood). Defaults to `"em"`.
        em_step_power: float. Stepwise EM's weight of batch t (from 0) is
            (t + 1)^-power: 0 replaces the statistics by each batch's
            (classic EM when a batch is the whole data set), 0.5 to 1
            averages minibatches. Defaults to 0.6.
        reg_covar: float. Added to the covariances' diagonal. Defaults to
            1e-6.
        learning_rate: float. Adam's, for `training="gradient"`. Defaults
            to 1e-2.
        seed: int or None. Seeds k-means++ and the dequantization noise.

    Reference:
        Bishop 2006, "Pattern Recognition and Machine Learning", 9.2.

    Example:

    ```python
    import numpy as np
    model = GaussianMixture(input_dim=2, components=2, em_step_power=0.0)
    model.compile()
    points = np.concatenate([np.random.normal(-3, 1, (50, 2)),
                             np.random.normal(3, 1, (50, 2))]).astype("float32")
    model.fit(points, batch_size=100, epochs=5, verbose=0)
    sorted(np.round(model.component_means()[:, 0]))  # [-3.0, 3.0]
    model.sample(4, seed=0).shape  # (4, 2)
    ```
    """

    interfaces = Sampler.interfaces + DensityModel.interfaces
    description = "Gaussian mixture (EM or gradient; full, diagonal or spherical) on pixels or latents."
    default_batch_size = 1000
    recipes = {"demo": dict(image_size=8, components=10)}

    def __init__(
        self,
        image_size=28,
        channels=1,
        input_dim=0,
        components=10,
        covariance="full",
        training="em",
        em_step_power=0.6,
        reg_covar=1e-6,
        learning_rate=1e-2,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        if covariance not in COVARIANCE_TYPES:
            raise ValueError(f"`covariance` is one of {COVARIANCE_TYPES}. "
                             f"Received: covariance={covariance!r}")
        if training not in TRAINING_MODES:
            raise ValueError(f"`training` is one of {TRAINING_MODES}. "
                             f"Received: training={training!r}")
        check_count(self, "components", components, minimum=1)
        check_count(self, "input_dim", input_dim, minimum=0)
        if not 0.0 <= float(em_step_power) <= 1.0:
            raise ValueError("`em_step_power` must be in [0, 1]. "
                             f"Received: em_step_power={em_step_power!r}")
        if not float(reg_covar) >= 0.0:
            raise ValueError(f"`reg_covar` must be >= 0. Received: reg_covar={reg_covar!r}")
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels}")

        # === Config ===
        self.image_size = image_size
        self.channels = channels
        self.input_dim = input_dim
        self.components = components
        self.covariance = covariance
        self.training = training
        self.em_step_power = float(em_step_power)
        self.reg_covar = float(reg_covar)
        self.learning_rate = learning_rate
        self.dim = input_dim or event_size(self.data_spec().shape)

        # === Parameters ===
        # Trained by the optimizer (gradient) or assigned (EM), never both.
        self.mixture = MixtureParameters(components, self.dim, covariance,
                                         trainable=training == "gradient", name="mixture")
        self._finish_networks()

    def data_spec(self):
        if self.input_dim:
            return DataSpec("vectors", (self.input_dim,))
        return DataSpec("images", (self.image_size, self.image_size, self.channels))

    @property
    def log_prob_is_bound(self):
        # Images: the density of a dequantized point bounds the bin's mass.
        return not self.input_dim

    # --- The density ---------------------------------------------------------

    def _flat(self, x):
        return ops.reshape(ops.cast(x, "float32"), (ops.shape(x)[0], self.dim))

    def _to_points(self, images, noise):
        """Images to the continuous points the mixture models."""
        if self.input_dim:
            return self._flat(images)
        return self._flat(dequantize(images, noise))

    def scale_tril(self):
        """The standard deviations: `(K, D, D)` lower-triangular L_k (full),
        `(K, D)` (diagonal) or `(K,)` (spherical)."""
        raw = ops.convert_to_tensor(self.mixture.scale)
        if self.covariance != "full":
            return ops.softplus(raw)
        # Masks rather than tril/diagonal ops, which TFLite lacks.
        eye = np.eye(self.dim, dtype="float32")
        strictly_lower = np.tril(np.ones((self.dim, self.dim), "float32"), -1)
        diagonal = ops.softplus(ops.sum(raw * eye, axis=-1))
        return raw * strictly_lower + eye * diagonal[:, None, :]

    def _raw_scale(self, scale):
        """Inverse of `scale_tril`: the raw values that give `scale`."""
        if self.covariance != "full":
            return _softplus_inverse(scale)
        eye = ops.eye(self.dim, dtype=scale.dtype)
        diagonal = ops.diagonal(scale, axis1=-2, axis2=-1)
        return ops.tril(scale, -1) + eye * _softplus_inverse(diagonal)[:, None, :]

    def component_log_densities(self, x):
        """log N(x_n | mu_k, Sigma_k), `(n, K)`, for points `(n, D)`."""
        means = ops.convert_to_tensor(self.mixture.means)
        scale = self.scale_tril()
        d = float(self.dim)
        if self.covariance == "full":
            columns = []
            # One component at a time: a (K, n, D) difference would not fit
            # in memory for 784-pixel vectors.
            for k in range(self.components):
                whitened = ops.solve_triangular(scale[k], ops.transpose(x - means[k]),
                                                lower=True)
                log_det = ops.sum(ops.log(ops.diagonal(scale[k])))
                columns.append(-0.5 * ops.sum(whitened ** 2, axis=0) - log_det)
            quadratic = ops.stack(columns, axis=1)
        elif self.covariance == "diagonal":
            precision = 1.0 / scale ** 2  # (K, D)
            quadratic = -0.5 * (
                ops.matmul(x ** 2, ops.transpose(precision))
                - 2.0 * ops.matmul(x, ops.transpose(means * precision))
                + ops.sum(means ** 2 * precision, axis=1)[None, :]
            ) - ops.sum(ops.log(scale), axis=1)[None, :]
        else:
            squared = (ops.sum(x ** 2, axis=1)[:, None] - 2.0 * ops.matmul(x, ops.transpose(means))
                       + ops.sum(means ** 2, axis=1)[None, :])
            quadratic = -0.5 * squared / scale[None, :] ** 2 - d * ops.log(scale)[None, :]
        return quadratic - 0.5 * d * _LOG_2PI

    def log_weights(self):
        """log pi_k, `(K,)`."""
        logits = ops.convert_to_tensor(self.mixture.logits)
        return logits - ops.logsumexp(logits)

    def log_density(self, x):
        """log p(x_n) of points `(n, D)` (or images, flattened), `(n,)`."""
        joint = self.component_log_densities(self._flat(x)) + self.log_weights()[None, :]
        return ops.logsumexp(joint, axis=1)

    def responsibilities(self, x):
        """gamma(z_nk) (Bishop eq. 9.23), `(n, K)`, and log p(x_n), `(n,)`."""
        joint = self.component_log_densities(x) + self.log_weights()[None, :]
        log_p = ops.logsumexp(joint, axis=1)
        return ops.exp(joint - log_p[:, None]), log_p

    def log_prob_tensor(self, images, labels=None, noise=None):
        """log P(x) per example: of the 8-bit image (its bin's mass,
        bounded through the dequantized point `noise` picks) or, with
        `input_dim`, the density of the vector."""
        if self.input_dim:
            return self.log_density(images)
        if noise is None:
            noise = ops.full(ops.shape(images), 0.5, "float32")
        return (self.log_density(self._to_points(images, noise))
                + self.dim * math.log(BIN_WIDTH))

    # --- Initialization: k-means++ ----------------------------------------------

    def kmeans_plus_plus(self, x):
        """K centres picked from points `x` by k-means++ seeding: the first
        uniformly, each next one with probability proportional to its
        squared distance to the nearest centre picked so far."""
        n = ops.shape(x)[0]
        first = keras.random.randint((), 0, n, seed=self.seed_generator)
        centres = [ops.take(x, first, axis=0)]
        nearest = ops.sum((x - centres[0]) ** 2, axis=1)
        for _ in range(1, self.components):
            logits = ops.log(nearest + 1e-12)[None, :]
            pick = keras.random.categorical(logits, 1, seed=self.seed_generator)[0, 0]
            centres.append(ops.take(x, pick, axis=0))
            nearest = ops.minimum(nearest, ops.sum((x - centres[-1]) ** 2, axis=1))
        return ops.stack(centres)

    def hard_assignments(self, x, centres):
        """One-hot `(n, K)`: each point's nearest centre."""
        squared = (ops.sum(x ** 2, axis=1)[:, None] - 2.0 * ops.matmul(x, ops.transpose(centres))
                   + ops.sum(centres ** 2, axis=1)[None, :])
        return ops.one_hot(ops.argmin(squared, axis=1), self.components)

    # --- The M-step -------------------------------------------------------------

    def _batch_statistics(self, x, resp):
        """Weights, means and covariances of the batch under `resp`."""
        counts = ops.sum(resp, axis=0) + 1e-10  # (K,)
        means = ops.matmul(ops.transpose(resp), x) / counts[:, None]
        if self.covariance == "full":
            covariances = []
            for k in range(self.components):
                centred = x - means[k]
                covariances.append(ops.matmul(ops.transpose(centred * resp[:, k:k + 1]),
                                              centred) / counts[k])
            spread = ops.stack(covariances)
        else:
            squares = (ops.matmul(ops.transpose(resp), x ** 2) / counts[:, None]
                       - means ** 2)
            squares = ops.maximum(squares, 0.0)
            spread = squares if self.covariance == "diagonal" else ops.mean(squares, axis=1)
        return counts / ops.cast(ops.shape(x)[0], "float32"), means, spread

    def _current_statistics(self):
        """The weights, means and covariances (without `reg_covar`) of the
        current parameters: the statistics stepwise EM blends into."""
        weights = ops.exp(self.log_weights())
        means = ops.convert_to_tensor(self.mixture.means)
        scale = self.scale_tril()
        if self.covariance == "full":
            spread = ops.matmul(scale, ops.transpose(scale, (0, 2, 1)))
            spread = spread - self.reg_covar * ops.eye(self.dim)[None]
        else:
            spread = scale ** 2 - self.reg_covar
        return weights, means, spread

    def _blend(self, old, new, eta):
        """Mixes two sets of (weights, means, covariances) with weight `eta`
        on `new`, as pooled statistics (the covariances about the pooled
        mean, so nothing is lost to cancellation)."""
        (w0, m0, s0), (w1, m1, s1) = old, new
        a, b = (1.0 - eta) * w0, eta * w1
        weights = a + b
        means = (a[:, None] * m0 + b[:, None] * m1) / weights[:, None]
        d0, d1 = m0 - means, m1 - means
        if self.covariance == "full":
            outer0 = d0[:, :, None] * d0[:, None, :]
            outer1 = d1[:, :, None] * d1[:, None, :]
            spread = (a[:, None, None] * (s0 + outer0) + b[:, None, None] * (s1 + outer1)) \
                / weights[:, None, None]
        elif self.covariance == "diagonal":
            spread = (a[:, None] * (s0 + d0 ** 2) + b[:, None] * (s1 + d1 ** 2)) / weights[:, None]
        else:
            spread = (a * (s0 + ops.mean(d0 ** 2, axis=1))
                      + b * (s1 + ops.mean(d1 ** 2, axis=1))) / weights
        return weights, means, spread

    def _parameters_from(self, weights, means, spread):
        """The layer's raw values for mixture statistics (Bishop 9.24-9.26)."""
        if self.covariance == "full":
            covariance = spread + self.reg_covar * ops.eye(self.dim)[None]
            scale = ops.cholesky(covariance)
        else:
            scale = ops.sqrt(ops.maximum(spread, 0.0) + self.reg_covar)
        logits = ops.log(weights + 1e-12)
        return [logits, means, self._raw_scale(scale)]

    # --- Update steps ---------------------------------------------------------

    def _batch_points(self, images):
        noise = per_example(keras.random.uniform, ops.shape(images), seed=self.seed_generator)
        return self._to_points(images, noise)

    def _first_batch(self):
        return ops.equal(ops.convert_to_tensor(self.optimizer.iterations), 0)

    def em_update(self, images, labels=None):
        """One EM step on a batch (stepwise EM across batches); on the first
        batch, the M-step of the k-means++ assignments."""
        x = self._batch_points(images)
        first = self._first_batch()
        resp, log_p = self.responsibilities(x)
        seeded = self.hard_assignments(x, self.kmeans_plus_plus(x))
        resp = ops.where(first, seeded, resp)
        batches_done = ops.cast(self.optimizer.iterations, "float32")
        eta = ops.where(first, 1.0, (batches_done + 1.0) ** (-self.em_step_power))
        blended = self._blend(self._current_statistics(), self._batch_statistics(x, resp), eta)
        log_likelihood = ops.mean(log_p)
        return ({"mixture": self._parameters_from(*blended)},
                self._logs(log_likelihood))

    def initialize_update(self, images, labels=None):
        """Gradient training's first batch: the M-step of the k-means++
        assignments; the parameters as they are on every later batch."""
        x = self._batch_points(images)
        seeded = self._parameters_from(
            *self._batch_statistics(x, self.hard_assignments(x, self.kmeans_plus_plus(x))))
        first = self._first_batch()
        current = [ops.convert_to_tensor(v) for v in self.mixture.weights]
        # Logged so that a run shows where the parameters came from.
        return ({"mixture": [ops.where(first, s, c) for s, c in zip(seeded, current)]},
                {"initialized": ops.cast(first, "float32")})

    def negative_log_likelihood(self, images, labels=None):
        """The mean -log p(x) of the batch's points (the gradient loss)."""
        log_likelihood = ops.mean(self.log_density(self._batch_points(images)))
        return -log_likelihood, self._logs(log_likelihood)

    def _logs(self, log_likelihood):
        logs = {"loss": -log_likelihood}
        if not self.input_dim:
            # The 8-bit images' bound in bits per pixel.
            nats = log_likelihood + self.dim * math.log(BIN_WIDTH)
            logs["bits_per_dim"] = -nats / (self.dim * math.log(2.0))
        return logs

    def update_steps(self):
        if self.training == "em":
            return [AssignStep("em", self.em_update, ("mixture",))]
        return [AssignStep("initialize", self.initialize_update, ("mixture",)),
                UpdateStep("mixture", self.negative_log_likelihood, ("mixture",))]

    def default_optimizers(self):
        if self.training == "em":
            return {}
        return {"mixture": keras.optimizers.Adam(self.learning_rate, name="mixture_adam")}

    # --- Sampling ---------------------------------------------------------------

    def generate_tensor(self, components, z):
        """Points mu_c + L_c z for component indices `(n,)` and standard
        normal `z (n, D)`, as images in [-1, 1] (8-bit levels) or vectors."""
        components = ops.cast(components, "int32")
        means = ops.take(ops.convert_to_tensor(self.mixture.means), components, axis=0)
        scale = self.scale_tril()
        if self.covariance == "full":
            offsets = ops.zeros_like(z)
            for k in range(self.components):
                chosen = ops.cast(ops.equal(components, k), z.dtype)[:, None]
                offsets = offsets + chosen * ops.matmul(z, ops.transpose(scale[k]))
        elif self.covariance == "diagonal":
            offsets = z * ops.take(scale, components, axis=0)
        else:
            offsets = z * ops.take(scale, components, axis=0)[:, None]
        points = means + offsets
        if self.input_dim:
            return points
        # The bin a point falls in, as the 8-bit image it stands for.
        shape = (ops.shape(points)[0],) + tuple(self.data_spec().shape)
        return ops.reshape(quantize(points), shape)

    def _components_from_uniform(self, uniform):
        cumulative = ops.cumsum(ops.exp(self.log_weights()))
        chosen = ops.sum(ops.cast(uniform[:, None] > cumulative[None, :-1], "int32"), axis=1)
        return ops.minimum(chosen, self.components - 1)

    def sample(self, n, seed=None, labels=None):
        """`n` draws: a component from pi, then a point of its Gaussian;
        images in [-1, 1] at 8-bit levels (or vectors with `input_dim`)."""
        self.check_labels(labels, n)
        rng = np.random.default_rng(seed)
        uniform = rng.uniform(size=(int(n),)).astype("float32")
        z = rng.standard_normal((int(n), self.dim)).astype("float32")
        components = self._components_from_uniform(ops.convert_to_tensor(uniform))
        return ops.convert_to_numpy(self.generate_tensor(components, z)).astype("float32")

    def component_means(self):
        """The K means, as images in [-1, 1] `(K, H, W, C)` (clipped), or
        vectors with `input_dim`."""
        means = ops.convert_to_numpy(self.mixture.means).astype("float32")
        if self.input_dim:
            return means
        return np.clip(means.reshape((self.components,) + self.data_spec().shape), -1.0, 1.0)

    # --- Serving ------------------------------------------------------------------

    def serving_endpoints(self):
        """`generate(components, z)`, `generate_from_seed(seed, n)` and
        `log_prob(images)`."""
        dim = self.dim

        def from_seed(seed, n):
            normal = seeded_normal(seed, n, dim + 1)
            # The last column, through the normal CDF, picks the component.
            uniform = normal_cdf(normal[:, dim])
            return self.generate_tensor(self._components_from_uniform(uniform), normal[:, :dim])

        images = not self.input_dim
        if not images:  # vectors are served by name, not as images
            generate = lambda components, z: {"points": self.generate_tensor(components, z)}
            draw = lambda seed, n: {"points": from_seed(seed, n)}
        else:
            generate, draw = self.generate_tensor, from_seed
        return [
            Endpoint("generate", (Input("components", "int32", (None,)),
                                  Input("z", "float32", (None, dim))),
                     generate, images=images,
                     description="mu_c + L_c z for components c and z ~ N(0, I)"),
            Endpoint("generate_from_seed", (Input("seed", "int64"), Input("n", "int32")),
                     draw, images=images, builtin_ops=False,
                     description="n samples drawn from seed"),
            # A full covariance's density needs a triangular solve, which
            # the TFLite builtins lack (SavedModel only, or --select-tf-ops).
            dataclasses.replace(self.log_prob_endpoint(),
                                builtin_ops=self.covariance != "full"),
        ]

    # --- Config -----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.pop("ema_decay")  # nothing to average
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            input_dim=self.input_dim,
            components=self.components,
            covariance=self.covariance,
            training=self.training,
            em_step_power=self.em_step_power,
            reg_covar=self.reg_covar,
            learning_rate=self.learning_rate,
        )
        return config

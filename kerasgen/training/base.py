"""The base class every kerasgen family extends.

A family writes its losses once, in `keras.ops`, and declares its update
steps: which loss, which networks it trains, with which optimizer, how many
times per batch. `GenerativeModel.train_step` runs those steps on whichever
backend Keras runs on, so `model.fit()` trains any family:

- TensorFlow: a `GradientTape` per step and `optimizer.apply`, inside the
  `tf.function` Keras compiles (`jit_compile=True` adds XLA).
- JAX: a jitted, stateless step. Each loss runs inside
  `keras.StatelessScope` with the current values of every variable;
  `jax.value_and_grad` differentiates it with respect to the step's own
  variables, the scope hands back updated non-trainable values (BatchNorm
  statistics, the noise seed) and the step's optimizer applies its gradients
  with `stateless_apply`.

The several optimizers live in one `MultiOptimizer`, so Keras carries all of
their state through `fit()` and saves it with the model.
"""

import dataclasses
import logging
from typing import Callable, Sequence

import keras
from keras import ops

from kerasgen.training.multi_optimizer import MultiOptimizer

logger = logging.getLogger("kerasgen.training")


@dataclasses.dataclass(frozen=True)
class UpdateStep:
    """One gradient update that a model makes for every batch.

    Args:
        name: str. The step's name; also the key of its optimizer in
            `compile(optimizer={...})`, e.g. `"discriminator"`.
        loss: callable. `loss(images, labels)` returning `(loss, logs)`: the
            scalar to minimize and a dict of scalars to report.
        networks: sequence of str. Attribute names of the networks whose
            trainable variables this step updates, e.g. `("generator",)`.
            Every other network is left untouched by this step.
        repeat: int. How many times the step runs per batch (WGAN's
            `n_critic`). Defaults to 1.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, generator_filters=4,
                           discriminator_filters=4)
    step = UpdateStep("discriminator", model.discriminator_step_loss,
                      networks=("discriminator",))
    len(model.step_variables(step))  # the discriminator's trainable variables
    ```
    """

    name: str
    loss: Callable
    networks: Sequence[str]
    repeat: int = 1


class GenerativeModel(keras.Model):
    """Base class of the kerasgen families: `fit()` on TensorFlow and JAX.

    Subclasses build their networks in `__init__` (as attributes, e.g.
    `self.generator`), and implement:

    - `update_steps()`: the list of `UpdateStep`s run for every batch, in
      order;
    - `default_optimizers()`: a dict of step name to optimizer, used when
      `compile()` is called without one;
    - `get_config()`: the constructor's arguments.

    Args:
        ema_decay: float or None. When set, an exponential moving average of
            the network named by the class attribute `ema_network` is kept
            (`ema = decay * ema + (1 - decay) * weights` after every batch)
            and used for sampling. Defaults to None (no average).
        seed: int or None. Seeds the noise drawn inside the training step
            (latents, reparameterization). For reproducible initial weights,
            call `keras.utils.set_random_seed(seed)` before building.
            Defaults to None.
        **kwargs: passed to `keras.Model` (`name`, `dtype`).
    """

    # === What a family declares about itself ===
    # The CLI, the exporter, the metrics and the latent tools read these;
    # none of them names a family.

    #: One line shown by `kerasgen families` (read from the source).
    description = ""
    #: The name it is registered under; set by `@register_family`.
    family_name = None
    #: Attribute name of the network that `ema_decay` averages.
    ema_network = None
    #: The interfaces it provides (`kerasgen.models.interfaces.INTERFACES`);
    #: the `LatentGenerator` and `ImageTranslation` mixins set them.
    interfaces = ()
    #: The export signature `serving_default` points to.
    serving_default = None
    #: Batch size of the paper, used when the user gives none.
    default_batch_size = 64
    #: Named configurations, each as the constructor arguments that differ
    #: from its defaults (the defaults are the paper's): `"demo"` is a small
    #: one that trains in minutes on a CPU on the embedded digits, and is
    #: what `kerasgen train FAMILY` uses when no --data is given.
    recipes = {}

    def __init__(self, *, ema_decay=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(
                "`ema_decay` must be None or a float in (0, 1). "
                f"Received: ema_decay={ema_decay}"
            )
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    # --- Hooks for families -------------------------------------------------

    def update_steps(self):
        raise NotImplementedError(
            f"{type(self).__name__} must implement update_steps()."
        )

    def default_optimizers(self):
        raise NotImplementedError(
            f"{type(self).__name__} must implement default_optimizers()."
        )

    def data_spec(self):
        """What `fit()` takes and the family produces
        (`kerasgen.models.interfaces.DataSpec`); by default square images of
        `image_size` and `channels`, with labels when `num_classes > 0`."""
        from kerasgen.models.interfaces import DataSpec

        return DataSpec(
            "images", (self.image_size, self.image_size, self.channels),
            num_classes=int(getattr(self, "num_classes", 0) or 0),
        )

    def serving_endpoints(self):
        """The functions export serves (`kerasgen.models.serving.Endpoint`);
        none by default, and a model with none is refused by export."""
        return []

    def plan_run(self, total_steps):
        """Told the length of the whole run before `compile()`, for families
        whose configuration depends on it (a schedule over the run). Does
        nothing by default."""

    def _finish_networks(self):
        """Families call this at the end of `__init__`, once every network
        exists: it creates the EMA copy and marks the model built."""
        if self.ema_decay is not None:
            if self.ema_network is None:
                raise ValueError(
                    f"{type(self).__name__} has no network to average: "
                    "`ema_decay` is not supported. "
                    f"Received: ema_decay={self.ema_decay}"
                )
            source = getattr(self, self.ema_network)
            average = keras.models.clone_model(source)
            average.set_weights(source.get_weights())
            average.trainable = False
            average.name = f"{source.name}_ema"
            setattr(self, f"{self.ema_network}_ema", average)
        self.built = True

    def sampling_network(self, name):
        """The network used at inference: its EMA copy when there is one."""
        if self.ema_decay is not None and name == self.ema_network:
            return getattr(self, f"{name}_ema")
        return getattr(self, name)

    def ema_pairs(self):
        """(averaged variable, source variable) pairs, empty without EMA."""
        if self.ema_decay is None:
            return []
        source = getattr(self, self.ema_network)
        average = getattr(self, f"{self.ema_network}_ema")
        return list(zip(average.weights, source.weights))

    # --- Compile --------------------------------------------------------------

    def compile(self, optimizer=None, *, jit_compile="auto", **kwargs):
        """Configures the model for training.

        Args:
            optimizer: None, a dict of update-step name to optimizer, or a
                `MultiOptimizer`. None uses the family's defaults (the
                paper's). Defaults to None.
            jit_compile: bool or `"auto"`. `"auto"` jit-compiles on JAX and
                runs a plain `tf.function` on TensorFlow; `True` on
                TensorFlow adds XLA. Defaults to `"auto"`.
            **kwargs: other `keras.Model.compile` arguments
                (`steps_per_execution`, `run_eagerly`). `loss` and `metrics`
                are not used: the family defines its losses.
        """
        # Kept so that a family can compile again with fresh default
        # optimizers (image translation, once it knows the run's length).
        self._compiled_with_defaults = optimizer is None
        self._compile_arguments = dict(jit_compile=jit_compile, **kwargs)
        if optimizer is None:
            optimizer = self.default_optimizers()
        if isinstance(optimizer, dict):
            optimizer = MultiOptimizer(optimizer)
        if not isinstance(optimizer, MultiOptimizer):
            raise TypeError(
                f"{type(self).__name__}.compile() takes a dict of update-step "
                f"name to optimizer, one per step "
                f"({[s.name for s in self.update_steps()]}). "
                f"Received: optimizer={optimizer!r}"
            )
        steps = self.update_steps()
        step_names = [step.name for step in steps]
        if sorted(step_names) != sorted(optimizer.step_names):
            raise ValueError(
                f"{type(self).__name__} needs one optimizer per update step "
                f"{step_names}. Received optimizers for: "
                f"{optimizer.step_names}"
            )
        if self.dtype_policy.name == "mixed_float16":
            optimizer.wrap_for_loss_scaling()
        for key in ("loss", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.pop(key, None) is not None:
                raise ValueError(
                    f"{type(self).__name__} defines its own losses; "
                    f"`compile({key}=...)` is not supported."
                )
        kwargs.pop("auto_scale_loss", None)  # done per optimizer above
        super().compile(
            optimizer=optimizer,
            jit_compile=jit_compile,
            auto_scale_loss=False,
            **kwargs,
        )
        if jit_compile == "auto":
            self.jit_compile = keras.backend.backend() == "jax"
        for step in steps:
            child = optimizer[step.name]
            if not child.built:
                child.build(self.step_variables(step))
        optimizer.built = True

    def compile_from_config(self, config):
        # Keras skips models with a custom `compile`; ours takes the saved
        # config as is, so a loaded model keeps its optimizers (and their
        # state, loaded right after this) and continues `fit()`.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)

    def step_variables(self, step):
        """The trainable variables an update step updates, in a fixed order."""
        variables = []
        for network_name in step.networks:
            variables.extend(getattr(self, network_name).trainable_variables)
        return variables

    # --- Training -------------------------------------------------------------

    def train_step(self, *args):
        # Keras calls `train_step(data)` on TensorFlow and
        # `train_step(state, data)` on JAX.
        if keras.backend.backend() == "jax":
            from kerasgen.training import jax_backend

            return jax_backend.train_step(self, *args)
        if keras.backend.backend() == "tensorflow":
            from kerasgen.training import tensorflow_backend

            return tensorflow_backend.train_step(self, *args)
        raise NotImplementedError(
            "kerasgen trains on the 'tensorflow' and 'jax' backends. "
            f"Received: KERAS_BACKEND={keras.backend.backend()}"
        )

    def prepare_batch(self, data):
        """Transforms a batch once, before the update steps see it (random
        jitter, flips). Runs inside the train step, so it may draw from
        `self.seed_generator`. Defaults to the batch as is."""
        return data

    def run_update_loss(self, step, data):
        """Runs one step's loss on a batch: `(float32 loss, logs)`."""
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss, logs = step.loss(images, labels)
        loss = ops.cast(loss, "float32")
        logs = {k: ops.cast(v, "float32") for k, v in logs.items()}
        return loss, logs

    def ema_update(self, average, value):
        """New value of one averaged variable (pure, for both backends)."""
        decay = ops.cast(self.ema_decay, average.dtype)
        value = ops.cast(value, average.dtype)
        return decay * average + (1.0 - decay) * value

    # --- Serialization ----------------------------------------------------------

    def build(self, input_shape=None):
        # Networks are built in __init__; nothing to infer from inputs.
        self.built = True

    # Keras does not save SeedGenerator states. Ours is saved with the
    # weights, so that a resumed run draws the noise the uninterrupted run
    # would have drawn.
    _SEED_STATE_KEY = "kerasgen_seed_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self._SEED_STATE_KEY] = keras.ops.convert_to_numpy(
            self.seed_generator.state.value
        )

    def load_own_variables(self, store):
        own = {k: store[k] for k in store.keys() if k != self._SEED_STATE_KEY}
        super().load_own_variables(own)
        if self._SEED_STATE_KEY in store.keys():
            self.seed_generator.state.assign(store[self._SEED_STATE_KEY])

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "ema_decay": self.ema_decay,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(
                config["dtype"]
            )
        return cls(**config)

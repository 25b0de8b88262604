"""The base class every kerasgen family extends.

A family writes its losses once, in `keras.ops`, and declares its update
steps, run in order for every batch. There are two kinds:

- `UpdateStep`: a gradient step. A loss, the networks whose trainable
  variables it trains, and (in `compile(optimizer={...})`) an optimizer of
  its own.
- `AssignStep`: a step that computes new values for some variables and
  assigns them, with no gradient and no optimizer (an EM update of a
  Gaussian mixture, the counts of Naive Bayes). The variables it assigns
  are usually non-trainable weights (`add_weight(trainable=False)`), so
  that `model.trainable_variables` lists only what optimizers train; a
  trainable one may be assigned too.

Either kind may run several times per batch (`repeat`, WGAN's `n_critic`)
and only every k-th batch (`every=k`, StyleGAN2's lazy R1): on batches k,
2k, 3k, ... counted from 1 over the whole run (from the saved
`optimizer.iterations`, so a resumed run keeps the cadence). Inside a step,
`model.optimizer.iterations` is the number of batches done before this one.
`GenerativeModel.train_step` runs the steps on whichever backend Keras runs
on, so `model.fit()` trains any family:

- TensorFlow: a `GradientTape` per gradient step and `optimizer.apply`
  (`variable.assign` for an assign step), inside the `tf.function` Keras
  compiles (`jit_compile=True` adds XLA). An every-k step is a `tf.cond`;
  under a `tf.distribute` strategy, where the gradients' all-reduce cannot
  sit in a `tf.cond`, only the loss and gradients of an every-k gradient
  step are conditional, and its optimizer's apply is undone on the batches
  where the step is not due.
- JAX: a jitted, stateless step. Each loss runs inside
  `keras.StatelessScope` with the current values of every variable;
  `jax.value_and_grad` differentiates it with respect to the step's own
  variables, the scope hands back updated non-trainable values (BatchNorm
  statistics, the noise seed) and the step's optimizer applies its gradients
  with `stateless_apply`; an assign step's values replace the old ones in
  the state handed back to Keras. An every-k step is a `jax.lax.cond`.

A step that does not run on a batch changes nothing (its optimizer's slots
and `iterations` included) and reports 0 for each of its logs on that batch.

The several optimizers live in one `MultiOptimizer`, so Keras carries all of
their state through `fit()` and saves it with the model; a model with only
assign steps gets an empty one, which still counts the batches.

A family may also declare training phases (`phases()`, `enter_phase()`;
see `kerasgen.training.phases`).
"""

import dataclasses
import numbers
import logging
from typing import Callable, Sequence

import keras
from keras import ops

from kerasgen.training.multi_optimizer import MultiOptimizer
from kerasgen.training.phases import Phase  # noqa: F401  (for phases())
from kerasgen.utils import arguments

logger = logging.getLogger("kerasgen.training")


def _check_count(step, argument, value):
    # numbers.Integral: a numpy integer from a config is fine, a bool not.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"Update step {step.name!r}: `{argument}` must be an int >= 1. "
            f"Received: {argument}={value!r}"
        )


# Hyper-parameters checked on every family that sets them (by name): a
# nonsense value trains without complaint (a negative learning rate ascends
# the loss, beta_1 >= 1 never forgets) or builds zero-sized weights.
_RATE_ATTRIBUTES = ("learning_rate",)
_BETA_ATTRIBUTES = ("beta_1", "beta_2")
_SIZE_ATTRIBUTES = ("latent_dim", "image_size", "filters")


def _check_hyperparameters(model):
    import math

    def refuse(name, value, expected):
        arguments.refuse(model, name, value, expected)

    for name in _RATE_ATTRIBUTES:
        value = getattr(model, name, None)
        # A schedule (or any non-number) is the optimizer's business.
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            if not math.isfinite(float(value)) or float(value) <= 0:
                refuse(name, value, "a finite number > 0")
    for name in _BETA_ATTRIBUTES:
        value = getattr(model, name, None)
        if value is None:
            continue
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not 0.0 <= float(value) < 1.0):
            refuse(name, value, "a number in [0, 1)")
    names = [n for n in vars(model) if n.endswith("_filters")]
    for name in list(_SIZE_ATTRIBUTES) + sorted(names):
        value = getattr(model, name, None) if name in vars(model) else None
        if value is None:
            continue
        if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                or value < 1):
            refuse(name, value, "an int >= 1")


class StepHandoff:
    """Tensors kept by one update step for the later steps of a batch
    (`GenerativeModel.keep_for_later_steps`): `pending`, what the loss now
    running keeps; `batch`, what earlier steps of this batch kept. A plain
    object, so that Keras does not track the tensors as state."""

    def __init__(self):
        self.pending = {}
        self.batch = {}


@dataclasses.dataclass(frozen=True)
class UpdateStep:
    """One gradient update that a model makes for every batch (or every
    `every`-th batch).

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
        every: int. The step runs on batches `every`, `2 * every`, ...
            (counted from 1 over the whole run) and is skipped on the
            others: no loss computed, its optimizer untouched, 0 reported
            for its logs. StyleGAN2's lazy R1 is `every=16`; scaling the
            penalty by `every`, as the paper does, is the loss's job.
            Defaults to 1 (every batch).

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
    every: int = 1

    def __post_init__(self):
        _check_count(self, "repeat", self.repeat)
        _check_count(self, "every", self.every)


@dataclasses.dataclass(frozen=True)
class AssignStep:
    """An update that assigns new values to variables: no gradient, no
    optimizer (an EM step of a Gaussian mixture, Naive Bayes counts).

    Args:
        name: str. The step's name (its logs are the update's logs).
        update: callable. `update(images, labels)` returning
            `(new_values, logs)`, computed in `keras.ops` from the batch
            and the variables' current values (read them as usual, e.g.
            `self.means`). `new_values` is either a list in the order of
            `model.step_variables(step)`, or a dict keyed by the names in
            `variables_of`: one array for a variable, a list in the order of
            `layer.weights` for a layer. Each value must have its variable's
            shape; it is cast to the variable's dtype.
        variables_of: sequence of str. Attribute names of what the step
            assigns: a `keras.Variable` (e.g. made with
            `self.add_weight(..., trainable=False)`) or a layer / network,
            standing for all of its `weights`.
        repeat: int. How many times the update runs per batch, each on the
            values the previous one assigned. Defaults to 1.
        every: int. As for `UpdateStep`: runs on batches `every`,
            `2 * every`, ... only. Defaults to 1.

    Under a `tf.distribute` strategy each replica computes the update from
    its own share of the batch and assigns it to its own copy of the
    variables: a family that trains so reduces its statistics across
    replicas itself (`tf.distribute.get_replica_context().all_reduce`).

    Example:

    ```python
    import numpy as np

    class Mean(GenerativeModel):
        # The running mean of every pixel seen so far.
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.mean = self.add_weight(shape=(), initializer="zeros",
                                        trainable=False)
            self.seen = self.add_weight(shape=(), initializer="zeros",
                                        trainable=False)
            self.built = True

        def update(self, images, labels):
            n = ops.cast(ops.size(images), "float32")
            seen = self.seen + n
            mean = self.mean + (ops.sum(images) - n * self.mean) / seen
            return {"mean": mean, "seen": seen}, {"mean": mean}

        def update_steps(self):
            return [AssignStep("mean", self.update, ("mean", "seen"))]

    model = Mean()
    model.compile()  # no optimizer needed
    model.fit(np.arange(8.0).reshape(4, 2), batch_size=2, verbose=0)
    float(model.mean), int(model.optimizer.iterations)  # (3.5, 2)
    ```
    """

    name: str
    update: Callable
    variables_of: Sequence[str]
    repeat: int = 1
    every: int = 1

    def __post_init__(self):
        if isinstance(self.variables_of, str):
            raise TypeError(
                f"Assign step {self.name!r}: `variables_of` must be a sequence "
                "of attribute names, not one str. "
                f"Received: variables_of={self.variables_of!r}"
            )
        _check_count(self, "repeat", self.repeat)
        _check_count(self, "every", self.every)


def step_due(step, batches_done):
    """Whether `step` runs on the batch that follows `batches_done` batches:
    a boolean tensor, True on batches `every`, `2 * every`, ... (1-based).
    Traced, so it works inside `tf.function` and `jax.jit`.

    Example:

    ```python
    lazy = UpdateStep("r1", lambda images, labels: (0.0, {}), (), every=3)
    [bool(step_due(lazy, n)) for n in range(6)]
    # [False, False, True, False, False, True]
    ```
    """
    done = ops.convert_to_tensor(batches_done)
    return ops.equal(ops.mod(done + 1, ops.cast(step.every, done.dtype)), 0)


class GenerativeModel(keras.Model):
    """Base class of the kerasgen families: `fit()` on TensorFlow and JAX.

    Subclasses build their networks in `__init__` (as attributes, e.g.
    `self.generator`), and implement:

    - `update_steps()`: the list of `UpdateStep`s and `AssignStep`s run for
      every batch, in order;
    - `default_optimizers()`: a dict of gradient-step name to optimizer,
      used when `compile()` is called without one (not needed when every
      step is an `AssignStep`);
    - `get_config()`: the constructor's arguments;
    - optionally `phases()` and `enter_phase()`, for a run in stages.

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
    #: True where the family's numbers need float32 (a flow's exact
    #: log-determinants): it then refuses a mixed dtype policy.
    float32_only = False

    def __init__(self, *, ema_decay=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        policy = self.dtype_policy.name
        if self.float32_only and policy != "float32":
            raise ValueError(
                f"{type(self).__name__} computes in float32 only (its "
                f"numbers lose their meaning in half precision): "
                f"train it with --precision float32, or under "
                f"keras.config.set_dtype_policy('float32'). Received: dtype "
                f"policy {policy}"
            )
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(
                "`ema_decay` must be None or a float in (0, 1). "
                f"Received: ema_decay={ema_decay}"
            )
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._handoff = StepHandoff()

    # --- Hooks for families -------------------------------------------------

    def update_steps(self):
        raise NotImplementedError(
            f"{type(self).__name__} must implement update_steps()."
        )

    def all_update_steps(self):
        """Every update step of every phase: `compile()` builds one optimizer
        for each gradient step here. Defaults to `update_steps()`, which is
        what a train step runs (read when the step is traced). A family
        whose phases train different networks (SinGAN, one scale per phase,
        each with optimizers of its own) returns the steps of all phases
        here and the current phase's from `update_steps()`."""
        return self.update_steps()

    def default_optimizers(self):
        if not self._gradient_steps(self.all_update_steps()):
            return {}  # assign steps take no optimizer
        raise NotImplementedError(
            f"{type(self).__name__} must implement default_optimizers()."
        )

    def phases(self):
        """The run's stages, a list of `Phase(name, steps)`, in order; empty
        (the default) for one phase covering the whole run. See
        `kerasgen.training.phases` for how a runner goes through them.

        Example:

        ```python
        class Growing(GenerativeModel):
            def phases(self):
                return [Phase("4x4", 800), Phase("8x8 fade-in", 800),
                        Phase("8x8", 800)]

        [p.name for p in Growing().phases()]  # ['4x4', '8x8 fade-in', '8x8']
        ```
        """
        return []

    def enter_phase(self, index, step_in_phase):
        """Called before training a stretch of phase `index` that starts
        `step_in_phase` steps into the phase (0 when entering it, more when a
        run resumes in its middle). Does nothing by default.

        A family sets here whatever its steps read as plain Python (the
        resolution, which blocks run). Keras keeps the traced train step
        between `fit()` calls, on both backends, so a family that changes
        such a value must also set `self.train_function = None`: the next
        `fit()` then traces the step again (recompiles, on JAX). A value the
        step reads from a variable (a fade-in `alpha` computed from
        `self.optimizer.iterations`) needs no retrace. Optimizers are built
        at `compile()` for each gradient step's variables, so the variables
        a gradient step trains must be the same in every phase: a network
        grown in a later phase exists (and is a step's network) from the
        start, and a step's network is not made non-trainable for a phase.
        (A phase may instead run other steps, each with its own optimizer:
        see `all_update_steps`.)

        Example:

        ```python
        class Growing(GenerativeModel):
            resolution = 4

            def enter_phase(self, index, step_in_phase):
                self.resolution = 4 * 2 ** index
                self.train_function = None  # the step reads the resolution

        model = Growing()
        model.enter_phase(2, 0)
        model.resolution  # 16
        ```
        """

    @classmethod
    def default_data(cls):
        """What `kerasgen train FAMILY` trains on when no --data is given (a
        `kerasgen.data.load_images` source); None, the default, is the
        built-in digits."""
        return None

    @classmethod
    def configure_for_data(cls, source, config):
        """Constructor arguments that follow from the training data, for a
        family whose networks depend on it (SinGAN's pyramid on its one
        image's size). `kerasgen train` calls it before building a new
        model, with the --data source (None for `default_data()`) and the
        arguments given so far (`config`, which win); returns a dict of
        the others. Raises ValueError for data the family cannot train
        on. Returns {} by default."""
        return {}

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
        exists: it checks the hyper-parameters the family set, creates the
        EMA copy and marks the model built."""
        _check_hyperparameters(self)
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
                f"({[s.name for s in self.all_update_steps()]}). "
                f"Received: optimizer={optimizer!r}"
            )
        steps = self.all_update_steps()
        self._check_steps(steps)
        step_names = [step.name for step in self._gradient_steps(steps)]
        if sorted(step_names) != sorted(optimizer.step_names):
            assign_names = [
                step.name for step in steps if isinstance(step, AssignStep)
            ]
            raise ValueError(
                f"{type(self).__name__} needs one optimizer per update step "
                f"{step_names}"
                + (f" (assign steps {assign_names} take none)" if assign_names else "")
                + f". Received: optimizer={optimizer.step_names}"
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
        # Keras's own loss tracker is never updated (each step reports its
        # loss in the logs). Left in, fit() would report its 0 instead of
        # the logs whenever they have the same keys as the tracked metrics,
        # as a family whose only log is "loss" has.
        self._loss_tracker = None
        if jit_compile == "auto":
            self.jit_compile = keras.backend.backend() == "jax"
        for step in self._gradient_steps(steps):
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

    @staticmethod
    def _gradient_steps(steps):
        return [step for step in steps if isinstance(step, UpdateStep)]

    def _check_steps(self, steps):
        names = []
        for step in steps:
            if not isinstance(step, (UpdateStep, AssignStep)):
                raise TypeError(
                    f"{type(self).__name__}.update_steps() must return "
                    "UpdateStep and AssignStep objects. "
                    f"Received: step={step!r}"
                )
            if step.name in names:
                raise ValueError(
                    f"{type(self).__name__} has two update steps named "
                    f"{step.name!r}. Received: names={[s.name for s in steps]}"
                )
            names.append(step.name)
            self.step_variables(step)  # the names resolve

    def step_variables(self, step):
        """The variables an update step updates, in a fixed order: the
        trainable variables of an `UpdateStep`'s networks, or what an
        `AssignStep` assigns (a variable, or all `weights` of a layer)."""
        variables = []
        if isinstance(step, UpdateStep):
            for network_name in step.networks:
                variables.extend(getattr(self, network_name).trainable_variables)
            return variables
        for name in step.variables_of:
            variables.extend(self._assigned(step, name))
        return variables

    def _assigned(self, step, name):
        """The variables that `variables_of` entry `name` stands for."""
        target = getattr(self, name, None)
        if isinstance(target, keras.Variable):
            return [target]
        if isinstance(target, keras.layers.Layer):
            return list(target.weights)
        raise TypeError(
            f"Assign step {step.name!r}: `variables_of` names attributes that "
            "are a keras.Variable or a layer. "
            f"Received: {name}={type(target).__name__}"
        )

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
        """Runs one step's loss on a batch: `(float32 loss, logs)`. What the
        loss kept with `keep_for_later_steps` waits in `take_kept()`."""
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        self._handoff.pending = {}
        loss, logs = step.loss(images, labels)
        loss = ops.cast(loss, "float32")
        logs = {k: ops.cast(v, "float32") for k, v in logs.items()}
        return loss, logs

    # --- Tensors a step hands to the steps after it --------------------------

    def keep_for_later_steps(self, **tensors):
        """Called in an update step's loss: hands tensors (without their
        gradient) to the steps that run after it on the same batch, which
        read them with `kept_from_earlier_step(name)`. CycleGAN's
        discriminators judge the translations of the generators' step this
        way instead of translating again.

        Only a step that runs on every batch (`every=1`) may keep tensors;
        with `repeat > 1` the last repeat's are kept.

        Example:

        ```python
        def generator_step_loss(self, real_a, real_b):
            fake_b = self.generator_ab(real_a, training=True)
            self.keep_for_later_steps(fake_b=fake_b)
            ...
        ```
        """
        self._handoff.pending.update(tensors)

    def kept_from_earlier_step(self, name):
        """A tensor an earlier step of this batch kept, or None (outside a
        train step, e.g. when a loss is called directly)."""
        return self._handoff.batch.get(name)

    def take_kept(self):
        """The tensors the loss just run kept (the backends call this)."""
        kept, self._handoff.pending = self._handoff.pending, {}
        return kept

    def receive_kept(self, step, kept):
        """Makes a step's kept tensors visible to the later steps of the
        batch (the backends call this after the step's update)."""
        if kept and step.every != 1:
            raise ValueError(
                f"Update step {step.name!r} runs every {step.every} batches, so "
                "the steps after it cannot rely on what it keeps. "
                f"Received: kept={sorted(kept)}"
            )
        self._handoff.batch.update(
            {name: ops.stop_gradient(value) for name, value in kept.items()})

    def start_batch_handoff(self):
        """Forgets the tensors kept for the previous batch (the backends call
        this at the start and the end of a train step)."""
        self._handoff.batch = {}
        self._handoff.pending = {}

    def run_assign_update(self, step, data):
        """Runs an `AssignStep`'s update on a batch: `(values, logs)`, the
        values a list in the order of `step_variables(step)`, each cast to
        its variable's dtype and checked against its shape."""
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        new_values, logs = step.update(images, labels)
        targets = self.step_variables(step)
        if isinstance(new_values, dict):
            if sorted(new_values) != sorted(step.variables_of):
                raise ValueError(
                    f"Assign step {step.name!r} must return one value per "
                    f"name in variables_of={list(step.variables_of)}. "
                    f"Received: new_values keys={sorted(new_values)}"
                )
            flat = []
            for name in step.variables_of:
                value = new_values[name]
                target = getattr(self, name)
                if isinstance(target, keras.Variable):
                    flat.append(value)
                else:
                    value = list(value)
                    if len(value) != len(target.weights):
                        raise ValueError(
                            f"Assign step {step.name!r}: {name!r} has "
                            f"{len(target.weights)} weights. "
                            f"Received: {len(value)} values"
                        )
                    flat.extend(value)
            new_values = flat
        new_values = list(new_values)
        if len(new_values) != len(targets):
            raise ValueError(
                f"Assign step {step.name!r} assigns {len(targets)} variables. "
                f"Received: {len(new_values)} values"
            )
        values = []
        for variable, value in zip(targets, new_values):
            value = ops.cast(value, variable.dtype)
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f"Assign step {step.name!r}: variable {variable.path!r} has "
                    f"shape {tuple(variable.shape)}. "
                    f"Received: shape={tuple(value.shape)}"
                )
            values.append(value)
        logs = {k: ops.cast(v, "float32") for k, v in logs.items()}
        return values, logs

    def loss_scales(self):
        """`(log name, variable)` of each update step's dynamic loss scale
        (`mixed_float16`; none otherwise). The train step reports them as
        `loss_scale_<step>`: Keras halves a scale at every step whose
        gradients overflow, so one that keeps falling means the float16
        gradients are not finite even unscaled."""
        optimizer = getattr(self, "optimizer", None)
        if not isinstance(optimizer, MultiOptimizer):
            return []
        return [(f"loss_scale_{name}", child.dynamic_scale)
                for name, child in optimizer.items()
                if isinstance(child, keras.optimizers.LossScaleOptimizer)]

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
    def from_preset(cls, name):
        """The pretrained model of zoo preset `name` (`kerasgen zoo list`),
        or of a local preset folder, as keras-hub's `from_preset`: its
        weights checked against their sha256, then loaded. A preset of
        another family is refused in one line.

        Example:

        ```python
        import kerasgen
        model = kerasgen.DCGAN.from_preset("dcgan-mnist")
        model.sample(4, seed=0).shape  # (4, 28, 28, 1)
        ```
        """
        from kerasgen.zoo.registry import load

        return load(name, expected=cls)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(
                config["dtype"]
            )
        return cls(**config)

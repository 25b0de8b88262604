"""One optimizer object that holds several: one per update step of a model.

Keras's trainers know a single `model.optimizer`. On JAX, `fit()` threads
`model.optimizer.variables` through the jitted step as state, and `.keras`
files save `model.optimizer`. A GAN has (at least) two optimizers, so the
core hands Keras a `MultiOptimizer` whose `variables` is the union of its
children's: Keras's own state plumbing then carries all of them, and all of
them are saved and restored with the model.
"""

import keras


@keras.saving.register_keras_serializable(package="kerasgen")
class MultiOptimizer(keras.optimizers.Optimizer):
    """A named collection of optimizers that Keras sees as one.

    The children are never applied through this object: the training core
    picks the child of each update step and calls its `apply` (TensorFlow) or
    `stateless_apply` (JAX). This object's own `iterations` counts training
    batches (one per `train_step`, however many update steps that runs), which
    is what a run folder's step counter and `--resume` use.

    Args:
        optimizers: dict. Gradient-step name to `keras.optimizers.Optimizer`;
            `{}` for a model with only assign steps.
        name: str. Defaults to `"multi_optimizer"`.

    Example:

    ```python
    opt = MultiOptimizer({
        "discriminator": keras.optimizers.Adam(2e-4, beta_1=0.5),
        "generator": keras.optimizers.Adam(2e-4, beta_1=0.5),
    })
    opt["generator"].learning_rate  # the generator's learning rate
    ```
    """

    def __init__(self, optimizers, name="multi_optimizer", **kwargs):
        kwargs.pop("learning_rate", None)  # the children own learning rates
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        # Empty for a model whose steps are all assign steps: this object
        # then only counts the batches (Keras's fit() needs an optimizer).
        if not isinstance(optimizers, dict):
            raise ValueError(
                "`optimizers` must be a dict of update-step name to "
                f"optimizer. Received: optimizers={optimizers!r}"
            )
        names, children = [], []
        for step_name, optimizer in optimizers.items():
            if isinstance(optimizer, dict):
                optimizer = keras.optimizers.deserialize(optimizer)
            elif isinstance(optimizer, str):
                optimizer = keras.optimizers.get(optimizer)
            if not isinstance(optimizer, keras.optimizers.Optimizer):
                raise TypeError(
                    f"The optimizer for update step '{step_name}' must be a "
                    "keras.optimizers.Optimizer. "
                    f"Received: {type(optimizer).__name__}"
                )
            names.append(str(step_name))
            children.append(optimizer)
        # Plain attributes, so that `.keras` saving walks the list and each
        # child saves its own slots under `optimizer/children/<name>`.
        self.step_names = names
        self.children = children

    def __getitem__(self, step_name):
        try:
            return self.children[self.step_names.index(step_name)]
        except ValueError:
            raise KeyError(
                f"No optimizer for update step '{step_name}'. "
                f"Known steps: {self.step_names}"
            ) from None

    def items(self):
        return list(zip(self.step_names, self.children))

    def wrap_for_loss_scaling(self):
        """Wraps each child in a `LossScaleOptimizer`.

        For models under `mixed_float16`: Keras's `compile(auto_scale_loss=
        True)` would wrap only `model.optimizer`, which here is a container
        (keras-team/keras#20894), so each child gets its own loss scale.
        """
        for i, child in enumerate(self.children):
            if not isinstance(child, keras.optimizers.LossScaleOptimizer):
                self.children[i] = keras.optimizers.LossScaleOptimizer(
                    child, name=f"{self.step_names[i]}_loss_scale"
                )

    @property
    def variables(self):
        # What Keras's JAX trainer threads through `fit()` as state.
        variables = list(self._variables)
        for child in self.children:
            variables.extend(child.variables)
        return variables

    def build(self, var_list=None):
        # Children are built by the model with each step's own variables
        # (`GenerativeModel.compile`); Keras calls this with all of them.
        self.built = True

    def save_own_variables(self, store):
        # Only this object's own counters: each child saves itself.
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            if str(i) in store:
                variable.assign(store[str(i)])

    def apply(self, grads, trainable_variables=None):
        raise NotImplementedError(
            "MultiOptimizer is not applied directly: each update step applies "
            "its own child optimizer."
        )

    def get_config(self):
        return {
            "name": self.name,
            "optimizers": {
                name: keras.optimizers.serialize(child)
                for name, child in self.items()
            },
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

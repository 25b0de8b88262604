"""Learning-rate schedules of the papers the families follow."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasgen")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant learning rate, then a linear decay to zero.

    CycleGAN and pix2pix "keep the same learning rate for the first 100
    epochs and linearly decay the rate to zero over the next 100 epochs"
    (Zhu et al. 2017, section 4); here counted in steps:

        lr(t) = lr * (1 - clip((t - constant_steps) / decay_steps, 0, 1))

    Args:
        initial_learning_rate: float.
        constant_steps: int. Steps at `initial_learning_rate`.
        decay_steps: int. Steps of the linear decay to 0.

    Example:

    ```python
    schedule = ConstantThenLinearDecay(2e-4, constant_steps=100, decay_steps=100)
    [float(schedule(t)) for t in (0, 100, 150, 200)]  # [2e-4, 2e-4, 1e-4, 0.0]
    ```
    """

    def __init__(self, initial_learning_rate, constant_steps, decay_steps):
        if int(constant_steps) < 0 or int(decay_steps) < 1:
            raise ValueError(
                "`constant_steps` must be >= 0 and `decay_steps` >= 1. "
                f"Received: constant_steps={constant_steps}, decay_steps={decay_steps}"
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.constant_steps = int(constant_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        decayed = ops.clip(
            (step - self.constant_steps) / float(self.decay_steps), 0.0, 1.0
        )
        return self.initial_learning_rate * (1.0 - decayed)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
        }

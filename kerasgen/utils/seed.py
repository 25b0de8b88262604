"""Seeding that does not pull TensorFlow into a JAX process."""

import random
import sys

import numpy as np


def set_random_seed(seed):
    """Seeds Python, NumPy and Keras (initializers, `keras.random`).

    The same as `keras.utils.set_random_seed`, except that on a backend other
    than TensorFlow it does not import TensorFlow just to seed it (Keras's
    version imports it whenever it is installed, which costs seconds and, on
    a GPU machine, a TensorFlow runtime beside JAX's). When TensorFlow is
    already imported, or is the backend, Keras's own function runs.

    Args:
        seed: int. The seed.

    Example:

    ```python
    set_random_seed(0)
    ```
    """
    import keras

    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` must be an int. Received: seed={seed!r}")
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils import rng_utils

        seed_key = rng_utils.GLOBAL_RANDOM_SEED
        generator_key = seed_generator.GLOBAL_SEED_GENERATOR
    except (ImportError, AttributeError):  # Keras moved its internals.
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(seed_key, seed)
    # The global SeedGenerator is rebuilt from the seed on its next use.
    global_state.set_global_attribute(generator_key, None)
    random.seed(seed)
    np.random.seed(seed)

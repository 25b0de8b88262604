"""How a family is served: the endpoints it declares for export.

A family lists its endpoints in `serving_endpoints()` and names its main one
in the class attribute `serving_default`. Each endpoint is a function written
in `keras.ops` (it calls the family's networks in inference mode) with named,
typed inputs. `kerasgen.export` turns the list into SavedModel and TFLite
signatures and knows no family by name; a model that declares no endpoint is
refused in one line.

Example:

```python
import kerasgen
model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
[endpoint.name for endpoint in model.serving_endpoints()]
# ['generate', 'generate_from_seed']
```
"""

import dataclasses
from typing import Callable, Tuple

import keras

DTYPES = ("float32", "int32", "int64")


@dataclasses.dataclass(frozen=True)
class Input:
    """One named input of an endpoint.

    Args:
        name: str. The name a client sends (`z`, `images`, `labels`, `seed`).
        dtype: str. `"float32"`, `"int32"` or `"int64"`.
        shape: tuple. Its shape; `None` for a size the caller picks (the
            batch). Defaults to `()`, a scalar.
        batched: bool. Whether the first dimension is the batch, fixed by
            `kerasgen export --batch N`. Defaults to True for inputs of rank
            1 or more.

    Example:

    ```python
    Input("z", "float32", (None, 100)).batched  # True
    ```
    """

    name: str
    dtype: str
    shape: Tuple = ()
    batched: bool = None

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(
                f"An endpoint input's dtype is one of {DTYPES}. "
                f"Received: dtype={self.dtype!r} for input {self.name!r}"
            )
        if self.batched is None:
            object.__setattr__(self, "batched", len(self.shape) > 0)

    def shape_for(self, batch_size=None):
        """The shape with the batch dimension set to `batch_size`."""
        shape = list(self.shape)
        if self.batched and batch_size is not None:
            shape[0] = batch_size
        return shape


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One exported function of a family.

    Args:
        name: str. The signature's name (`generate`, `translate_a2b`).
        inputs: tuple of `Input`. The function's arguments, in order.
        function: callable. Takes the inputs as tensors, in order, and runs
            in `keras.ops` (networks in inference mode). Returns images in
            [-1, 1] when `images` is True, else a dict of named tensors.
        images: bool. The function returns images, served as `images`
            (float32 in [-1, 1]) and `images_uint8` (in [0, 255]). Defaults
            to True.
        builtin_ops: bool. False when the function needs ops outside the
            TFLite builtins (the stateless random numbers of
            `generate_from_seed`): a TFLite file includes it only with
            `--select-tf-ops`. Defaults to True.
        description: str. One line for the serving guide. Defaults to "".
        parity_atol: float or None. How far (in the units of its float
            outputs, e.g. [-1, 1]) an exported run of the function may be
            from the same function in Keras, where float32 rounding in
            another order is amplified (an iterative inversion); None for
            the exporter's usual 1e-5. Defaults to None.

    Example:

    ```python
    from keras import ops
    negate = Endpoint("negate", (Input("x", "float32", (None, 2)),),
                      lambda x: {"y": -x}, images=False)
    negate.input_names  # ('x',)
    ```
    """

    name: str
    inputs: Tuple[Input, ...]
    function: Callable
    images: bool = True
    builtin_ops: bool = True
    description: str = ""
    parity_atol: float = None

    @property
    def input_names(self):
        return tuple(spec.name for spec in self.inputs)


def seeded_normal(seed, n, dim, stream=None):
    """`(n, dim)` float32 draws from N(0, I) fixed by a seed tensor, inside a
    traced function: the same seed gives the same draws on every call and
    every server (`generate_from_seed`). Keras's own random ops take Python
    seeds only, so this picks the backend's stateless generator. `stream`
    (an int tensor >= 1, or None) gives independent draws of the same seed,
    one per step of a sampling loop.

    Example:

    ```python
    import keras
    a = seeded_normal(keras.ops.convert_to_tensor(7, "int64"), 2, 3)
    tuple(a.shape)  # (2, 3)
    ```
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        second = tf.constant(0, tf.int64) if stream is None else tf.cast(stream, tf.int64)
        pair = tf.stack([tf.cast(seed, tf.int64), second])
        return tf.random.stateless_normal(
            tf.stack([tf.cast(n, tf.int32), dim]), seed=pair, dtype=tf.float32
        )
    if backend == "jax":
        import jax

        # `n` sets a shape, which JAX needs static: a Python int.
        key = jax.random.key(jax.numpy.asarray(seed).astype("uint32"))
        if stream is not None:
            key = jax.random.fold_in(key, jax.numpy.asarray(stream).astype("uint32"))
        return jax.random.normal(key, (int(n), int(dim)), "float32")
    raise NotImplementedError(
        "seeded_normal runs on the 'tensorflow' and 'jax' backends. "
        f"Received: KERAS_BACKEND={backend}"
    )


def normal_cdf(x):
    """Phi(x), the standard normal CDF, in `keras.ops`: turns the draws of
    `seeded_normal` into uniform ones (to pick a mixture component, or a
    Bernoulli pixel, inside a traced function).

    Example:

    ```python
    float(normal_cdf(0.0))  # 0.5
    ```
    """
    import math

    from keras import ops

    return 0.5 * (1.0 + ops.erf(ops.convert_to_tensor(x, "float32") / math.sqrt(2.0)))


def waveform_outputs(waveforms):
    """How an audio endpoint serves its waveforms `(n, length, 1)` in
    [-1, 1]: `waveforms`, float32, and `waveforms_int16`, the 16-bit PCM
    levels `round(x * 32767)` a client writes to a WAV file as they are.

    Example:

    ```python
    import numpy as np
    out = waveform_outputs(np.array([[[0.5], [-1.0]]], "float32"))
    np.asarray(out["waveforms_int16"]).ravel().tolist()  # [16384, -32767]
    ```
    """
    from keras import ops

    waveforms = ops.cast(waveforms, "float32")
    levels = ops.round(ops.clip(waveforms, -1.0, 1.0) * 32767.0)
    return {"waveforms": waveforms, "waveforms_int16": ops.cast(levels, "int16")}

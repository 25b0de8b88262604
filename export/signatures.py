"""Serving signatures from the endpoints a model declares, as a Keras `ExportArchive`.

Export knows no family. A model says how it is served: `serving_endpoints()`
returns a list of `kerasgen.models.serving.Endpoint`s (a name, named and
typed `Input`s, and a `keras.ops` function), and the class attribute
`serving_default` names the main one. Every exported model is a
`keras.export.ExportArchive` with one endpoint (a `tf.function`) per
declared `Endpoint`:

- its `input_signature` is one named `tf.TensorSpec` per `Input`, in order
  (`Input.shape_for(batch_size)`, the dtype name as a TensorFlow dtype), so
  that a client sees the declared names (`z`, `images`, `labels`, `seed`,
  `n`), never `keras_tensor` or `output_0`;
- an endpoint with `images=True` returns images in [-1, 1], served twice:
  `images`, float32 in [-1, 1], and `images_uint8`,
  `round((images + 1) * 127.5)` clipped to [0, 255], which a client can
  write to a PNG as is. Any other endpoint returns its dict of named tensors
  as they are;
- the endpoint named by `serving_default` is added first, which makes the
  SavedModel's `serving_default` point to it.

An endpoint with `builtin_ops=False` (one that draws random numbers in the
graph, such as `generate_from_seed`) is left out of TFLite files unless
TensorFlow ops are allowed (see `kerasgen.export.litert`).

A model that declares no endpoint, or whose `serving_default` is not one of
them, is refused with a `ValueError` naming its type. `signature_names`
lists what a model exports; `describe_signatures` writes it as a table:

```python
import kerasgen
model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
print("\\n".join(describe_signatures(model)))
```

This module imports TensorFlow only inside its functions, so that
`import kerasgen.export` on JAX leaves TensorFlow unloaded.
"""

import keras

from kerasgen.models.serving import Endpoint


def require_tensorflow_backend(what="Export"):
    """Raises unless Keras runs on TensorFlow, where the networks' variables
    are `tf.Variable`s that a SavedModel can hold.

    Example:

    ```python
    import keras
    if keras.backend.backend() == "tensorflow":
        require_tensorflow_backend()  # passes
    ```
    """
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"{what} runs through TensorFlow, and Keras is running on the "
            f"{backend!r} backend in this process. Run the export with "
            "KERAS_BACKEND=tensorflow (a .keras checkpoint trained on JAX "
            "loads there unchanged). "
            f"Received: KERAS_BACKEND={backend}"
        )


def declared_endpoints(model):
    """The `Endpoint`s `model` declares, the `serving_default` one first.

    Raises `ValueError` when it declares none, or when its `serving_default`
    is not among them; `TypeError` when `serving_endpoints()` returns
    something other than `Endpoint`s.

    Example:

    ```python
    import kerasgen
    model = kerasgen.VAE(image_size=8, latent_dim=2, filters=4)
    [endpoint.name for endpoint in declared_endpoints(model)][0]  # 'decode'
    ```
    """
    kind = type(model).__name__
    declare = getattr(model, "serving_endpoints", None)
    endpoints = list(declare()) if callable(declare) else []
    if not endpoints:
        raise ValueError(
            f"{kind} declares no serving endpoints, so there is nothing to "
            "export: a family lists them in `serving_endpoints()` "
            "(kerasgen.models.serving.Endpoint) and names the main one in "
            f"`serving_default`. Received: model of type {kind}"
        )
    for endpoint in endpoints:
        if not isinstance(endpoint, Endpoint):
            raise TypeError(
                f"{kind}.serving_endpoints() must return "
                "kerasgen.models.serving.Endpoint objects. "
                f"Received: {type(endpoint).__name__} {endpoint!r}"
            )
        if len(set(endpoint.input_names)) != len(endpoint.input_names):
            raise ValueError(
                f"{kind}'s serving endpoint {endpoint.name!r} has two inputs of "
                f"the same name. Received: inputs {list(endpoint.input_names)}"
            )
    names = [endpoint.name for endpoint in endpoints]
    if len(set(names)) != len(names):
        raise ValueError(
            f"{kind} declares two serving endpoints of the same name. "
            f"Received: endpoints {names}"
        )
    main = getattr(model, "serving_default", None)
    if main not in names:
        raise ValueError(
            f"{kind}'s serving_default={main!r} is not one of the serving "
            f"endpoints it declares ({names}). Received: model of type {kind}"
        )
    # sorted() is stable: the others keep the order they were declared in.
    return sorted(endpoints, key=lambda endpoint: endpoint.name != main)


def signature_names(model):
    """The names of the signatures `model` exports, main one first, without
    `serving_default` (which the SavedModel adds).

    Example:

    ```python
    import kerasgen
    signature_names(kerasgen.VAE(image_size=8, latent_dim=2, filters=4))
    # ['decode', 'encode', 'reconstruct', 'generate_from_seed', 'log_prob']
    ```
    """
    return [endpoint.name for endpoint in declared_endpoints(model)]


def default_model_name(model):
    """The TF Serving model name used when none is given: the name the
    family is registered under (`model.family_name`), else the class name
    in lower case for a model that is not registered.

    Example:

    ```python
    import kerasgen
    default_model_name(kerasgen.VAE(image_size=8, latent_dim=2, filters=4))  # 'vae'
    ```
    """
    return getattr(model, "family_name", None) or type(model).__name__.lower()


def _to_uint8(tf, images):
    scaled = tf.round((images + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(scaled, 0.0, 255.0), tf.uint8)


def _image_outputs(tf, images):
    images = tf.cast(images, tf.float32)
    return {"images": images, "images_uint8": _to_uint8(tf, images)}


def _serving_function(tf, model, endpoint):
    """The endpoint's function with its outputs as served."""
    function = endpoint.function
    if endpoint.images:
        def serve(*inputs):
            return _image_outputs(tf, function(*inputs))

        return serve

    def serve(*inputs):
        outputs = function(*inputs)
        if not isinstance(outputs, dict) or not all(isinstance(k, str) for k in outputs):
            raise TypeError(
                f"{type(model).__name__}'s serving endpoint {endpoint.name!r} has "
                "images=False, so its function must return a dict of named "
                f"tensors. Received: {type(outputs).__name__}"
            )
        return dict(outputs)

    return serve


def _input_signature(tf, endpoint, batch_size):
    # The TensorSpec names become the SavedModel's input names.
    return [
        tf.TensorSpec(spec.shape_for(batch_size), tf.as_dtype(spec.dtype), name=spec.name)
        for spec in endpoint.inputs
    ]


def build_export_archive(model, batch_size=None, signatures=None):
    """A `keras.export.ExportArchive` with one endpoint per declared
    `Endpoint` of `model` (see the module docstring).

    `archive.write_out(path)` writes them as a SavedModel, with
    `serving_default` pointing to the model's `serving_default` endpoint.
    (An archive rather than a bare `tf.Module` holding the Keras networks:
    converted to TFLite, such a module's SavedModel kept the weights as
    uninitialized resource variables and the file returned NaN; the
    archive's SavedModel converts with its weights in it.)

    Args:
        model: a model that declares its endpoints (`serving_endpoints()`
            and `serving_default`: every kerasgen family), on the
            TensorFlow backend.
        batch_size: int or None. Fixes the batch dimension of the batched
            inputs (`Input.batched`); None leaves it dynamic. Defaults to
            None.
        signatures: sequence of str or None. The endpoints to include; None
            includes all that the model declares. Defaults to None.

    Returns:
        The `ExportArchive`.

    Example:

    ```python
    import tempfile, keras, kerasgen
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
        path = tempfile.mkdtemp()
        build_export_archive(model).write_out(path, verbose=False)
        generate = tf.saved_model.load(path).signatures["generate"]
        generate(z=tf.zeros((2, 4)))["images"].shape  # (2, 8, 8, 1)
    ```
    """
    import tensorflow as tf

    require_tensorflow_backend()
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(
            f"`batch_size` must be None or a positive int. Received: batch_size={batch_size!r}"
        )
    endpoints = declared_endpoints(model)
    by_name = {endpoint.name: endpoint for endpoint in endpoints}
    if signatures is None:
        signatures = list(by_name)
    signatures = list(signatures)
    unknown = [name for name in signatures if name not in by_name]
    if unknown or not signatures:
        raise ValueError(
            f"{type(model).__name__} exports the signatures {list(by_name)}. "
            f"Received: signatures={signatures!r}"
        )
    # The archive tracks the variables the endpoints capture. (Calling
    # `archive.track(network)` as well would store every weight twice.)
    archive = keras.export.ExportArchive()
    # The first endpoint becomes `serving_default`: put the main use first.
    main = endpoints[0].name
    for name in sorted(signatures, key=lambda name: name != main):
        endpoint = by_name[name]
        archive.add_endpoint(
            name, _serving_function(tf, model, endpoint),
            input_signature=_input_signature(tf, endpoint, batch_size),
        )
    return archive


def probe_inputs(endpoint, batch_size=1):
    """Zeros for each input of `endpoint` (numpy), with `batch_size` for the
    size a caller picks, and 1 for a scalar integer (a count of 0 would give
    empty outputs). Used to run an endpoint once to see what it returns.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
    seeded = model.serving_endpoints()[1]
    {k: v.shape for k, v in probe_inputs(seeded).items()}  # {'seed': (), 'n': ()}
    ```
    """
    import numpy as np

    arrays = {}
    for spec in endpoint.inputs:
        shape = [batch_size if size is None else int(size) for size in spec.shape_for(batch_size)]
        if not shape and spec.dtype != "float32":
            arrays[spec.name] = np.ones(shape, spec.dtype)
        else:
            arrays[spec.name] = np.zeros(shape, spec.dtype)
    return arrays


def _format_shape(shape):
    sizes = ["n" if size is None else str(size) for size in shape]
    return "`(" + ", ".join(sizes) + ("," if len(sizes) == 1 else "") + ")`"


def _output_shape(ops, value):
    shape = tuple(ops.shape(value))
    return _format_shape((None,) + shape[1:] if shape else ())


def describe_signatures(model):
    """The signatures `model` exports, as the lines of a Markdown table:
    name, inputs (name, dtype, shape; `n` for the batch), outputs with their
    shapes, and the endpoint's description.

    The outputs are found by running each endpoint once on zeros
    (`probe_inputs`), on any backend.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
    describe_signatures(model)[2]
    # '| `generate` (= `serving_default`) | `z` float32 `(n, 4)` | `images`, `images_uint8` `(n, 8, 8, 1)` | images for latents z |'
    ```
    """
    from keras import ops

    lines = ["| signature | inputs | outputs | description |", "| --- | --- | --- | --- |"]
    for i, endpoint in enumerate(declared_endpoints(model)):
        inputs = ", ".join(
            f"`{spec.name}` {spec.dtype} {_format_shape(spec.shape)}" for spec in endpoint.inputs
        )
        probe = probe_inputs(endpoint)
        outputs = endpoint.function(*[probe[spec.name] for spec in endpoint.inputs])
        if endpoint.images:
            outputs_text = f"`images`, `images_uint8` {_output_shape(ops, outputs)}"
        else:
            outputs_text = ", ".join(
                f"`{key}` {_output_shape(ops, value)}" for key, value in outputs.items()
            )
        name = f"`{endpoint.name}`" + (" (= `serving_default`)" if i == 0 else "")
        lines.append(f"| {name} | {inputs or 'none'} | {outputs_text} | {endpoint.description} |")
    return lines

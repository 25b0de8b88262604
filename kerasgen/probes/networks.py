"""What the probes share: a classifier as a network with a known input, and
its layers under names that do not depend on the process.

Keras names an unnamed layer after its class and a counter that runs over
the whole process (`conv2d`, `conv2d_1`, ... and, in the next model built,
`conv2d_2`), so the same preset loaded twice has different layer names.
`layer_names` gives each layer the name it gets when its network is the
first one built in a fresh process (the counter taken within the network):
`conv2d_1` is always LeNet's second convolution. Layers named on purpose
(`features`, `logits`) keep their names.
"""

import re
import weakref

import numpy as np

# Per network, the compiled functions the probes made for it (see
# `cached`): compiling a gradient costs seconds on XLA, a step milliseconds.
_COMPILED = weakref.WeakKeyDictionary()


class Target:
    """A classifier the probes run: `network` (images in [-1, 1] to logits,
    or to `[..., logits]`), `prepare` (images to its input), `classes`."""

    def __init__(self, network, prepare, classes, name):
        self.network = network
        self.prepare = prepare
        self.classes = list(classes)
        self.name = name


def resolve(extractor_or_network, argument="extractor"):
    """A `Target` from a `FeatureExtractor` (its network, `prepare` and
    classes) or from a functional `keras.Model` (images must then have its
    input's size and channels already).

    Example:

    ```python
    from kerasgen.metrics import load_extractor
    target = resolve(load_extractor("lenet-mnist"))
    target.prepare(np.zeros((2, 14, 14, 3), "uint8")).shape  # (2, 28, 28, 1)
    ```
    """
    import keras

    from kerasgen.metrics.extractors import FeatureExtractor

    if isinstance(extractor_or_network, FeatureExtractor):
        extractor = extractor_or_network
        return Target(extractor.network, extractor.prepare, extractor.classes,
                      extractor.name)
    if isinstance(extractor_or_network, keras.Model) and _has_inputs(
            extractor_or_network):
        network = extractor_or_network
        shape = tuple(network.input_shape[1:])
        outputs = network.output_shape
        last = outputs[-1] if isinstance(outputs, list) else outputs
        units = int(last[-1]) if last[-1] is not None else 2
        classes = [str(i) for i in range(max(units, 2))]

        def prepare(images):
            images = np.asarray(images)
            if images.dtype == np.uint8:
                images = images.astype("float32") / np.float32(127.5) - np.float32(1.0)
            images = images.astype("float32", copy=False)
            if images.ndim != 4 or any(
                    want is not None and got != want
                    for got, want in zip(images.shape[1:], shape)):
                raise ValueError(
                    f"`images` must be (N, {', '.join(str(s) for s in shape)}), the "
                    f"network's input. Received: images.shape={images.shape}")
            return np.clip(images, -1.0, 1.0)

        return Target(network, prepare, classes, network.name)
    raise TypeError(
        f"`{argument}` must be a FeatureExtractor (`kerasgen.metrics."
        f"load_extractor`) or a functional keras.Model. Received: "
        f"{argument}={type(extractor_or_network).__name__}")


def _has_inputs(model):
    """Whether `model` is a graph of layers from known inputs (functional,
    or a built Sequential), the kind whose layers can be read."""
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):
        return False


def _snake_case(name):
    # keras.src.utils.naming.to_snake_case, which names unnamed layers.
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def layer_names(network):
    """`{stable name: layer name}` for every layer of a functional network
    but its inputs, in order (see the module's docstring).

    Example:

    ```python
    from kerasgen.metrics.classifiers import build_lenet
    build_lenet(), build_lenet()  # the second one's layers are conv2d_2, ...
    list(layer_names(build_lenet()))[:4]
    # ['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1']
    ```
    """
    names, counts = {}, {}
    for layer in network.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        base = _snake_case(type(layer).__name__)
        if re.fullmatch(re.escape(base) + r"(_\d+)?", layer.name):
            count = counts.get(base, 0)
            counts[base] = count + 1
            stable = base if count == 0 else f"{base}_{count}"
        else:
            stable = layer.name
        names.setdefault(stable, layer.name)
    return names


def layer_model(network, layer):
    """`keras.Model(network.input, <layer>.output)` for `layer`, a stable
    name (`layer_names`) or the layer's own; any other name is refused in
    one line that lists the valid ones.

    Example:

    ```python
    from kerasgen.metrics.classifiers import build_lenet
    layer_model(build_lenet(), "conv2d_1").output_shape  # (None, 14, 14, 64)
    ```
    """
    import keras

    names = layer_names(network)
    actual = names.get(layer)
    if actual is None and isinstance(layer, str) and layer in names.values():
        actual = layer
    if actual is None:
        raise ValueError(
            f"`layer` must be a layer of {network.name}: {', '.join(names)}. "
            f"Received: layer={layer!r}")
    return keras.Model(network.input, network.get_layer(actual).output,
                       name=f"{network.name}_{layer}")


def cached(network, key, make):
    """`make()`, made once per `network` and `key` and kept while the
    network lives (what `make` returns must not hold `network` itself, or
    the network would never be freed: build it from its layers, e.g. with
    `output_model`)."""
    functions = _COMPILED.setdefault(network, {})
    if key not in functions:
        functions[key] = make()
    return functions[key]


def output_model(network, index=-1):
    """`keras.Model(network.inputs, network.outputs[index])`: one output of
    a network (the logits of a `[features, logits]` classifier), a model of
    its own that shares the layers and weights."""
    import keras

    outputs = network.outputs
    return keras.Model(network.inputs, outputs[index] if len(outputs) > 1 else outputs[0],
                       name=f"{network.name}_output")

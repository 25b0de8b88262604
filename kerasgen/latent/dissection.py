"""GAN Dissection: what the units of a generator's layer do, found by
switching them off (Bau et al. 2019, https://arxiv.org/abs/1811.10597).

A generator is cut at one of its layers (`split_generator`): the head runs
the latents up to that layer's activations, the tail runs the rest of the
network from them, so activations can be read (`unit_activation_maps`) or
changed before the image is drawn. A unit is one channel (the last axis)
of the layer; ablating it sets that channel to 0 everywhere (`ablate`, the
paper's section 3.2, "forcing the activations of units to zero").

The paper's causal protocol (section 3.2-4.3): rank units by how much
switching each one off removes a concept, then switch the top ones off
together and measure how much of the concept is gone, against as many
random units. Here the concept is anything measurable on the images: a
classifier's probability of a class (a digit for `lenet-mnist`, cat or
dog for `catdog-classifier-64`) stands in for the paper's segmentation of
trees or doors.

- `rank_units(model, layer, concept_fn, n, seed)`: the effect of ablating
  each unit alone, sorted, largest drop first;
- `ablation_effect(model, layer, units, concept_fn, ...)`: the effect of
  ablating `units` together: the drop of the concept's score, and for a
  classifier the share of samples read as the class before and after.

`concept_fn(images)` gives either one score per image, `(n,)` (the effect
is the mean drop over all n samples), or class probabilities `(n, K)`
(such as `extractor.probabilities`). With probabilities, the concept of
sample i is a class `c_i`: `concept_class` when given, else the class its
unablated image is read as; the score is `P(c_i | image)`, its drop is
averaged over the samples whose unablated image is read as `c_i` (where
the concept is present), and the share is the fraction of all n samples
read as the class (as their own class, without `concept_class`).

Splitting works on functional Keras generators (the DCGAN stacks of
`kerasgen.layers.build_conv_decoder`: dcgan, wgan-gp, cgan and the like,
a nested functional decoder included) whose network output is what
`decode` returns; another model is refused in one line.
"""

import numpy as np

from kerasgen.utils.arguments import is_count
from kerasgen.utils.arguments import refuse


# --- Finding the generator and its layers ---------------------------------------


def generator_network(model):
    """The network `model.decode` runs: its sampling (EMA) generator or
    decoder. Refused in one line where there is none.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
    generator_network(model).name  # 'generator'
    ```
    """
    name = getattr(model, "ema_network", None)
    if name and hasattr(model, "sampling_network"):
        return model.sampling_network(name)
    for attribute in ("generator", "decoder"):
        network = getattr(model, attribute, None)
        if network is not None:
            return network
    raise ValueError(
        f"{type(model).__name__} has no generator network to dissect. "
        f"Received: model={type(model).__name__}")


def _is_functional(layer):
    import keras

    if not isinstance(layer, keras.Model):
        return False
    try:
        return bool(layer.inputs)
    except AttributeError:  # a subclassed model has no graph
        return False


def _is_input(layer):
    return type(layer).__name__ == "InputLayer"


def _flat_layers(network):
    """The network's layers in order, a nested functional model's layers
    (but its input) in its place."""
    layers = []
    for layer in network.layers:
        if _is_functional(layer):
            layers.extend(inner for inner in _flat_layers(layer) if not _is_input(inner))
        else:
            layers.append(layer)
    return layers


def _output_shape(layer):
    try:
        return tuple(layer.output.shape[1:])
    except (AttributeError, ValueError):
        return None


def generator_layers(model):
    """`(index, name, output shape)` of every layer of the generator, the
    layers a nested functional decoder holds in its place: what
    `split_generator` takes as `layer` (an index or a name).

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
    generator_layers(model)[1]  # (1, 'project', (64,))
    ```
    """
    network = _functional_network(model)
    return [(i, layer.name, _output_shape(layer))
            for i, layer in enumerate(_flat_layers(network))]


def default_layer(model):
    """The index of the generator's first activation layer with a feature
    map output (rank 3 per sample): the DCGAN's first ReLU, the layer the
    `dissect` command uses unless told. None where there is none.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=16, latent_dim=4, generator_filters=4)
    default_layer(model)  # 4
    ```
    """
    layers = _flat_layers(_functional_network(model))
    for i, layer in enumerate(layers[:-1]):  # not the output
        shape = _output_shape(layer)
        if type(layer).__name__ in ("Activation", "ReLU", "LeakyReLU") \
                and shape is not None and len(shape) == 3:
            return i
    return None


def _functional_network(model):
    network = generator_network(model)
    if not _is_functional(network):
        raise ValueError(
            f"{type(model).__name__}'s generator is not a functional Keras model, so it "
            f"cannot be split at a layer (GAN dissection and layer PCA need one: dcgan, "
            f"wgan-gp, cgan). Received: model={type(model).__name__}")
    return network


def _layer_list(layers):
    return ", ".join(f"{i}: {layer.name}" for i, layer in enumerate(layers))


def _find_layer(network, layer, owner):
    layers = _flat_layers(network)
    if is_count(layer, minimum=-len(layers)) and layer < len(layers):
        return layers[layer]
    if isinstance(layer, str):
        for candidate in layers:
            if candidate.name == layer:
                return candidate
    refuse(owner, "layer", layer, f"the name or index of a layer of the generator "
           f"({_layer_list(layers)})")


# --- Splitting --------------------------------------------------------------------


def _split(network, target):
    """`(head, tail)`: `head(inputs)` gives `target`'s output,
    `tail(activations)` the network's output from it."""
    import keras

    if any(layer is target for layer in network.layers):
        out = target.output
        inputs = network.inputs[0] if len(network.inputs) == 1 else network.inputs
        head = keras.Model(inputs, out)
        if out is network.outputs[0] and len(network.outputs) == 1:
            return head, (lambda x, training=False: x)
        return head, keras.Model(out, network.outputs[0])
    for nested in network.layers:
        if _is_functional(nested) and any(layer is target for layer in _flat_layers(nested)):
            inner_head, inner_tail = _split(nested, target)
            nodes = nested._inbound_nodes
            if len(nodes) != 1 or len(nodes[0].input_tensors) != 1 or \
                    nodes[0].output_tensors[0] is not network.outputs[0]:
                raise ValueError(f"the nested model {nested.name} is not the last step "
                                 f"of {network.name}")
            inputs = network.inputs[0] if len(network.inputs) == 1 else network.inputs
            prefix = keras.Model(inputs, nodes[0].input_tensors[0])
            return (lambda x, training=False: inner_head(prefix(x, training=training),
                                                         training=training)), inner_tail
    raise ValueError(f"{target.name} is not a layer of {network.name}")


class GeneratorSplit:
    """A generator cut at one layer (see `split_generator`).

    Attributes:
        model: the model split.
        layer: str. The name of the layer cut at.
        index: int. Its index in `generator_layers(model)`.
        shape: tuple. One sample's activations at the layer, e.g.
            `(7, 7, 128)`.
        units: int. The layer's channels (the last axis of `shape`).
    """

    def __init__(self, model, network, target, index, head, tail):
        self.model, self.network = model, network
        self.layer, self.index = target.name, index
        self.shape = tuple(int(d) for d in target.output.shape[1:])
        self.units = self.shape[-1]
        self._head, self._tail = head, tail
        self._compiled = None

    def __repr__(self):
        return (f"GeneratorSplit({type(self.model).__name__} at {self.layer!r}, "
                f"{self.units} units of shape {self.shape})")

    def _inputs(self, latents, labels):
        from keras import ops

        z = ops.convert_to_tensor(latents, "float32")
        if len(self.network.inputs) == 1:
            return z
        return [ops.convert_to_tensor(labels, "int32")
                if "int" in str(tensor.dtype) else z for tensor in self.network.inputs]

    def _batches(self, latents, labels, batch_size):
        latents = np.asarray(latents, dtype="float32")
        dim = int(self.model.latent_dim)
        if latents.ndim != 2 or latents.shape[1] != dim:
            raise ValueError(f"`latents` must be (n, {dim}). "
                             f"Received: latents.shape={latents.shape}")
        labels = self.model.check_labels(labels, len(latents))
        for i in range(0, len(latents), batch_size):
            yield latents[i:i + batch_size], (None if labels is None
                                              else labels[i:i + batch_size])

    def activations(self, latents, labels=None, batch_size=256):
        """The layer's activations of latents, float32 numpy
        `(n,) + shape`."""
        from keras import ops

        out = [ops.convert_to_numpy(self._head(self._inputs(z, y), training=False))
               for z, y in self._batches(latents, labels, batch_size)]
        return np.concatenate(out).astype("float32") if out else np.zeros(
            (0,) + self.shape, "float32")

    def images(self, activations, batch_size=256):
        """The images the rest of the generator draws from activations
        `(n,) + shape`, float32 numpy."""
        from keras import ops

        activations = np.asarray(activations, dtype="float32")
        return np.concatenate([
            ops.convert_to_numpy(self._tail(ops.convert_to_tensor(
                activations[i:i + batch_size]), training=False))
            for i in range(0, len(activations), batch_size)]).astype("float32")

    def mask(self, units):
        """A float32 `(units,)` vector: 0 for the units given, 1 elsewhere."""
        units = check_units(self, units)
        mask = np.ones((self.units,), "float32")
        mask[units] = 0.0
        return mask

    def decode(self, latents, labels=None, units=(), batch_size=256):
        """The images of latents with `units` ablated (set to 0), float32
        numpy in [-1, 1]; no units gives exactly `model.decode`."""
        from keras import ops

        units = check_units(self, units)
        out = []
        for z, y in self._batches(latents, labels, batch_size):
            x = self._head(self._inputs(z, y), training=False)
            if len(units):
                x = x * ops.convert_to_tensor(self.mask(units))
            out.append(ops.convert_to_numpy(self._tail(x, training=False)))
        return np.concatenate(out).astype("float32")

    def masked_images(self, activations, mask):
        """`tail(activations * mask)` run compiled (jitted on JAX, a
        tf.function on TensorFlow): the fast path of `rank_units`, whose
        baseline runs through it too (mask of ones)."""
        from kerasgen.utils.compiled import compiled

        if self._compiled is None:
            variables = list(self.network.variables)
            self._compiled = compiled(
                lambda x, m: self._tail(x * m, training=False), variables)
        from keras import ops

        return ops.convert_to_numpy(self._compiled(activations, mask)).astype("float32")


def check_units(split, units):
    """`units` as a sorted int array of distinct channels of the layer."""
    array = np.asarray(list(units) if not np.isscalar(units) else [units])
    if array.size == 0:
        return np.zeros((0,), "int64")
    if array.dtype.kind not in "iu" or array.ndim != 1 or array.min() < 0 \
            or array.max() >= split.units or len(set(array.tolist())) != len(array):
        refuse("ablate", "units", list(np.asarray(units).tolist())
               if not np.isscalar(units) else units,
               f"distinct channel indices in [0, {split.units - 1}] of layer {split.layer}")
    return np.sort(array.astype("int64"))


def split_generator(model, layer):
    """Cuts the generator of `model` at `layer` (a name, or an index in
    `generator_layers(model)`).

    The head is a sub-model from the generator's inputs to the layer's
    output; the tail runs the remaining layers on (possibly changed)
    activations. Works for functional generators (the DCGAN stacks of
    `build_conv_decoder`, also nested inside a conditional generator) whose
    output is what `decode` returns; refused in one line otherwise.

    Args:
        model: a model with the latent interface and a functional generator.
        layer: str or int. The layer to cut at.

    Returns:
        A `GeneratorSplit`.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=16, latent_dim=4, generator_filters=4)
    split = split_generator(model, "up_0")
    split.shape, split.units  # ((8, 8, 4), 4)
    ```
    """
    network = _functional_network(model)
    target = _find_layer(network, layer, "split_generator")
    layers = _flat_layers(network)
    index = next(i for i, candidate in enumerate(layers) if candidate is target)
    if _is_input(target):
        refuse("split_generator", "layer", layer, "a layer after the generator's "
               f"inputs ({_layer_list(layers)})")
    try:
        head, tail = _split(network, target)
    except (ValueError, AttributeError, TypeError) as error:
        reason = " ".join(str(error).split())[:200]
        raise ValueError(
            f"Cannot split {type(model).__name__}'s generator at {target.name} ({reason}). "
            f"Received: layer={layer!r}") from None
    split = GeneratorSplit(model, network, target, index, head, tail)
    # The tail's output must be what `decode` returns (a family that
    # post-processes its network's output cannot be dissected this way).
    probe = model.sample_latents(2, seed=0)
    labels = model.check_labels(None, 2)
    expected = model.decode(probe, labels)
    if not np.allclose(split.decode(probe, labels), expected, atol=1e-4):
        raise ValueError(
            f"{type(model).__name__}'s decode is not its generator network's output, "
            f"so it cannot be dissected at a layer. Received: model={type(model).__name__}")
    return split


# --- Reading and ablating units ---------------------------------------------------


def _as_split(model, layer):
    return layer if isinstance(layer, GeneratorSplit) else split_generator(model, layer)


def unit_activation_maps(model, layer, latents, units=None, labels=None):
    """The activations of `units` of `layer` for latents: one map per unit.

    Args:
        model: a model `split_generator` can cut.
        layer: str, int or a `GeneratorSplit` of `model`.
        latents: `(n, latent_dim)`.
        units: sequence of int, or None for all the layer's units.
        labels: int labels `(n,)` of a conditional model (see
            `check_labels`), or None.

    Returns:
        float32 numpy `(n, height, width, len(units))` for a feature map
        layer (`(n, len(units))` for a dense one).

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=16, latent_dim=4, generator_filters=4)
    z = model.sample_latents(3, seed=0)
    unit_activation_maps(model, 4, z, units=[0, 5]).shape  # (3, 4, 4, 2)
    ```
    """
    split = _as_split(model, layer)
    activations = split.activations(latents, labels)
    if units is None:
        return activations
    return activations[..., check_units(split, units) if len(units) else []]


def ablate(model, layer, units, latents, labels=None):
    """The images of latents with `units` of `layer` set to 0 everywhere.

    Ablating no units gives exactly `model.decode(latents, labels)`.

    Args:
        model: a model `split_generator` can cut.
        layer: str, int or a `GeneratorSplit` of `model`.
        units: sequence of distinct int channels of the layer (or one int).
        latents: `(n, latent_dim)`.
        labels: int labels of a conditional model, or None.

    Returns:
        float32 numpy images `(n, H, W, C)` in [-1, 1].

    Example:

    ```python
    import numpy as np
    import kerasgen
    model = kerasgen.DCGAN(image_size=16, latent_dim=4, generator_filters=4)
    z = model.sample_latents(2, seed=0)
    np.array_equal(ablate(model, "up_0", [], z), model.decode(z))  # True
    ablate(model, "up_0", [0, 1], z).shape  # (2, 16, 16, 1)
    ```
    """
    return _as_split(model, layer).decode(latents, labels, units)


# --- Measuring a concept --------------------------------------------------------


def _scores(values, classes=None):
    """Per-sample scores of concept values: `(n,)` as given, `(n, K)`
    probabilities read at each sample's class `classes`."""
    values = np.asarray(values, dtype="float64")
    if values.ndim == 1:
        return values
    return values[np.arange(len(values)), classes]


class _Concept:
    """A concept measured on unablated images: which samples carry it and
    their scores."""

    def __init__(self, concept_fn, images, concept_class, owner):
        self.fn = concept_fn
        values = np.asarray(concept_fn(images), dtype="float64")
        n = len(images)
        if values.ndim not in (1, 2) or values.shape[0] != n:
            raise ValueError(
                f"{owner}: `concept_fn` must give one score per image (n,) or class "
                f"probabilities (n, K). Received: an array of shape {values.shape}")
        self.probabilities = values.ndim == 2
        if not self.probabilities:
            if concept_class is not None:
                refuse(owner, "concept_class", concept_class,
                       "None where `concept_fn` gives one score per image")
            self.classes, self.present = None, np.ones(n, bool)
        else:
            read = values.argmax(axis=1)
            if concept_class is None:
                self.classes = read
            else:
                k = values.shape[1]
                if not is_count(concept_class, minimum=0) or concept_class >= k:
                    refuse(owner, "concept_class", concept_class,
                           f"None or a class index in [0, {k - 1}]")
                self.classes = np.full(n, int(concept_class))
            self.present = read == self.classes
            if not self.present.any():
                raise ValueError(
                    f"{owner}: none of the {n} samples is read as class {concept_class}; "
                    f"draw more (`n`) or pick another class. "
                    f"Received: concept_class={concept_class}")
        self.scores = _scores(values, self.classes)
        self.share = self.share_of(values)

    def measure(self, images):
        values = np.asarray(self.fn(images), dtype="float64")
        return _scores(values, self.classes), self.share_of(values)

    def share_of(self, values):
        if not self.probabilities:
            return None
        return float(np.mean(values.argmax(axis=1) == self.classes))


def _check_n(owner, n):
    if not is_count(n, minimum=1):
        refuse(owner, "n", n, "an int >= 1")


class UnitRanking(tuple):
    """`rank_units`'s result: `(units, effects)`, largest effect first,
    with `baseline` (the mean concept score of the samples measured,
    unablated), `samples` (how many) and `layer`."""

    def __new__(cls, units, effects, baseline, samples, layer):
        ranking = super().__new__(cls, (units, effects))
        ranking.units, ranking.effects = units, effects
        ranking.baseline, ranking.samples, ranking.layer = baseline, samples, layer
        return ranking


def rank_units(model, layer, concept_fn, n=200, seed=0, labels=None, concept_class=None,
               batch_size=250):
    """Ranks the units of `layer` by how much ablating each one alone
    lowers a concept (Bau et al. 2019, section 3.2: a unit's causal effect).

    Every unit is ablated in turn on the same `n` samples (latents of
    `seed`); its effect is the mean drop of the concept's score (see the
    module docstring: `concept_fn` gives scores `(n,)` or class
    probabilities `(n, K)`, such as `extractor.probabilities`).

    Args:
        model: a model `split_generator` can cut.
        layer: str, int or a `GeneratorSplit` of `model`.
        concept_fn: callable from images `(n, H, W, C)` in [-1, 1] to
            scores `(n,)` or class probabilities `(n, K)`.
        n: int. Samples to measure on. Defaults to 200.
        seed: int. Seed of their latents. Defaults to 0.
        labels: labels of a conditional model (see `check_labels`), or None.
        concept_class: int or None. With probabilities: the class whose
            probability is the concept (measured on the samples read as
            it); None: each sample's own class. Defaults to None.
        batch_size: int. Defaults to 250.

    Returns:
        A `UnitRanking`: `(units, effects)`, every unit once, sorted by
        effect, largest first (ties by unit index), effects float64.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=16, latent_dim=4, generator_filters=4)
    brightness = lambda images: images.mean(axis=(1, 2, 3))
    units, effects = rank_units(model, 4, brightness, n=8)
    sorted(units.tolist()) == list(range(8)), bool(effects[0] >= effects[-1])
    # (True, True)
    ```
    """
    _check_n("rank_units", n)
    split = _as_split(model, layer)
    latents = model.sample_latents(n, seed)
    activations = split.activations(latents, labels, batch_size)
    ones = np.ones((split.units,), "float32")

    def draw(mask):
        return np.concatenate([split.masked_images(activations[i:i + batch_size], mask)
                               for i in range(0, len(activations), batch_size)])

    concept = _Concept(concept_fn, draw(ones), concept_class, "rank_units")
    # Only the samples that carry the concept count: ablate on those alone.
    present = concept.present
    activations = activations[present]
    classes = None if concept.classes is None else concept.classes[present]
    # Drawn again in the same batches as the ablated images, so that a unit
    # without effect measures exactly 0.
    baseline = _scores(np.asarray(concept_fn(draw(ones)), dtype="float64"), classes)
    effects = np.zeros((split.units,), "float64")
    for unit in range(split.units):
        mask = ones.copy()
        mask[unit] = 0.0
        values = np.asarray(concept_fn(draw(mask)), dtype="float64")
        effects[unit] = float(np.mean(baseline - _scores(values, classes)))
    order = np.argsort(-effects, kind="stable")
    return UnitRanking(order.astype("int64"), effects[order], float(np.mean(baseline)),
                       int(present.sum()), split.layer)


def ablation_effect(model, layer, units, concept_fn, n=200, seed=0, labels=None,
                    concept_class=None, batch_size=250):
    """The effect of ablating `units` of `layer` together (Bau et al.
    2019, section 4.3: the top units of a concept, against random ones).

    Args:
        model, layer, concept_fn, n, seed, labels, concept_class,
            batch_size: as for `rank_units`.
        units: sequence of distinct int channels of the layer.

    Returns:
        A dict: `units` (how many), `samples` (the samples measured: those
        read as the concept's class, with probabilities), `score_before`,
        `score_after` (mean concept score of those samples), `drop`
        (before - after), and with class probabilities `share_before`,
        `share_after`: the fraction of all n samples read as the class
        (their own class without `concept_class`), else None.

    Example:

    ```python
    import kerasgen
    model = kerasgen.DCGAN(image_size=16, latent_dim=4, generator_filters=4)
    brightness = lambda images: images.mean(axis=(1, 2, 3))
    ablation_effect(model, 4, [], brightness, n=4)["drop"]  # 0.0
    ```
    """
    _check_n("ablation_effect", n)
    split = _as_split(model, layer)
    units = check_units(split, units)
    latents = model.sample_latents(n, seed)
    activations = split.activations(latents, labels, batch_size)

    def draw(mask):
        return np.concatenate([split.masked_images(activations[i:i + batch_size], mask)
                               for i in range(0, n, batch_size)])

    concept = _Concept(concept_fn, draw(np.ones((split.units,), "float32")),
                       concept_class, "ablation_effect")
    scores, share = concept.measure(draw(split.mask(units)))
    before = float(np.mean(concept.scores[concept.present]))
    after = float(np.mean(scores[concept.present]))
    return {"units": int(len(units)), "samples": int(concept.present.sum()),
            "score_before": before, "score_after": after, "drop": before - after,
            "share_before": concept.share, "share_after": share}

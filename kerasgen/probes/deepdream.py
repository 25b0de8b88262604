"""DeepDream (Mordvintsev, Olah and Tyka 2015) on the zoo's own classifiers.

Gradient *ascent* on the image: each step moves the pixels along the
gradient of a layer's mean activation (or of one channel's mean), the
gradient divided by its standard deviation over the image so that
`step_size` is the typical change of a pixel in [-1, 1] units whatever
the layer's scale, and the image clipped back into [-1, 1].

Octaves: the dream runs `octaves` times at growing sizes, each
`octave_scale` times larger, the last at the network's input size; the
detail the earlier octaves added (dreamed image minus the input at that
size) is enlarged and carried into the next. The classifiers have a fixed
input size (LeNet's dense layers read exactly 28x28), so a smaller octave's
image is enlarged (bilinear, inside the differentiated function) before
the network reads it: its steps can only change coarse structure, which is
what octaves are for.

The activation is read from `keras.Model(network.input,
network.get_layer(name).output)`, built from the functional network for any
of its layers; `kerasgen.probes.networks.layer_names` lists the names,
the same in every process (`conv2d`, `conv2d_1`, ..., `features`,
`logits`: a channel of `logits` dreams of one class).
"""

import collections

import numpy as np

from kerasgen.probes.networks import cached
from kerasgen.probes.networks import layer_model
from kerasgen.probes.networks import resolve

#: What `dream` returns: `images`, float32 `(N, H, W, C)` in [-1, 1], and
#: the objective (the layer's or channel's mean activation) per image on the
#: start images (`before`) and on the dreams (`after`), float64 `(N,)`.
Dream = collections.namedtuple("Dream", ["images", "before", "after"])


def _check(name, value, ok, must):
    if not ok:
        raise ValueError(f"`{name}` must be {must}. Received: {name}={value!r}")


def _channels(channel, units):
    """The per-image channel mask `(count, units)` of `channel`, and the
    number of images it asks for (None: as many as given)."""
    if channel is None:
        return None, None
    many = isinstance(channel, (list, tuple, np.ndarray))
    values = list(np.ravel(channel)) if many else [channel]
    _check("channel", channel,
           len(values) > 0 and all(
               isinstance(c, (int, np.integer)) and not isinstance(c, bool)
               and 0 <= c < units for c in values),
           f"an int in [0, {units}) (the layer has {units} channels) or a list "
           f"of them")
    return np.eye(units, dtype="float32")[values], len(values)


def _compile(sub, size):
    """`(one ascent step, the objective)` of a layer model, compiled: the
    objective is the mean activation weighted by a per-image channel mask
    (all ones: the whole layer), of the image enlarged to `size`."""
    from keras import ops

    from kerasgen.training.input_gradients import input_gradient
    from kerasgen.utils.compiled import compiled

    def objective(x, weights):
        if tuple(x.shape[1:3]) != size:
            x = ops.image.resize(x, size, interpolation="bilinear")
        activation = ops.cast(sub(x, training=False), "float32")
        axes = tuple(range(1, len(activation.shape) - 1))
        if axes:
            activation = ops.mean(activation, axis=axes)
        return ops.sum(activation * weights, axis=-1) / ops.sum(weights, axis=-1)

    def ascend(x, weights, step_size):
        gradient = input_gradient(lambda v: objective(v, weights), x)
        axes = tuple(range(1, len(gradient.shape)))
        gradient = gradient / (ops.std(gradient, axis=axes, keepdims=True) + 1e-8)
        return ops.clip(x + step_size * gradient, -1.0, 1.0)

    return compiled(ascend, sub.variables), compiled(objective, sub.variables)


def dream(extractor_or_network, image=None, layer="features", steps=20,
          step_size=0.05, octaves=3, octave_scale=1.4, seed=0, channel=None,
          noise=0.1, jitter=0):
    """Dreams an image that excites a layer of a classifier.

    Args:
        extractor_or_network: a `FeatureExtractor` (`load_extractor(name)`)
            or a functional `keras.Model` (images must then have its input
            size).
        image: the start image(s), `(N, H, W, C)` or `(H, W, C)`, uint8 or
            floats in [-1, 1] (an extractor resizes and converts them), or
            None to start from noise. Defaults to None.
        layer: str. The layer whose mean activation rises: a name of
            `kerasgen.probes.networks.layer_names(network)` (e.g. `conv2d`,
            `conv2d_1`, `features`, `logits`). Defaults to `"features"`.
        steps: int. Gradient steps per octave. Defaults to 20.
        step_size: float. The typical change of a pixel per step, in
            [-1, 1] units (the gradient is divided by its standard
            deviation over each image). Defaults to 0.05.
        octaves: int. Scales to dream at. Defaults to 3.
        octave_scale: float >= 1. Size ratio of successive octaves.
            Defaults to 1.4.
        seed: int. Seed of the start noise. Defaults to 0.
        channel: None (the mean of the whole layer), an int (the mean of
            that channel, or unit of a dense layer) or a list of ints (one
            dream per channel, from the same start image). Defaults to None.
        noise: float. Standard deviation of the start noise around mid
            grey (0) when `image` is None. Defaults to 0.1.
        jitter: int. Before each step the image is shifted (rolled) by up
            to this many pixels in each direction, at random, and shifted
            back after: the original DeepDream's trick against the
            pixel-grid patterns a network's strides favour. Defaults to 0.

    Returns:
        A `Dream(images, before, after)`: the dreams, float32 in [-1, 1] at
        the network's input size, and the objective per image before and
        after.

    Example:

    ```python
    from kerasgen.metrics import load_extractor
    lenet = load_extractor("lenet-mnist")
    result = dream(lenet, layer="conv2d_1", steps=5, octaves=2)
    result.images.shape  # (1, 28, 28, 1)
    bool(result.after[0] > result.before[0])  # True
    ```
    """
    from keras import ops

    target = resolve(extractor_or_network, "extractor_or_network")
    network = target.network
    sub = layer_model(network, layer)
    for name, value in (("steps", steps), ("octaves", octaves)):
        _check(name, value, isinstance(value, (int, np.integer))
               and not isinstance(value, bool) and value >= 1, "an int >= 1")
    _check("step_size", step_size, isinstance(step_size, (int, float, np.floating))
           and np.isfinite(step_size) and step_size > 0, "a float > 0")
    _check("octave_scale", octave_scale, isinstance(octave_scale, (int, float, np.floating))
           and np.isfinite(octave_scale) and octave_scale >= 1, "a float >= 1")
    _check("jitter", jitter, isinstance(jitter, (int, np.integer))
           and not isinstance(jitter, bool) and jitter >= 0, "an int >= 0")
    _check("noise", noise, isinstance(noise, (int, float, np.floating))
           and np.isfinite(noise) and noise >= 0, "a float >= 0")
    height, width = (int(s) for s in network.input_shape[1:3])
    units = int(sub.output_shape[-1])
    mask, count = _channels(channel, units)

    rng = np.random.default_rng(seed)
    if image is None:
        shape = (1,) + tuple(int(s) for s in network.input_shape[1:])
        start = np.clip(rng.normal(0.0, noise, shape), -1, 1).astype("float32")
    else:
        image = np.asarray(image)
        if image.ndim == 3:
            image = image[None]
        start = target.prepare(image)
    if mask is None:
        mask = np.ones((len(start), units), "float32")
    elif not isinstance(channel, (list, tuple, np.ndarray)):
        mask = np.repeat(mask, len(start), axis=0)  # one channel for every image
    elif len(start) == 1:
        start = np.repeat(start, count, axis=0)
    elif len(start) != count:
        raise ValueError(
            f"`channel` must be one int, or a list with one channel per image "
            f"({len(start)}). Received: channel={channel!r}")

    step, measure = cached(network, ("dream", sub.name),
                           lambda: _compile(sub, (height, width)))
    weights = ops.convert_to_tensor(mask)
    size_of_step = ops.convert_to_tensor(np.float32(step_size))

    def resize(x, size):
        if tuple(x.shape[1:3]) == size:
            return x
        shrinking = size[0] < x.shape[1]
        return ops.convert_to_numpy(ops.image.resize(
            x, size, interpolation="bilinear", antialias=shrinking))

    detail = None
    for octave in range(octaves):
        scale = float(octave_scale) ** (octaves - 1 - octave)
        size = (max(1, round(height / scale)), max(1, round(width / scale)))
        base = resize(start, size)
        detail = np.zeros_like(base) if detail is None else resize(detail, size)
        x = np.clip(base + detail, -1, 1)
        for _ in range(int(steps)):
            shift = tuple(rng.integers(-jitter, jitter + 1, 2)) if jitter else (0, 0)
            x = np.roll(x, shift, axis=(1, 2))
            x = np.roll(ops.convert_to_numpy(step(x, weights, size_of_step)),
                        (-shift[0], -shift[1]), axis=(1, 2))
        detail = x - base
    images = np.clip(base + detail, -1, 1).astype("float32")
    before = ops.convert_to_numpy(measure(ops.convert_to_tensor(start), weights))
    after = ops.convert_to_numpy(measure(ops.convert_to_tensor(images), weights))
    return Dream(images, before.astype("float64"), after.astype("float64"))

"""Representative inputs for full-integer (int8) TFLite files.

An int8 file stores each activation as 8-bit integers with a scale found
by running the float model on representative inputs first (calibration).
The inputs are drawn per signature, from what each of its declared inputs
(`kerasgen.models.serving.Input`) takes; the exporter names no family:

- an input named `z` is a latent: drawn from the model's prior
  (`model.sample_latents(n, seed)` where the model has it and it gives the
  input's shape, else N(0, I) of the input's shape);
- an int input named `labels` of shape `(n,)`: uniform over the model's
  classes (`data_spec().num_classes`);
- a float input whose example shape is the data's (`data_spec().shape`:
  images, waveforms): examples of the calibration data when given (a data
  source, read as training reads it: `load_images`, `load_paired` (the
  input half), `load_unpaired`, `load_waveforms`), else samples of the
  model's own sampler (`model.sample`) for a model that samples. A model
  that does not sample (an image-to-image model) needs calibration data:
  it is refused in one line asking for it. With unpaired data (domains A
  and B), a signature whose name ends in `a2b` is calibrated on domain A,
  one ending in `b2a` on domain B, any other on both;
- any other input (a scalar, `timesteps`, `noise`, ...): refused in one
  line naming it. Leave that signature out (`signatures=`) or give its
  arrays yourself (`representative_data=`).

Example:

```python
import kerasgen
model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
inputs = representative_inputs(model, ["generate"], steps=3)
inputs["generate"]["z"].shape  # (3, 4)
```
"""

import logging
import os

import numpy as np

from kerasgen.export.signatures import declared_endpoints

logger = logging.getLogger("kerasgen.export")

DEFAULT_STEPS = 100


def _one_line(text):
    return " ".join(str(text).split())


def _kind(model):
    return type(model).__name__


def _data_spec(model):
    spec = getattr(model, "data_spec", None)
    return spec() if callable(spec) else None


def load_calibration_data(model, data, steps=DEFAULT_STEPS):
    """Examples of `data` for the model's data-shaped inputs, as float32 in
    [-1, 1]: `{"": array}`, or `{"a": array, "b": array}` for unpaired
    image sets. `data` is a data source (a path or `"tfds:..."`, read as
    training reads it for the model's `data_spec().kind`, at most `steps`
    examples per set) or an array `(n,) + data_spec().shape` in [-1, 1].
    Raises a one-line `ValueError` for data that cannot be read or has the
    wrong shape.

    Example:

    ```python
    import numpy as np, kerasgen
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
    load_calibration_data(model, np.zeros((2, 8, 8, 1), "float32"))[""].shape  # (2, 8, 8, 1)
    ```
    """
    from kerasgen.data import to_unit_range

    spec = _data_spec(model)
    kind = _kind(model)
    if spec is None:
        raise ValueError(
            f"{kind} does not say what data it takes (no data_spec()), so "
            f"calibration data cannot be read for it. Received: data={data!r}"
        )
    shape = tuple(spec.shape)
    if isinstance(data, np.ndarray):
        if data.ndim != len(shape) + 1 or tuple(data.shape[1:]) != shape or not len(data):
            raise ValueError(
                f"Calibration data for the {kind} is an array (n,) + {shape} in "
                f"[-1, 1]. Received: an array of shape {data.shape}"
            )
        if data.dtype == np.uint8:
            return {"": to_unit_range(data)}
        values = np.asarray(data, "float32")
        if not np.all(np.isfinite(values)):
            raise ValueError(
                "Calibration data must be finite. Received: an array with NaN or infinity"
            )
        return {"": values}
    if not isinstance(data, (str, os.PathLike)):
        raise ValueError(
            "Calibration data is a data source (a path or 'tfds:<name>') or an "
            f"array. Received: {type(data).__name__}"
        )
    data = os.fspath(data)
    try:
        if spec.kind == "images":
            from kerasgen.data import load_images

            loaded = {"": load_images(data, image_size=spec.image_size,
                                      channels=spec.channels, max_images=steps).images}
        elif spec.kind == "paired_images":
            from kerasgen.data import load_paired

            inputs, _ = load_paired(data, image_size=spec.image_size, channels=spec.channels,
                                    direction=spec.direction or "a2b", max_images=steps)
            loaded = {"": inputs.images}
        elif spec.kind == "unpaired_images":
            from kerasgen.data import load_unpaired

            set_a, set_b = load_unpaired(data, image_size=spec.image_size,
                                         channels=spec.channels, max_images=steps)
            loaded = {"a": set_a.images, "b": set_b.images}
        elif spec.kind == "waveforms":
            from kerasgen.data.audio import load_waveforms

            waveforms = load_waveforms(data, length=spec.shape[0],
                                       sample_rate=spec.sample_rate, split="train",
                                       max_files=steps).waveforms
            return {"": np.asarray(waveforms, "float32")}
        else:
            raise ValueError(
                f"kerasgen reads no calibration data source for {spec.kind!r} "
                f"data; pass an array (n,) + {shape} instead. Received: data={data!r}"
            )
    except (ValueError, TypeError, OSError) as error:
        raise ValueError(
            f"Cannot read the calibration data for the {kind} "
            f"({spec.kind} of shape {shape}): {_one_line(error)}"
        ) from None
    for key, images in loaded.items():
        if not len(images):
            raise ValueError(f"The calibration data holds no examples. Received: data={data!r}")
        loaded[key] = to_unit_range(images)
    return loaded


def _examples_for(name, examples):
    """Which examples a signature takes: domain A for `..a2b`, B for
    `..b2a`, else all of them."""
    if set(examples) == {"a", "b"}:
        if name.endswith("a2b"):
            return examples["a"]
        if name.endswith("b2a"):
            return examples["b"]
        return np.concatenate([examples["a"], examples["b"]])
    return examples[""]


def _cycle(array, n):
    """`n` rows of `array`, repeating it when it has fewer."""
    return array[np.arange(n) % len(array)]


def representative_inputs(model, signatures=None, data=None, steps=DEFAULT_STEPS, seed=0,
                          representative_data=None):
    """Calibration inputs per signature: `{signature: {input: array}}`, each
    array `(steps,) + shape`, or the scalar itself for a scalar input given
    in `representative_data` (see the module docstring for what each input
    takes).

    Args:
        model: a model that declares its serving endpoints.
        signatures: sequence of str or None. The signatures to calibrate;
            None is every declared one. Defaults to None.
        data: None, a data source or an array (see `load_calibration_data`).
            Defaults to None (the model's own samples where it samples).
        steps: int. Examples per signature. Defaults to 100.
        seed: int. Seeds the latents, labels and samples. Defaults to 0.
        representative_data: dict or None. `{signature: {input: array}}`
            used as given (each `(m,) + shape`, cycled to `steps`; a scalar
            for a scalar input) in place of what would be drawn. Defaults to
            None.

    Returns:
        The dict of arrays.

    Raises:
        ValueError (one line): an input it cannot draw, data it cannot
            read, or a given array of the wrong shape.

    Example:

    ```python
    import kerasgen
    model = kerasgen.VAE(image_size=8, latent_dim=2, filters=4, num_classes=3)
    inputs = representative_inputs(model, ["decode"], steps=5)
    sorted(inputs["decode"]), int(inputs["decode"]["labels"].max()) < 3  # (['labels', 'z'], True)
    ```
    """
    from kerasgen.models.interfaces import provides

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"`steps` must be a positive int. Received: steps={steps!r}")
    steps = int(steps)
    kind = _kind(model)
    endpoints = {endpoint.name: endpoint for endpoint in declared_endpoints(model)}
    signatures = list(endpoints) if signatures is None else list(signatures)
    given = dict(representative_data or {})
    unknown = [name for name in given if name not in signatures]
    if unknown:
        raise ValueError(
            f"representative_data names signatures that are not exported: {unknown}. "
            f"Received: signatures={signatures}"
        )
    spec = _data_spec(model)
    examples = None if data is None else load_calibration_data(model, data, steps)
    rng = np.random.default_rng(seed)
    samples = None
    result = {}
    for name in signatures:
        endpoint = endpoints[name]
        arrays = {}
        for spec_in in endpoint.inputs:
            example_shape = tuple(spec_in.shape[1:])
            if not spec_in.shape:
                want = f"a {spec_in.dtype} scalar"
            elif spec_in.batched:
                want = f"{spec_in.dtype} (n,) + {example_shape}"
            else:
                want = f"{spec_in.dtype} {tuple(spec_in.shape)}, not batched"
            own = given.get(name, {}).get(spec_in.name)
            if own is not None:
                own = np.asarray(own)
                if not spec_in.shape:  # a scalar: the same value at every step
                    fits = own.ndim == 0
                else:
                    fits = (spec_in.batched and own.ndim == len(spec_in.shape)
                            and tuple(own.shape[1:]) == example_shape and len(own) > 0)
                if not fits:
                    raise ValueError(
                        f"representative_data[{name!r}][{spec_in.name!r}] must be "
                        f"{want}. Received: an array of shape {own.shape}"
                    )
                own = own.astype(spec_in.dtype)
                arrays[spec_in.name] = own if own.ndim == 0 else _cycle(own, steps)
                continue
            if not spec_in.batched:
                value = None
            elif spec_in.name == "z" and spec_in.dtype == "float32":
                value = None
                draw = getattr(model, "sample_latents", None)
                if callable(draw):
                    try:
                        value = np.asarray(draw(steps, seed), "float32")
                    except Exception:  # noqa: BLE001  (then N(0, I))
                        value = None
                    if value is not None and value.shape[1:] != example_shape:
                        value = None
                if value is None:
                    value = rng.standard_normal((steps,) + example_shape).astype("float32")
            elif (spec_in.name == "labels" and spec_in.dtype.startswith("int")
                  and len(spec_in.shape) == 1):
                classes = int(getattr(spec, "num_classes", 0) or getattr(model, "num_classes", 0)
                              or 0)
                value = (rng.integers(0, classes, steps).astype(spec_in.dtype)
                         if classes > 0 else None)
            elif (spec_in.dtype == "float32" and spec is not None
                  and example_shape == tuple(spec.shape)):
                if examples is not None:
                    value = _cycle(_examples_for(name, examples), steps)
                elif provides(model, "sample"):
                    if samples is None:
                        labels = None
                        classes = int(getattr(spec, "num_classes", 0) or 0)
                        if classes:
                            labels = rng.integers(0, classes, steps).astype("int32")
                        logger.info("int8 calibration: %d samples of the %s stand in for "
                                    "data (no calibration data given)", steps, kind)
                        samples = np.asarray(model.sample(steps, seed=seed, labels=labels)
                                             if labels is not None
                                             else model.sample(steps, seed=seed), "float32")
                    value = samples
                else:
                    raise ValueError(
                        f"The {kind}'s signature {name!r} takes {spec_in.name!r} "
                        f"{want} and the {kind} does not sample, so int8 "
                        "calibration needs examples of its data: pass "
                        "calibration_data (`--calibration-data SOURCE`, e.g. its "
                        "training data). Received: calibration_data=None"
                    )
            else:
                value = None
            if value is None:
                raise ValueError(
                    f"int8 calibration cannot draw the {kind}'s input "
                    f"{spec_in.name!r} ({want}) of signature {name!r}: it draws `z` from "
                    "the latent prior, int `labels` over the classes and inputs shaped "
                    "like the data from the calibration data or the model's samples. "
                    "Leave that signature out (signatures=...) or pass "
                    f"representative_data={{{name!r}: {{{spec_in.name!r}: array}}}}. "
                    f"Received: signatures={signatures}"
                )
            arrays[spec_in.name] = value
        result[name] = arrays
    return result


def representative_dataset(inputs, batch_size=None):
    """The `representative_dataset` generator function of a TFLite
    converter for `inputs` (`representative_inputs`): yields
    `(signature, {input: batch})`, the signatures in turn, batches of
    `batch_size` (1 when None); a scalar input is the same at every step.

    Example:

    ```python
    import numpy as np
    batches = list(representative_dataset({"f": {"x": np.zeros((3, 2))}})())
    [(key, value["x"].shape) for key, value in batches][0]  # ('f', (1, 2))
    ```
    """
    size = batch_size or 1

    def generate():
        count = max([len(value) for arrays in inputs.values() for value in arrays.values()
                     if np.ndim(value)] or [1])
        for start in range(0, count, size):
            rows = np.arange(start, start + size)
            for name, arrays in inputs.items():
                yield name, {key: value[rows % len(value)] if np.ndim(value) else value
                             for key, value in arrays.items()}

    return generate

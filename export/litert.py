"""TFLite (LiteRT) export: float32, float16, dynamic-range int8 and int8 files.

The model's export archive (`kerasgen.export.signatures`, built from the
endpoints the model declares) is saved as a SavedModel in a temporary
folder and converted with `tf.lite.TFLiteConverter.from_saved_model`,
keeping the signature names, so a `.tflite` file has the same signatures
(`generate`, `decode`, `translate`, ...), inputs and outputs as the
SavedModel. Run it with LiteRT (`pip install ai-edge-litert`):

    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path="dcgan.tflite")
    generate = interpreter.get_signature_runner("generate")
    images = generate(z=z)["images_uint8"]

Quantization (`quantize`):

- `"none"`: float32 weights and compute.
- `"float16"`: weights stored as float16 (about half the size), computed in
  float32 on CPU.
- `"dynamic-int8"`: dynamic-range quantization: weights of large tensors
  (1,024 elements or more) stored as int8, activations quantized on the
  fly. No calibration data needed. Small, but slow on x86 CPUs (15 to 40
  times slower than float32 in export/GUIDE.md's measurements).
- `"int8"`: full-integer quantization: weights int8 (per channel) and the
  activations of the convolutions, transposed convolutions and fully
  connected layers int8, with scales calibrated on representative inputs
  (`kerasgen.export.calibration`: latents from the prior, labels over the
  classes, images from `calibration_data` or the model's own samples).
  Inputs and outputs stay float32 (and uint8 `images_uint8`), so a
  signature is called as in the float32 file. The elementwise arithmetic
  and statistics ops (`FLOAT_OPS`: the mean and variance of instance
  normalization, `x + 1`, residual additions) stay float32: int8 per-tensor
  scales cannot hold a variance (the CycleGAN's output moved by 0.11 on
  average when they were int8) or `x + 1` beside `(x + 1) * 127.5` (the
  converter gave both the second one's scale, so `images_uint8` was off by
  up to 64 levels), and on this CPU they run faster in float32 anyway.

An endpoint that declares `builtin_ops=False` (`generate_from_seed`, which
draws its latents with TensorFlow's stateless RNG, `StatelessRandomNormalV2`,
not a TFLite builtin) is left out of `.tflite` files unless
`select_tf_ops=True` (which needs the Flex delegate in the app that runs the
file). Any other op the builtins lack raises `UnsupportedOpsError` naming
the ops and the model's type.

Each file is checked after conversion by running every signature once on
zeros with LiteRT (`allocate_tensors` and `invoke`), because some quantized
models convert and then fail to allocate (tensorflow/tensorflow#59922).
"""

import logging
import os
import re
import tempfile

import numpy as np

from kerasgen.export.signatures import build_export_archive
from kerasgen.export.signatures import declared_endpoints
from kerasgen.export.signatures import default_model_name
from kerasgen.export.signatures import require_tensorflow_backend
from kerasgen.utils.io import atomic_write

logger = logging.getLogger("kerasgen.export")

QUANTIZATIONS = ("none", "float16", "dynamic-int8", "int8")

# Ops an int8 file keeps in float32 (see the module docstring): elementwise
# arithmetic and the statistics of normalization layers. The matrix ops
# (`INTEGER_OPS`) and the data movement between them (pads, reshapes,
# activations) run on int8.
FLOAT_OPS = (
    "ADD", "SUB", "MUL", "DIV", "NEG", "SQUARE", "SQUARED_DIFFERENCE", "RSQRT",
    "SQRT", "MEAN", "SUM", "EXP", "LOG", "POW", "MINIMUM", "MAXIMUM",
)
# The ops that hold nearly all of the weights and the compute: int8 in an
# int8 file.
INTEGER_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "FULLY_CONNECTED",
               "BATCH_MATMUL")


class UnsupportedOpsError(ValueError):
    """The model uses ops that the TFLite builtins do not have."""


def tflite_file_name(name, quantize="none"):
    """`<name>.tflite`, or `<name>.<quantize>.tflite` (`float16`,
    `dynamic-int8`, `int8`).

    Example:

    ```python
    tflite_file_name("dcgan", "float16")  # 'dcgan.float16.tflite'
    ```
    """
    suffix = "" if quantize == "none" else f".{quantize}"
    return f"{name}{suffix}.tflite"


def tflite(
    model,
    out,
    *,
    quantize="none",
    name=None,
    signatures=None,
    select_tf_ops=False,
    batch_size=None,
    verify=True,
    overwrite=False,
    calibration_data=None,
    calibration_steps=100,
    representative_data=None,
):
    """Exports a kerasgen model as a TFLite (LiteRT) flatbuffer.

    Args:
        model: a model that declares its serving endpoints (every kerasgen
            family; see `kerasgen.export.signatures`), on the TensorFlow
            backend.
        out: str. A `.tflite` file path, or a folder, in which the file is
            named by `tflite_file_name(name, quantize)`.
        quantize: `"none"`, `"float16"`, `"dynamic-int8"` or `"int8"`.
            Defaults to `"none"` (float32).
        name: str or None. The file's stem when `out` is a folder. Defaults
            to the family's registered name (`default_model_name`).
        signatures: sequence of str or None. The signatures to convert.
            Defaults to every endpoint the model declares with
            `builtin_ops=True`, and the others too when
            `select_tf_ops=True`.
        select_tf_ops: bool. Let the converter fall back to TensorFlow ops
            (`SELECT_TF_OPS`) where builtins are missing. The file then needs
            the Flex delegate to run, and is not checked after conversion.
            Defaults to False.
        batch_size: int or None. Fixes the batch dimension of the tensor
            inputs. None leaves it dynamic (LiteRT's signature runner resizes
            the inputs to the batch it is given). Defaults to None.
        verify: bool. Run each signature once on zeros with LiteRT after
            conversion (needs `ai-edge-litert`). Defaults to True.
        overwrite: bool. Replace an existing file at the path. Defaults to
            False: an existing file raises `FileExistsError` before anything
            is converted (like a SavedModel version, never replaced
            silently).
        calibration_data: int8 only: None, a data source (a path or
            `"tfds:<name>"`, read as training reads the model's data) or an
            array `(n,) + data_spec().shape` in [-1, 1], for the signatures
            that take data-shaped inputs (images); None uses the model's own
            samples, and refuses a model that does not sample (see
            `kerasgen.export.calibration`). Defaults to None.
        calibration_steps: int. int8 only: representative examples per
            signature. Defaults to 100.
        representative_data: dict or None. int8 only:
            `{signature: {input: array}}` used in place of what would be
            drawn for those inputs. Defaults to None.

    Returns:
        The path of the `.tflite` file written.

    Raises:
        UnsupportedOpsError: a signature needs ops the TFLite builtins lack;
            the message names them and the model's type.
        ValueError: the model declares no serving endpoints, or none that
            TFLite builtins can run and `select_tf_ops` is False.
        FileExistsError: the file exists and `overwrite` is False.
        IsADirectoryError: the path is a folder.

    Example:

    ```python
    import tempfile, keras, kerasgen
    if keras.backend.backend() == "tensorflow":
        model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                               discriminator_filters=4)
        path = tflite(model, tempfile.mkdtemp(), quantize="float16")
    ```
    """
    import tensorflow as tf

    require_tensorflow_backend()
    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"Unknown quantization. Expected one of {QUANTIZATIONS}. "
            f"Received: quantize={quantize!r}"
        )
    if quantize != "int8" and (calibration_data is not None or representative_data):
        raise ValueError(
            "Calibration data is for quantize='int8' only. "
            f"Received: quantize={quantize!r}"
        )
    family = type(model).__name__
    endpoints = declared_endpoints(model)
    if signatures is None:
        signatures = [e.name for e in endpoints if select_tf_ops or e.builtin_ops]
        if not signatures:
            raise ValueError(
                f"Every serving endpoint of the {family} needs TensorFlow ops "
                f"outside the TFLite builtins ({[e.name for e in endpoints]}). "
                "Pass select_tf_ops=True (`--select-tf-ops`) to embed them (the "
                "app then needs the Flex delegate). Received: select_tf_ops=False"
            )
    signatures = list(signatures)
    archive = build_export_archive(model, batch_size=batch_size, signatures=signatures)

    out = os.fspath(out)
    if out.endswith(".tflite"):
        path = os.path.abspath(out)
    else:
        stem = default_model_name(model) if name is None else name
        path = os.path.abspath(os.path.join(out, tflite_file_name(stem, quantize)))
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"The TFLite file's path {path} is a folder. Pass another name or "
            f"out. Received: out={out!r}"
        )
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(
            f"{path} exists already; an export never replaces a file "
            f"silently. Pass overwrite=True (`--overwrite`) or another name. "
            f"Received: out={out!r}"
        )

    if quantize == "int8":
        from kerasgen.export.calibration import representative_dataset
        from kerasgen.export.calibration import representative_inputs

        # Drawn (and the data read) before anything is converted: a bad
        # input or data source fails at once.
        samples = representative_inputs(
            model, signatures, data=calibration_data, steps=calibration_steps,
            representative_data=representative_data,
        )

    with tempfile.TemporaryDirectory(prefix="kerasgen-tflite-") as saved:
        archive.write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            saved, signature_keys=signatures
        )
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            converter.representative_dataset = representative_dataset(samples, batch_size)
            # int8 kernels, and the float32 builtins for `FLOAT_OPS`.
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS,
            ]
        if select_tf_ops:
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS,
            ]
        try:
            if quantize == "int8":
                content = _full_integer(converter)
            else:
                content = converter.convert()
        except Exception as error:  # noqa: BLE001  (ConverterError, re-raised)
            ops = unsupported_ops(str(error))
            if not ops:
                raise
            raise UnsupportedOpsError(
                f"The TFLite builtins do not support the op(s) {', '.join(ops)} "
                f"that the {family} signature(s) {signatures} use "
                f"(quantize={quantize!r}). Leave those "
                "signatures out, or pass select_tf_ops=True (`--select-tf-ops`) "
                "to embed TensorFlow kernels (the app then needs the Flex "
                f"delegate). Received: signatures={signatures}"
            ) from None

    if verify and not select_tf_ops:
        run_once_on_zeros(content, family=family, quantize=quantize)
    if quantize == "int8":
        floating = float_matrix_ops(content)
        if floating:
            logger.warning(
                "The int8 TFLite file of the %s computes %s in float32 (the "
                "converter could not quantize them).", family, ", ".join(floating),
            )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(content)
    logger.debug("Wrote %s (%s, %d bytes)", path, quantize, len(content))
    return path


def _full_integer(converter):
    """Calibrates with the converter's representative dataset, then
    quantizes to int8 all but `FLOAT_OPS`.

    This is what `tf.lite.experimental.QuantizationDebugger` does for
    selective quantization (`QuantizationDebugOptions(denylisted_ops=...)`,
    then `get_nondebug_quantized_model()`): calibrate only, then the MLIR
    quantizer with a deny list. It is called here directly, without the
    debugger's instrumented model (which takes one signature).
    """
    from tensorflow.lite.python import convert

    import warnings

    converter._experimental_calibrate_only = True
    with warnings.catch_warnings():  # the calibrator's own tf.lite.Interpreter
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        calibrated = converter.convert()
    return convert.mlir_quantize(
        calibrated,
        disable_per_channel=converter._experimental_disable_per_channel,
        fully_quantize=False,  # float32 inputs and outputs
        denylisted_ops=list(FLOAT_OPS),
    )


def ops_and_inputs(content):
    """`[(op name, [input dtypes])]` of every op of a TFLite flatbuffer, in
    every signature's subgraph (needs `ai-edge-litert`).

    Example:

    ```python
    import os, tempfile, keras, kerasgen
    if keras.backend.backend() == "tensorflow":
        model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
        path = tflite(model, tempfile.mkdtemp())
        ops = ops_and_inputs(open(path, "rb").read())
        ("FULLY_CONNECTED", ["float32", "float32"]) in [(o, d[:2]) for o, d in ops]  # True
    ```
    """
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_litert.interpreter import OpResolverType

    # Without XNNPACK, whose delegate nodes would stand for the ops it takes.
    interpreter = Interpreter(
        model_content=content,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    dtypes = {t["index"]: np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    return [
        (op["op_name"], [dtypes.get(int(i), "?") for i in op["inputs"] if int(i) >= 0])
        for op in interpreter._get_ops_details()  # noqa: SLF001  (no public op list)
    ]


def float_matrix_ops(content):
    """The `INTEGER_OPS` of a TFLite flatbuffer that take float32
    activations: `[]` for a full-integer file.

    Example:

    ```python
    import os, tempfile, keras, kerasgen
    if keras.backend.backend() == "tensorflow":
        model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
        path = tflite(model, tempfile.mkdtemp())
        float_matrix_ops(open(path, "rb").read())  # ['FULLY_CONNECTED', 'TRANSPOSE_CONV']
    ```
    """
    found = []
    for op, dtypes in ops_and_inputs(content):
        if op in INTEGER_OPS and "float32" in dtypes and op not in found:
            found.append(op)
    return sorted(found)


def unsupported_ops(message):
    """The op names a converter error lists as missing from the builtins.

    Example:

    ```python
    unsupported_ops("TF Select ops: StatelessRandomNormalV2, Foo\\nDetails:")
    # ['StatelessRandomNormalV2', 'Foo']
    ```
    """
    ops = []
    for line in re.findall(r"(?:TF Select ops|Flex ops|Custom ops): ([^\n]+)", message):
        for op in line.split(","):
            op = op.strip()
            if op and op not in ops:
                ops.append(op)
    if not ops:
        for op in re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", message):
            if op not in ops:
                ops.append(op)
    return ops


def run_once_on_zeros(content, family="model", quantize="none"):
    """Allocates and invokes every signature of a TFLite flatbuffer on zeros
    with LiteRT; raises `RuntimeError` naming the signature that fails.

    Returns the signature list (`Interpreter.get_signature_list()`), or None
    when `ai-edge-litert` is not installed (the check is then skipped, with
    a warning).
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        logger.warning(
            "ai-edge-litert is not installed: the %s TFLite file was not run "
            "after conversion (pip install ai-edge-litert).", family,
        )
        return None
    interpreter = Interpreter(model_content=content)
    signature_list = interpreter.get_signature_list()
    for key in signature_list:
        try:
            runner = interpreter.get_signature_runner(key)
            inputs = {}
            for input_name, detail in runner.get_input_details().items():
                shape = [1 if d < 0 else int(d) for d in detail["shape_signature"]]
                # A scalar integer may be a count: 0 would run on nothing.
                if len(shape) == 0 and np.issubdtype(detail["dtype"], np.integer):
                    inputs[input_name] = np.array(1, detail["dtype"])
                else:
                    inputs[input_name] = np.zeros(shape, detail["dtype"])
            runner(**inputs)
        except Exception as error:  # noqa: BLE001
            raise RuntimeError(
                f"The {quantize} TFLite file of the {family} converted but its "
                f"signature {key!r} fails to run in LiteRT: {error}"
            ) from error
    return signature_list

"""Where a number was measured: the host's CPU (and the accelerator a
backend sees), recorded the same way by run folders, presets and
benchmarks."""

import os
import platform
from pathlib import Path


def _cpuinfo():
    """The first processor's `/proc/cpuinfo` fields ({} where there is none)."""
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def _accelerator():
    """The GPU (or TPU) the loaded Keras backend computes on, e.g. "NVIDIA
    H200", or None on a CPU. Only the backend Keras runs on is asked (on
    JAX, a TensorFlow imported for its files would print CUDA probe errors
    when asked), and nothing is imported that was not loaded already."""
    import sys

    keras = sys.modules.get("keras")
    try:
        backend = keras.backend.backend() if keras is not None else None
        if backend == "jax" and "jax" in sys.modules:
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return device.device_kind
        elif backend == "tensorflow" and "tensorflow" in sys.modules:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return details.get("device_name", "GPU")
    except Exception:  # noqa: BLE001 - a record of the host must not fail
        return None
    return None


def machine_info():
    """The host, as a JSON-able dict. A virtual machine's model name can be
    as bare as "AMD EPYC": family/model and AVX-512 tell its generations
    apart (oneDNN and PyTorch do not gain equally from AVX-512, so relative
    step times differ between such hosts).

    Example:

    ```python
    machine_info()["cpu_count"] >= 1  # True
    ```
    """
    cpu = _cpuinfo()
    flags = set(cpu.get("flags", "").split())
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or None,
        "cpu_model": cpu.get("model name"),
        "cpu_family_model": (f"{cpu['cpu family']}/{cpu['model']}"
                             if "cpu family" in cpu and "model" in cpu else None),
        "avx512": "avx512f" in flags,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "accelerator": _accelerator(),
    }


def describe_machine(info):
    """One short line for a model card: `"2-core AMD EPYC 25/17 (AVX-512)"`.

    Example:

    ```python
    describe_machine({"cpu_count": 2, "cpu_model": "AMD EPYC",
                      "cpu_family_model": "25/17", "avx512": True})
    # '2-core AMD EPYC 25/17, AVX-512'
    ```
    """
    if info.get("accelerator"):
        return str(info["accelerator"])
    text = f"{info.get('cpu_count', '?')}-core {info.get('cpu_model') or 'CPU'}"
    if info.get("cpu_family_model"):
        text += f" {info['cpu_family_model']}"
    if info.get("avx512"):
        text += ", AVX-512"
    return text

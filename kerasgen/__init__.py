"""kerasgen: a zoo of generative models for Keras 3 on TensorFlow and JAX.

Every family is a `keras.Model` whose `train_step` the training core runs on
either backend, so `model.fit()` trains it. The families are the classes
registered with `@register_family` under `kerasgen/models/`; each is a
public name here (`kerasgen.DCGAN`, `kerasgen.CycleGAN`, ...).

`import kerasgen` is cheap: it imports neither Keras nor a backend. The
first use of a family name imports Keras and every family module, which
also registers them all with Keras's serialization, so
`keras.saving.load_model` reads any kerasgen checkpoint from then on (and
from the start when Keras was imported before kerasgen).

Example:

```python
import numpy as np
import kerasgen

model = kerasgen.DCGAN(image_size=8, latent_dim=8, generator_filters=8,
                       discriminator_filters=8)
model.compile()
model.fit(np.zeros((16, 8, 8, 1), "float32"), batch_size=8, verbose=0)
model.sample(4, seed=0).shape  # (4, 8, 8, 1)
```
"""

__version__ = "0.1.0"

import importlib as _importlib
import importlib.util as _importlib_util
import os as _os
import sys as _sys


def _importable(name):
    try:
        return _importlib_util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# Keras defaults to TensorFlow. On a machine with JAX and no TensorFlow (the
# GPU machines the zoo trains on), pick JAX rather than fail at import.
if (
    "keras" not in _sys.modules
    and "KERAS_BACKEND" not in _os.environ
    and not _importable("tensorflow")
    and _importable("jax")
):
    _os.environ["KERAS_BACKEND"] = "jax"

from kerasgen.models import registry as _registry  # noqa: E402  (no Keras import)

#: Public names that are not families: the training core.
_CORE = {
    "AssignStep": "kerasgen.training",
    "GenerativeModel": "kerasgen.training",
    "MultiOptimizer": "kerasgen.training",
    "Phase": "kerasgen.training",
    "UpdateStep": "kerasgen.training",
}
_FAMILIES = {entry.class_name: entry for entry in _registry.index()}

__all__ = sorted(_CORE) + sorted(_FAMILIES) + ["load"]


def load(name):
    """The pretrained model of a zoo preset, by name (`kerasgen zoo list`),
    or of a local preset folder: weights checked against their sha256 and
    loaded, ready to sample, translate, export or fine-tune.

    Example:

    ```python
    import kerasgen
    kerasgen.load("lenet-mnist").name  # 'lenet-mnist'
    ```
    """
    from kerasgen.zoo.registry import load as load_preset

    return load_preset(name)


def __getattr__(name):
    # PEP 562: resolved on first use, then cached in the module's namespace.
    if name in _FAMILIES:
        _registry.load_all()
        value = _registry.get_family(_FAMILIES[name].name)
    elif name in _CORE:
        value = getattr(_importlib.import_module(_CORE[name]), name)
    else:
        raise AttributeError(f"module 'kerasgen' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


if "keras" in _sys.modules:
    # Keras is loaded already, so registering the families costs little, and
    # `keras.saving.load_model` then works right after `import kerasgen`.
    _registry.load_all()

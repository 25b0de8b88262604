"""The kerasgen zoo: pretrained presets that load in one line (installed as
`kerasgen.zoo`).

```python
import kerasgen

model = kerasgen.load("dcgan-mnist")            # any preset, by name
model = kerasgen.DCGAN.from_preset("dcgan-mnist")  # the same, family checked
images = model.sample(16, seed=0)
```

One folder per preset (family first, then data, then a size where one
family has several: `dcgan-mnist`, `cyclegan-cat2dog`), each with `config.json`,
`model.weights.h5`, `metadata.json` (the sha256 of every other file,
checked before anything loads; the data, steps, hardware and metrics) and
a model card `README.md` with its `samples.png`; `index.json` lists them.
`kerasgen zoo list` shows them, `kerasgen zoo publish RUN --name NAME`
makes one from a finished run (how the project's own are made), and
`register(name, handle, sha256)` adds one published elsewhere
(`https://`, `file://`, a folder, `hf://`, `kaggle://`), fetched once into
`$KERASGEN_HOME` and checked against its sha256 (`kerasgen.zoo.fetch`).
"""

from kerasgen.zoo.registry import PresetError
from kerasgen.zoo.registry import info
from kerasgen.zoo.registry import list_presets as list  # noqa: A001  (kerasgen.zoo.list())
from kerasgen.zoo.registry import load
from kerasgen.zoo.registry import preset_names
from kerasgen.zoo.registry import preset_path as path
from kerasgen.zoo.registry import register
from kerasgen.zoo.registry import registered_presets
from kerasgen.zoo.registry import unregister

__all__ = ["PresetError", "info", "list", "load", "path", "preset_names", "register",
           "registered_presets", "unregister"]

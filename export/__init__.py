"""Export of trained kerasgen models for serving (installed as `kerasgen.export`).

Export knows no family by name: it serves the endpoints a model declares
(`serving_endpoints()`, the main one named by `serving_default`; see
`kerasgen.models.serving`), one signature each, and refuses in one line a
model that declares none.

- `saved_model(model, out_dir, name=None, version=None)`: a SavedModel in TF
  Serving's layout, `out_dir/<name>/<version>/`, with the declared
  signatures (`generate`, `decode`, `translate`, ...) and `serving_default`,
  and `out_dir/models.config` beside it.
- `tflite(model, out, quantize="none"|"float16"|"dynamic-int8"|"int8")`: a
  TFLite (LiteRT) file with the same signatures, checked by running it;
  `"int8"` (full-integer) is calibrated on representative inputs
  (`kerasgen.export.calibration`, `calibration_data=`).
- `describe_signatures(model)`: what a model exports, as a Markdown table.

Both go through TensorFlow: run them with `KERAS_BACKEND=tensorflow` (a
checkpoint trained on JAX loads there unchanged). `kerasgen export` is the
command-line form; export/GUIDE.md shows how to serve the result with
TF Serving (REST and gRPC) and LiteRT.

Importing this package does not import TensorFlow (the exporters import it
when called), so `import kerasgen.export` is cheap on JAX.

Example:

```python
import tempfile, keras, kerasgen
if keras.backend.backend() == "tensorflow":
    model = kerasgen.VAE(image_size=8, latent_dim=2, filters=4)
    kerasgen.export.saved_model(model, tempfile.mkdtemp())  # '.../vae/1'
```
"""

from kerasgen.export.litert import QUANTIZATIONS
from kerasgen.export.litert import UnsupportedOpsError
from kerasgen.export.litert import tflite
from kerasgen.export.serving import saved_model
from kerasgen.export.serving import write_models_config
from kerasgen.export.signatures import build_export_archive
from kerasgen.export.signatures import describe_signatures
from kerasgen.export.signatures import signature_names

__all__ = [
    "QUANTIZATIONS",
    "UnsupportedOpsError",
    "build_export_archive",
    "describe_signatures",
    "saved_model",
    "signature_names",
    "tflite",
    "write_models_config",
]

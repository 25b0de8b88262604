"""Export of trained kerasgen models for serving (installed as `kerasgen.export`).

Families: VAE, every generator family (GAN, DCGAN, WGAN, WGAN-GP,
conditional GAN, AC-GAN: a `generator` from latents `z`, with labels when
conditional), and the image-to-image families (CycleGAN: `translate_a2b`,
`translate_b2a`; pix2pix: `translate`).

- `saved_model(model, out_dir, name=None, version=None)`: a SavedModel in TF
  Serving's layout, `out_dir/<name>/<version>/`, with named signatures
  (`generate`, `generate_from_seed`, `encode`, `decode`, `reconstruct`,
  `translate*`, `serving_default`) and `out_dir/models.config` beside it.
- `tflite(model, out, quantize="none"|"float16"|"dynamic-int8")`: a
  TFLite (LiteRT) file with the same signatures, checked by running it.

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

__all__ = [
    "QUANTIZATIONS",
    "UnsupportedOpsError",
    "build_export_archive",
    "saved_model",
    "tflite",
    "write_models_config",
]

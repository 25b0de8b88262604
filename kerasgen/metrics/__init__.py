"""How good a model is: sample-quality metrics (FID, KID, Inception Score,
precision/recall, density/coverage) on named feature extractors, and
translation metrics (L1, PSNR, SSIM, the share judged of the target domain).

- `statistics`, `translation`: the numerics, on numpy arrays (features,
  class probabilities, images), as the reference implementations have
  them.
- `extractors`: the named networks that read images (`lenet-mnist`,
  `catdog-classifier-64`, `inception-v3`); `classifiers` builds and trains
  kerasgen's own; `inception` is the FID Inception.
- `evaluate`: `evaluate_samples(model, real_images)` and
  `evaluate_translation(model, inputs, targets)`, written once against the
  families' interfaces (`sample`, `translate`), with cached statistics of
  the real images; `callback.EvaluateEvery` measures during `fit()`.

```python
import kerasgen
from kerasgen.data import load_images
from kerasgen.metrics import evaluate_samples
model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                       discriminator_filters=4)
real = load_images(image_size=8, max_images=200).images
result = evaluate_samples(model, real, ["fid"], n=200, cache=False)
[row["label"] for row in result["rows"]]  # ['FID (lenet-mnist)']
```

Importing this package loads numpy and scipy only; Keras is imported when
an extractor is built.
"""

from kerasgen.metrics.statistics import density_coverage
from kerasgen.metrics.statistics import feature_statistics
from kerasgen.metrics.statistics import frechet_distance
from kerasgen.metrics.statistics import frechet_distance_from_features
from kerasgen.metrics.statistics import inception_score
from kerasgen.metrics.statistics import kernel_inception_distance
from kerasgen.metrics.statistics import precision_recall
from kerasgen.metrics.evaluate import evaluate_samples
from kerasgen.metrics.evaluate import evaluate_translation
from kerasgen.metrics.extractors import EXTRACTOR_NAMES
from kerasgen.metrics.extractors import FeatureExtractor
from kerasgen.metrics.extractors import load_extractor
from kerasgen.metrics.translation import mean_absolute_error
from kerasgen.metrics.translation import psnr
from kerasgen.metrics.translation import ssim
from kerasgen.metrics.translation import target_domain_share

__all__ = [
    "EXTRACTOR_NAMES",
    "EvaluateEvery",
    "FeatureExtractor",
    "evaluate_samples",
    "evaluate_translation",
    "load_extractor",
    "density_coverage",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_features",
    "inception_score",
    "kernel_inception_distance",
    "precision_recall",
    "mean_absolute_error",
    "psnr",
    "ssim",
    "target_domain_share",
]


def __getattr__(name):
    # The callback subclasses keras.callbacks.Callback: imported on use only.
    if name == "EvaluateEvery":
        from kerasgen.metrics.callback import EvaluateEvery

        return EvaluateEvery
    raise AttributeError(f"module 'kerasgen.metrics' has no attribute {name!r}")

"""Image data for every kerasgen family.

`load_images()` reads any supported source (the built-in digits, image
folders, MNIST IDX files, `.npz` arrays, tensorflow-datasets) into an
`ImageData` of uint8 images; `make_batches()` turns it into batches scaled to
[-1, 1] for `model.fit()`: a `tf.data.Dataset` on TensorFlow, numpy batches
on JAX (without importing TensorFlow).

```python
from kerasgen.data import load_images, make_batches

data = load_images(image_size=16)  # scikit-learn's digits, offline.
batches = make_batches(data, batch_size=64)
# model.fit(batches, steps_per_epoch=len(data) // 64, epochs=10)
```
"""

from kerasgen.data.image_data import ImageData
from kerasgen.data.image_data import from_unit_range
from kerasgen.data.image_data import to_unit_range
from kerasgen.data.pairs import load_paired
from kerasgen.data.pairs import load_unpaired
from kerasgen.data.pairs import make_pair_batches
from kerasgen.data.pairs import pair_steps_per_epoch
from kerasgen.data.pipeline import make_batches
from kerasgen.data.sources import load_images

__all__ = [
    "ImageData",
    "from_unit_range",
    "load_images",
    "load_paired",
    "load_unpaired",
    "make_batches",
    "make_pair_batches",
    "pair_steps_per_epoch",
    "to_unit_range",
]

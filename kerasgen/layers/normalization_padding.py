"""Instance normalization and reflection padding: the two pieces that make
the image-to-image networks of CycleGAN and pix2pix (Ulyanov et al. 2016;
Zhu et al. 2017; Isola et al. 2017).
"""

import keras
from keras import layers
from keras import ops


def instance_normalization(name=None):
    """Instance normalization: each channel of each image normalized over
    its own height and width (Ulyanov et al. 2016,
    https://arxiv.org/abs/1607.08022).

    `GroupNormalization(groups=-1)`: one group per channel. (`groups=1`, as
    in the keras-io CycleGAN, normalizes over all channels together, which
    is layer normalization.) No learned scale and offset, like the
    reference CycleGAN code (`nn.InstanceNorm2d`, `affine=False`).

    Example:

    ```python
    import numpy as np
    x = np.random.normal(3.0, 2.0, (2, 8, 8, 4)).astype("float32")
    y = instance_normalization()(x)
    float(abs(np.asarray(y).mean(axis=(1, 2))).max()) < 1e-4  # True
    ```
    """
    return layers.GroupNormalization(
        groups=-1, epsilon=1e-5, center=False, scale=False, name=name
    )


@keras.saving.register_keras_serializable(package="kerasgen")
class ReflectionPadding2D(layers.Layer):
    """Pads height and width by mirroring the image at its border.

    Used before the 7x7 and 3x3 convolutions of the CycleGAN generator so
    that zero borders do not become artifacts at the image edges.

    Args:
        padding: int. Pixels added on each side. Defaults to 1.

    Example:

    ```python
    import numpy as np
    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    y = ReflectionPadding2D(1)(x)
    np.asarray(y)[0, :, :, 0][0].tolist()  # [4.0, 3.0, 4.0, 5.0, 4.0]
    ```
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        grow = lambda size: None if size is None else size + 2 * self.padding
        return (n, grow(h), grow(w), c)

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding)
        return config

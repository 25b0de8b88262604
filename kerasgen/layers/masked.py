"""Masked convolutions of the autoregressive image models (PixelCNN).

- van den Oord, Kalchbrenner and Kavukcuoglu 2016, "Pixel Recurrent Neural
  Networks", https://arxiv.org/abs/1601.06759, section 3.4 (masks A and B,
  the colour channels' order R, G, B).
- van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
  Decoders", https://arxiv.org/abs/1606.05328, section 2.2 (the vertical
  and horizontal stacks that remove the blind spot).

Pixels are generated in raster order (row by row, left to right) and, in
one pixel, channel by channel. A convolution stays causal when its kernel
is zero wherever the input comes later than the output:

- `"raster"` masks keep the rows above the centre and the columns left of
  it in the centre row; at the centre itself, mask **A** (the first layer)
  lets an output see only earlier channels, mask **B** (every later layer)
  also its own. With a `(1, k)` kernel this is the horizontal stack's
  convolution.
- `"vertical"` masks keep only rows above the centre (A) or up to and
  including it (B): the vertical stack, whose features at a pixel depend on
  the rows above it only, so it needs no channel order.

Channels are ordered in groups: with `color_groups = 3`, the first third of
a layer's channels belong to R, the next to G, the last to B (for an output
split into `output_split` parts, such as the gated unit's two halves, each
part in the same way), and an output of group g sees inputs of the groups
before g (A) or up to g (B) at the centre.

Example:

```python
import numpy as np
conv = MaskedConv2D(4, 3, mask_type="A")
conv(np.zeros((1, 5, 5, 1), "float32")).shape  # (1, 5, 5, 4)
conv.mask[:, :, 0, 0].astype(int).tolist()  # [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
```
"""

import keras
import numpy as np
from keras import ops

MASK_TYPES = ("A", "B")
MASK_SHAPES = ("raster", "vertical")


def channel_groups(channels, groups, split=1):
    """The colour group of each of `channels` channels (see the module
    docstring): block layout in each of `split` equal parts.

    Example:

    ```python
    channel_groups(6, 3).tolist()  # [0, 0, 1, 1, 2, 2]
    ```
    """
    part = channels // split
    return (np.arange(channels) % part) * groups // part


def causal_mask(kernel_size, in_channels, out_channels, mask_type="B", mask_shape="raster",
                color_groups=1, output_split=1):
    """The 0/1 mask `(kh, kw, in_channels, out_channels)` of a causal
    convolution (see the module docstring)."""
    kh, kw = kernel_size
    ch, cw = kh // 2, kw // 2
    mask = np.zeros((kh, kw, in_channels, out_channels), "float32")
    if mask_shape == "vertical":
        mask[:ch + (mask_type == "B")] = 1.0
        return mask
    mask[:ch] = 1.0
    mask[ch, :cw] = 1.0
    groups_in = channel_groups(in_channels, color_groups)
    groups_out = channel_groups(out_channels, color_groups, output_split)
    if mask_type == "A":
        mask[ch, cw] = groups_in[:, None] < groups_out[None, :]
    else:
        mask[ch, cw] = groups_in[:, None] <= groups_out[None, :]
    return mask


@keras.saving.register_keras_serializable(package="kerasgen")
class MaskedConv2D(keras.layers.Layer):
    """A 2-D convolution ("same" padding, stride 1) whose kernel is masked
    so that each output sees only the inputs generated before it.

    Args:
        filters: int. Output channels; divisible by `color_groups *
            output_split`.
        kernel_size: int or `(kh, kw)`, odd sizes.
        mask_type: `"A"` (the first layer: not the pixel's own channel) or
            `"B"` (later layers). Defaults to `"B"`.
        mask_shape: `"raster"` or `"vertical"`. Defaults to `"raster"`.
        color_groups: int. Colour channels generated in order (1 or 3).
            Defaults to 1.
        output_split: int. Equal parts of the outputs that each follow the
            group layout (2 for a gated unit's tanh and sigmoid halves).
            Defaults to 1.
        use_bias: bool. Defaults to True.

    Example:

    ```python
    import numpy as np
    vertical = MaskedConv2D(2, 3, mask_type="B", mask_shape="vertical")
    vertical(np.zeros((1, 4, 4, 1), "float32")).shape  # (1, 4, 4, 2)
    ```
    """

    def __init__(self, filters, kernel_size, mask_type="B", mask_shape="raster", color_groups=1,
                 output_split=1, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        kernel_size = tuple(int(k) for k in kernel_size)
        if len(kernel_size) != 2 or any(k < 1 or k % 2 == 0 for k in kernel_size):
            raise ValueError(f"`kernel_size` must be odd. Received: kernel_size={kernel_size}")
        if mask_type not in MASK_TYPES:
            raise ValueError(f"`mask_type` is one of {MASK_TYPES}. "
                             f"Received: mask_type={mask_type!r}")
        if mask_shape not in MASK_SHAPES:
            raise ValueError(f"`mask_shape` is one of {MASK_SHAPES}. "
                             f"Received: mask_shape={mask_shape!r}")
        if filters % (color_groups * output_split):
            raise ValueError(
                f"`filters` must be divisible by color_groups * output_split = "
                f"{color_groups * output_split}. Received: filters={filters}")
        self.filters = int(filters)
        self.kernel_size = kernel_size
        self.mask_type = mask_type
        self.mask_shape = mask_shape
        self.color_groups = int(color_groups)
        self.output_split = int(output_split)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        if in_channels % self.color_groups:
            raise ValueError(
                f"The input's channels must be divisible by color_groups = "
                f"{self.color_groups}. Received: input_shape={input_shape}")
        self.mask = causal_mask(self.kernel_size, in_channels, self.filters, self.mask_type,
                                self.mask_shape, self.color_groups, self.output_split)
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (in_channels, self.filters),
            initializer="glorot_uniform")
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def call(self, inputs):
        kernel = self.kernel * ops.convert_to_tensor(self.mask, self.kernel.dtype)
        outputs = ops.conv(inputs, kernel, strides=1, padding="same")
        if self.bias is not None:
            outputs = outputs + self.bias
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size,
                      mask_type=self.mask_type, mask_shape=self.mask_shape,
                      color_groups=self.color_groups, output_split=self.output_split,
                      use_bias=self.use_bias)
        return config


@keras.saving.register_keras_serializable(package="kerasgen")
class GatedActivation(keras.layers.Layer):
    """The gated unit of the gated PixelCNN (2016b, eq. 2): `tanh(a) *
    sigmoid(b)` of the two halves `a, b` of the channels.

    Example:

    ```python
    import numpy as np
    GatedActivation()(np.zeros((1, 2, 2, 4), "float32")).shape  # (1, 2, 2, 2)
    ```
    """

    def call(self, inputs):
        a, b = ops.split(inputs, 2, axis=-1)
        return ops.tanh(a) * ops.sigmoid(b)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] // 2,)

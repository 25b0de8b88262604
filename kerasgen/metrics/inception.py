"""The FID Inception network (`inception-v3`) in Keras, and its weights.

FID is defined on the 2048 pool3 features of one network: the TensorFlow
Inception graph of 2015-12-05 that TF-GAN and the original FID code use.
pytorch-fid ported it to PyTorch (`fid_inception_v3()` in
`pytorch_fid/inception.py`): torchvision's `Inception3` with a 1008-class
`fc` head and no auxiliary head, with the pooling of four blocks changed to
match TensorFlow (the `branch_pool` average pools of `Mixed_5b..5d`,
`Mixed_6b..6e` and `Mixed_7b` leave the zero padding out of the mean, and
`Mixed_7c` max-pools there). `build_fid_inception_v3` rebuilds that network
in `keras.layers`, channels-last, with layer names taken from the torch
module names (`Mixed_5b.branch1x1.conv` -> `Mixed_5b_branch1x1_conv`), so
that pytorch-fid's weights file maps onto it key by key.

The weights are pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`
(`FID_WEIGHTS_URL`). kerasgen reads that file without PyTorch and without
running any code from it (`read_torch_state_dict`: a pickle reader that
knows tensors, storages and `OrderedDict`, and refuses everything else).
`fid_inception_v3()` looks for it at `weights=`, else at
`$KERASGEN_HOME/weights/pt_inception-2015-12-05-6726825d.pth` (default
`~/.cache/kerasgen/weights/`), checked against its sha256 (`FID_WEIGHTS_SHA256`);
with `download=True` it fetches it there first.

Images go in through `fid_preprocess`, pytorch-fid's preprocessing
(bilinear resize to 299x299 without antialiasing, then `2 * x - 1`), so
the numbers compare with pytorch-fid and TF-GAN style FID, not with
clean-fid (which resizes with PIL's antialiased bicubic filter).
"""

import collections
import hashlib
import io
import os
import pickle
import struct
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from kerasgen.utils.io import cache_home
from kerasgen.utils.io import sha256_of

#: The file name of pytorch-fid's FID Inception weights.
FID_WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
#: Where pytorch-fid publishes them.
FID_WEIGHTS_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/"
                   "fid_weights/" + FID_WEIGHTS_FILENAME)
#: The sha256 of that file (95,628,359 bytes). Its first 8 hex digits are
#: the `6726825d` of the file name, torch.hub's convention; the full digest
#: is the one stated for this file by several independent projects that
#: pin it (the same file torch-fidelity re-hosts as
#: `weights-inception-2015-12-05-6726825d.pth`).
FID_WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"

#: The input size of the network.
FID_IMAGE_SIZE = 299


# --- The network -------------------------------------------------------------


def _conv_bn(x, path, filters, kernel, strides=1, padding=(0, 0)):
    """pytorch-fid's `BasicConv2d` at the torch module `path`: explicit zero
    padding, a bias-free valid convolution, BatchNorm (eps 0.001), ReLU."""
    from keras import layers

    name = path.replace(".", "_")
    if padding != (0, 0):
        ph, pw = padding
        x = layers.ZeroPadding2D(((ph, ph), (pw, pw)), name=f"{name}_pad",
                                 dtype="float32")(x)
    x = layers.Conv2D(filters, kernel, strides=strides, padding="valid",
                      use_bias=False, name=f"{name}_conv", dtype="float32")(x)
    x = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_bn",
                                  dtype="float32")(x)
    return layers.ReLU(name=f"{name}_relu", dtype="float32")(x)


def _pool_3x3(x, name, kind):
    """3x3 stride-1 pooling padded by 1: `"avg"` leaves the padding out of
    the mean (torch's `count_include_pad=False`, which Keras's "same"
    average pooling does on TensorFlow and JAX), `"max"` pads with -inf."""
    from keras import layers

    pool = layers.AveragePooling2D if kind == "avg" else layers.MaxPooling2D
    return pool(3, strides=1, padding="same", name=name, dtype="float32")(x)


def _concat(tensors, name):
    from keras import layers

    return layers.Concatenate(axis=-1, name=name, dtype="float32")(tensors)


def _inception_a(x, m, pool_features):
    b1 = _conv_bn(x, f"{m}.branch1x1", 64, 1)
    b5 = _conv_bn(x, f"{m}.branch5x5_1", 48, 1)
    b5 = _conv_bn(b5, f"{m}.branch5x5_2", 64, 5, padding=(2, 2))
    b3 = _conv_bn(x, f"{m}.branch3x3dbl_1", 64, 1)
    b3 = _conv_bn(b3, f"{m}.branch3x3dbl_2", 96, 3, padding=(1, 1))
    b3 = _conv_bn(b3, f"{m}.branch3x3dbl_3", 96, 3, padding=(1, 1))
    bp = _pool_3x3(x, f"{m}_avgpool", "avg")
    bp = _conv_bn(bp, f"{m}.branch_pool", pool_features, 1)
    return _concat([b1, b5, b3, bp], m)


def _inception_b(x, m):
    from keras import layers

    b3 = _conv_bn(x, f"{m}.branch3x3", 384, 3, strides=2)
    bd = _conv_bn(x, f"{m}.branch3x3dbl_1", 64, 1)
    bd = _conv_bn(bd, f"{m}.branch3x3dbl_2", 96, 3, padding=(1, 1))
    bd = _conv_bn(bd, f"{m}.branch3x3dbl_3", 96, 3, strides=2)
    bp = layers.MaxPooling2D(3, strides=2, name=f"{m}_maxpool", dtype="float32")(x)
    return _concat([b3, bd, bp], m)


def _inception_c(x, m, c7):
    b1 = _conv_bn(x, f"{m}.branch1x1", 192, 1)
    b7 = _conv_bn(x, f"{m}.branch7x7_1", c7, 1)
    b7 = _conv_bn(b7, f"{m}.branch7x7_2", c7, (1, 7), padding=(0, 3))
    b7 = _conv_bn(b7, f"{m}.branch7x7_3", 192, (7, 1), padding=(3, 0))
    bd = _conv_bn(x, f"{m}.branch7x7dbl_1", c7, 1)
    bd = _conv_bn(bd, f"{m}.branch7x7dbl_2", c7, (7, 1), padding=(3, 0))
    bd = _conv_bn(bd, f"{m}.branch7x7dbl_3", c7, (1, 7), padding=(0, 3))
    bd = _conv_bn(bd, f"{m}.branch7x7dbl_4", c7, (7, 1), padding=(3, 0))
    bd = _conv_bn(bd, f"{m}.branch7x7dbl_5", 192, (1, 7), padding=(0, 3))
    bp = _pool_3x3(x, f"{m}_avgpool", "avg")
    bp = _conv_bn(bp, f"{m}.branch_pool", 192, 1)
    return _concat([b1, b7, bd, bp], m)


def _inception_d(x, m):
    from keras import layers

    b3 = _conv_bn(x, f"{m}.branch3x3_1", 192, 1)
    b3 = _conv_bn(b3, f"{m}.branch3x3_2", 320, 3, strides=2)
    b7 = _conv_bn(x, f"{m}.branch7x7x3_1", 192, 1)
    b7 = _conv_bn(b7, f"{m}.branch7x7x3_2", 192, (1, 7), padding=(0, 3))
    b7 = _conv_bn(b7, f"{m}.branch7x7x3_3", 192, (7, 1), padding=(3, 0))
    b7 = _conv_bn(b7, f"{m}.branch7x7x3_4", 192, 3, strides=2)
    bp = layers.MaxPooling2D(3, strides=2, name=f"{m}_maxpool", dtype="float32")(x)
    return _concat([b3, b7, bp], m)


def _inception_e(x, m, pool):
    b1 = _conv_bn(x, f"{m}.branch1x1", 320, 1)
    b3 = _conv_bn(x, f"{m}.branch3x3_1", 384, 1)
    b3 = _concat([_conv_bn(b3, f"{m}.branch3x3_2a", 384, (1, 3), padding=(0, 1)),
                  _conv_bn(b3, f"{m}.branch3x3_2b", 384, (3, 1), padding=(1, 0))],
                 f"{m}_branch3x3")
    bd = _conv_bn(x, f"{m}.branch3x3dbl_1", 448, 1)
    bd = _conv_bn(bd, f"{m}.branch3x3dbl_2", 384, 3, padding=(1, 1))
    bd = _concat([_conv_bn(bd, f"{m}.branch3x3dbl_3a", 384, (1, 3), padding=(0, 1)),
                  _conv_bn(bd, f"{m}.branch3x3dbl_3b", 384, (3, 1), padding=(1, 0))],
                 f"{m}_branch3x3dbl")
    bp = _pool_3x3(x, f"{m}_{pool}pool", pool)
    bp = _conv_bn(bp, f"{m}.branch_pool", 192, 1)
    return _concat([b1, b3, bd, bp], m)


def build_fid_inception_v3(include_logits=False):
    """pytorch-fid's FID Inception v3 as a Keras model, without weights.

    Images `(N, 299, 299, 3)` in [-1, 1] (see `fid_preprocess`) go to the
    2048 pool3 features (the global average pool after `Mixed_7c`), and,
    with `include_logits`, also to the 1008 logits of the `fc` head.
    Every layer computes in float32, whatever the global dtype policy.

    Layer names are the torch module names with `.` as `_`: the
    `Conv2d_1a_3x3.conv` / `.bn` of the torch model are `Conv2d_1a_3x3_conv`
    / `Conv2d_1a_3x3_bn` here, `Mixed_5b.branch1x1.conv` is
    `Mixed_5b_branch1x1_conv`, and the head is `fc`
    (`fid_inception_state_keys` lists the torch keys they take).

    Args:
        include_logits: bool. Whether the model also returns the logits.
            Defaults to False.

    Returns:
        A functional `keras.Model` giving the features `(N, 2048)`, or
        `[features, logits]` with `include_logits`. Load its weights with
        `load_fid_inception_weights`, or build and load in one step with
        `fid_inception_v3`.
    """
    import keras
    from keras import layers

    inputs = keras.Input((FID_IMAGE_SIZE, FID_IMAGE_SIZE, 3), name="image",
                         dtype="float32")
    x = _conv_bn(inputs, "Conv2d_1a_3x3", 32, 3, strides=2)
    x = _conv_bn(x, "Conv2d_2a_3x3", 32, 3)
    x = _conv_bn(x, "Conv2d_2b_3x3", 64, 3, padding=(1, 1))
    x = layers.MaxPooling2D(3, strides=2, name="maxpool1", dtype="float32")(x)
    x = _conv_bn(x, "Conv2d_3b_1x1", 80, 1)
    x = _conv_bn(x, "Conv2d_4a_3x3", 192, 3)
    x = layers.MaxPooling2D(3, strides=2, name="maxpool2", dtype="float32")(x)
    x = _inception_a(x, "Mixed_5b", 32)
    x = _inception_a(x, "Mixed_5c", 64)
    x = _inception_a(x, "Mixed_5d", 64)
    x = _inception_b(x, "Mixed_6a")
    x = _inception_c(x, "Mixed_6b", 128)
    x = _inception_c(x, "Mixed_6c", 160)
    x = _inception_c(x, "Mixed_6d", 160)
    x = _inception_c(x, "Mixed_6e", 192)
    x = _inception_d(x, "Mixed_7a")
    x = _inception_e(x, "Mixed_7b", "avg")
    x = _inception_e(x, "Mixed_7c", "max")
    features = layers.GlobalAveragePooling2D(name="avgpool", dtype="float32")(x)
    if not include_logits:
        return keras.Model(inputs, features, name="fid_inception_v3")
    logits = layers.Dense(1008, name="fc", dtype="float32")(features)
    return keras.Model(inputs, [features, logits], name="fid_inception_v3")


# --- Preprocessing -----------------------------------------------------------


def fid_preprocess(images, value_range=(0.0, 1.0)):
    """Images as the FID Inception reads them: pytorch-fid's preprocessing.

    uint8 images are read as [0, 255]; float images as `value_range`
    ([0, 1] by default, pytorch-fid's convention; pass `(-1, 1)` for images
    as kerasgen's models make them), and refused when their values are
    outside it. Greyscale is repeated to 3 channels. Then, as pytorch-fid's
    `InceptionV3` (`resize_input=True, normalize_input=True`): a bilinear
    resize to 299x299 with half-pixel centres and no antialiasing
    (`F.interpolate(..., mode="bilinear", align_corners=False)`, here
    `torch_bilinear_resize`), and `2 * x - 1`.

    This is pytorch-fid's resize, not clean-fid's antialiased PIL resize:
    FIDs computed on these inputs compare with pytorch-fid and TF-GAN style
    FID, not with clean-fid.

    Args:
        images: array `(N, H, W, 1 or 3)`, uint8 or float.
        value_range: tuple of 2 floats. The range of float images.
            Defaults to `(0.0, 1.0)`.

    Returns:
        A float32 numpy array `(N, 299, 299, 3)` in [-1, 1].

    Example:

    ```python
    import numpy as np
    grey = np.full((2, 28, 28, 1), 255, "uint8")
    x = fid_preprocess(grey)
    x.shape  # (2, 299, 299, 3)
    float(x.min()), float(x.max())  # (1.0, 1.0)
    fid_preprocess(np.zeros((1, 8, 8, 3)), value_range=(-1, 1)).max()  # 0.0
    ```
    """
    from keras import ops

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "Images must be (N, H, W, 1 or 3). "
            f"Received: shape={images.shape}")
    if images.dtype == np.uint8:
        images = images.astype("float32") / np.float32(255.0)
    elif np.issubdtype(images.dtype, np.floating):
        low, high = (float(v) for v in value_range)
        if high <= low:
            raise ValueError(f"value_range must be (low, high). Received: {value_range}")
        if images.size and (images.min() < low - 1e-3 or images.max() > high + 1e-3):
            raise ValueError(
                f"Float images must be in value_range={tuple(value_range)}. "
                f"Received: values in [{images.min():.3g}, {images.max():.3g}]")
        images = ((images.astype("float32") - np.float32(low))
                  / np.float32(high - low))
    else:
        raise ValueError(
            f"Images must be uint8 or float. Received: dtype={images.dtype}")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if not len(images):
        images = np.zeros((0, FID_IMAGE_SIZE, FID_IMAGE_SIZE, 3), "float32")
    elif images.shape[1:3] != (FID_IMAGE_SIZE, FID_IMAGE_SIZE):
        images = ops.convert_to_numpy(
            torch_bilinear_resize(images, (FID_IMAGE_SIZE, FID_IMAGE_SIZE)))
    return np.float32(2.0) * images - np.float32(1.0)


def _bilinear_taps(n_in, n_out):
    """The two source indices and weights of each output index, as
    PyTorch's 2-D CPU kernel computes them: `src = max(scale * (dst + 0.5)
    - 0.5, 0)` with the float32 `scale = n_in / n_out`, rounded once to
    float32 (a fused multiply-add), `i0 = floor(src)`,
    `i1 = min(i0 + 1, n_in - 1)`, weights `1 - (src - i0)` and `src - i0`."""
    scale = np.float32(n_in) / np.float32(n_out)
    src = (np.float64(scale) * (np.arange(n_out) + 0.5) - 0.5).astype("float32")
    src = np.maximum(src, np.float32(0.0))
    i0 = np.minimum(src.astype("int32"), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = (src - i0.astype("float32")).astype("float32")
    return i0, i1, np.float32(1.0) - w1, w1


def torch_bilinear_resize(images, size):
    """`F.interpolate(x, size, mode="bilinear", align_corners=False)` of
    PyTorch (no antialiasing), channels-last, in `keras.ops`.

    A gather and a linear blend per axis (width, then height) with the
    source coordinates of PyTorch's 2-D CPU kernel, so shrinking and
    enlarging agree with `F.interpolate` on NCHW images to float32
    rounding (~2e-7) on every backend and device: no matrix products,
    whose precision some accelerators lower. (How PyTorch rounds the
    coordinates differs between its own kernels by up to ~3e-5;
    `keras.ops.image.resize(..., antialias=False)` is within ~1e-5 too.)

    Args:
        images: float tensor `(N, H, W, C)`.
        size: tuple of 2 ints, `(height, width)`.

    Returns:
        A float32 tensor `(N, height, width, C)`.

    Example:

    ```python
    import numpy as np
    x = np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1)
    y = torch_bilinear_resize(x, (1, 4))
    np.asarray(y).ravel().tolist()  # [0.0, 0.25, 0.75, 1.0]
    ```
    """
    from keras import ops

    x = ops.cast(images, "float32")
    height, width = (int(n) for n in size)
    for axis, n_out in ((2, width), (1, height)):
        n_in = int(x.shape[axis])
        if n_in == n_out:
            continue
        i0, i1, w0, w1 = _bilinear_taps(n_in, n_out)
        shape = [1, 1, 1, 1]
        shape[axis] = n_out
        x = (ops.take(x, i0, axis=axis) * w0.reshape(shape)
             + ops.take(x, i1, axis=axis) * w1.reshape(shape))
    return x


# --- Reading PyTorch files without PyTorch -----------------------------------

# The storage types a plain tensor file may name, as little-endian dtypes.
_STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2",
    "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?",
}
_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch's legacy (pre-zip) format
_PROTOCOL_VERSION = 1001


class _Refused(Exception):
    """A pickle asked for something a plain tensor file never holds."""


class _Inert:
    """kerasgen's stand-ins for torch objects: a pickle may not set their
    state (BUILD), only create them through the whitelisted functions."""

    def __setstate__(self, state):
        raise _Refused("state for an object that takes none")


class _StorageType(_Inert):
    """Stands for `torch.FloatStorage` and its kin: a dtype, nothing more."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage(_Inert):
    """A flat array of `numel` elements, filled now (zip) or later (legacy)."""

    def __init__(self, dtype, numel, root=None, offset=0):
        self.dtype = dtype
        self.numel = numel
        self.root = root
        self.offset = offset
        self.data = None

    def array(self):
        if self.root is not None:
            return self.root.array()[self.offset:self.offset + self.numel]
        if self.data is None:
            raise _Refused("a storage whose data the file does not hold")
        return self.data


class _LazyTensor(_Inert):
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self):
        flat = self.storage.array()
        size, stride, offset = self.size, self.stride, self.offset
        if any(n == 0 for n in size):
            return np.zeros(size, flat.dtype)
        if int(np.prod(size, dtype=object)) > flat.size:
            raise _Refused("a tensor larger than its storage")
        # The last element a view reaches must lie in the storage: a strided
        # view is never allowed to read past its buffer.
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if offset >= flat.size or last >= flat.size:
            raise _Refused("a tensor that reaches outside its storage")
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=[s * itemsize for s in stride],
            writeable=False)
        return np.array(view)


def _int_tuple(value, what):
    if not isinstance(value, tuple) or not all(
            type(v) is int and v >= 0 for v in value):
        raise _Refused(f"a tensor {what} that is not a tuple of counts")
    return value


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """`torch._utils._rebuild_tensor_v2`, building a numpy array instead."""
    if not isinstance(storage, _Storage) or type(storage_offset) is not int or storage_offset < 0:
        raise _Refused("a tensor without a storage")
    size = _int_tuple(size, "size")
    stride = _int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise _Refused("a tensor whose size and stride differ in length")
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    """`torch._utils._rebuild_parameter`: a parameter is its data."""
    if not isinstance(data, _LazyTensor):
        raise _Refused("a parameter that is not a tensor")
    return data


_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _TensorUnpickler(pickle.Unpickler):
    """Unpickles a state dict: only the globals in `_GLOBALS` and the storage
    types, each mapped to kerasgen's own function; anything else (a module,
    a function, a class of any other name) stops the load unrun."""

    def __init__(self, file, storages, byteorder, read_storage=None):
        super().__init__(file)
        self._storages = storages
        self._byteorder = byteorder
        self._read_storage = read_storage

    def find_class(self, module, name):
        if (module, name) in _GLOBALS:
            return _GLOBALS[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise _Refused(f"a reference to {module}.{name}")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) not in (5, 6):
            raise _Refused("a persistent object that is not a storage")
        typename = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) == 6 else None
        if isinstance(key, bytes):
            key = key.decode("ascii")
        if (typename != "storage" or not isinstance(storage_type, _StorageType)
                or not isinstance(key, str) or type(numel) is not int or numel < 0):
            raise _Refused("a persistent object that is not a storage")
        dtype = storage_type.dtype.newbyteorder(self._byteorder)
        storage = self._storages.get(key)
        if storage is None:
            storage = _Storage(dtype, numel)
            if self._read_storage is not None:
                storage.data = self._read_storage(key, dtype, numel)
            self._storages[key] = storage
        if view is None:
            return storage
        if (not isinstance(view, tuple) or len(view) != 3
                or not all(type(v) is int and v >= 0 for v in view[1:])
                or view[1] + view[2] > numel):
            raise _Refused("a storage view outside its storage")
        view_key = view[0].decode("ascii") if isinstance(view[0], bytes) else view[0]
        if view_key not in self._storages:
            self._storages[view_key] = _Storage(dtype, view[2], root=storage,
                                                offset=view[1])
        return self._storages[view_key]


def _unpickle(file, storages, byteorder, read_storage=None):
    return _TensorUnpickler(file, storages, byteorder, read_storage).load()


def _read_zip(path):
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist()
                   if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise _Refused("a zip without exactly one data.pkl")
        prefix = pickles[0][:-len("data.pkl")]
        names = set(archive.namelist())
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = archive.read(prefix + "byteorder").decode("ascii").strip()
            if byteorder not in ("little", "big"):
                raise _Refused(f"the byte order {byteorder!r}")

        def read_storage(key, dtype, numel):
            name = f"{prefix}data/{key}"
            if name not in names:
                raise _Refused(f"a storage {key!r} the zip does not hold")
            nbytes = numel * dtype.itemsize
            if archive.getinfo(name).file_size != nbytes:
                raise _Refused(f"a storage {key!r} of the wrong size")
            return np.frombuffer(archive.read(name), dtype, numel)

        storages = {}
        order = "<" if byteorder == "little" else ">"
        return _unpickle(io.BytesIO(archive.read(pickles[0])), storages, order,
                         read_storage)


def _read_legacy(path):
    """torch's format before 1.6: pickled magic number, protocol version and
    system info, the object, the sorted storage keys, then each storage as
    an int64 element count and its raw bytes."""
    with open(path, "rb") as file:
        if _unpickle(file, {}, "<") != _MAGIC_NUMBER:
            raise _Refused("a file that is neither a torch zip nor a legacy torch file")
        if _unpickle(file, {}, "<") != _PROTOCOL_VERSION:
            raise _Refused("an unknown legacy protocol version")
        info = _unpickle(file, {}, "<")
        little = not isinstance(info, dict) or info.get("little_endian", True)
        order = "<" if little else ">"
        storages = {}
        result = _unpickle(file, storages, order)
        keys = _unpickle(file, {}, order)
        if not isinstance(keys, list):
            raise _Refused("a legacy file without its storage keys")
        for key in keys:
            storage = storages.get(key)
            if storage is None or storage.root is not None:
                raise _Refused(f"a storage {key!r} the object does not use")
            head = file.read(8)
            if len(head) != 8 or struct.unpack("<q", head)[0] != storage.numel:
                raise _Refused(f"a storage {key!r} of the wrong size")
            nbytes = storage.numel * storage.dtype.itemsize
            data = file.read(nbytes)
            if len(data) != nbytes:
                raise _Refused(f"a storage {key!r} of the wrong size")
            storage.data = np.frombuffer(data, storage.dtype, storage.numel)
        return result


def read_torch_state_dict(path):
    """A PyTorch state dict file (`torch.save(model.state_dict())`) as numpy
    arrays, read without PyTorch and without running code from the file.

    Reads both of torch's formats: the zip archive (`<name>/data.pkl` and
    the raw storages `<name>/data/<key>`, `<name>/byteorder`; torch >= 1.6)
    and the legacy stream of pickles before it. The pickle is read by an
    unpickler that resolves only `collections.OrderedDict`,
    `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`
    and the `torch.*Storage` types, each to kerasgen's own numpy-building
    code; a file that names anything else (a module, a function, a class)
    is refused before anything it names is called.

    Args:
        path: str or `os.PathLike`. The `.pth` / `.pt` file.

    Returns:
        An `OrderedDict` from str keys to numpy arrays (torch's shapes and
        dtypes, native byte order).

    Raises:
        ValueError: the file is not a plain tensor file (its one-line
            message says what it asked for), or is truncated or corrupt.

    Example:

    ```python
    import pickle, tempfile
    path = tempfile.mktemp(suffix=".pth")
    with open(path, "wb") as f:
        pickle.dump(print, f)  # names builtins.print: refused, never called
    try:
        read_torch_state_dict(path)
    except ValueError as error:
        print("builtins.print, so it is not a plain tensor file" in str(error))  # True
    ```
    """
    path = os.fspath(path)
    try:
        if zipfile.is_zipfile(path):
            result = _read_zip(path)
        else:
            result = _read_legacy(path)
        if not isinstance(result, dict) or not all(
                isinstance(k, str) and isinstance(v, _LazyTensor)
                for k, v in result.items()):
            raise _Refused("an object that is not a dict of tensors")
        arrays = collections.OrderedDict()
        for key, value in result.items():
            array = value.array()
            arrays[key] = array.astype(array.dtype.newbyteorder("="), copy=False)
        return arrays
    except _Refused as error:
        raise ValueError(
            f"Refusing to load {path}: it holds {error}, so it is not a "
            "plain tensor file") from None
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, struct.error,
            TypeError, AttributeError, IndexError, KeyError, ValueError,
            OverflowError, UnicodeDecodeError) as error:
        raise ValueError(
            f"Refusing to load {path}: it is unreadable ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}), so it is not a "
            "plain tensor file") from None


# --- Mapping a state dict onto the model -------------------------------------


def _torch_prefix(layer_name):
    """The torch module of a Keras layer name: `Mixed_5b_branch1x1` ->
    `Mixed_5b.branch1x1`, `Conv2d_1a_3x3` -> `Conv2d_1a_3x3`."""
    if layer_name.startswith("Mixed_"):
        return layer_name[:8] + "." + layer_name[9:]
    return layer_name


def _weight_slots(model):
    """`{torch key: (layer, index, to_keras)}` for every weight of `model`."""
    from keras import layers

    hwio = lambda w: np.transpose(w, (2, 3, 1, 0))  # OIHW -> HWIO
    same = lambda w: w
    slots = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        if isinstance(layer, layers.Conv2D) and layer.name.endswith("_conv"):
            prefix = _torch_prefix(layer.name[:-5])
            slots[f"{prefix}.conv.weight"] = (layer, 0, hwio)
        elif isinstance(layer, layers.BatchNormalization) and layer.name.endswith("_bn"):
            prefix = _torch_prefix(layer.name[:-3])
            for i, part in enumerate(("weight", "bias", "running_mean", "running_var")):
                slots[f"{prefix}.bn.{part}"] = (layer, i, same)
        elif isinstance(layer, layers.Dense) and layer.name == "fc":
            slots["fc.weight"] = (layer, 0, np.transpose)
            slots["fc.bias"] = (layer, 1, same)
        else:
            raise ValueError(
                f"The layer {layer.name} has weights but no torch counterpart: "
                "this is not a model of build_fid_inception_v3.")
    return slots


def fid_inception_state_keys(model):
    """The state-dict keys of pytorch-fid's FID Inception that `model`
    takes, in the model's layer order (without the `num_batches_tracked`
    counters, which Keras does not need).

    Args:
        model: a model of `build_fid_inception_v3`.

    Returns:
        A list of str: 472 keys with the `fc` head, 470 without.
    """
    return list(_weight_slots(model))


def load_fid_inception_weights(model, weights):
    """Loads pytorch-fid's FID Inception weights into `model`.

    A torch state dict (a `.pth` file, read by `read_torch_state_dict`, or
    a dict of arrays) is mapped key by key: the `conv.weight` of each torch
    module to its Keras `_conv` layer (OIHW -> HWIO), the `bn.weight`,
    `bn.bias`, `bn.running_mean`, `bn.running_var` to the `_bn` layer's
    gamma, beta, moving mean and variance, and `fc.weight` (transposed) and
    `fc.bias` to `fc`. Every key must be used (the `num_batches_tracked`
    counters are ignored), every weight of the model set, and every shape
    fit; otherwise nothing is changed and a ValueError says which keys or
    shapes do not. A model without the `fc` head ignores the file's `fc`
    keys.

    A `.weights.h5` file (written by `convert_fid_inception_weights`) is
    loaded with `model.load_weights`.

    Args:
        model: a model of `build_fid_inception_v3`.
        weights: str, `os.PathLike` or dict of arrays.

    Returns:
        The model.
    """
    if not isinstance(weights, dict):
        path = os.fspath(weights)
        if path.endswith(".h5"):
            model.load_weights(path)
            return model
        weights = read_torch_state_dict(path)
    slots = _weight_slots(model)
    has_fc = "fc.weight" in slots
    unexpected, shapes, values = [], [], {}
    for key, array in weights.items():
        if key.endswith(".num_batches_tracked"):
            if key[:-len("num_batches_tracked")] + "weight" not in slots:
                unexpected.append(key)
            continue
        if key.startswith("fc.") and not has_fc:
            continue
        if key not in slots:
            unexpected.append(key)
            continue
        layer, index, to_keras = slots[key]
        expected = tuple(layer.weights[index].shape)
        array = np.asarray(array, "float32")
        value = to_keras(array) if array.ndim == len(expected) else array
        if value.shape != expected:
            shapes.append(f"{key} {array.shape} (as Keras {value.shape}; "
                          f"{layer.name} needs {expected})")
        values[key] = value
    missing = [key for key in slots if key not in values]
    if unexpected or missing or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys ({', '.join(missing[:5])}"
                         f"{', ...' if len(missing) > 5 else ''})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys ({', '.join(unexpected[:5])}"
                         f"{', ...' if len(unexpected) > 5 else ''})")
        if shapes:
            parts.append(f"{len(shapes)} shapes that do not fit: {'; '.join(shapes[:3])}"
                         f"{'; ...' if len(shapes) > 3 else ''}")
        raise ValueError(
            "The weights do not fit the FID Inception: " + "; ".join(parts) + ".")
    by_layer = {}
    for key, (layer, index, _) in slots.items():
        by_layer.setdefault(layer.name, (layer, {}))[1][index] = values[key]
    for layer, arrays in by_layer.values():
        layer.set_weights([arrays[i] for i in range(len(arrays))])
    return model


# --- Finding, downloading and checking the weights file -----------------------


def default_weights_path():
    """Where `fid_inception_v3` looks for pytorch-fid's weights:
    `$KERASGEN_HOME/weights/pt_inception-2015-12-05-6726825d.pth` (default
    `~/.cache/kerasgen/weights/`).

    Example:

    ```python
    path = default_weights_path()
    path.parent.name, path.name  # ('weights', 'pt_inception-2015-12-05-6726825d.pth')
    ```
    """
    return cache_home() / "weights" / FID_WEIGHTS_FILENAME


def download_fid_inception_weights(path=None, url=FID_WEIGHTS_URL,
                                   sha256=FID_WEIGHTS_SHA256, timeout=60):
    """Downloads pytorch-fid's weights file to `path`, checked first.

    The file is written to a temporary file in the same folder, checked
    against the `Content-Length` the server states and against `sha256`,
    and only then moved into place (`os.replace`, atomic); a truncated or
    mismatched download is removed and refused.

    Args:
        path: str or `os.PathLike`. Defaults to `default_weights_path()`.
        url: str. Defaults to `FID_WEIGHTS_URL`.
        sha256: str. The hex digest the file must have. Defaults to
            `FID_WEIGHTS_SHA256`.
        timeout: float. Seconds to wait for the server. Defaults to 60.

    Returns:
        The `Path` of the file.

    Raises:
        FileNotFoundError: the URL could not be read (offline).
        ValueError: the download was truncated or its sha256 differs.
    """
    path = Path(path) if path is not None else default_weights_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        digest, received = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)
            except (urllib.error.URLError, OSError, ValueError) as error:
                reason = getattr(error, "reason", error)
                raise FileNotFoundError(
                    f"Could not download {url} ({reason}); download "
                    f"{FID_WEIGHTS_FILENAME} yourself and put it at {path}, or "
                    "pass weights=<path to it>.") from None
            with response:
                stated = response.headers.get("Content-Length")
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    digest.update(block)
                    received += len(block)
        if stated is not None and received != int(stated):
            raise ValueError(
                f"The download of {url} was truncated ({received} of {stated} "
                "bytes); it was removed, try again.")
        if digest.hexdigest() != sha256:
            raise ValueError(
                f"The download of {url} has sha256 {digest.hexdigest()}, not the "
                f"pinned {sha256}; it was removed and not used.")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def resolve_fid_weights(weights=None, download=False):
    """The weights file `fid_inception_v3` loads.

    An explicit `weights` path is used as it is (it must exist; a `.pth`
    there need not be the pinned file, any FID Inception state dict of the
    right shapes loads, and a `.weights.h5` of
    `convert_fid_inception_weights` too). Otherwise the cached
    `default_weights_path()` is used after checking its sha256 against
    `FID_WEIGHTS_SHA256`; a cached file that does not match is removed and
    refused. With no cached file, `download=True` downloads it there
    (`download_fid_inception_weights`); else a FileNotFoundError names the
    file, its URL and where to put it.

    Args:
        weights: str, `os.PathLike` or None. Defaults to None.
        download: bool. Defaults to False.

    Returns:
        A `Path`.

    Example:

    ```python
    try:
        resolve_fid_weights("missing.pth")
    except FileNotFoundError as error:
        print(FID_WEIGHTS_URL in str(error))  # True
    ```
    """
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(
                f"The FID Inception weights file {path} does not exist (pass "
                f"weights= the path of {FID_WEIGHTS_FILENAME}, from {FID_WEIGHTS_URL}).")
        return path
    path = default_weights_path()
    if path.is_file():
        digest = sha256_of(path)
        if digest != FID_WEIGHTS_SHA256:
            os.remove(path)
            raise ValueError(
                f"The cached {path} has sha256 {digest}, not the pinned "
                f"{FID_WEIGHTS_SHA256}: it was removed; download it again from "
                f"{FID_WEIGHTS_URL}.")
        return path
    if download:
        return download_fid_inception_weights(path)
    raise FileNotFoundError(
        f"The FID Inception needs pytorch-fid's weights {FID_WEIGHTS_FILENAME}: "
        f"download {FID_WEIGHTS_URL} and put it at {path} (or pass weights=<path>, "
        "or download=True).")


def fid_inception_v3(weights=None, include_logits=False, download=False):
    """pytorch-fid's FID Inception v3 with its weights, ready to use.

    Builds `build_fid_inception_v3(include_logits)` and loads the file
    `resolve_fid_weights(weights, download)` finds: an explicit path, else
    the cached, sha256-checked
    `$KERASGEN_HOME/weights/pt_inception-2015-12-05-6726825d.pth`, else
    (with `download=True`) a checked download of `FID_WEIGHTS_URL`, else a
    FileNotFoundError naming the file, the URL and where to put it.

    Feed it `fid_preprocess(images)` and call it with `training=False`.

    Args:
        weights: str, `os.PathLike` or None. A `.pth` state dict or a
            `.weights.h5`. Defaults to None.
        include_logits: bool. Whether to return `[features, logits]`.
            Defaults to False.
        download: bool. Whether to download a missing file. Defaults to
            False.

    Returns:
        A `keras.Model`.
    """
    path = resolve_fid_weights(weights, download)
    model = build_fid_inception_v3(include_logits=include_logits)
    return load_fid_inception_weights(model, path)


def convert_fid_inception_weights(source=None, target=None):
    """Converts pytorch-fid's `.pth` to a Keras `.weights.h5` (with the `fc`
    head), which `fid_inception_v3(weights=target)` then loads without
    reading the pickle again.

    Args:
        source: the `.pth` file, resolved as by `resolve_fid_weights`.
            Defaults to None.
        target: str or `os.PathLike` ending in `.weights.h5`. Defaults to
            `$KERASGEN_HOME/weights/fid_inception_v3.weights.h5`.

    Returns:
        The `Path` written.
    """
    from kerasgen.utils.io import atomic_write

    target = Path(target) if target is not None else (
        default_weights_path().parent / "fid_inception_v3.weights.h5")
    if not str(target).endswith(".weights.h5"):
        raise ValueError(f"target must end in .weights.h5. Received: {target}")
    model = fid_inception_v3(source, include_logits=True)
    with atomic_write(target) as tmp:
        model.save_weights(tmp)
    return target

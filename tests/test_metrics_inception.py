"""The FID Inception (`kerasgen.metrics.inception`): its structure against
pytorch-fid's, the torch-free and code-free reading of `.pth` files, the
mapping of a state dict onto the Keras layers, the weights file's
resolution, download and sha256 check, and pytorch-fid's preprocessing.

No test imports torch: the `.pth` files here are written by a small writer
of torch's zip and legacy formats in this file. (That kerasgen's reader
reads files of the real `torch.save`, and that the Keras network matches
pytorch-fid's on the same weights, was checked once against torch while
writing the module; the constants below come from that check.)
"""

import collections
import hashlib
import os
import pickle
import struct
import zipfile

import keras
import numpy as np
import pytest

from backends import backend_independent
from kerasgen.metrics import inception

# sum(p.numel() for p in model.parameters()) of pytorch-fid's FID Inception
# (torchvision's Inception3(num_classes=1008, aux_logits=False) with the FID
# blocks), computed once with torch 2.13: conv kernels, BN gamma/beta, fc.
TORCH_PARAMETERS = 23_850_960
# The elements of its state dict without the `num_batches_tracked`
# counters: the parameters above plus the BN running means and variances,
# i.e. every Keras weight (trainable and not).
TORCH_STATE_ELEMENTS = 23_885_392
# len(state_dict()) with the 94 `num_batches_tracked` counters, as in
# pytorch-fid's weights file, and without them.
TORCH_STATE_ENTRIES = 566
TORCH_WEIGHT_KEYS = 472
# sha256 of "\n".join(sorted(keys)) of that state dict (no counters).
TORCH_KEYS_SHA256 = "ed87dd0f166ade6855a6d284ee17fb1bc768f59db1b37c53afed23d5c199e182"


@pytest.fixture(scope="module")
def model():
    return inception.build_fid_inception_v3(include_logits=True)


def _torch_name(layer_name):
    """The torch module of a Keras layer, written out independently of the
    module: `Mixed_5b_branch1x1` -> `Mixed_5b.branch1x1`."""
    head, sep, rest = layer_name.partition("_branch")
    return f"{head}.branch{rest}" if sep else head


def _random_state_dict(model, seed=0):
    """A torch-shaped state dict for every weight of `model` (OIHW kernels,
    `(out, in)` fc), with the `num_batches_tracked` counters, scaled so that
    activations stay of order one through the 94 layers."""
    rng = np.random.default_rng(seed)
    state = collections.OrderedDict()
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            state[_torch_name(layer.name[:-5]) + ".conv.weight"] = (
                rng.standard_normal((cout, cin, kh, kw)) * np.sqrt(2.0 / (cin * kh * kw))
            ).astype("float32")
        elif isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            prefix = _torch_name(layer.name[:-3]) + ".bn."
            state[prefix + "weight"] = rng.uniform(0.75, 1.25, n).astype("float32")
            state[prefix + "bias"] = (0.1 * rng.standard_normal(n)).astype("float32")
            state[prefix + "running_mean"] = (0.1 * rng.standard_normal(n)).astype("float32")
            state[prefix + "running_var"] = rng.uniform(0.75, 1.25, n).astype("float32")
            state[prefix + "num_batches_tracked"] = np.array(7, "int64")
        elif isinstance(layer, keras.layers.Dense):
            state["fc.weight"] = (0.02 * rng.standard_normal((1008, 2048))).astype("float32")
            state["fc.bias"] = (0.02 * rng.standard_normal(1008)).astype("float32")
    return state


def _set_directly(model, state):
    """What loading must amount to, set layer by layer by hand."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            w = state[_torch_name(layer.name[:-5]) + ".conv.weight"]
            layer.set_weights([w.transpose(2, 3, 1, 0)])
        elif isinstance(layer, keras.layers.BatchNormalization):
            p = _torch_name(layer.name[:-3]) + ".bn."
            layer.set_weights([state[p + k] for k in
                               ("weight", "bias", "running_mean", "running_var")])
        elif isinstance(layer, keras.layers.Dense):
            layer.set_weights([state["fc.weight"].T, state["fc.bias"]])


# --- A writer of torch's formats, without torch --------------------------------

_STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("int64"): "LongStorage",
                  np.dtype("float64"): "DoubleStorage", np.dtype("uint8"): "ByteStorage"}


def _op_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _op_str(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _op_int(value):
    return b"J" + struct.pack("<i", value)


def _op_tuple(items):
    return b"(" + b"".join(items) + b"t"


def _state_pickle(state, legacy=False, tensor_size=None, tensor_stride=None):
    """The pickle torch.save writes for a state dict (protocol 2, tensors as
    `_rebuild_tensor_v2` over persistent storage ids), and the storages:
    `[(key, bytes)]`. `tensor_size` and `tensor_stride` override every
    tensor's (to write a tensor that claims more than its storage)."""
    out = [b"\x80\x02", _op_global("collections", "OrderedDict"), b")R", b"("]
    storages = []
    for i, (key, array) in enumerate(state.items()):
        array = np.asarray(array, order="C")  # keeps a 0-d array 0-d
        storage_key = str(i)
        storages.append((storage_key, array.tobytes()))
        pid = [_op_str("storage"), _op_global("torch", _STORAGE_NAMES[array.dtype]),
               _op_str(storage_key), _op_str("cpu"), _op_int(array.size)]
        if legacy:
            pid.append(b"N")  # no view
        size = tensor_size or array.shape
        stride = tensor_stride or [int(np.prod(size[j + 1:])) for j in range(len(size))]
        args = [_op_tuple(pid) + b"Q", _op_int(0),
                _op_tuple([_op_int(n) for n in size]),
                _op_tuple([_op_int(s) for s in stride]),
                b"\x89", _op_global("collections", "OrderedDict") + b")R"]
        out += [_op_str(key), _op_global("torch._utils", "_rebuild_tensor_v2"),
                _op_tuple(args), b"R"]
    out.append(b"u.")
    return b"".join(out), storages


def write_torch_zip(path, state, **kwargs):
    """A `.pth` in torch's zip format (what torch.save writes since 1.6)."""
    data, storages = _state_pickle(state, **kwargs)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/byteorder", "little")
        for key, raw in storages:
            archive.writestr(f"archive/data/{key}", raw)
        archive.writestr("archive/version", "3\n")


def write_torch_legacy(path, state):
    """A `.pth` in torch's legacy format (torch.save before 1.6)."""
    data, storages = _state_pickle(state, legacy=True)
    with open(path, "wb") as file:
        for value in (0x1950A86A20F9469CFC6C, 1001,
                      {"protocol_version": 1001, "little_endian": True,
                       "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            pickle.dump(value, file, protocol=2)
        file.write(data)
        keys = sorted(key for key, _ in storages)
        pickle.dump(keys, file, protocol=2)
        raw = dict(storages)
        itemsizes = {str(i): a.dtype.itemsize for i, a in enumerate(state.values())}
        for key in keys:
            file.write(struct.pack("<q", len(raw[key]) // itemsizes[key]) + raw[key])


# --- Structure ------------------------------------------------------------------


@backend_independent
def test_structure_matches_pytorch_fid(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == TORCH_PARAMETERS
    assert model.count_params() == TORCH_STATE_ELEMENTS
    assert [tuple(s) for s in model.output_shape] == [(None, 2048), (None, 1008)]
    assert tuple(model.input_shape) == (None, 299, 299, 3)
    keys = inception.fid_inception_state_keys(model)
    assert len(keys) == len(set(keys)) == TORCH_WEIGHT_KEYS
    bn_layers = sum(isinstance(l, keras.layers.BatchNormalization) for l in model.layers)
    assert len(keys) + bn_layers == TORCH_STATE_ENTRIES  # plus the counters
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    assert digest == TORCH_KEYS_SHA256
    names = {layer.name for layer in model.layers}
    assert {"Conv2d_1a_3x3_conv", "Conv2d_1a_3x3_bn", "Mixed_5b_branch1x1_conv",
            "Mixed_7c_branch3x3dbl_3b_bn", "fc"} <= names


def test_branch_average_pool_leaves_padding_out():
    # torch's avg_pool2d(3, 1, 1, count_include_pad=False), by hand.
    x = np.arange(2 * 4 * 5 * 3, dtype="float32").reshape(2, 4, 5, 3) ** 1.5
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    ones = np.pad(np.ones_like(x), ((0, 0), (1, 1), (1, 1), (0, 0)))
    total = sum(padded[:, i:i + 4, j:j + 5] for i in range(3) for j in range(3))
    count = sum(ones[:, i:i + 4, j:j + 5] for i in range(3) for j in range(3))
    pooled = keras.layers.AveragePooling2D(3, strides=1, padding="same")(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooled), total / count,
                               rtol=1e-6)


# --- Loading ----------------------------------------------------------------------


@backend_independent
def test_pth_loads_onto_the_layers_it_names(model, tmp_path):
    state = _random_state_dict(model)
    path = tmp_path / "fid.pth"
    write_torch_zip(path, state)
    read = inception.read_torch_state_dict(path)
    assert list(read) == list(state)
    for key in state:
        assert read[key].dtype == state[key].dtype and read[key].shape == state[key].shape
        np.testing.assert_array_equal(read[key], state[key])

    image = np.random.default_rng(1).uniform(-1, 1, (1, 299, 299, 3)).astype("float32")
    _set_directly(model, state)
    expected = [keras.ops.convert_to_numpy(t) for t in model(image, training=False)]
    assert np.isfinite(expected[0]).all() and expected[0].std() > 1e-3

    for w in model.weights:
        w.assign(np.zeros(w.shape, "float32"))
    assert inception.load_fid_inception_weights(model, path) is model
    features, logits = [keras.ops.convert_to_numpy(t) for t in model(image, training=False)]
    assert features.shape == (1, 2048) and logits.shape == (1, 1008)
    np.testing.assert_allclose(features, expected[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(logits, expected[1], rtol=1e-6, atol=1e-6)

    # A .weights.h5 of the same weights loads to the same weights.
    h5 = tmp_path / "fid_inception_v3.weights.h5"
    model.save_weights(h5)
    before = [keras.ops.convert_to_numpy(w) for w in model.weights]
    model.get_layer("fc").set_weights([np.zeros((2048, 1008), "float32"),
                                       np.zeros(1008, "float32")])
    inception.load_fid_inception_weights(model, h5)
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), b)


@backend_independent
def test_convert_writes_a_weights_h5_atomically(model, tmp_path, monkeypatch):
    monkeypatch.setattr(inception, "fid_inception_v3", lambda *a, **k: model)
    target = tmp_path / "out" / "fid.weights.h5"
    assert inception.convert_fid_inception_weights("unused.pth", target) == target
    assert os.listdir(target.parent) == [target.name]
    with pytest.raises(ValueError, match="weights.h5"):
        inception.convert_fid_inception_weights("unused.pth", tmp_path / "fid.h5")


@backend_independent
def test_a_model_without_the_head_ignores_the_fc_keys(model):
    state = _random_state_dict(model, seed=2)
    body = keras.Model(model.input, model.outputs[0])
    assert len(inception.fid_inception_state_keys(body)) == TORCH_WEIGHT_KEYS - 2
    inception.load_fid_inception_weights(body, state)
    kernel = state["Mixed_6b.branch7x7_2.conv.weight"].transpose(2, 3, 1, 0)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model.get_layer("Mixed_6b_branch7x7_2_conv").kernel),
        kernel)


def test_legacy_format_reads(tmp_path):
    state = collections.OrderedDict(
        [("a.conv.weight", np.arange(24, dtype="float32").reshape(2, 3, 2, 2)),
         ("a.bn.num_batches_tracked", np.array(3, "int64")),
         ("b", np.linspace(0, 1, 5))])
    path = tmp_path / "legacy.pth"
    write_torch_legacy(path, state)
    read = inception.read_torch_state_dict(path)
    assert list(read) == list(state)
    for key in state:
        assert read[key].dtype == state[key].dtype
        np.testing.assert_array_equal(read[key], state[key])


@backend_independent
@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("Mixed_7c.branch_pool.bn.running_var"), "1 missing keys"),
    (lambda s: s.update({"AuxLogits.fc.weight": np.zeros((1008, 768), "float32")}),
     "1 unexpected keys (AuxLogits.fc.weight)"),
    (lambda s: s.update({"fc.weight": np.zeros((1000, 2048), "float32")}),
     "fc.weight (1000, 2048)"),
])
def test_a_state_dict_that_does_not_fit_is_refused(model, change, message):
    state = _random_state_dict(model, seed=3)
    change(state)
    before = keras.ops.convert_to_numpy(model.get_layer("Conv2d_1a_3x3_conv").kernel)
    with pytest.raises(ValueError) as info:
        inception.load_fid_inception_weights(model, state)
    assert message in str(info.value) and "\n" not in str(info.value)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model.get_layer("Conv2d_1a_3x3_conv").kernel), before)


class _Exploit:
    def __init__(self, call, marker):
        self.call, self.marker = call, marker

    def __reduce__(self):
        if self.call == "system":
            return os.system, (f"touch {self.marker}",)
        return eval, (f"open({str(self.marker)!r}, 'w').close()",)


@pytest.mark.parametrize("call, named", [("system", "system"), ("eval", "builtin__.eval")])
@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_a_malicious_pickle_is_refused_unrun(tmp_path, call, named, container):
    marker = tmp_path / "ran"
    payload = pickle.dumps(collections.OrderedDict(w=_Exploit(call, marker)), protocol=2)
    path = tmp_path / "evil.pth"
    if container == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", payload)
    else:
        path.write_bytes(payload)
    with pytest.raises(ValueError) as info:
        inception.read_torch_state_dict(path)
    message = str(info.value)
    assert named in message and "not a plain tensor file" in message
    assert "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize("size, stride, message", [
    ((1000,), (1,), "larger than its storage"),
    ((2,), (4,), "outside its storage"),  # elements 0 and 4 of 4
])
def test_a_tensor_reaching_past_its_storage_is_refused(tmp_path, size, stride, message):
    path = tmp_path / "overrun.pth"
    write_torch_zip(path, {"w": np.zeros(4, "float32")}, tensor_size=size,
                    tensor_stride=stride)
    with pytest.raises(ValueError, match=message):
        inception.read_torch_state_dict(path)


# --- Finding and downloading the weights ------------------------------------------


def test_offline_without_the_file_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASGEN_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        inception.fid_inception_v3()
    message = str(info.value)
    assert inception.FID_WEIGHTS_FILENAME in message
    assert inception.FID_WEIGHTS_URL in message
    assert str(tmp_path / "weights") in message and "\n" not in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        inception.fid_inception_v3(weights=tmp_path / "nowhere.pth")


def test_a_cached_file_with_the_wrong_sha256_is_refused_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASGEN_HOME", str(tmp_path))
    cached = inception.default_weights_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the weights")
    with pytest.raises(ValueError, match="sha256") as info:
        inception.fid_inception_v3()
    assert "\n" not in str(info.value)
    assert not cached.exists()


def test_download_checks_the_sha256_and_moves_atomically(tmp_path):
    source = tmp_path / "server" / "weights.pth"
    source.parent.mkdir()
    source.write_bytes(b"\x00weights\x01" * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    target = tmp_path / "cache" / inception.FID_WEIGHTS_FILENAME

    with pytest.raises(ValueError, match="removed") as info:
        inception.download_fid_inception_weights(
            target, url=source.as_uri(), sha256="0" * 64)
    assert "\n" not in str(info.value)
    assert os.listdir(target.parent) == []  # neither the file nor its temporary

    assert inception.download_fid_inception_weights(
        target, url=source.as_uri(), sha256=digest) == target
    assert target.read_bytes() == source.read_bytes()
    assert os.listdir(target.parent) == [target.name]

    with pytest.raises(FileNotFoundError, match=inception.FID_WEIGHTS_FILENAME):
        inception.download_fid_inception_weights(
            tmp_path / "cache" / "other.pth", url=(tmp_path / "missing").as_uri())
    assert os.listdir(target.parent) == [target.name]


def test_the_pinned_digest_starts_with_the_file_names_prefix():
    prefix = inception.FID_WEIGHTS_FILENAME.rsplit("-", 1)[1].split(".")[0]
    assert inception.FID_WEIGHTS_SHA256.startswith(prefix)
    assert len(inception.FID_WEIGHTS_SHA256) == 64


# --- Preprocessing ----------------------------------------------------------------


def _torch_bilinear(images, size):
    """F.interpolate(mode="bilinear", align_corners=False), written out in
    numpy: half-pixel source coordinates, clamped at 0, no antialiasing."""
    def weights(n_in, n_out):
        src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        frac = src - i0
        m = np.zeros((n_out, n_in))
        np.add.at(m, (np.arange(n_out), i0), 1 - frac)
        np.add.at(m, (np.arange(n_out), i1), frac)
        return m

    rows, cols = weights(images.shape[1], size), weights(images.shape[2], size)
    return np.einsum("yh,nhwc,xw->nyxc", rows, images.astype("float64"), cols,
                     optimize=True)


@pytest.mark.parametrize("shape", [(1, 37, 23, 3), (1, 331, 310, 3)])
def test_preprocess_is_pytorch_fids_resize(shape):
    images = np.random.default_rng(0).random(shape, dtype="float32")
    x = inception.fid_preprocess(images)
    assert x.shape == (1, 299, 299, 3) and x.dtype == np.float32
    # The reference's coordinates are exact (float64); PyTorch's, and
    # kerasgen's, are float32 (scale and source position rounded), which
    # moves values in [-1, 1] by up to ~7e-5. Another convention (corner
    # alignment, antialiasing) is off by 1e-2 and more.
    np.testing.assert_allclose(x, 2 * _torch_bilinear(images, 299) - 1, atol=1e-4)


def test_preprocess_ranges_and_channels():
    grey = np.random.default_rng(1).integers(0, 256, (2, 299, 299, 1)).astype("uint8")
    x = inception.fid_preprocess(grey)
    assert x.shape == (2, 299, 299, 3)
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
    np.testing.assert_allclose(x[..., 1], grey[..., 0] / 127.5 - 1, atol=1e-6)
    assert x.min() >= -1 and x.max() <= 1

    extremes = np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1)
    np.testing.assert_allclose(inception.fid_preprocess(extremes)[0, 0, [0, -1], 0],
                               [-1.0, 1.0])
    signed = np.full((1, 8, 8, 3), -1.0, "float32")
    assert inception.fid_preprocess(signed, value_range=(-1, 1)).max() == -1.0
    with pytest.raises(ValueError, match="value_range"):
        inception.fid_preprocess(signed)  # [-1, 1] images read as [0, 1]
    with pytest.raises(ValueError, match="1 or 3"):
        inception.fid_preprocess(np.zeros((1, 8, 8, 2), "float32"))
    assert inception.fid_preprocess(np.zeros((0, 8, 8, 3), "uint8")).shape == (0, 299, 299, 3)

"""Tests for kerasgen.data: the loaders, ImageData and make_batches.

Most tests build tiny fixtures in tmp_path. Tests on the real datasets in
../shared/datasets skip (with a reason) only when the folder is absent.
"""

import gzip
import inspect
import logging
import os
import re
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from kerasgen import data as kdata
from kerasgen.data import ImageData
from kerasgen.data import from_unit_range
from kerasgen.data import load_images
from kerasgen.data import make_batches
from kerasgen.data import to_unit_range

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = os.path.join(os.path.dirname(REPO_ROOT), "shared", "datasets")
if not os.path.isdir(DATASETS):
    DATASETS = "/work/shared/datasets"


def dataset_path(*parts):
    path = os.path.join(DATASETS, *parts)
    if not os.path.exists(path):
        pytest.skip(f"real dataset not present: {path}")
    return path


# --- fixture writers ---------------------------------------------------------


def write_image(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    array = np.asarray(array, np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    Image.fromarray(array, mode).save(path)


def solid(value, size=(6, 6), channels=3):
    return np.full(size + (channels,), value, np.uint8)


def write_idx(path, array):
    array = np.asarray(array, np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def indexed_data(n=100, size=4, num_labels=7):
    """Image i is filled with the value i; its label is i % num_labels."""
    images = np.broadcast_to(
        np.arange(n, dtype=np.uint8)[:, None, None, None], (n, size, size, 1)
    ).copy()
    return ImageData(images, labels=np.arange(n) % num_labels, source="test")


def take(batches, count):
    """The first `count` batches as numpy (x, y-or-None) pairs."""
    out = []
    for batch in batches:
        if isinstance(batch, tuple):
            out.append((np.asarray(batch[0]), np.asarray(batch[1])))
        else:
            out.append((np.asarray(batch), None))
        if len(out) == count:
            break
    return out


def batch_indices(x):
    """Recovers the image indices of a batch of `indexed_data` images."""
    return from_unit_range(x)[:, 0, 0, 0].astype(int)


# The two pipelines: "numpy" is the path every non-TensorFlow backend takes.
@pytest.fixture(params=["numpy", "tensorflow"])
def backend(request):
    if request.param == "tensorflow":
        pytest.importorskip("tensorflow")
    return request.param


# --- pixel scaling -----------------------------------------------------------


def test_scaling_endpoints_and_round_trip():
    every_value = np.arange(256, dtype=np.uint8)
    scaled = to_unit_range(every_value)
    assert scaled.dtype == np.float32
    assert scaled[0] == -1.0 and scaled[255] == 1.0
    assert scaled.min() >= -1.0 and scaled.max() <= 1.0
    np.testing.assert_array_equal(from_unit_range(scaled), every_value)
    np.testing.assert_array_equal(
        from_unit_range([-3.0, -1.0, 1.0, 3.0]), [0, 0, 255, 255]
    )


# --- ImageData ---------------------------------------------------------------


def test_image_data_properties_and_validation():
    data = ImageData(np.zeros((4, 5, 6, 3), np.uint8), labels=[0, 2, 1, 2])
    assert data.image_shape == (5, 6, 3)
    assert data.num_classes == 3
    assert data.labels.dtype == np.int32
    assert len(data) == 4
    assert "4x5x6x3" in repr(data)
    assert ImageData(np.zeros((1, 2, 2, 1), np.uint8)).num_classes == 0
    with pytest.raises(TypeError, match="uint8"):
        ImageData(np.zeros((2, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match=r"images.shape=\(2, 4, 4\)"):
        ImageData(np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="labels.shape"):
        ImageData(np.zeros((2, 4, 4, 1), np.uint8), labels=[1, 2, 3])


# --- the built-in digits -----------------------------------------------------


def test_digits_default_matches_scikit_learn():
    from sklearn.datasets import load_digits

    data = load_images()
    reference = load_digits()
    assert data.images.shape == (1797, 8, 8, 1)
    assert data.images.dtype == np.uint8
    assert data.images.min() == 0 and data.images.max() == 255
    np.testing.assert_array_equal(
        data.images[..., 0], np.rint(reference.images * 255 / 16)
    )
    np.testing.assert_array_equal(data.labels, reference.target)
    assert data.labels.dtype == np.int32
    assert data.class_names == [str(i) for i in range(10)]
    assert data.num_classes == 10 and data.skipped == 0


def test_digits_resized_to_rgb(caplog):
    with caplog.at_level(logging.WARNING, logger="kerasgen.data"):
        data = load_images(image_size=(12, 10), channels=3, max_images=50,
                           split="test")
    assert data.images.shape == (50, 12, 10, 3)
    assert (data.images[..., 0] == data.images[..., 2]).all()
    assert "split='test' is ignored" in caplog.text


# --- argument errors ---------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(channels=2), "Received: channels=2"),
        (dict(channels=True), "Received: channels=True"),
        (dict(image_size=0), "Received: image_size=0"),
        (dict(image_size=(8,)), r"Received: image_size=\(8,\)"),
        (dict(image_size="8"), "Received: image_size='8'"),
        (dict(max_images=0), "Received: max_images=0"),
        (dict(split=""), "Received: split=''"),
    ],
)
def test_invalid_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        load_images(**kwargs)


def test_missing_empty_and_unsupported_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="Received: source="):
        load_images(tmp_path / "nope")
    with pytest.raises(ValueError, match="No image files"):
        load_images(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="No image files"):
        load_images(tmp_path)
    with pytest.raises(ValueError, match="Unsupported file type"):
        load_images(tmp_path / "notes.txt")
    with pytest.raises(TypeError, match="Received: source=3"):
        load_images(3)


# --- image folders -----------------------------------------------------------


def test_flat_folder_values_and_natural_order(tmp_path):
    for i in (1, 2, 10):  # "img10" must come after "img2".
        write_image(str(tmp_path / f"img{i}.png"), solid(i * 20))
    (tmp_path / ".hidden.png").write_bytes(b"ignored: hidden file")
    data = load_images(str(tmp_path) + os.sep)
    assert data.images.shape == (3, 6, 6, 3)
    np.testing.assert_array_equal(data.images[:, 0, 0, 0], [20, 40, 200])
    assert data.labels is None and data.class_names is None
    assert data.num_classes == 0


def test_class_subfolders_are_labels(tmp_path):
    counts = {"owls": 2, "cats": 3, "dogs": 4}  # sorted: cats, dogs, owls.
    for label, name in enumerate(sorted(counts)):
        for i in range(counts[name]):
            write_image(str(tmp_path / name / f"{i}.png"), solid(50 * label))
    # Images further down a class folder belong to that class.
    write_image(str(tmp_path / "dogs" / "puppies" / "p.png"), solid(50))
    data = load_images(tmp_path)
    assert data.class_names == ["cats", "dogs", "owls"]
    np.testing.assert_array_equal(np.bincount(data.labels), [3, 5, 2])
    np.testing.assert_array_equal(data.images[:, 0, 0, 0], 50 * data.labels)


def test_single_subfolder_is_not_a_class(tmp_path):
    write_image(str(tmp_path / "images" / "a.png"), solid(1))
    write_image(str(tmp_path / "images" / "b.png"), solid(2))
    data = load_images(tmp_path)
    assert len(data) == 2 and data.labels is None


def test_max_images_takes_every_class_in_turn(tmp_path):
    for label, name in enumerate(["a", "b", "c"]):
        for i in range(5):
            write_image(str(tmp_path / name / f"{i}.png"), solid(label))
    data = load_images(tmp_path, max_images=7)
    np.testing.assert_array_equal(np.bincount(data.labels), [3, 2, 2])
    np.testing.assert_array_equal(data.images[:, 0, 0, 0], data.labels)


def test_split_folders(tmp_path):
    write_image(str(tmp_path / "train" / "a.png"), solid(1))
    write_image(str(tmp_path / "train" / "b.png"), solid(1))
    write_image(str(tmp_path / "test" / "a.png"), solid(2))
    assert len(load_images(tmp_path)) == 2  # split="train" by default.
    test = load_images(tmp_path, split="test")
    assert len(test) == 1 and test.images[0, 0, 0, 0] == 2
    with pytest.raises(ValueError, match="Received: split='val'"):
        load_images(tmp_path, split="val")


def test_unpaired_split_folders(tmp_path):
    for domain, value in (("trainA", 10), ("trainB", 20), ("testA", 30)):
        for i in range(3):
            write_image(str(tmp_path / domain / f"{i}.png"), solid(value))
    a = load_images(tmp_path, split="trainA")
    assert len(a) == 3 and a.labels is None
    assert (a.images == 10).all()
    both = load_images(tmp_path, split="train")
    assert both.class_names == ["trainA", "trainB"]
    np.testing.assert_array_equal(
        both.images[:, 0, 0, 0], np.where(both.labels == 0, 10, 20)
    )
    assert load_images(tmp_path, split="test").class_names == ["testA"]


def test_mixed_sizes_refused_without_image_size(tmp_path):
    write_image(str(tmp_path / "a.png"), solid(1, size=(6, 6)))
    write_image(str(tmp_path / "b.png"), solid(1, size=(6, 6)))
    write_image(str(tmp_path / "c.png"), solid(1, size=(9, 4)))
    with pytest.raises(ValueError, match="Received: image_size=None") as info:
        load_images(tmp_path)
    message = str(info.value)
    assert "6x6 (2 image(s)" in message and "9x4" in message
    assert "\n" not in message
    data = load_images(tmp_path, image_size=(5, 7))
    assert data.images.shape == (3, 5, 7, 3)


def test_mixed_channels_are_converted(tmp_path):
    rgb = np.zeros((6, 6, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    write_image(str(tmp_path / "a_rgb.png"), rgb)
    write_image(str(tmp_path / "b_grey.png"), solid(77, channels=1))
    rgba = np.concatenate([rgb, np.full((6, 6, 1), 3, np.uint8)], axis=-1)
    write_image(str(tmp_path / "c_rgba.png"), rgba, mode="RGBA")
    Image.fromarray(rgb).convert("P").save(tmp_path / "d_palette.png")

    native = load_images(tmp_path)  # grey among RGB -> all RGB.
    assert native.images.shape == (4, 6, 6, 3)
    assert (native.images[1] == 77).all()
    np.testing.assert_array_equal(native.images[2], rgb)  # alpha dropped.

    grey = load_images(tmp_path, channels=1)
    assert grey.images.shape == (4, 6, 6, 1)
    expected = np.asarray(Image.fromarray(rgb).convert("L"))[0, 0]
    assert grey.images[0, 0, 0, 0] == expected
    assert grey.images[1, 0, 0, 0] == 77


def test_corrupt_images_are_skipped_with_one_warning(tmp_path, caplog):
    for i in range(3):
        write_image(str(tmp_path / f"good{i}.jpg"), solid(128))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    good = (tmp_path / "good0.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(good[: len(good) // 2])
    with caplog.at_level(logging.WARNING, logger="kerasgen.data"):
        data = load_images(tmp_path)
    assert len(data) == 3 and data.skipped == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Skipped 2" in warnings[0].getMessage()
    assert re.search(r"broken\.jpg|truncated\.jpg", warnings[0].getMessage())


def test_only_corrupt_images_is_an_error(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="could be read"):
        load_images(tmp_path)


def test_single_image_file(tmp_path):
    write_image(str(tmp_path / "one.png"), solid(9, size=(5, 7)))
    data = load_images(tmp_path / "one.png", image_size=4, channels=1)
    assert data.images.shape == (1, 4, 4, 1)


# --- MNIST IDX files ---------------------------------------------------------


def test_idx_raw_and_gzip_give_identical_arrays(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 7, 5), dtype=np.uint8)
    labels = rng.integers(0, 10, 20, dtype=np.uint8)
    for folder, suffix in (("raw", ""), ("gz", ".gz")):
        os.makedirs(tmp_path / folder)
        write_idx(str(tmp_path / folder / f"x-images-idx3-ubyte{suffix}"),
                  images)
        write_idx(str(tmp_path / folder / f"x-labels-idx1-ubyte{suffix}"),
                  labels)
    raw = load_images(tmp_path / "raw")
    gz = load_images(tmp_path / "gz" / "x-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(raw.images, gz.images)
    np.testing.assert_array_equal(raw.images[..., 0], images)
    np.testing.assert_array_equal(raw.labels, labels)
    np.testing.assert_array_equal(gz.labels, labels)
    assert raw.images.shape == (20, 7, 5, 1)


def test_idx_folder_split_and_errors(tmp_path):
    write_idx(str(tmp_path / "train-images-idx3-ubyte"),
              np.zeros((4, 3, 3), np.uint8))
    write_idx(str(tmp_path / "t10k-images-idx3-ubyte"),
              np.ones((2, 3, 3), np.uint8))
    write_idx(str(tmp_path / "t10k-labels-idx1-ubyte"),
              np.arange(3, dtype=np.uint8))  # 3 labels for 2 images.
    assert len(load_images(tmp_path)) == 4
    assert load_images(tmp_path, split="train").labels is None
    with pytest.raises(ValueError, match="to match the 2 images"):
        load_images(tmp_path, split="test")
    with pytest.raises(ValueError, match="labels file"):
        load_images(tmp_path / "t10k-labels-idx1-ubyte")
    (tmp_path / "bad-images-idx3-ubyte").write_bytes(b"\x12\x34\x56\x78")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_images(tmp_path / "bad-images-idx3-ubyte")


# --- .npz arrays -------------------------------------------------------------


def test_npz_ranges_are_detected(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)
    forms = {
        "uint8": pixels,
        "unit": pixels / 255.0,
        "symmetric": (pixels / 127.5 - 1.0).astype(np.float32),
        "nchw": pixels.transpose(0, 3, 1, 2),
        "rgba": np.concatenate([pixels, pixels[..., :1]], axis=-1),
    }
    for name, images in forms.items():
        np.savez(tmp_path / f"{name}.npz", images=images, labels=[0, 1] * 3)
        data = load_images(tmp_path / f"{name}.npz")
        np.testing.assert_array_equal(data.images, pixels, err_msg=name)
        np.testing.assert_array_equal(data.labels, [0, 1] * 3)
    np.savez(tmp_path / "bad.npz", images=np.full((2, 4, 4), 300.0))
    with pytest.raises(ValueError, match="max=300.0"):
        load_images(tmp_path / "bad.npz")


def test_npz_keys_and_split(tmp_path):
    np.savez(
        tmp_path / "mnist_like.npz",
        x_train=np.zeros((5, 4, 4), np.uint8),
        y_train=np.eye(3)[[0, 1, 2, 0, 1]],  # one-hot.
        x_test=np.full((2, 4, 4), 9, np.uint8),
        y_test=np.array([[2], [1]]),
    )
    train = load_images(tmp_path / "mnist_like.npz")
    np.testing.assert_array_equal(train.labels, [0, 1, 2, 0, 1])
    test = load_images(tmp_path / "mnist_like.npz", split="test")
    assert test.images.shape == (2, 4, 4, 1) and (test.images == 9).all()
    np.testing.assert_array_equal(test.labels, [2, 1])
    np.savez(tmp_path / "unnamed.npz", np.zeros((3, 2, 2), np.uint8))
    unnamed = load_images(tmp_path / "unnamed.npz")
    assert len(unnamed) == 3 and unnamed.labels is None


# --- tensorflow-datasets -----------------------------------------------------


def test_tfds_errors(monkeypatch):
    with pytest.raises(ValueError, match="Received: source='tfds:'"):
        load_images("tfds:")
    tfds = pytest.importorskip("tensorflow_datasets")
    with pytest.raises(ValueError, match="Unknown tensorflow-datasets"):
        load_images("tfds:mnistt")

    class OfflineBuilder:  # A dataset not prepared yet, with no network.
        data_dir = "/nowhere/mnist/3.0.1"

        def is_prepared(self):
            return False

        def download_and_prepare(self):  # would retry for minutes
            raise AssertionError("a tfds source must not download")

    monkeypatch.setattr(tfds, "builder", lambda name: OfflineBuilder())
    with pytest.raises(ValueError, match="is not prepared") as info:
        load_images("tfds:mnist:test")
    assert "tfds build mnist" in str(info.value)
    assert "Received: source='tfds:mnist:test'" in str(info.value)


def test_tfds_source_with_mocked_data(monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    # The mock stands for data prepared beforehand (nothing is downloaded).
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    mock = tfds.testing.mock_data(
        num_examples=12, policy=tfds.testing.MockPolicy.USE_CODE
    )
    with mock:
        data = load_images("tfds:mnist:test", image_size=8, channels=3,
                           max_images=5)
    assert data.images.shape == (5, 8, 8, 3)
    assert data.labels.shape == (5,) and data.num_classes == 10
    assert data.source == "tfds:mnist:test"


# --- real datasets -----------------------------------------------------------


def test_real_mnist_idx():
    folder = dataset_path("mnist")
    data = load_images(folder)
    assert data.images.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(
        data.labels[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    )
    np.testing.assert_array_equal(
        np.bincount(data.labels),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    )
    file = load_images(os.path.join(folder, "t10k-images-idx3-ubyte.gz"),
                       image_size=32, max_images=16)
    assert file.images.shape == (16, 32, 32, 1)
    np.testing.assert_array_equal(file.labels, data.labels[:16])


def test_real_celeba():
    data = load_images(dataset_path("celeba", "images"), max_images=32)
    assert data.images.shape == (32, 64, 64, 3) and data.labels is None
    small = load_images(dataset_path("celeba"), image_size=16, channels=1,
                        max_images=8)
    assert small.images.shape == (8, 16, 16, 1)


def test_real_cat2dog_unpaired_layout():
    root = dataset_path("cat2dog")
    cats = load_images(root, split="trainA", max_images=6)
    assert cats.images.shape == (6, 128, 128, 3) and cats.labels is None
    both = load_images(root, split="test", max_images=10, image_size=32)
    assert both.class_names == ["testA", "testB"]
    np.testing.assert_array_equal(np.bincount(both.labels), [5, 5])
    with pytest.raises(ValueError, match="trainA"):
        load_images(root, split="validation")


def test_real_facades_paired_layout():
    root = dataset_path("facades")
    train = load_images(root, max_images=4)
    assert train.images.shape == (4, 128, 256, 3)
    assert train.source.endswith(os.path.join("facades", "train"))
    assert len(load_images(root, split="test")) == 106


# --- make_batches ------------------------------------------------------------


def test_batches_scale_pixels_exactly(backend):
    data = indexed_data(n=256)  # every pixel value 0..255 once.
    batches = make_batches(data, 256, shuffle=False, backend=backend)
    x, _ = take(batches, 1)[0]
    assert x.dtype == np.float32
    assert x[0].min() == x[0].max() == -1.0
    assert x[255].min() == x[255].max() == 1.0
    np.testing.assert_array_equal(x, to_unit_range(data.images))


def test_batches_labels_aligned_across_epochs(backend):
    data = indexed_data(n=100)
    steps = 100 // 10
    epochs = take(make_batches(data, 10, with_labels=True, seed=1,
                               backend=backend), 3 * steps)
    for x, y in epochs:
        assert x.shape == (10, 4, 4, 1) and x.dtype == np.float32
        assert y.shape == (10,) and y.dtype == np.int32
        assert x.min() >= -1.0 and x.max() <= 1.0
        np.testing.assert_array_equal(y, batch_indices(x) % 7)
    # repeat=True keeps going: every epoch is one full permutation.
    orders = []
    for epoch in range(3):
        batches = epochs[epoch * steps:(epoch + 1) * steps]
        order = np.concatenate([np.asarray(y) for _, y in batches])
        seen = np.concatenate([batch_indices(x) for x, _ in batches])
        assert sorted(seen) == list(range(100))
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1])  # reshuffled.


def test_same_seed_same_order(backend):
    data = indexed_data(n=64)

    def order(seed):
        batches = make_batches(data, 8, seed=seed, backend=backend)
        return np.concatenate([batch_indices(x) for x, _ in take(batches, 12)])

    first = order(3)
    np.testing.assert_array_equal(first, order(3))
    assert not np.array_equal(first, order(4))
    assert not np.array_equal(first[:8], np.arange(8))  # shuffled.
    unshuffled = make_batches(data, 8, shuffle=False, backend=backend)
    x, _ = take(unshuffled, 1)[0]
    np.testing.assert_array_equal(batch_indices(x), np.arange(8))


def test_one_epoch_drops_the_remainder(backend):
    data = indexed_data(n=100)
    batches = make_batches(data, 30, repeat=False, backend=backend)
    first_pass = take(batches, 10)
    assert len(first_pass) == 3  # 100 // 30; 10 images dropped.
    assert all(x.shape == (30, 4, 4, 1) for x, _ in first_pass)
    second_pass = take(batches, 10)
    assert len(second_pass) == 3
    assert not np.array_equal(first_pass[0][0], second_pass[0][0])
    if backend == "numpy":
        assert batches.num_batches == len(batches) == 3


def test_tf_dataset_static_shapes():
    tf = pytest.importorskip("tensorflow")
    data = indexed_data(n=50, size=6)
    dataset = make_batches(data, 16, with_labels=True, backend="tensorflow")
    assert isinstance(dataset, tf.data.Dataset)
    images_spec, labels_spec = dataset.element_spec
    assert images_spec.shape.as_list() == [16, 6, 6, 1]
    assert images_spec.dtype == tf.float32
    assert labels_spec.shape.as_list() == [16]
    assert labels_spec.dtype == tf.int32
    images_only = make_batches(data, 16, repeat=False, backend="tensorflow")
    assert images_only.element_spec.shape.as_list() == [16, 6, 6, 1]


def test_make_batches_errors():
    data = indexed_data(n=10)
    with pytest.raises(ValueError, match="Received: batch_size=11"):
        make_batches(data, 11)
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        make_batches(data, 0)
    unlabelled = ImageData(data.images)
    with pytest.raises(ValueError, match="has no labels"):
        make_batches(unlabelled, 2, with_labels=True, backend="numpy")
    with pytest.raises(TypeError, match="must be an ImageData"):
        make_batches(data.images, 2)


def test_fit_accepts_the_batches():
    import keras

    data = load_images(max_images=256)
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(),
         keras.layers.Dense(10)]
    )
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    endless = make_batches(data, 32, with_labels=True)  # the backend's kind.
    history = model.fit(
        endless, steps_per_epoch=3, epochs=2, shuffle=False, verbose=0
    )
    assert len(history.history["loss"]) == 2
    assert int(model.optimizer.iterations) == 6
    one_pass = make_batches(data, 32, with_labels=True, repeat=False)
    model.fit(one_pass, epochs=2, shuffle=False, verbose=0)
    assert int(model.optimizer.iterations) == 6 + 2 * (256 // 32)


# --- backend hygiene and docs ------------------------------------------------


def test_jax_path_never_imports_tensorflow_or_sklearn_at_import():
    pytest.importorskip("jax")
    script = textwrap.dedent(
        """
        import sys
        sys.modules["sklearn"] = None  # kerasgen.data must not need it yet.
        import kerasgen.data
        del sys.modules["sklearn"]
        data = kerasgen.data.load_images(max_images=64)
        batches = kerasgen.data.make_batches(data, 16, with_labels=True)
        iterator = iter(batches)
        for _ in range(2):
            x, y = next(iterator)
            assert x.shape == (16, 8, 8, 1) and str(x.dtype) == "float32", x
        import keras
        model = keras.Sequential([keras.Input((8, 8, 1)),
                                  keras.layers.Flatten(),
                                  keras.layers.Dense(10)])
        model.compile(optimizer="sgd",
                      loss="sparse_categorical_crossentropy")
        model.fit(batches, steps_per_epoch=2, shuffle=False, verbose=0)
        assert keras.backend.backend() == "jax"
        print("tensorflow imported:", "tensorflow" in sys.modules)
        """
    )
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=REPO_ROOT)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True,
        text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tensorflow imported: False" in result.stdout


def _docstring_examples():
    objects = [kdata, load_images, make_batches, ImageData, to_unit_range,
               from_unit_range]
    for obj in objects:
        doc = inspect.getdoc(obj) or ""
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", doc,
                                             re.DOTALL)):
            yield pytest.param(block, id=f"{obj.__name__}-{i}")


@pytest.mark.parametrize("code", list(_docstring_examples()))
def test_docstring_examples_run(code):
    exec(compile(code, "<docstring>", "exec"), {})


# --- subset ------------------------------------------------------------------------


def test_subset_keeps_a_range_of_the_sources_order():
    every = load_images()
    head = load_images(subset="0:100")
    tail = load_images(subset="1700:")
    np.testing.assert_array_equal(head.images, every.images[:100])
    np.testing.assert_array_equal(tail.labels, every.labels[1700:])
    assert len(tail) == len(every) - 1700 and tail.source.endswith("[1700:]")
    # max_images counts within the subset.
    assert len(load_images(subset=(100, 200), max_images=5)) == 5
    np.testing.assert_array_equal(load_images(subset=slice(3, 6)).images, every.images[3:6])


@pytest.mark.parametrize("subset", ["8000", "5:3", "a:b", "-1:", (True, 3), (1,)])
def test_a_bad_subset_is_one_line(subset):
    with pytest.raises(ValueError, match="`subset` must be 'START:STOP'"):
        load_images(subset=subset)


def test_a_subset_past_the_end_says_how_many_there_are():
    with pytest.raises(ValueError, match="The subset holds no images: the source has 1797"):
        load_images(subset="5000:")


def test_mnist_held_out_digits_are_the_last_2000():
    head = load_images(dataset_path("mnist"), subset="0:8000")
    held_out = load_images(dataset_path("mnist"), subset="8000:")
    assert len(head) == 8000 and len(held_out) == 2000
    every = load_images(dataset_path("mnist"))
    np.testing.assert_array_equal(held_out.images, every.images[8000:])

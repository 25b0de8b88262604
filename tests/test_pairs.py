"""Tests for kerasgen.data.pairs: two-domain data for CycleGAN and pix2pix.

Fixtures are tiny images written to tmp_path; the real datasets in
../shared/datasets are read with max_images=4 and skip only when absent.
"""

import inspect
import logging
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from kerasgen.data import ImageData
from kerasgen.data import load_paired
from kerasgen.data import load_unpaired
from kerasgen.data import make_pair_batches
from kerasgen.data import pair_steps_per_epoch
from kerasgen.data import pairs

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = os.path.join(os.path.dirname(REPO_ROOT), "shared", "datasets")


def dataset_path(*parts):
    path = os.path.join(DATASETS, *parts)
    if not os.path.exists(path):
        pytest.skip(f"real dataset not present: {path}")
    return path


def tensorflow_available():
    import keras

    if keras.backend.backend() == "tensorflow":
        return True
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


BACKENDS = [
    "numpy",
    pytest.param(
        "tensorflow",
        marks=pytest.mark.skipif(
            not tensorflow_available(), reason="tensorflow not importable"
        ),
    ),
]


def save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def solid(height, width, colour):
    return np.broadcast_to(
        np.asarray(colour, np.uint8), (height, width, len(colour))
    ).copy()


# --- load_unpaired -----------------------------------------------------------


def test_unpaired_folder_reads_each_domain(tmp_path):
    for i in range(3):
        save(tmp_path / "trainA" / f"{i}.png", solid(10, 10, (255, 0, 0)))
    for i in range(5):
        save(tmp_path / "trainB" / f"{i}.jpg", solid(12, 12, (0, 0, 255)))
    save(tmp_path / "testA" / "0.png", solid(10, 10, (0, 255, 0)))
    save(tmp_path / "testB" / "0.png", solid(10, 10, (0, 255, 0)))
    data_a, data_b = load_unpaired(str(tmp_path), image_size=8)
    assert isinstance(data_a, ImageData) and isinstance(data_b, ImageData)
    assert data_a.images.shape == (3, 8, 8, 3)
    assert data_b.images.shape == (5, 8, 8, 3)
    assert data_a.labels is None and data_b.labels is None
    assert (data_a.images[..., 0] == 255).all()
    assert (data_b.images[..., 2] > 240).all()
    test_a, test_b = load_unpaired(tmp_path, image_size=8, split="test")
    assert len(test_a) == len(test_b) == 1
    assert (test_a.images[..., 1] == 255).all()
    two, _ = load_unpaired(tmp_path, image_size=8, max_images=2)
    assert len(two) == 2


def test_unpaired_folder_without_domains_is_one_clear_error(tmp_path):
    save(tmp_path / "foo" / "0.png", solid(4, 4, (0, 0, 0)))
    save(tmp_path / "bar" / "0.png", solid(4, 4, (0, 0, 0)))
    with pytest.raises(ValueError) as info:
        load_unpaired(str(tmp_path), image_size=8)
    message = str(info.value)
    assert "\n" not in message
    assert "no trainA/ and trainB/" in message
    assert "found: bar/, foo/" in message
    assert f"Received: source={str(tmp_path)!r}" in message
    save(tmp_path / "trainA" / "0.png", solid(4, 4, (0, 0, 0)))
    with pytest.raises(ValueError, match="no testA/ and testB/"):
        load_unpaired(str(tmp_path), image_size=8, split="test")
    with pytest.raises(FileNotFoundError, match="No folder"):
        load_unpaired(str(tmp_path / "missing"), image_size=8)
    with pytest.raises(ValueError, match="image_size"):
        load_unpaired(str(tmp_path), image_size=None)
    with pytest.raises(ValueError, match="Received: channels=2"):
        load_unpaired(image_size=8, channels=2)
    with pytest.raises(ValueError, match="Received: max_images=0"):
        load_paired(image_size=8, max_images=0)
    with pytest.raises(ValueError, match="is a file"):
        load_unpaired(str(tmp_path / "foo" / "0.png"), image_size=8)


def test_unpaired_tfds_with_split_is_refused():
    with pytest.raises(ValueError, match="'tfds:<name>'"):
        load_unpaired("tfds:cycle_gan/horse2zebra:trainA", image_size=8)


def test_mixed_sizes_and_grey_among_rgb_are_converted(tmp_path):
    save(tmp_path / "trainA" / "big.png", solid(30, 20, (200, 10, 10)))
    save(tmp_path / "trainA" / "grey.png", np.full((9, 9), 77, np.uint8))
    rgba = solid(7, 11, (10, 20, 30, 128))
    save(tmp_path / "trainA" / "rgba.png", rgba)
    save(tmp_path / "trainB" / "grey.png", np.full((5, 6), 99, np.uint8))
    data_a, data_b = load_unpaired(tmp_path, image_size=(8, 6))
    assert data_a.images.shape == (3, 8, 6, 3)
    assert data_b.images.shape == (1, 8, 6, 3)
    assert (data_a.images[1] == 77).all()  # The grey image, as RGB.
    assert (data_b.images == 99).all()
    grey_a, _ = load_unpaired(tmp_path, image_size=4, channels=1)
    assert grey_a.images.shape == (3, 4, 4, 1)


def test_embedded_unpaired_default():
    data_a, data_b = load_unpaired(image_size=16)
    assert data_a.images.shape == (899, 16, 16, 3)
    assert data_b.images.shape == (898, 16, 16, 3)
    # A: white on black, grey (R == G == B). B: dark ink on light paper.
    assert (data_a.images[..., 0] == data_a.images[..., 2]).all()
    assert data_a.images.mean() < 100  # Mostly black.
    assert data_b.images[..., 0].mean() > 150  # Mostly light.
    assert (data_b.images[..., 2] < data_b.images[..., 0]).mean() > 0.5
    # Disjoint halves: A has the even digits, B the odd ones.
    from kerasgen.data import load_images

    digits = load_images(image_size=16, channels=1)
    strokes_b = (255.0 - data_b.images[..., 0]).astype(np.float32)
    np.testing.assert_array_equal(
        data_a.images[..., :1], digits.images[0::2]
    )
    ink_b = np.corrcoef(strokes_b[0].ravel(), digits.images[1].ravel())[0, 1]
    assert ink_b > 0.99
    a_set = {image.tobytes() for image in data_a.images[..., 0]}
    b_as_a = {image.tobytes() for image in digits.images[1::2, ..., 0]}
    assert not a_set & b_as_a
    small_a, small_b = load_unpaired(image_size=8, max_images=10)
    assert len(small_a) == len(small_b) == 10


# --- load_paired -------------------------------------------------------------


def test_side_by_side_split_and_direction(tmp_path):
    for i in range(3):
        image = np.concatenate(
            [solid(10, 10, (255, 0, 0)), solid(10, 10, (0, 0, 255))], axis=1
        )
        image[0, 0] = (i, i, i)  # Keeps the files distinct.
        save(tmp_path / "train" / f"{i}.png", image)
    save(tmp_path / "val" / "0.png", np.concatenate(
        [solid(10, 10, (0, 255, 0)), solid(10, 10, (0, 0, 0))], axis=1
    ))
    inputs, targets = load_paired(tmp_path, image_size=4)
    assert inputs.images.shape == targets.images.shape == (3, 4, 4, 3)
    centre = (slice(None), slice(1, 3), slice(1, 3))
    assert (inputs.images[centre] == (255, 0, 0)).all()
    assert (targets.images[centre] == (0, 0, 255)).all()
    swapped_in, swapped_out = load_paired(tmp_path, image_size=4,
                                          direction="b2a")
    np.testing.assert_array_equal(swapped_in.images, targets.images)
    np.testing.assert_array_equal(swapped_out.images, inputs.images)
    val_in, val_out = load_paired(tmp_path, image_size=4, split="val")
    assert (val_in.images == (0, 255, 0)).all()
    assert (val_out.images == 0).all()
    with pytest.raises(ValueError, match="not 'test'"):
        load_paired(tmp_path, image_size=4, split="test")


def test_side_by_side_needs_width_twice_height(tmp_path):
    save(tmp_path / "ok.png", solid(10, 20, (1, 2, 3)))
    save(tmp_path / "square.png", solid(10, 10, (1, 2, 3)))
    with pytest.raises(ValueError) as info:
        load_paired(tmp_path, image_size=4)
    message = str(info.value)
    assert "\n" not in message
    assert "square.png" in message and "10x10" in message
    assert "width = 2 x height" in message


def test_invalid_direction():
    with pytest.raises(ValueError, match="Received: direction='ab'"):
        load_paired(image_size=8, direction="ab")


def test_facades_side_by_side():
    folder = dataset_path("facades")
    inputs, targets = load_paired(folder, image_size=128, max_images=4)
    assert inputs.images.shape == targets.images.shape == (4, 128, 128, 3)
    first = np.asarray(
        Image.open(os.path.join(folder, "train", "1.jpg")).convert("RGB")
    )
    np.testing.assert_array_equal(inputs.images[0], first[:, :128])
    np.testing.assert_array_equal(targets.images[0], first[:, 128:])
    test_in, _ = load_paired(folder, image_size=64, split="test",
                             max_images=4, direction="b2a")
    assert test_in.images.shape == (4, 64, 64, 3)


def test_cat2dog_unpaired():
    folder = dataset_path("cat2dog")
    cats, dogs = load_unpaired(folder, image_size=32, max_images=4)
    assert cats.images.shape == dogs.images.shape == (4, 32, 32, 3)
    assert cats.source.endswith("trainA") and dogs.source.endswith("trainB")


def test_paired_folders_by_name_with_orphan(tmp_path, caplog):
    for i in range(4):
        save(tmp_path / "trainA" / f"{i}.png", solid(6, 6, (i * 10,) * 3))
        save(tmp_path / "trainB" / f"{i}.jpg",
             solid(9, 9, (255, 255, 255 - i * 50)))
    save(tmp_path / "trainA" / "orphan.png", solid(6, 6, (1, 1, 1)))
    with caplog.at_level(logging.WARNING, logger="kerasgen.data"):
        inputs, targets = load_paired(tmp_path, image_size=6)
    assert len(inputs) == len(targets) == 4
    assert "Skipped 1 image file(s)" in caplog.text
    for i in range(4):
        assert (inputs.images[i] == i * 10).all()
        assert abs(int(targets.images[i, 3, 3, 2]) - (255 - i * 50)) <= 3
    reverse_in, _ = load_paired(tmp_path, image_size=6, direction="b2a",
                                max_images=2)
    assert len(reverse_in) == 2
    assert reverse_in.images[0, 0, 0, 0] > 240  # B (white-ish) is input.


def test_paired_folders_without_common_names(tmp_path):
    save(tmp_path / "trainA" / "a.png", solid(4, 4, (0, 0, 0)))
    save(tmp_path / "trainB" / "b.png", solid(4, 4, (0, 0, 0)))
    with pytest.raises(ValueError, match="No file name is in both"):
        load_paired(tmp_path, image_size=4)


def test_embedded_paired_default():
    inputs, targets = load_paired(image_size=16, max_images=50)
    assert inputs.images.shape == targets.images.shape == (50, 16, 16, 3)
    # Edges: white lines on black, thin. Targets: colour on white.
    edges = inputs.images
    assert set(np.unique(edges)) <= {0, 255}
    assert 0.02 < (edges[..., 0] == 255).mean() < 0.4
    assert (targets.images[:, 0, 0] == 255).all()  # White background.
    assert targets.images.mean() > 180
    colourful = targets.images.max(-1).astype(int) - targets.images.min(-1)
    assert (colourful > 60).any(axis=(1, 2)).all()
    swapped_in, swapped_out = load_paired(image_size=16, max_images=50,
                                          direction="b2a")
    np.testing.assert_array_equal(swapped_in.images, targets.images)
    np.testing.assert_array_equal(swapped_out.images, inputs.images)
    grey_in, _ = load_paired(image_size=8, channels=1, max_images=5)
    assert grey_in.images.shape == (5, 8, 8, 1)


# --- make_pair_batches -------------------------------------------------------


def indexed(count, size=2):
    """Images whose every pixel value is their index."""
    values = np.arange(count, dtype=np.uint8)
    return ImageData(
        np.broadcast_to(values[:, None, None, None], (count, size, size, 3))
        .copy()
    )


def batch_indices(batch):
    array = np.asarray(batch)
    return np.rint((array[:, 0, 0, 0] + 1.0) * 127.5).astype(int).tolist()


def read(batches, steps):
    iterator = iter(batches)
    result = []
    for _ in range(steps):
        a_batch, b_batch = next(iterator)
        result.append((batch_indices(a_batch), batch_indices(b_batch)))
    return result


@pytest.mark.parametrize("backend", BACKENDS)
def test_paired_batches_stay_aligned(backend):
    data = indexed(10)
    batches = make_pair_batches(data, indexed(10), 4, paired=True,
                                backend=backend)
    seen = read(batches, 5)  # Wraps into the second permutation.
    for a_indices, b_indices in seen:
        assert a_indices == b_indices
    a_batch, b_batch = next(iter(batches))
    assert np.asarray(a_batch).dtype == np.float32
    assert np.asarray(a_batch).shape == (4, 2, 2, 3)
    flat = [i for a_indices, _ in seen for i in a_indices]
    assert sorted(flat[:10]) == list(range(10))  # One permutation first.
    assert flat[:10] != list(range(10))  # Shuffled.
    unshuffled = make_pair_batches(data, data, 5, paired=True,
                                   shuffle=False, backend=backend)
    assert read(unshuffled, 2) == [([0, 1, 2, 3, 4],) * 2,
                                   ([5, 6, 7, 8, 9],) * 2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_unpaired_batches_are_independent(backend):
    data_a, data_b = indexed(12), indexed(5)
    batches = make_pair_batches(data_a, data_b, 3, paired=False, seed=1,
                                backend=backend)
    seen = read(batches, 8)
    a_stream = [i for a_indices, _ in seen for i in a_indices]
    b_stream = [i for _, b_indices in seen for i in b_indices]
    assert sorted(a_stream[:12]) == list(range(12))
    # The shorter set wraps around, a fresh permutation each time.
    for start in range(0, 20, 5):
        assert sorted(b_stream[start:start + 5]) == list(range(5))
    same = make_pair_batches(indexed(12), indexed(12), 3, paired=False,
                             seed=1, backend=backend)
    orders = read(same, 4)
    assert [a for a, _ in orders] != [b for _, b in orders]


@pytest.mark.parametrize("backend", BACKENDS)
def test_epoch_length_and_one_pass(backend):
    data_a, data_b = indexed(11), indexed(4)
    assert pair_steps_per_epoch(data_a, data_b, 2) == 5
    assert pair_steps_per_epoch(data_b, data_a, 3) == 3
    one_pass = make_pair_batches(data_a, data_b, 2, paired=False,
                                 repeat=False, backend=backend)
    batches = list(one_pass)
    assert len(batches) == 5
    assert all(np.asarray(b).shape[0] == 2 for pair in batches
               for b in pair)


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_order(backend):
    def order(seed, paired):
        data_a = indexed(9)
        data_b = indexed(9 if paired else 7)
        return read(make_pair_batches(data_a, data_b, 3, paired=paired,
                                      seed=seed, backend=backend), 6)

    for paired in (True, False):
        assert order(3, paired) == order(3, paired)
        assert order(3, paired) != order(4, paired)


def test_batch_errors():
    with pytest.raises(ValueError, match="Received: batch_size=6"):
        make_pair_batches(indexed(10), indexed(5), 6, paired=False,
                          backend="numpy")
    with pytest.raises(ValueError, match="same length"):
        make_pair_batches(indexed(10), indexed(5), 2, paired=True,
                          backend="numpy")
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        make_pair_batches(indexed(4), indexed(4), 0, paired=True)
    with pytest.raises(TypeError, match="must be an ImageData"):
        make_pair_batches([1, 2], indexed(4), 2, paired=True)


def test_fit_accepts_pair_batches():
    import keras

    data_a, data_b = load_unpaired(image_size=8, max_images=40)
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    batches = make_pair_batches(data_a, data_b, 8, paired=False)
    steps = pair_steps_per_epoch(data_a, data_b, 8)
    model.fit(batches, steps_per_epoch=steps, epochs=2, shuffle=False,
              verbose=0)
    assert int(model.optimizer.iterations) == 2 * steps
    one_pass = make_pair_batches(data_a, data_b, 8, paired=False,
                                 repeat=False)
    model.fit(one_pass, epochs=2, shuffle=False, verbose=0)
    assert int(model.optimizer.iterations) == 4 * steps


def test_jax_path_never_imports_tensorflow():
    pytest.importorskip("jax")
    script = textwrap.dedent(
        """
        import sys
        import kerasgen.data as kdata
        data_a, data_b = kdata.load_unpaired(image_size=8, max_images=20)
        inputs, targets = kdata.load_paired(image_size=8, max_images=20)
        for a, b, paired in ((data_a, data_b, False),
                             (inputs, targets, True)):
            batches = kdata.make_pair_batches(a, b, 4, paired=paired)
            x, y = next(iter(batches))
            assert x.shape == y.shape == (4, 8, 8, 3), x.shape
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
    for obj in (pairs, load_unpaired, load_paired, make_pair_batches,
                pair_steps_per_epoch):
        doc = inspect.getdoc(obj) or ""
        blocks = re.findall(r"```python\n(.*?)```", doc, re.DOTALL)
        for i, block in enumerate(blocks):
            yield pytest.param(block, id=f"{obj.__name__}-{i}")


@pytest.mark.parametrize("code", list(_docstring_examples()))
def test_docstring_examples_run(code):
    exec(compile(code, "<docstring>", "exec"), {})

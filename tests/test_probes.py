"""The model probes of `kerasgen.probes`: DeepDream and adversarial examples
(FGSM, PGD) on the zoo's own classifiers, and `kerasgen explore dream|attack`.

The attack checks read held-out MNIST digits (8000-9999 of the test set,
which lenet-mnist never saw) from the shared data folder.
"""

import os

import numpy as np
import pytest

from backends import backend_independent
from cli_helpers import assert_one_line_error
from cli_helpers import invoke

from kerasgen.metrics import load_extractor
from kerasgen.metrics.classifiers import build_lenet
from kerasgen.probes import adversarial
from kerasgen.probes.deepdream import dream
from kerasgen.probes.networks import layer_names

# One batch shape for every attack on lenet-mnist: XLA compiles once.
BATCH = 100
MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist")
needs_mnist = pytest.mark.skipif(
    not os.path.isdir(MNIST),
    reason=f"the held-out MNIST digits are read from {os.path.normpath(MNIST)}, "
           f"which this machine lacks")


@pytest.fixture(scope="module")
def lenet():
    return load_extractor("lenet-mnist")


@pytest.fixture(scope="module")
def digits():
    if not os.path.isdir(MNIST):
        pytest.skip(f"no held-out digits: {os.path.normpath(MNIST)} is absent")
    from kerasgen.data import load_images

    data = load_images(MNIST, subset="8000:", max_images=300)
    return data.images, data.labels


# --- Adversarial examples ------------------------------------------------------


@needs_mnist
def test_fgsm_at_epsilon_zero_is_the_identity(lenet, digits):
    images, labels = digits[0][:BATCH], digits[1][:BATCH]
    clean = lenet.prepare(images)
    np.testing.assert_array_equal(adversarial.fgsm(lenet, images, labels, 0.0), clean)
    np.testing.assert_array_equal(adversarial.fgsm(lenet, clean, labels, 0), clean)
    np.testing.assert_array_equal(adversarial.pgd(lenet, clean, labels, 0), clean)


@needs_mnist
def test_fgsm_moves_every_unclipped_pixel_by_two_epsilon(lenet, digits):
    images, labels = digits[0][:BATCH], digits[1][:BATCH]
    clean = lenet.prepare(images)
    attacked = adversarial.fgsm(lenet, images, labels, 0.1)
    change = np.abs(attacked - clean)
    assert change.max() == pytest.approx(0.2, abs=1e-6)  # 0.1 image units in [-1, 1]
    inside = (clean > -0.8) & (clean < 0.8)  # far from the clip at +-1
    moved = change[inside]
    # sign(gradient) is 0 only where the gradient is exactly 0.
    assert np.mean(np.isclose(moved, 0.2, atol=1e-6)) > 0.9
    assert attacked.min() >= -1 and attacked.max() <= 1


@needs_mnist
def test_accuracy_under_fgsm_decreases_with_epsilon(lenet, digits):
    images, labels = digits
    epsilons = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]
    rows = adversarial.accuracy_under_attack(lenet, images, labels, epsilons,
                                             batch_size=BATCH)
    accuracy = [row["accuracy"] for row in rows]
    assert [row["epsilon"] for row in rows] == epsilons
    assert [row["levels"] for row in rows] == [0.0, 12.75, 25.5, 38.25, 51.0, 76.5]
    assert all(row["n"] == len(images) for row in rows)
    assert accuracy[0] > 0.97  # the clean accuracy (0.992 on all 2,000)
    assert all(a >= b for a, b in zip(accuracy, accuracy[1:])), accuracy
    assert accuracy[-1] < 0.5 * accuracy[0], accuracy


@needs_mnist
def test_pgd_is_at_least_as_strong_as_fgsm_and_stays_in_the_ball(lenet, digits):
    images, labels = digits
    images, labels = images[:BATCH], labels[:BATCH]
    clean = lenet.prepare(images)
    epsilon = 0.1
    fgsm_images = adversarial.fgsm(lenet, images, labels, epsilon)
    pgd_images = adversarial.pgd(lenet, images, labels, epsilon, steps=5, seed=1)

    def accuracy(x):
        return np.mean(lenet.probabilities(x).argmax(-1) == labels)

    assert accuracy(pgd_images) <= accuracy(fgsm_images) < accuracy(clean)
    assert np.abs(pgd_images - clean).max() <= 2 * epsilon + 1e-6
    assert pgd_images.min() >= -1 and pgd_images.max() <= 1
    # Without the random start, one step of epsilon is FGSM.
    one_step = adversarial.pgd(lenet, images, labels, epsilon, steps=1,
                               step_size=epsilon, random_start=False)
    np.testing.assert_allclose(one_step, fgsm_images, atol=1e-6)


@needs_mnist
def test_accuracy_rows_of_pgd_name_its_settings(lenet, digits):
    images, labels = digits
    rows = adversarial.accuracy_under_attack(lenet, images[:BATCH], labels[:BATCH],
                                             [0, 0.2], method="pgd", steps=3, seed=0)
    assert rows[0]["accuracy"] > rows[1]["accuracy"]
    assert rows[1]["steps"] == 3 and rows[1]["random_start"] is True
    assert rows[1]["step_size"] == pytest.approx(2.5 * 0.2 / 3)


def tiny_binary_classifier():
    """A one-logit functional network, small enough to compile in no time."""
    import keras

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.ReLU()(x)
    features = keras.layers.GlobalAveragePooling2D(name="features")(x)
    return keras.Model(inputs, [features, keras.layers.Dense(1, name="logits")(features)])


def test_attacks_read_a_one_logit_network():
    network = tiny_binary_classifier()
    images = np.random.default_rng(0).uniform(-0.5, 0.5, (4, 16, 16, 3)).astype("float32")
    labels = np.array([0, 1, 0, 1])
    attacked = adversarial.fgsm(network, images, labels, 0.05)
    assert attacked.shape == images.shape
    assert np.abs(attacked - images).max() == pytest.approx(0.1, abs=1e-6)
    picture, rows = adversarial.attack_figure(network, images, labels, 0.05)
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[-1] == 3
    assert {row["label"] for row in rows} == {"0", "1"}


def test_the_perturbation_image_spans_the_range():
    clean = np.zeros((1, 4, 4, 1), "float32")
    delta = np.array([0.2, -0.2, 0.0, 0.1], "float32").reshape(1, 2, 2, 1)
    shown = adversarial.perturbation_image(clean[:, :2, :2], clean[:, :2, :2] + delta, 0.1)
    np.testing.assert_allclose(shown.ravel(), [1, -1, 0, 0.5])


@pytest.mark.parametrize("call, name", [
    (lambda e, x: adversarial.fgsm(e, x, [0, 1], 1.5), "epsilon"),
    (lambda e, x: adversarial.fgsm(e, x, [0, 1], -0.1), "epsilon"),
    (lambda e, x: adversarial.fgsm(e, x, [0, 1], float("nan")), "epsilon"),
    (lambda e, x: adversarial.fgsm(e, x, [0, 1, 2], 0.1), "labels"),
    (lambda e, x: adversarial.fgsm(e, x, [0, 10], 0.1), "labels"),
    (lambda e, x: adversarial.pgd(e, x, [0, 1], 0.1, steps=0), "steps"),
    (lambda e, x: adversarial.accuracy_under_attack(e, x, [0, 1], [0.1], method="bim"),
     "method"),
    (lambda e, x: adversarial.accuracy_under_attack(e, x, [0, 1], [0.1], steps=3),
     "FGSM"),
    (lambda e, x: adversarial.accuracy_under_attack(e, x, [0, 1], [0.1, 2.0]),
     "epsilons"),
    (lambda e, x: dream(e, layer="conv9"), "layer"),
    (lambda e, x: dream(e, layer="logits", channel=10), "channel"),
    (lambda e, x: dream(e, steps=0), "steps"),
    (lambda e, x: dream(e, octave_scale=0.5), "octave_scale"),
])
def test_bad_arguments_are_one_line_value_errors(lenet, call, name):
    images = np.zeros((2, 28, 28, 1), "uint8")
    with pytest.raises(ValueError) as error:
        call(lenet, images)
    message = str(error.value)
    assert "\n" not in message and name in message and "Received:" in message


def test_an_unknown_layer_lists_the_valid_ones(lenet):
    with pytest.raises(ValueError, match="conv2d, max_pooling2d, conv2d_1, .*features"):
        dream(lenet, layer="conv9")


def test_attacks_refuse_what_is_not_a_classifier():
    with pytest.raises(TypeError, match="FeatureExtractor"):
        adversarial.fgsm("lenet-mnist", np.zeros((1, 28, 28, 1)), [0], 0.1)


# --- DeepDream -----------------------------------------------------------------


def test_layer_names_are_the_same_in_every_network_built():
    first, second = build_lenet(), build_lenet()
    assert first.layers[1].name != second.layers[1].name  # Keras's own counter
    assert list(layer_names(first)) == list(layer_names(second)) == [
        "conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten",
        "features", "dropout", "logits"]


def test_deepdream_raises_the_layer_activation_from_noise(lenet):
    result = dream(lenet, layer="conv2d_1", steps=4, octaves=2, seed=3)
    assert result.images.shape == (1, 28, 28, 1)
    assert result.images.dtype == np.float32
    assert result.images.min() >= -1 and result.images.max() <= 1
    assert result.after[0] > 1.5 * result.before[0], (result.before, result.after)


@needs_mnist
def test_deepdream_of_digits_raises_the_activation_and_keeps_the_range(lenet, digits):
    images, _ = digits
    result = dream(lenet, images[:3], layer="conv2d_1", steps=4, octaves=2, jitter=1)
    assert result.images.shape == (3, 28, 28, 1)
    assert result.images.min() >= -1 and result.images.max() <= 1
    assert np.all(result.after > result.before), (result.before, result.after)
    assert np.abs(result.images - lenet.prepare(images[:3])).mean() > 0.01
    # One channel for every image.
    channel = dream(lenet, images[:3], layer="conv2d_1", channel=5, steps=4, octaves=2)
    assert channel.images.shape == (3, 28, 28, 1)
    assert np.all(channel.after > channel.before), (channel.before, channel.after)


def test_deepdream_of_channels_gives_one_dream_each(lenet):
    result = dream(lenet, layer="logits", channel=[3, 7], steps=15, octaves=1)
    assert result.images.shape == (2, 28, 28, 1)
    assert np.all(result.after > result.before + 1)
    # Dreaming of a class's logit draws something the classifier calls it.
    assert lenet.probabilities(result.images).argmax(-1).tolist() == [3, 7]


def test_deepdream_runs_on_a_plain_functional_network():
    network = tiny_binary_classifier()
    result = dream(network, np.zeros((16, 16, 3), "uint8"), layer="re_lu", steps=3,
                   octaves=2)
    assert result.images.shape == (1, 16, 16, 3)
    assert result.after[0] > result.before[0]
    with pytest.raises(ValueError, match="images.shape"):
        dream(network, np.zeros((1, 8, 8, 3), "uint8"), layer="re_lu")


# --- The command line ----------------------------------------------------------


@backend_independent
def test_dream_command_writes_a_picture(tmp_path):
    out = tmp_path / "dream.png"
    result = invoke("explore", "dream", "lenet-mnist", "--layer", "conv2d_1",
                    "--octaves", 2, "--steps", 3, "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert out.is_file()
    assert "conv2d_1" in result.stdout and "->" in result.stdout


@backend_independent
def test_dream_command_starts_from_an_image(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((20, 20), 200, np.uint8)).save(tmp_path / "start.png")
    out = tmp_path / "dream.png"
    result = invoke("explore", "dream", "lenet-mnist", "--image", tmp_path / "start.png",
                    "--layer", "logits", "--channel", "2,3", "--octaves", 1,
                    "--steps", 2, "--out", out, "--scale", 1)
    assert result.exit_code == 0, result.output + result.stderr
    # The start image and the two dreams, side by side (28 px + padding 2).
    assert Image.open(out).size == (3 * 30 + 2, 32)


@pytest.mark.parametrize("args, code", [
    (["lenet-mnist", "--layer", "conv9"], 2),
    (["inception-v3"], 2),
    (["resnet"], 2),
    (["lenet-mnist", "--layer", "logits", "--channel", "12"], 2),
    (["lenet-mnist", "--channel", "a,b"], 2),
    (["lenet-mnist", "--steps", "0"], 2),
    (["lenet-mnist", "--out", "dream.jpg"], 2),
    (["lenet-mnist", "--image", "/no/such/picture.png"], 1),
])
def test_dream_command_refuses_bad_arguments_in_one_line(args, code):
    result = invoke("explore", "dream", *args)
    assert_one_line_error(result, code=code)


def test_unknown_layer_error_lists_the_layers():
    result = invoke("explore", "dream", "lenet-mnist", "--layer", "conv9")
    assert "conv2d, max_pooling2d, conv2d_1" in result.stderr


@needs_mnist
@backend_independent
def test_attack_command_prints_the_table_and_writes_the_figure(tmp_path):
    out = tmp_path / "attack.png"
    result = invoke("explore", "attack", "lenet-mnist", "--data", MNIST,
                    "--subset", "8000:", "--n", 60, "--epsilons", "0,0.1,0.3",
                    "--figure-n", 2, "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert out.is_file()
    lines = [line for line in result.stdout.splitlines() if line.startswith("| 0")]
    assert [line.split("|")[1].strip() for line in lines] == ["0", "0.1", "0.3"]
    accuracy = [float(line.split("|")[3]) for line in lines]
    assert accuracy[0] > accuracy[-1]
    assert "| 0.1 | 25.5 |" in result.stdout


@needs_mnist
@backend_independent
def test_attack_command_runs_pgd(tmp_path):
    result = invoke("explore", "attack", "lenet-mnist", "--data", MNIST,
                    "--subset", "8000:", "--n", 20, "--epsilons", "0.2",
                    "--method", "pgd", "--steps", 2, "--figure-n", 1,
                    "--out", tmp_path / "pgd.png")
    assert result.exit_code == 0, result.output + result.stderr
    assert "PGD, 2 steps" in result.stdout


def test_attack_command_asks_for_labels_where_the_data_has_none(tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(folder / f"{i}.png")
    result = invoke("explore", "attack", "lenet-mnist", "--data", folder,
                    "--out", tmp_path / "a.png")
    assert_one_line_error(result, code=2)
    assert "--label" in result.stderr
    labelled = invoke("explore", "attack", "lenet-mnist", "--data", folder, "--label", 3,
                      "--epsilons", "0,0.1", "--figure-n", 1, "--out", tmp_path / "a.png")
    assert labelled.exit_code == 0, labelled.output + labelled.stderr
    assert "every image labelled 3" in labelled.stdout


@pytest.mark.parametrize("args, code", [
    (["--epsilons", "0,2"], 2),
    (["--epsilons", "a"], 2),
    (["--method", "bim"], 2),
    (["--subset", "9:3"], 2),
    (["--label", "cat"], 2),
    (["--out", "attack.jpg"], 2),
])
def test_attack_command_refuses_bad_arguments_in_one_line(tmp_path, args, code):
    folder = tmp_path / "images"
    folder.mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((28, 28), np.uint8)).save(folder / "0.png")
    result = invoke("explore", "attack", "lenet-mnist", "--data", folder, *args)
    assert_one_line_error(result, code=code)


def test_attack_command_refuses_missing_data():
    result = invoke("explore", "attack", "lenet-mnist", "--data", "/no/such/folder")
    assert_one_line_error(result, code=1)

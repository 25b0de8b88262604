import os

import numpy as np
import pytest
from click.testing import CliRunner

import kerasgen
from family_contract import fit_one_batch, run_family_test
from kerasgen.models.conditional_gan import auxiliary_classifier_loss

K = 3
TINY = dict(image_size=8, channels=1, latent_dim=4, num_classes=K, embedding_dim=4,
            generator_filters=4, discriminator_filters=4, seed=3)
CLASSES = [kerasgen.ConditionalGAN, kerasgen.ACGAN]


def batch(n=8):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (n, 8, 8, 1)).astype("float32")
    return images, (np.arange(n) % K).astype("int32")


@pytest.mark.parametrize("cls", CLASSES)
def test_family_contract(cls, tmp_path):
    run_family_test(cls, TINY, batch(), tmp_path)


@pytest.mark.parametrize("cls", CLASSES)
def test_same_z_different_labels_give_different_images(cls):
    model = cls(**TINY)
    z = model.sample_latents(1, seed=0).repeat(K, axis=0)
    images = model.decode(z, np.arange(K))
    for a in range(K):
        for b in range(a + 1, K):
            assert not np.allclose(images[a], images[b])
    # The same label and z give the same image.
    np.testing.assert_array_equal(model.decode(z[:1], [1]), model.decode(z[:1], [1]))


def test_default_labels_are_one_block_per_class():
    model = kerasgen.ACGAN(**TINY)
    np.testing.assert_array_equal(model.check_labels(None, 6), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(model.check_labels(2, 3), [2, 2, 2])
    z = model.sample_latents(6, seed=1)
    np.testing.assert_array_equal(model.sample(6, seed=1),
                                  model.decode(z, [0, 0, 1, 1, 2, 2]))


@pytest.mark.parametrize("labels, fragment", [
    ([0, 1, 3], r"Labels must be in \[0, 2\]"),
    ([-1, 0, 0], r"Labels must be in \[0, 2\]"),
    ([0, 1], "one label per sample"),
    ([0.5, 1, 1], "integers"),
])
def test_bad_labels(labels, fragment):
    with pytest.raises(ValueError, match=fragment):
        kerasgen.ConditionalGAN(**TINY).sample(3, seed=0, labels=labels)


def test_auxiliary_loss_is_the_cross_entropy():
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]], "float32")
    labels = np.array([0, 1])
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -(log_softmax[0, 0] + log_softmax[1, 1]) / 2
    np.testing.assert_allclose(
        float(auxiliary_classifier_loss(labels, logits)), expected, rtol=1e-6)


def test_acgan_auxiliary_loss_decreases():
    # A tiny separable batch: class k is an image filled with a distinct value.
    values = np.array([-0.8, 0.0, 0.8], "float32")
    labels = np.tile(np.arange(K), 6).astype("int32")
    images = np.broadcast_to(values[labels][:, None, None, None],
                             (len(labels), 8, 8, 1)).astype("float32")
    model = kerasgen.ACGAN(**TINY)
    model.compile()
    aux = [fit_one_batch(model, (images, labels))["aux_loss"] for _ in range(8)]
    assert aux[-1] < aux[0], aux


def test_acgan_logs():
    model = kerasgen.ACGAN(**TINY)
    model.compile()
    assert set(fit_one_batch(model, batch())) == {"d_loss", "g_loss", "aux_loss"}
    assert model.discriminator.output_shape == (None, 1 + K)
    assert model.data_spec().with_labels


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(num_classes=1), "num_classes"),
    (dict(loss="wgan"), "Unknown loss"),
])
def test_bad_config_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        kerasgen.ACGAN(**{**TINY, **kwargs})


# --- kerasgen sample --label ---------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    acgan = kerasgen.ACGAN(**TINY)
    acgan.save(os.path.join(folder, "acgan.keras"))
    dcgan = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    dcgan.save(os.path.join(folder, "dcgan.keras"))
    return folder


def _sample(*args):
    from kerasgen.cli.main import cli

    return CliRunner().invoke(cli, ["sample", *map(str, args)])


def test_cli_sample_label(checkpoints, tmp_path):
    out = tmp_path / "twos.png"
    result = _sample(checkpoints / "acgan.keras", "--n", 4, "--label", 2, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.exists()


@pytest.mark.parametrize("checkpoint, label, fragment", [
    ("acgan.keras", 3, "Labels must be in [0, 2]"),
    ("dcgan.keras", 1, "unconditional"),
])
def test_cli_sample_label_errors(checkpoints, tmp_path, checkpoint, label, fragment):
    result = _sample(checkpoints / checkpoint, "--n", 2, "--label", label,
                     "--out", tmp_path / "x.png")
    assert result.exit_code == 2
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output

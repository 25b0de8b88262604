import numpy as np
import pytest

import kerasgen
from family_contract import fit_one_batch, run_family_test

TINY = dict(image_size=8, channels=1, latent_dim=4, generator_filters=4,
            discriminator_filters=4, seed=3)


def batch(n=8, size=8, channels=1):
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (n, size, size, channels)).astype("float32"), None


@pytest.mark.parametrize("cls", [kerasgen.GAN, kerasgen.DCGAN])
def test_family_contract(cls, tmp_path):
    run_family_test(cls, TINY, batch(), tmp_path)


def test_dcgan_rgb_28(tmp_path):
    model = kerasgen.DCGAN(image_size=28, channels=3, latent_dim=4,
                           generator_filters=4, discriminator_filters=4)
    assert model.generator.output_shape == (None, 28, 28, 3)
    assert model.discriminator.output_shape == (None, 1)


def test_batchnorm_statistics_update():
    model = kerasgen.DCGAN(**TINY)
    model.compile()
    stats = lambda: [np.array(v) for v in model.generator.non_trainable_variables]
    before = stats()
    assert before, "the DCGAN generator should have BatchNorm statistics"
    fit_one_batch(model, batch())
    assert all(not np.array_equal(a, b) for a, b in zip(before, stats()))


@pytest.mark.parametrize("loss", ["lsgan", "hinge", "wasserstein"])
def test_other_adversarial_losses_train(loss):
    model = kerasgen.DCGAN(**TINY, loss=loss)
    model.compile()
    logs = fit_one_batch(model, batch())
    assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["g_loss"])


def test_unconditional_sample_rejects_labels():
    with pytest.raises(ValueError, match="unconditional"):
        kerasgen.DCGAN(**TINY).sample(2, labels=[1, 2])


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(architecture="resnet"), "Unknown architecture"),
    (dict(loss="wgan"), "Unknown loss"),
    (dict(channels=2), "channels"),
    (dict(image_size=7), "image_size"),
])
def test_bad_config_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        kerasgen.DCGAN(**{**TINY, **kwargs})

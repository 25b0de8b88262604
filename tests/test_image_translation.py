"""CycleGAN and pix2pix, and the pieces they share: the image pool, the
learning-rate schedule, instance norm, reflection padding, PatchGAN."""

import keras
import numpy as np
import pytest

import kerasgen
from family_contract import fit_one_batch, run_family_test
from kerasgen.layers import ImagePool
from kerasgen.layers import ReflectionPadding2D
from kerasgen.layers import build_patch_discriminator
from kerasgen.layers import build_resnet_generator
from kerasgen.layers import build_unet_generator
from kerasgen.layers import instance_normalization
from kerasgen.layers import random_jitter
from kerasgen.losses import discriminator_loss
from kerasgen.training.schedules import ConstantThenLinearDecay
from backends import ON_TF

CYCLEGAN = dict(image_size=16, generator_filters=4, discriminator_filters=4,
                num_residual_blocks=1, discriminator_layers=2, pool_size=3, seed=1)
PIX2PIX = dict(image_size=16, generator_filters=4, discriminator_filters=4,
               discriminator_layers=2, seed=1)


def pair_batch(n=2, size=16):
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")
    b = rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")
    return a, b


# --- the families ------------------------------------------------------------


# CycleGAN's contract compiles four JAX train steps (39 s on CI's cores):
# on JAX in `make test-all`; test_every_family and test_cli_translation
# train it on JAX.
@pytest.mark.parametrize("cls, kwargs", [
    pytest.param(kerasgen.CycleGAN, CYCLEGAN, marks=() if ON_TF else pytest.mark.slow),
    (kerasgen.Pix2Pix, PIX2PIX)])
def test_family_contract(cls, kwargs, tmp_path):
    run_family_test(cls, kwargs, pair_batch(n=3), tmp_path)


def test_cyclegan_steps_train_both_generators_then_both_discriminators():
    model = kerasgen.CycleGAN(**CYCLEGAN)
    steps = model.update_steps()
    assert [(s.name, tuple(s.networks)) for s in steps] == [
        ("generator", ("generator_ab", "generator_ba")),
        ("discriminator", ("discriminator_a", "discriminator_b")),
    ]


class IdentityGenerator(keras.Model):
    def call(self, images, training=False):
        return images


def test_cycle_and_identity_losses_are_zero_for_identity_generators():
    model = kerasgen.CycleGAN(**CYCLEGAN)
    model.generator_ab = IdentityGenerator()
    model.generator_ba = IdentityGenerator()
    a, b = pair_batch()
    _, logs = model.generator_step_loss(a, b)
    for key in ("cycle_a", "cycle_b", "identity_a", "identity_b"):
        assert float(logs[key]) == 0.0, key
    # ... and the total is then the adversarial part alone.
    adversarial = float(logs["g_ab_loss"]) + float(logs["g_ba_loss"])
    assert float(logs["g_loss"]) == pytest.approx(adversarial, rel=1e-6)


def test_cycle_and_identity_losses_are_l1_distances_with_the_paper_weights():
    model = kerasgen.CycleGAN(**CYCLEGAN)
    shift = 0.25

    class Shift(keras.Model):
        def call(self, images, training=False):
            return images + shift

    model.generator_ab = Shift()
    model.generator_ba = Shift()
    a, b = pair_batch()
    _, logs = model.generator_step_loss(a, b)
    # F(G(a)) = a + 0.5; G(b) = b + 0.25.
    assert float(logs["cycle_a"]) == pytest.approx(0.5, abs=1e-6)
    assert float(logs["identity_b"]) == pytest.approx(0.25, abs=1e-6)
    adversarial = float(logs["g_ab_loss"]) + float(logs["g_ba_loss"])
    expected = adversarial + 10 * (0.5 + 0.5) + 0.5 * 10 * (0.25 + 0.25)
    assert float(logs["g_loss"]) == pytest.approx(expected, rel=1e-5)


def test_identity_weight_zero_drops_the_identity_loss():
    model = kerasgen.CycleGAN(**dict(CYCLEGAN, identity_weight=0.0))
    _, logs = model.generator_step_loss(*pair_batch())
    assert "identity_a" not in logs


def test_cyclegan_discriminator_step_fills_the_pools():
    model = kerasgen.CycleGAN(**CYCLEGAN)
    model.compile()
    fit_one_batch(model, pair_batch())
    assert int(model.pool_a.count.value) == 2
    assert int(model.pool_b.count.value) == 2
    # The stored images are the generators' translations, not zeros.
    assert np.abs(np.asarray(model.pool_b.images.value)[:2]).mean() > 0


def test_translate_directions_and_rows():
    model = kerasgen.CycleGAN(**CYCLEGAN)
    a, b = pair_batch()
    np.testing.assert_allclose(
        model.translate(a, "a2b"),
        np.asarray(model.generator_ab(a, training=False)), atol=1e-6)
    np.testing.assert_allclose(
        model.translate(a, "b2a"),
        np.asarray(model.generator_ba(a, training=False)), atol=1e-6)
    rows = model.translation_rows(a, b[:1])
    assert rows.shape == (3, 3, 16, 16, 3)
    np.testing.assert_array_equal(rows[0, 0], a[0])
    np.testing.assert_array_equal(rows[2, 0], b[0])
    with pytest.raises(ValueError, match="direction"):
        model.translate(a, "sideways")
    with pytest.raises(ValueError, match="shape"):
        model.translate(a[:, :8])


def test_pix2pix_has_one_direction():
    model = kerasgen.Pix2Pix(**dict(PIX2PIX, direction="b2a"))
    a, b = pair_batch()
    assert model.data_spec().direction == "b2a"
    assert model.translate(a, "b2a").shape == a.shape
    with pytest.raises(ValueError, match="b2a only"):
        model.translate(a, "a2b")
    rows = model.translation_rows(a, b)
    np.testing.assert_array_equal(rows[:, 2], b)


def test_pix2pix_losses_follow_the_paper():
    model = kerasgen.Pix2Pix(**PIX2PIX)
    a, b = (keras.ops.convert_to_tensor(x) for x in pair_batch())
    _, logs = model.generator_step_loss(a, b)
    assert float(logs["g_loss"]) == pytest.approx(
        float(logs["g_gan"]) + 100 * float(logs["l1"]), rel=1e-5)
    # D's loss is half the binary cross-entropy on real and generated pairs.
    loss, _ = model.discriminator_step_loss(a, b)
    assert 0 < float(loss) < 2


def test_pix2pix_generator_dropout_is_the_noise_in_training_only():
    model = kerasgen.Pix2Pix(image_size=32, generator_filters=4,
                             discriminator_filters=4, seed=1)
    a, _ = pair_batch(size=32)
    train_1 = np.asarray(model.generator(a, training=True))
    train_2 = np.asarray(model.generator(a, training=True))
    assert not np.allclose(train_1, train_2)
    np.testing.assert_array_equal(model.translate(a), model.translate(a))


def test_jitter_crops_and_flips_pairs_together():
    model = kerasgen.Pix2Pix(**PIX2PIX)
    a, _ = pair_batch(n=4)
    jittered_a, jittered_b = model.prepare_batch((a, -a))
    np.testing.assert_allclose(np.asarray(jittered_b), -np.asarray(jittered_a), atol=1e-6)
    assert not np.allclose(np.asarray(jittered_a), a)


def test_no_jitter_leaves_the_batch_alone():
    model = kerasgen.CycleGAN(**dict(CYCLEGAN, jitter=False))
    a, b = pair_batch()
    out_a, out_b = model.prepare_batch((a, b))
    np.testing.assert_array_equal(np.asarray(out_a), a)


def test_learning_rate_schedule_is_set_from_the_steps():
    model = kerasgen.CycleGAN(**dict(CYCLEGAN, constant_steps=3, decay_steps=3))
    model.compile()
    schedule = model.optimizer["generator"]._learning_rate
    assert isinstance(schedule, ConstantThenLinearDecay)
    assert model.get_config()["decay_steps"] == 3
    assert kerasgen.CycleGAN(**CYCLEGAN).learning_rate_schedule() == 2e-4


def test_fit_plans_the_papers_schedule_from_its_length():
    # A notebook user: compile(), then fit(epochs=2) over 4 pairs, 8 steps.
    model = kerasgen.CycleGAN(**CYCLEGAN)
    model.compile()
    a, b = pair_batch(n=4)
    model.fit(a, b, batch_size=1, epochs=2, verbose=0)
    assert (model.constant_steps, model.decay_steps) == (4, 4)
    schedule = model.optimizer["generator"]._learning_rate
    assert isinstance(schedule, ConstantThenLinearDecay)
    assert float(schedule(4)) == pytest.approx(2e-4)
    assert float(schedule(8)) == pytest.approx(0.0, abs=1e-12)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 8
    # The schedule is in the config, so a reloaded model keeps it.
    assert model.get_config()["decay_steps"] == 4


def test_plan_run_keeps_a_schedule_or_optimizers_the_user_chose():
    model = kerasgen.Pix2Pix(**dict(PIX2PIX, decay_steps=0))  # constant
    model.plan_run(100)
    assert (model.constant_steps, model.decay_steps) == (None, 0)
    assert model.learning_rate_schedule() == 2e-4
    model = kerasgen.CycleGAN(**CYCLEGAN)
    model.compile({name: keras.optimizers.Adam(1e-3) for name in ("generator", "discriminator")})
    a, b = pair_batch(n=2)
    model.fit(a, b, batch_size=1, epochs=1, verbose=0)
    assert model.decay_steps is None
    assert float(model.optimizer["generator"].learning_rate) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="at least one step"):
        model.plan_run(0)


def test_paper_defaults():
    cyclegan = kerasgen.CycleGAN(image_size=32, generator_filters=4,
                                 discriminator_filters=4, num_residual_blocks=1)
    assert (cyclegan.cycle_weight, cyclegan.identity_weight, cyclegan.pool_size,
            cyclegan.learning_rate, cyclegan.beta_1) == (10.0, 0.5, 50, 2e-4, 0.5)
    assert cyclegan.default_batch_size == 1
    pix2pix = kerasgen.Pix2Pix(image_size=32, generator_filters=4, discriminator_filters=4)
    assert (pix2pix.l1_weight, pix2pix.dropout, pix2pix.learning_rate) == (100.0, 0.5, 2e-4)


# --- the shared pieces -----------------------------------------------------------


def test_learning_rate_is_constant_then_decays_linearly_to_zero():
    # The paper: 100 epochs at 2e-4, then a linear decay to 0 over 100 more.
    schedule = ConstantThenLinearDecay(2e-4, constant_steps=100, decay_steps=100)
    assert float(schedule(0)) == pytest.approx(2e-4)
    assert float(schedule(99)) == pytest.approx(2e-4)
    assert float(schedule(100)) == pytest.approx(2e-4)  # the midpoint
    assert float(schedule(150)) == pytest.approx(1e-4)
    assert float(schedule(200)) == pytest.approx(0.0, abs=1e-12)  # the end
    assert float(schedule(300)) == pytest.approx(0.0, abs=1e-12)
    restored = ConstantThenLinearDecay.from_config(schedule.get_config())
    assert float(restored(150)) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="decay_steps"):
        ConstantThenLinearDecay(2e-4, 10, 0)


def test_image_pool_returns_its_input_until_full_then_mixes_half_and_half():
    pool = ImagePool(pool_size=50, image_shape=(1, 1, 1))
    seed = keras.random.SeedGenerator(0)
    first = np.arange(50, dtype="float32").reshape(50, 1, 1, 1)
    np.testing.assert_array_equal(np.asarray(pool.query(first, seed)), first)
    assert int(pool.count.value) == 50

    # Full: each image comes back itself or, with probability 1/2, as a
    # past image that it replaces in the pool.
    seen = set(range(50))
    returned_past = queried = 0
    for step in range(40):
        new = 1000.0 + 10 * step + np.arange(10, dtype="float32")
        before = set(np.asarray(pool.images.value).ravel().tolist())
        out = np.asarray(pool.query(new.reshape(10, 1, 1, 1), seed)).ravel()
        after = set(np.asarray(pool.images.value).ravel().tolist())
        from_pool = out != new
        returned_past += int(from_pool.sum())
        queried += len(new)
        # Past images only (earlier ones, or ones this batch stored first).
        assert set(out[from_pool].tolist()) <= seen | set(new.tolist())
        # Only images that took a stored image's place enter the pool (a
        # later image of the same batch may swap one of them out again).
        assert (after - before) <= set(new[from_pool].tolist())
        assert len(after) == 50
        seen |= set(new.tolist())
    # 400 draws of probability 1/2: 4 standard deviations is +-0.1.
    assert abs(returned_past / queried - 0.5) < 0.1


def test_image_pool_of_size_zero_is_a_pass_through():
    pool = ImagePool(pool_size=0, image_shape=(2, 2, 1))
    images = np.ones((3, 2, 2, 1), "float32")
    out = pool.query(images, keras.random.SeedGenerator(0))
    np.testing.assert_array_equal(np.asarray(out), images)


def test_instance_norm_normalizes_each_channel_of_each_image():
    x = np.random.default_rng(0).normal(5.0, 3.0, (2, 8, 8, 4)).astype("float32")
    x[1] *= 10
    y = np.asarray(instance_normalization()(x))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1.0, atol=1e-3)


def test_reflection_padding_mirrors_without_repeating_the_edge():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    y = np.asarray(ReflectionPadding2D(2)(x))[0, :, :, 0]
    assert y.shape == (8, 8)
    np.testing.assert_array_equal(y[2, :], [2, 1, 0, 1, 2, 3, 2, 1])
    layer = ReflectionPadding2D.from_config(ReflectionPadding2D(3).get_config())
    assert layer.compute_output_shape((None, 5, 5, 2)) == (None, 11, 11, 2)


def test_patchgan_output_and_receptive_field_is_70():
    d = build_patch_discriminator(256, filters=2)
    assert d.output_shape == (None, 30, 30, 1)
    # Receptive field of the stacked convolutions: r = 1 + sum (k - 1) * J,
    # J the product of the strides before each layer. (Instance norm makes
    # every output depend on the whole image through its statistics, so
    # it cannot be measured by perturbing one pixel.)
    field, jump = 1, 1
    for layer in d.layers:
        if isinstance(layer, keras.layers.Conv2D):
            field += (layer.kernel_size[0] - 1) * jump
            jump *= layer.strides[0]
    assert field == 70
    with pytest.raises(ValueError, match="num_layers"):
        build_patch_discriminator(16, num_layers=3)


def test_generators_keep_the_image_shape():
    assert build_resnet_generator(32, filters=2, num_residual_blocks=2).output_shape == (None, 32, 32, 3)
    assert build_unet_generator(32, filters=2).output_shape == (None, 32, 32, 3)
    with pytest.raises(ValueError, match="power of 2"):
        build_unet_generator(48)
    with pytest.raises(ValueError, match="multiple of 4"):
        build_resnet_generator(30)


def test_random_jitter_keeps_shape_and_range_and_varies_per_image():
    images = np.tile(np.linspace(-1, 1, 16, dtype="float32")[None, None, :, None],
                     (8, 16, 1, 3))
    out = np.asarray(random_jitter(images, keras.random.SeedGenerator(0)))
    assert out.shape == images.shape
    assert out.min() >= -1 and out.max() <= 1
    # Different crops/flips per image in the batch.
    assert len({out[i].tobytes() for i in range(8)}) > 1
    same = np.asarray(random_jitter(images, keras.random.SeedGenerator(0),
                                    load_size=16, flip=False))
    np.testing.assert_array_equal(same, images)


# --- parity with the authors' recipe (issue 18, benchmarks/cyclegan_parity.py) ---


def _centre_tap_generator(strided_padding):
    """The generator's first stride-2 layer, with a kernel that copies the
    centre tap: it shows which input pixel each output pixel is centred on."""
    from kerasgen.layers.image_to_image import _downsample, _upsample

    inputs = keras.Input((8, 8, 1))
    down = keras.Model(inputs, _downsample(inputs, 1, strided_padding, "down"))
    up_inputs = keras.Input((4, 4, 1))
    up = keras.Model(up_inputs, _upsample(up_inputs, 1, strided_padding, "up"))
    kernel = np.zeros((3, 3, 1, 1), "float32")
    kernel[1, 1] = 1.0
    down.get_layer("down").kernel.assign(kernel)
    up.get_layer("up").kernel.assign(kernel)
    return down, up


def test_strided_layers_are_centred_on_even_pixels_as_pytorchs():
    # PyTorch's Conv2d(3, stride=2, padding=1) centres output (i, j) on
    # input (2i, 2j); Keras's "same" on (2i+1, 2j+1) (it pads only the
    # bottom and right). The transposed layer puts input (i, j) back at
    # (2i, 2j), as ConvTranspose2d(padding=1, output_padding=1).
    image = np.arange(64, dtype="float32").reshape(1, 8, 8, 1)
    down, up = _centre_tap_generator("symmetric")
    np.testing.assert_array_equal(np.asarray(down(image))[0, :, :, 0], image[0, ::2, ::2, 0])
    small = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    doubled = np.zeros((8, 8), "float32")
    doubled[::2, ::2] = small[0, :, :, 0]
    np.testing.assert_array_equal(np.asarray(up(small))[0, :, :, 0], doubled)
    same_down, _ = _centre_tap_generator("same")
    np.testing.assert_array_equal(np.asarray(same_down(image))[0, :, :, 0],
                                  image[0, 1::2, 1::2, 0])


def test_cyclegan_defaults_are_the_authors_and_old_configs_keep_theirs():
    model = kerasgen.CycleGAN(**CYCLEGAN)
    assert (model.strided_padding, model.discriminator_fakes) == ("symmetric", "generator_step")
    config = model.get_config()
    for key in ("strided_padding", "discriminator_fakes"):
        config.pop(key)
    old = kerasgen.CycleGAN.from_config(config)
    assert (old.strided_padding, old.discriminator_fakes) == ("same", "recomputed")
    with pytest.raises(ValueError, match="discriminator_fakes"):
        kerasgen.CycleGAN(**CYCLEGAN, discriminator_fakes="latest")
    with pytest.raises(ValueError, match="strided_padding"):
        kerasgen.CycleGAN(**CYCLEGAN, strided_padding="valid")


@pytest.mark.parametrize("fakes", ["generator_step", "recomputed"])
def test_cyclegan_discriminators_judge_the_generator_steps_translations(fakes):
    # The authors' discriminators see G(a) from the forward pass of the
    # generators' step, before the generators' update. The logged
    # discriminator loss is computed before the discriminators' update, so
    # it can be recomputed from the weights before the step.
    keras.utils.set_random_seed(3)
    model = kerasgen.CycleGAN(**{**CYCLEGAN, "pool_size": 0}, jitter=False,
                              discriminator_fakes=fakes, learning_rate=0.05)
    model.compile()
    a, b = pair_batch(n=1)
    expected = discriminator_loss(model.discriminator_b(b),
                                  model.discriminator_b(model.generator_ab(a)), "lsgan")
    logs = model.fit(a, b, batch_size=1, epochs=1, verbose=0).history
    seen_before_update = np.isclose(logs["d_b_loss"][0], float(expected), rtol=1e-4)
    assert seen_before_update == (fakes == "generator_step")


def test_a_step_that_skips_batches_cannot_hand_tensors_on():
    from kerasgen.training import UpdateStep

    model = kerasgen.CycleGAN(**CYCLEGAN)
    step = UpdateStep("generator", model.generator_step_loss,
                      ("generator_ab", "generator_ba"), every=2)
    with pytest.raises(ValueError, match="every 2 batches"):
        model.receive_kept(step, {"fake_b": np.zeros((1, 16, 16, 3), "float32")})
    # Outside a train step nothing is kept: a loss called on its own
    # translates for itself.
    assert model.kept_from_earlier_step("fake_b") is None

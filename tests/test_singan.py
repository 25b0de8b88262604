"""SinGAN: the pyramid, fully convolutional scales trained one at a time
coarse to fine, the noise amplitudes, samples of any size, injection, and
`kerasgen train singan --data photo.jpg`."""

import keras
import numpy as np
import pytest
from PIL import Image

import kerasgen
from cli_helpers import assert_one_line_error, invoke
from family_contract import run_family_test
from kerasgen.models.singan import build_patch_critic
from kerasgen.models.singan import build_scale_generator
from kerasgen.models.singan import pyramid_sizes

TINY = dict(image_height=12, image_width=18, min_size=8, filters=4, max_filters=4,
            num_layers=3, d_steps=1, g_steps=1, seed=0)


def tiny(**overrides):
    keras.utils.set_random_seed(0)
    return kerasgen.SinGAN(**{**TINY, **overrides})


def photo(height=12, width=18, seed=1):
    rng = np.random.default_rng(seed)
    # A smooth picture with some texture, as a photo has.
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([np.sin(6 * x), np.cos(5 * y), np.sin(4 * (x + y))], axis=-1)
    return np.clip(0.7 * base + 0.2 * rng.normal(size=base.shape), -1, 1)[None].astype(
        "float32")


def weights(network):
    return [np.array(w) for w in network.get_weights()]


def test_family_contract(tmp_path):
    # One scale (the short side is min_size): every step's networks move.
    run_family_test(kerasgen.SinGAN, dict(TINY, min_size=12), (photo(), None), tmp_path)


def test_the_pyramid_runs_from_min_size_to_the_image_by_about_the_scale_factor():
    sizes = pyramid_sizes(120, 200, min_size=25, scale_factor=0.75)
    assert min(sizes[0]) == 25 and sizes[-1] == (120, 200)
    ratios = [b[0] / a[0] for a, b in zip(sizes, sizes[1:])]
    assert all(1.2 < r < 1.45 for r in ratios), ratios  # about 4/3 each
    aspect = [w / h for h, w in sizes]
    np.testing.assert_allclose(aspect, 200 / 120, rtol=0.05)
    assert pyramid_sizes(20, 30, min_size=25) == [(20, 30)]
    assert tiny().sizes == ((8, 12), (10, 15), (12, 18))


@pytest.mark.parametrize("size", [(7, 7), (16, 31), (40, 9)])
def test_every_scale_is_fully_convolutional(size):
    g = build_scale_generator(3, filters=4, num_layers=3)
    d = build_patch_critic(3, filters=4, num_layers=3)
    x = np.random.default_rng(0).uniform(-1, 1, (2,) + size + (3,)).astype("float32")
    assert g([x, x]).shape == (2,) + size + (3,)
    assert d(x).shape == (2,) + size + (1,)
    # The generator adds a residual to the image from below: a zero tail
    # gives that image back.
    tail = g.get_layer("generator_tail")
    tail.set_weights([np.zeros_like(w) for w in tail.get_weights()])
    np.testing.assert_allclose(g([x, x]), x, atol=1e-6)


def test_scales_train_coarse_to_fine_each_with_the_ones_below_frozen():
    model = tiny(steps_per_scale=2)
    model.compile()
    assert [p.name for p in model.phases()] == ["scale 0 (8x12)", "scale 1 (10x15)",
                                                 "scale 2 (12x18)"]
    image = np.repeat(photo(), 2, axis=0)  # two batches of the one image
    start = [weights(g) for g in model.generators()]
    finished = []
    for index in range(model.num_scales):
        model.enter_phase(index, 0)
        model.fit(image, batch_size=1, epochs=1, verbose=0)
        now = [weights(g) for g in model.generators()]
        for k in range(model.num_scales):
            moved = any(not np.array_equal(a, b) for a, b in zip(now[k], start[k]))
            # Scales above the current one have not started; the ones below
            # are as their phase left them.
            assert moved == (k <= index), (index, k)
        for k, saved in enumerate(finished):
            for a, b in zip(now[k], saved):
                np.testing.assert_array_equal(a, b)
        finished.append(now[index])
    assert int(model.optimizer.iterations) == 6
    for name, child in model.optimizer.items():
        assert int(child.iterations) == 2, name  # each scale's own, twice


def test_noise_amplitude_is_the_reconstructions_rmse_times_noise_amp():
    model = tiny(steps_per_scale=1, noise_amp=0.1)
    model.compile()
    image = photo()
    model.enter_phase(0, 0)
    model.fit(image, batch_size=1, epochs=1, steps_per_epoch=1, verbose=0)
    amplitudes = np.array(model.noise_amplitudes)
    np.testing.assert_allclose(amplitudes, [1.0, 0.0, 0.0])  # only scale 0 measured
    model.enter_phase(1, 0)
    model.fit(image, batch_size=1, epochs=1, steps_per_epoch=1, verbose=0)
    # By hand: G_0 from z*, upsampled to scale 1, against the image there.
    g0 = model.generator_0
    z_star = np.array(model.reconstruction_noise)[None]
    below = g0([z_star, np.zeros_like(z_star)], training=False)
    below = keras.ops.image.resize(below, model.sizes[1], interpolation="bilinear")
    real = keras.ops.image.resize(image, model.sizes[1], interpolation="bilinear",
                                  antialias=True)
    rmse = float(np.sqrt(np.mean(np.square(np.array(real) - np.array(below)))))
    np.testing.assert_allclose(np.array(model.noise_amplitudes)[1], 0.1 * rmse, rtol=1e-4)


def test_samples_at_any_size_and_aspect_ratio_and_reproducible():
    model = tiny()
    first = model.sample(2, seed=3)
    assert first.shape == (2, 12, 18, 3)
    np.testing.assert_array_equal(first, model.sample(2, seed=3))
    assert not np.array_equal(first, model.sample(2, seed=4))
    for size in [(12, 36), (24, 12), (7, 7)]:
        images = model.sample(2, seed=0, size=size)
        assert images.shape == (2,) + size + (3,)
        assert images.min() >= -1 and images.max() <= 1
    assert model.sizes_for((24, 36))[-1] == (24, 36)
    with pytest.raises(ValueError, match="size"):
        model.sample(1, size=(0, 5))


def test_inject_starts_the_pyramid_from_the_image_and_keeps_it_outside_the_mask():
    model = tiny(steps_per_scale=1)
    model.compile()
    model.fit(photo(), batch_size=1, epochs=1, verbose=0)  # measures sigma_2
    image = photo(24, 36, seed=5)  # any size: resized to the training size
    out = model.inject(image, start_scale=1, seed=0)
    assert out.shape == (1, 12, 18, 3)
    np.testing.assert_array_equal(out, model.inject(image, start_scale=1, seed=0))
    # Outside the mask (all of it, here) the result is the input.
    kept = model.inject(image, start_scale=1, seed=0, mask=np.zeros((24, 36)))
    resized = keras.ops.image.resize(image, (12, 18), interpolation="bilinear",
                                     antialias=True)
    np.testing.assert_allclose(kept, resized, atol=1e-6)
    # Starting from an image differs from starting from noise.
    assert not np.allclose(out, model.sample(1, seed=0), atol=1e-3)
    for bad in (0, 3, 1.5):
        with pytest.raises(ValueError, match="start_scale"):
            model.inject(image, start_scale=bad)


def test_configure_for_data_keeps_the_aspect_ratio_within_max_size(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (300, 200), (10, 200, 30)).save(path)
    assert kerasgen.SinGAN.configure_for_data(str(path), {"max_size": 60}) == {
        "image_height": 40, "image_width": 60, "channels": 3}
    # A small image keeps its size; what the caller gave wins.
    assert kerasgen.SinGAN.configure_for_data(str(path), {"image_height": 50}) == {
        "image_width": 250, "channels": 3}
    Image.new("RGB", (8, 8)).save(tmp_path / "second.png")
    with pytest.raises(ValueError, match="one image"):
        kerasgen.SinGAN.configure_for_data(str(tmp_path), {})


def test_cli_trains_on_a_photo_samples_at_a_size_and_injects(tmp_path):
    path = tmp_path / "photo.png"
    pixels = ((photo(30, 45)[0] + 1) * 127.5).astype("uint8")
    Image.fromarray(pixels).save(path)
    run = tmp_path / "run"
    result = invoke("train", "singan", "--data", path, "--steps", 3, "--set", "max_size=24",
                    "--set", "min_size=12", "--set", "filters=4", "--set", "num_layers=3",
                    "--set", "d_steps=1", "--set", "g_steps=1", "--sample-every", 3,
                    "--no-tensorboard", "--out", run)
    assert result.exit_code == 0, result.output
    model = keras.saving.load_model(run / "checkpoint.keras", safe_mode=True)
    assert (model.image_height, model.image_width) == (16, 24)
    assert [p.steps for p in model.phases()] == [1] * model.num_scales

    wide = invoke("sample", run, "--n", 2, "--size", "16x48", "--out", tmp_path / "w.png")
    assert wide.exit_code == 0, wide.output
    assert Image.open(tmp_path / "w.png").size[0] > Image.open(tmp_path / "w.png").size[1]
    bad_size = invoke("sample", run, "--size", "16by48", "--out", tmp_path / "x.png")
    assert_one_line_error(bad_size)

    injected = invoke("inject", run, path, "--start", 1, "--n", 2, "--out",
                      tmp_path / "i.png")
    assert injected.exit_code == 0, injected.output
    assert (tmp_path / "i.png").is_file()
    assert_one_line_error(invoke("inject", run, path, "--start", 9, "--out",
                                 tmp_path / "j.png"))
    assert_one_line_error(invoke("inject", "dcgan-mnist", path, "--out", tmp_path / "k.png"))

    Image.fromarray(pixels).save(tmp_path / "another.png")
    many = invoke("train", "singan", "--data", tmp_path, "--steps", 1, "--out",
                  tmp_path / "many")
    assert_one_line_error(many)
    assert "one image" in many.stderr

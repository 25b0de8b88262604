"""StyleGAN2: demodulation, truncation, style mixing, lazy R1, the family
contract."""

import keras
import numpy as np
import pytest

import kerasgen
from family_contract import run_family_test
from kerasgen.layers.style import ModulatedConv2D
from kerasgen.models.interfaces import provides
from kerasgen.models.stylegan2 import mix_styles
from backends import backend_independent

TINY = dict(image_size=8, channels=1, latent_dim=8, w_dim=8, mapping_layers=2,
            fmap_base=16, fmap_max=8, seed=0)


def tiny(**overrides):
    keras.utils.set_random_seed(0)
    return kerasgen.StyleGAN2(**{**TINY, **overrides})


def real_batch(n=8, size=8, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 1)).astype("float32")


# The contract and the path length step compile several JAX train steps
# (38 s and 33 s on CI's cores): on JAX in `make test-all`; test_every_family
# and test_lazy_r1_runs_every_interval_batches train StyleGAN2 on JAX.
@backend_independent
def test_family_contract(tmp_path):
    # Without R1: its gradient cannot reach every weight (not the score's
    # bias, which leaves D's input gradient as it is). test_lazy_r1_... covers it.
    run_family_test(kerasgen.StyleGAN2, dict(TINY, r1_gamma=0.0), (real_batch(), None),
                    tmp_path)


def test_demodulation_gives_unit_variance_outputs_for_unit_variance_inputs():
    keras.utils.set_random_seed(0)
    layer = ModulatedConv2D(32, 3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 32, 32, 64)).astype("float32")
    # Styles far from 1: modulation alone would scale the outputs with them.
    w = rng.normal(0.0, 3.0, size=(4, 16)).astype("float32")
    y = np.asarray(layer([x, w]))[:, 1:-1, 1:-1]  # away from the zero padding
    rms = np.sqrt(np.mean(np.square(y), axis=(1, 2)))  # per image and channel
    np.testing.assert_allclose(rms, 1.0, atol=0.12)
    assert abs(rms.mean() - 1.0) < 0.02
    plain = ModulatedConv2D(32, 3, demodulate=False)
    plain.build([x.shape, w.shape])
    plain.set_weights(layer.get_weights())
    spread = np.sqrt(np.mean(np.square(np.asarray(plain([x, w]))[:, 1:-1, 1:-1]), axis=(1, 2)))
    assert np.mean(np.abs(spread - 1.0)) > 0.5  # without it, the styles set the scale


def test_truncation_at_psi_0_gives_the_mean_image_and_at_psi_1_the_sample():
    model = tiny()
    model.w_avg.assign(np.random.default_rng(0).normal(size=(8,)).astype("float32"))
    z = model.sample_latents(3, seed=0)
    mean_image = model.synthesize(model.generator.broadcast(model.w_avg[None]))
    at_0 = np.asarray(model.synthesize(model.styles(z, psi=0.0)))
    for image in at_0:
        np.testing.assert_allclose(image, np.asarray(mean_image)[0], atol=1e-5)
    untruncated = model.synthesize(model.generator.broadcast(model.generator.mapping(z)))
    np.testing.assert_allclose(model.synthesize(model.styles(z, psi=1.0)), untruncated,
                               atol=1e-5)
    np.testing.assert_allclose(model.decode(z), untruncated, atol=1e-5)  # psi 1 by default


def test_mixing_at_layers_0_to_n_takes_the_coarse_styles_from_a():
    model = tiny()
    z = model.sample_latents(2, seed=3)
    a, b = model.styles(z[:1]), model.styles(z[1:])
    mixed = np.asarray(mix_styles(a, b, 2))
    np.testing.assert_allclose(mixed[:, :2], np.asarray(a)[:, :2])
    np.testing.assert_allclose(mixed[:, 2:], np.asarray(b)[:, 2:])
    only_a = model.mix(z[:1], z[1:], crossover=model.num_ws)
    only_b = model.mix(z[:1], z[1:], crossover=0)
    np.testing.assert_allclose(only_a, model.decode(z[:1]), atol=1e-5)
    np.testing.assert_allclose(only_b, model.decode(z[1:]), atol=1e-5)
    between = model.mix(z[:1], z[1:], crossover=2)
    assert not np.allclose(between, only_a, atol=1e-4)
    assert not np.allclose(between, only_b, atol=1e-4)


def test_samples_are_deterministic_and_training_noise_is_fresh():
    model = tiny()
    np.testing.assert_array_equal(model.sample(2, seed=5), model.sample(2, seed=5))
    g = model.generator
    ws = g.broadcast(g.mapping(model.sample_latents(1, seed=0)))
    for noise in g.noises:
        noise.strength.assign(1.0)
    fresh = [np.asarray(g.synthesis(ws, seed_generator=model.seed_generator))
             for _ in range(2)]
    assert not np.allclose(fresh[0], fresh[1])
    np.testing.assert_array_equal(np.asarray(g.synthesis(ws)), np.asarray(g.synthesis(ws)))


def test_lazy_r1_runs_every_interval_batches():
    model = tiny(r1_interval=4)
    model.compile()
    model.fit(real_batch(28), batch_size=4, epochs=1, shuffle=False, verbose=0)  # 7 batches
    assert int(model.optimizer.iterations) == 7
    assert int(model.optimizer["r1"].iterations) == 1  # batch 4 only
    assert int(model.optimizer["discriminator"].iterations) == 7


@pytest.mark.parametrize("kwargs, message", [
    (dict(image_size=6), "image_size"),
    (dict(style_mixing=1.5), "style_mixing"),
    (dict(r1_interval=0), "r1_interval"),
])
def test_bad_arguments_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        tiny(**kwargs)
    assert "\n" not in str(error.value)


def test_the_mix_command_draws_sources_and_their_mixes(tmp_path):
    from PIL import Image

    from cli_helpers import assert_one_line_error
    from cli_helpers import invoke

    model = tiny()
    model.compile()
    model.save(tmp_path / "stylegan2.keras")
    out = tmp_path / "mix.png"
    result = invoke("mix", tmp_path / "stylegan2.keras", "--coarse", "1,2", "--fine", "3,4,5",
                    "--crossover", "2", "--scale", "1", "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    from kerasgen.utils.images import to_uint8

    grid = np.asarray(Image.open(out))
    # 3 rows (B along the top, then A = 1, 2) of 4 columns, 8 px and 2 of padding.
    assert grid.shape[:2] == (3 * 10 + 2, 4 * 10 + 2)
    # The cell of A = seed 1, B = seed 3 is model.mix of those latents.
    expected = model.mix(model.sample_latents(1, seed=1), model.sample_latents(1, seed=3), 2)
    cell = grid[12:20, 12:20].reshape(8, 8, -1)[..., :1]
    np.testing.assert_allclose(cell.astype(int), to_uint8(expected)[0].astype(int), atol=1)

    wrong = invoke("mix", "dcgan-mnist", "--coarse", "1", "--fine", "2", "--out", out)
    assert_one_line_error(wrong)
    assert "mix" in wrong.stderr
    bad = invoke("mix", tmp_path / "stylegan2.keras", "--coarse", "a", "--fine", "2",
                 "--out", out)
    assert_one_line_error(bad, code=2)


def test_w_space_is_a_latent_interface_whose_samples_are_the_models():
    model = kerasgen.StyleGAN2(image_size=8, channels=1, latent_dim=8, w_dim=6,
                               mapping_layers=2, fmap_base=16, fmap_max=8)
    space = model.w_space()
    assert provides(space, "decode") and provides(space, "sample_latents")
    w = space.sample_latents(3, seed=4)
    assert w.shape == (3, 6)
    np.testing.assert_allclose(space.sample(3, seed=4), model.sample(3, seed=4), atol=1e-6)
    # psi 0: every w is the mean w, so every image is the mean w's image.
    mean = model.w_space(psi=0.0).sample(2, seed=1)
    np.testing.assert_allclose(mean[0], mean[1], atol=1e-6)
    np.testing.assert_allclose(space.decode(np.asarray(model.w_avg)[None]), mean[:1], atol=1e-6)


def test_path_lengths_are_the_norms_of_the_jacobian_times_y():
    # Central differences of y . G(ws) in every coordinate of ws, against
    # the autodiff lengths: sqrt(mean over layers of ||dG/dw_l^T y||^2).
    model = tiny(path_length_weight=2.0)
    rng = np.random.default_rng(0)
    ws = np.asarray(model.training_ws(2)).astype("float32")
    y = (rng.normal(size=(2, 8, 8, 1)) / 8).astype("float32")
    lengths = np.asarray(model.path_lengths(ws, y))

    def f(v):
        return np.sum(np.asarray(model.generator.synthesis(v)) * y, axis=(1, 2, 3))

    gradient = np.zeros_like(ws)
    eps = 1e-2
    for layer in range(ws.shape[1]):
        for j in range(ws.shape[2]):
            step = np.zeros_like(ws)
            step[:, layer, j] = eps
            gradient[:, layer, j] = (f(ws + step) - f(ws - step)) / (2 * eps)
    expected = np.sqrt(np.mean(np.sum(gradient ** 2, axis=2), axis=1))
    np.testing.assert_allclose(lengths, expected, rtol=2e-2)


@backend_independent
def test_path_length_steps_track_the_mean_and_train_the_generator_only():
    from family_contract import changed, only_step, values_of

    model = tiny(path_length_weight=2.0, path_length_interval=1, r1_gamma=0.0)
    restored = kerasgen.StyleGAN2.from_config(model.get_config())
    assert restored.path_length_weight == 2.0 and restored.path_length_interval == 1
    model.compile()
    logs = model.fit(real_batch(), batch_size=8, epochs=1, verbose=0).history
    assert logs["pl_penalty"][-1] > 0 and np.isfinite(logs["pl_penalty"][-1])
    # a = 0 + 0.01 (mean length - 0): positive, and a hundredth of a length.
    assert 0 < float(model.pl_mean) < 0.1

    alone = tiny(path_length_weight=2.0, path_length_interval=1)
    only_step(alone, "path_length")
    before = {n: values_of(alone, n) for n in ("generator", "discriminator")}
    alone.fit(real_batch(), batch_size=8, epochs=1, verbose=0)
    assert any(changed(before["generator"], values_of(alone, "generator")))
    assert not any(changed(before["discriminator"], values_of(alone, "discriminator")))
    # Models without the penalty keep their weights list (the presets).
    assert not hasattr(tiny(), "pl_mean")

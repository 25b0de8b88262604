"""Swapping autoencoder: the crops, the codes, the swap, the co-occurrence
discriminator, lazy R1, the family contract and the command line."""

import keras
import numpy as np
import pytest

import kerasgen
from backends import backend_independent
from cli_helpers import assert_one_line_error, invoke
from family_contract import run_family_test
from kerasgen.models.swapae import random_crops

TINY = dict(image_size=16, channels=1, structure_downsampling=2, texture_downsampling=1,
            structure_channels=4, texture_dim=8, base_blocks=1, fmap_base=32, fmap_max=8,
            patch_size=8, patch_min_scale=0.25, patch_max_scale=0.5, patch_crops=2, seed=0)


def tiny(**overrides):
    keras.utils.set_random_seed(0)
    return kerasgen.SwappingAutoencoder(**{**TINY, **overrides})


def batch(n=8, size=16, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 1)).astype("float32")


# Five train-step compilations: 68 s on JAX with CI's two cores. The JAX
# train step is covered by test_lazy_r1_trains_both_discriminators_only and
# test_every_family; the whole contract runs on JAX in `make test-all`.
@backend_independent
def test_family_contract(tmp_path):
    # Without R1 (every 16 batches, so absent from one step):
    # test_lazy_r1_trains_both_discriminators_only covers it.
    run_family_test(kerasgen.SwappingAutoencoder, dict(TINY, r1_gamma=0.0, patch_r1_gamma=0.0),
                    (batch(), None), tmp_path)


def test_a_whole_image_crop_at_its_own_size_is_the_image():
    images = batch(3)
    crops = np.asarray(random_crops(images, 2, 16, 1.0, 1.0, seed=0))
    for k in range(2):
        np.testing.assert_allclose(crops[:, k], images, atol=1e-5)


def test_crops_lie_inside_their_image_and_are_resized():
    # Each image a horizontal ramp of its own offset: a crop's values are
    # within its image's range and vary along the width only.
    ramp = np.linspace(0.0, 1.0, 32, dtype="float32")
    images = np.stack([np.broadcast_to(ramp + i, (32, 32)) for i in range(3)])[..., None]
    crops = np.asarray(random_crops(images, 5, 8, 0.25, 0.5, seed=3))
    assert crops.shape == (3, 5, 8, 8, 1)
    for i in range(3):
        assert crops[i].min() >= i - 1e-5 and crops[i].max() <= i + 1 + 1e-5
        np.testing.assert_allclose(crops[i], np.broadcast_to(crops[i][:, :1], crops[i].shape),
                                   atol=1e-5)  # rows agree
        widths = crops[i][:, 0, -1, 0] - crops[i][:, 0, 0, 0]
        # 1/4 to 1/2 of the ramp's 1.0, less the half pixels at each end.
        assert np.all(widths > 0.25 * 7 / 8 - 1e-4) and np.all(widths < 0.5 + 1e-4)


def test_crops_pass_gradients_to_the_images():
    from kerasgen.training.input_gradients import input_gradient

    images = batch(2)
    gradient = np.asarray(input_gradient(
        lambda x: keras.ops.sum(random_crops(x, 2, 8, 0.25, 0.5, seed=0)), images))
    assert gradient.shape == images.shape
    assert gradient.sum() > 0  # bilinear weights: positive where the crops read


def test_codes_are_unit_vectors_of_the_declared_shapes():
    model = tiny()
    structure, texture = model.encode(batch(3))
    assert structure.shape == (3, 4, 4, 4) == (3, *model.structure_shape)
    assert texture.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(structure, axis=-1), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(texture, axis=-1), 1.0, atol=1e-4)


def test_the_swap_takes_structure_from_the_first_and_texture_from_the_second():
    model = tiny()
    a, b = batch(3, seed=1), batch(3, seed=2)
    structure_a, texture_a = model.encode(a)
    structure_b, texture_b = model.encode(b)
    swapped = model.swap(a, b)
    np.testing.assert_allclose(swapped, model.decode(structure_a, texture_b), atol=1e-5)
    np.testing.assert_allclose(model.swap(a, a), model.reconstruct(a), atol=1e-5)
    assert not np.allclose(swapped, model.decode(structure_b, texture_a), atol=1e-3)
    # One texture image for every structure image.
    np.testing.assert_allclose(model.swap(a, b[:1]), model.decode(
        structure_a, np.repeat(texture_b[:1], 3, axis=0)), atol=1e-5)


def test_the_swap_figure_has_sources_on_its_edges():
    model = tiny()
    a, b = batch(2, seed=1), batch(3, seed=2)
    images, nrow = model.swap_figure(a, b)
    assert nrow == 4 and images.shape == (12, 16, 16, 1)
    assert np.all(images[0] == -1.0)  # the blank corner
    np.testing.assert_allclose(images[1:4], b)
    np.testing.assert_allclose(images[4], a[0])
    np.testing.assert_allclose(images[9:12], model.swap(np.repeat(a[1:], 3, axis=0), b),
                               atol=1e-5)


def test_the_texture_donor_is_another_image_of_the_batch():
    model = tiny()
    for n in (2, 3, 8):
        index = np.arange(n, dtype="float32")
        donors = np.asarray(model.texture_source(keras.ops.convert_to_tensor(index)))
        assert sorted(donors) == list(index)
        assert np.all(donors != index)


def test_cooccurrence_reads_the_mean_of_the_references():
    model = tiny()
    rng = np.random.default_rng(0)
    query = rng.uniform(-1, 1, (2, 8, 8, 1)).astype("float32")
    references = rng.uniform(-1, 1, (2, 3, 8, 8, 1)).astype("float32")
    d = model.patch_discriminator
    logits = np.asarray(d([query, references]))
    np.testing.assert_allclose(np.asarray(d([query, references[:, ::-1]])), logits, atol=1e-5)
    assert not np.allclose(np.asarray(d([query, references[::-1]])), logits, atol=1e-5)


def test_lazy_r1_trains_both_discriminators_only():
    from family_contract import changed, only_step, values_of

    model = tiny(r1_interval=1)
    only_step(model, "r1")
    before = {name: values_of(model, name) for name in
              ("encoder", "generator", "discriminator", "patch_discriminator")}
    history = model.fit(batch(), batch_size=8, epochs=1, verbose=0).history
    assert history["r1"][-1] > 0 and history["patch_r1"][-1] > 0
    for name, values in before.items():
        moved = changed(values, values_of(model, name))
        if name.endswith("discriminator"):
            assert any(moved), name
        else:
            assert not any(moved), name


@pytest.mark.parametrize("arguments, fragment", [
    (dict(image_size=16, structure_downsampling=4), "structure_downsampling"),
    (dict(patch_size=12), "patch_size"),
    (dict(patch_size=32), "patch_size"),
    (dict(patch_min_scale=0.6, patch_max_scale=0.5), "patch_min_scale"),
    (dict(texture_downsampling=4), "texture_downsampling"),
    (dict(lambda_patch=-1.0), "lambda_patch"),
])
def test_bad_arguments_are_refused_in_one_line(arguments, fragment):
    with pytest.raises(ValueError, match=fragment):
        tiny(**arguments)


def test_inputs_of_the_wrong_shape_are_refused():
    model = tiny()
    with pytest.raises(ValueError, match="structure_images"):
        model.swap(np.zeros((2, 8, 8, 1)), np.zeros((2, 16, 16, 1)))
    with pytest.raises(ValueError, match="one texture image per structure image"):
        model.swap(batch(3), batch(2))
    with pytest.raises(ValueError, match="decodes structure codes"):
        model.decode(np.zeros((2, 4, 4, 4)), np.zeros((2, 7)))


@backend_independent
def test_evaluate_swaps_measures_swaps_and_reconstructions():
    from kerasgen.metrics.evaluate import evaluate_swaps

    model = tiny()
    images = ((batch(16) + 1) * 127.5).astype("uint8")
    rows = evaluate_swaps(model, images)["rows"]
    labels = [row["label"] for row in rows]
    assert labels[0].startswith("SWD x1e3 of swaps (Laplacian pyramid 16")
    assert labels[-3:] == ["reconstruction L1", "reconstruction PSNR (dB)",
                           "reconstruction SSIM"]
    assert all(np.isfinite(row["value"]) for row in rows)
    with pytest.raises(ValueError, match="Unknown metric fid"):
        evaluate_swaps(model, images, ["fid"])


@backend_independent
def test_the_command_line_trains_swaps_and_refuses_in_one_line(tmp_path):
    run = tmp_path / "run"
    result = invoke("train", "swapae", "--steps", 2, "--sample-every", 2,
                    "--no-tensorboard", "--out", run)
    assert result.exit_code == 0, result.output
    picture = sorted((run / "samples").iterdir())[-1]
    out = tmp_path / "swap.png"
    result = invoke("swap", run, "--structure", picture, "--texture", picture,
                    "--texture", picture, "--out", out)
    assert result.exit_code == 0, result.output
    assert "1 x 2 swap figure" in result.output and out.is_file()

    result = invoke("swap", run, "--structure", tmp_path / "absent.png", "--texture", picture)
    assert_one_line_error(result, code=1)
    assert "--structure: no such file or folder" in result.stderr
    result = invoke("sample", run, "--out", tmp_path / "grid.png")
    assert_one_line_error(result, code=2)
    assert "kerasgen swap" in result.stderr
    result = invoke("train", "swapae", "--steps", 2, "--eval-every", 1, "--no-tensorboard",
                    "--out", tmp_path / "other")
    assert_one_line_error(result, code=2)
    assert "kerasgen eval" in result.stderr
    result = invoke("eval", run, "--metrics", "l1,psnr", "--n", 8)
    assert result.exit_code == 0, result.output
    assert "reconstruction L1" in result.output

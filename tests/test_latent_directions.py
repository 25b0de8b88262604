"""Interpretable directions (GANSpace PCA, SeFa) and GAN dissection
(`kerasgen.latent.directions`, `kerasgen.latent.dissection`) and their
commands (`kerasgen explore directions|dissect`), on tiny models built
here (one test reads the dcgan-mnist preset), on whichever backend the run
uses."""

import keras
import numpy as np
import pytest

import kerasgen
from backends import backend_independent
from cli_helpers import assert_one_line_error
from cli_helpers import invoke
from latent_helpers import saved_checkpoints
from latent_helpers import tiny_dcgan
from kerasgen.latent import directions
from kerasgen.latent import dissection

# Two stages: a 4x4x8 ReLU (index 4, the default layer), then 8x8x4.
TINY = dict(image_size=16, latent_dim=4, generator_filters=4, discriminator_filters=4)


@pytest.fixture(scope="module")
def cgan():
    keras.utils.set_random_seed(0)
    return kerasgen.ConditionalGAN(image_size=8, latent_dim=4, num_classes=3,
                                   embedding_dim=4, generator_filters=4,
                                   discriminator_filters=4)


@pytest.fixture(scope="module")
def style():
    """A tiny StyleGAN2 (its generator is a subclassed model; building it
    takes half a minute on JAX, so its checks, which read weights and
    layers alone, are `backend_independent`)."""
    keras.utils.set_random_seed(0)
    return kerasgen.StyleGAN2(image_size=8, channels=1, latent_dim=8, w_dim=6,
                              mapping_layers=2, fmap_base=16, fmap_max=8)


def brightness(images):
    return images.mean(axis=(1, 2, 3))


@pytest.fixture(scope="module")
def model():
    return tiny_dcgan(**TINY)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """The tiny DCGAN saved as a run folder and as a `.keras` file."""
    return saved_checkpoints(tmp_path_factory, tiny_dcgan(**TINY))


def assert_orthonormal(rows):
    rows = np.asarray(rows, dtype="float64")
    np.testing.assert_allclose(rows @ rows.T, np.eye(len(rows)), atol=1e-5)


# --- PCA (GANSpace) ---------------------------------------------------------------


class SkewedLatents:
    """Latents N(0, C) whose covariance has one known long axis (std 5)
    and the rest std 1 and 0.5: the first principal component is that
    axis, the second the std-1 one."""

    latent_dim = 6
    num_classes = 0

    def __init__(self):
        rng = np.random.default_rng(42)
        self.basis = np.linalg.qr(rng.normal(size=(6, 6)))[0].T  # orthonormal rows
        self.stds = np.array([5.0, 2.0, 0.5, 0.5, 0.5, 0.5])

    def sample_latents(self, n, seed=None):
        noise = np.random.default_rng(seed).standard_normal((n, 6))
        return ((noise * self.stds) @ self.basis).astype("float32")


def test_pca_of_latents_recovers_a_known_principal_axis_in_order():
    space = SkewedLatents()
    found, ratios = directions.pca_directions(space, k=3, n=4000)
    assert found.shape == (3, 6) and found.dtype == np.float32
    assert_orthonormal(found)
    assert np.all(np.diff(ratios) <= 0)
    assert abs(found[0] @ space.basis[0]) > 0.999
    assert abs(found[1] @ space.basis[1]) > 0.99
    variances = space.stds ** 2
    np.testing.assert_allclose(ratios[:2], variances[:2] / variances.sum(), rtol=0.08)
    # Deterministic: the sign makes each row's largest entry positive.
    again, _ = directions.pca_directions(space, k=3, n=4000)
    np.testing.assert_array_equal(found, again)
    assert np.all(found[np.arange(3), np.abs(found).argmax(axis=1)] > 0)


def test_pca_of_a_layer_gives_orthonormal_latent_directions_by_variance(model):
    found, ratios = directions.pca_directions(model, k=4, n=200, layer="project")
    assert found.shape == (4, 4)
    assert_orthonormal(found)
    assert np.all(np.diff(ratios) <= 0) and 0 < ratios.sum() <= 1 + 1e-9
    # By index too (1 is the dense "project").
    by_index, _ = directions.pca_directions(model, k=4, n=200, layer=1)
    np.testing.assert_allclose(by_index, found, atol=1e-6)


def test_pca_of_a_layer_carries_its_main_axis_back_to_the_latent_it_comes_from():
    # project(z) = z @ K with K = small noise + 10 e_2 (x) v: the layer's
    # variance lies along v and comes from z_2, so the first direction is e_2.
    model = tiny_dcgan(**TINY, seed=1)
    kernel = model.generator.get_layer("project").kernel
    rng = np.random.default_rng(0)
    v = rng.normal(size=kernel.shape[1])
    value = 0.01 * rng.normal(size=kernel.shape)
    value[2] += 10.0 * v / np.linalg.norm(v)
    kernel.assign(value.astype("float32"))
    # (Regressed on n samples, z_2 picks up spurious correlations with the
    # other latents of order 1 / sqrt(n).)
    found, ratios = directions.pca_directions(model, k=3, n=2000, layer="project")
    assert abs(found[0, 2]) > 0.995
    assert ratios[0] > 0.95
    assert_orthonormal(found)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(k=0), "`k` must be an int in [1, latent_dim = 4]"),
    (dict(k=5), "Received: k=5"),
    (dict(k=3, n=3), "`n` must be an int > k = 3"),
    (dict(k=2, layer="nope"), "`layer` must be the name or index"),
    (dict(k=2, layer=0), "a layer after the generator's inputs"),
])
def test_pca_arguments_are_refused_in_one_line(model, kwargs, fragment):
    with pytest.raises(ValueError) as info:
        directions.pca_directions(model, **{"n": 50, **kwargs})
    assert fragment in str(info.value) and "\n" not in str(info.value)


# --- SeFa ---------------------------------------------------------------------------


def test_sefa_directions_are_the_eigenvectors_of_the_first_kernel(model):
    found, values = directions.sefa_directions(model, k=4)
    kernel = keras.ops.convert_to_numpy(
        model.generator.get_layer("project").kernel).astype("float64")
    expected_values, vectors = np.linalg.eigh(kernel @ kernel.T)  # A^T A, A = kernel^T
    expected_values, vectors = expected_values[::-1], vectors[:, ::-1]
    np.testing.assert_allclose(values, expected_values, rtol=1e-6)
    assert_orthonormal(found)
    # The same lines (each eigenvalue is simple here), up to sign.
    np.testing.assert_allclose(np.abs(found @ vectors), np.eye(4), atol=1e-4)
    assert directions.latent_linear_layer(model).name == "project"


def test_sefa_is_refused_without_a_linear_layer_on_the_latent_alone(cgan):
    with pytest.raises(ValueError, match="no linear layer acting on the latent") as info:
        directions.sefa_directions(cgan, k=2)
    assert "\n" not in str(info.value)


@backend_independent
def test_sefa_and_pca_in_stylegan2s_w(style):
    space = style.w_space()
    assert directions.latent_linear_layer(space).name == "affine"
    found, _ = directions.sefa_directions(space, k=3)
    assert found.shape == (3, 6)
    assert_orthonormal(found)
    pcs, ratios = directions.pca_directions(space, k=3, n=300)
    assert_orthonormal(pcs)
    assert np.all(np.diff(ratios) <= 0)
    w = space.sample_latents(300, seed=0).astype("float64")
    spread = ((w - w.mean(axis=0)) @ pcs.T).var(axis=0, ddof=1)
    np.testing.assert_allclose(ratios, spread / w.var(axis=0, ddof=1).sum(), rtol=1e-4)
    rows = directions.walk(space, pcs, steps=3, scale=1.0, k=1)
    assert rows.shape == (1, 3, 8, 8, 1)


# --- Walks ----------------------------------------------------------------------------


def test_walk_moves_along_each_direction_from_one_sample(model):
    found, _ = directions.sefa_directions(model, k=3)
    rows = directions.walk(model, found, seed=5, steps=5, scale=[1.0, 2.0, 3.0])
    assert rows.shape == (3, 5, 16, 16, 1)
    start = model.sample_latents(1, seed=5)
    for row in rows:  # the middle of every row is the sample itself
        np.testing.assert_allclose(row[2], model.decode(start)[0], atol=1e-5)
    end = model.decode(start + 3.0 * found[2:3])[0]
    np.testing.assert_allclose(rows[2, -1], end, atol=1e-5)
    assert not np.allclose(rows[0, 0], rows[0, -1])


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(directions=np.zeros((2, 3))), "`directions` must be an array (k, latent_dim = 4)"),
    (dict(steps=1), "`steps` must be an int >= 2"),
    (dict(k=9), "`k` must be None or an int in [1, 2]"),
    (dict(scale=[1.0]), "`scale` must be a finite float, or one per direction"),
    (dict(label=1), "`label` must be None: DCGAN is unconditional"),
])
def test_walk_arguments_are_refused_in_one_line(model, kwargs, fragment):
    arguments = {"directions": np.eye(4)[:2], **kwargs}
    with pytest.raises(ValueError) as info:
        directions.walk(model, **arguments)
    assert fragment in str(info.value) and "\n" not in str(info.value)


# --- Dissection -------------------------------------------------------------------


def test_ablating_no_units_changes_nothing_exactly(model):
    z = model.sample_latents(6, seed=3)
    expected = model.decode(z)
    for layer in [1, 2, 4, "up_0", "norm_1", 7, "to_image", -1]:
        np.testing.assert_array_equal(dissection.ablate(model, layer, [], z), expected)


def test_a_conditional_generator_is_split_inside_its_nested_decoder(cgan):
    names = [name for _, name, _ in dissection.generator_layers(cgan)]
    assert names[:4] == ["label", "z", "label_embedding", "z_and_label"]
    assert "project" in names and "to_image" in names
    z, labels = cgan.sample_latents(6, seed=1), np.array([0, 1, 2, 0, 1, 2])
    layer = dissection.default_layer(cgan)
    np.testing.assert_array_equal(dissection.ablate(cgan, layer, [], z, labels),
                                  cgan.decode(z, labels))
    assert not np.array_equal(dissection.ablate(cgan, layer, [0, 1], z, labels),
                              cgan.decode(z, labels))


def test_ablating_a_unit_changes_the_images_and_zeroes_its_activations(model):
    z = model.sample_latents(8, seed=0)
    split = dissection.split_generator(model, dissection.default_layer(model))
    # The layer's name depends on how many models the process built before
    # (Keras numbers unnamed layers): its kind and place are what is fixed.
    layer = model.generator.get_layer(split.layer)
    assert type(layer).__name__ == "Activation" and model.generator.layers[4] is layer
    assert (split.shape, split.units) == ((4, 4, 8), 8)
    maps = dissection.unit_activation_maps(model, split, z, units=[2, 5])
    np.testing.assert_array_equal(maps, split.activations(z)[..., [2, 5]])
    assert maps.shape == (8, 4, 4, 2) and maps.min() >= 0  # after a ReLU
    before = model.decode(z)
    for unit in range(split.units):
        if split.activations(z)[..., unit].any():
            assert not np.array_equal(dissection.ablate(model, split, [unit], z), before)
    everything = dissection.ablate(model, split, list(range(8)), z)
    # Every unit off: the images no longer depend on the latent.
    np.testing.assert_allclose(everything, np.repeat(everything[:1], 8, axis=0), atol=1e-6)


def test_a_dead_unit_has_exactly_no_effect():
    model = tiny_dcgan(**TINY)
    norm = model.generator.get_layer("norm_0")
    gamma, beta = (np.array(keras.ops.convert_to_numpy(v)) for v in (norm.gamma, norm.beta))
    gamma[3], beta[3] = 0.0, -100.0  # unit 3 is 0 after the ReLU, always
    norm.gamma.assign(gamma)
    norm.beta.assign(beta)
    z = model.sample_latents(16, seed=0)
    np.testing.assert_array_equal(dissection.ablate(model, 4, [3], z), model.decode(z))
    ranking = dissection.rank_units(model, 4, brightness, n=16)
    assert ranking.effects[list(ranking.units).index(3)] == 0.0


def test_rank_units_returns_every_unit_once_sorted_by_its_effect(model):
    units, effects = ranking = dissection.rank_units(model, 4, brightness, n=24, seed=1)
    assert sorted(units.tolist()) == list(range(8))
    assert np.all(np.diff(effects) <= 0)
    assert ranking.samples == 24 and ranking.layer == model.generator.layers[4].name
    # Each effect is the drop of the concept ablating that unit alone.
    z = model.sample_latents(24, seed=1)
    before = brightness(model.decode(z)).mean()
    for unit, effect in zip(units[[0, -1]], effects[[0, -1]]):
        after = brightness(dissection.ablate(model, 4, [unit], z)).mean()
        assert effect == pytest.approx(before - after, abs=1e-5)
        joint = dissection.ablation_effect(model, 4, [unit], brightness, n=24, seed=1)
        assert joint["drop"] == pytest.approx(effect, abs=1e-9)
        assert joint["share_before"] is None


def fake_classifier(images):
    """Probabilities of 3 classes from the mean of three image bands."""
    bands = np.stack([images[:, :5].mean(axis=(1, 2, 3)), images[:, 5:11].mean(axis=(1, 2, 3)),
                      images[:, 11:].mean(axis=(1, 2, 3))], axis=1) * 50.0
    bands = np.exp(bands - bands.max(axis=1, keepdims=True))
    return bands / bands.sum(axis=1, keepdims=True)


def test_a_class_concept_is_measured_on_the_samples_read_as_the_class(model):
    z = model.sample_latents(40, seed=0)
    probabilities = fake_classifier(model.decode(z))
    reading = probabilities.argmax(axis=1)
    target = int(np.bincount(reading).argmax())
    ranking = dissection.rank_units(model, 4, fake_classifier, n=40, concept_class=target)
    assert ranking.samples == int((reading == target).sum())
    assert ranking.baseline == pytest.approx(probabilities[reading == target, target].mean())
    top = ranking.units[:3]
    effect = dissection.ablation_effect(model, 4, top, fake_classifier, n=40,
                                        concept_class=target)
    assert effect["share_before"] == pytest.approx(np.mean(reading == target))
    after = fake_classifier(dissection.ablate(model, 4, top, z))
    assert effect["share_after"] == pytest.approx(np.mean(after.argmax(axis=1) == target))
    assert effect["drop"] == pytest.approx(
        (probabilities - after)[reading == target, target].mean(), abs=1e-5)
    # Without a class: each sample's own class, every sample counts.
    own = dissection.ablation_effect(model, 4, top, fake_classifier, n=40)
    assert own["samples"] == 40 and own["share_before"] == 1.0


@pytest.mark.parametrize("call, fragment", [
    (lambda m: dissection.ablate(m, 4, [8], m.sample_latents(2)), "`units` must be distinct"),
    (lambda m: dissection.ablate(m, 4, [1, 1], m.sample_latents(2)), "Received: units=[1, 1]"),
    (lambda m: dissection.split_generator(m, "nope"), "(0: z, 1: project"),
    (lambda m: dissection.rank_units(m, 4, brightness, n=0), "`n` must be an int >= 1"),
    (lambda m: dissection.rank_units(m, 4, brightness, n=4, concept_class=1),
     "`concept_class` must be None where"),
    (lambda m: dissection.rank_units(m, 4, fake_classifier, n=4, concept_class=7),
     "`concept_class` must be None or a class index in [0, 2]"),
    (lambda m: dissection.rank_units(m, 4, lambda x: np.zeros((3, 2, 2)), n=4),
     "`concept_fn` must give one score per image"),
])
def test_dissection_arguments_are_refused_in_one_line(model, call, fragment):
    with pytest.raises(ValueError) as info:
        call(model)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@backend_independent
def test_a_generator_that_cannot_be_split_is_refused_in_one_line(style):
    with pytest.raises(ValueError, match="not a functional Keras model") as info:
        dissection.split_generator(style, 1)
    assert "\n" not in str(info.value)
    vae = kerasgen.VAE(image_size=8, latent_dim=2, filters=4, seed=5)
    with pytest.raises(ValueError, match="cannot be dissected|not a functional"):
        dissection.split_generator(vae, 1)


def test_the_dcgan_mnist_preset_has_digit_units(tmp_path):
    """The shipped DCGAN, a few samples: ablating the units ranked first
    lowers lenet-mnist's probability of each sample's digit more than
    ablating as many ranked last, and its directions are well formed."""
    from kerasgen.metrics import load_extractor

    model = kerasgen.load("dcgan-mnist")
    classifier = load_extractor("lenet-mnist")
    split = dissection.split_generator(model, "norm_1")
    assert split.units == 64
    ranking = dissection.rank_units(model, split, classifier.probabilities, n=24)
    assert len(ranking.units) == 64 and np.all(np.diff(ranking.effects) <= 0)
    top = dissection.ablation_effect(model, split, ranking.units[:8],
                                     classifier.probabilities, n=24)
    bottom = dissection.ablation_effect(model, split, ranking.units[-8:],
                                        classifier.probabilities, n=24)
    assert top["drop"] > bottom["drop"] and top["share_after"] < 1.0
    found, ratios = directions.pca_directions(model, k=5, n=300, layer="project")
    assert_orthonormal(found)
    assert np.all(np.diff(ratios) <= 0)
    sefa, values = directions.sefa_directions(model, k=5)
    assert_orthonormal(sefa)
    assert directions.walk(model, found, steps=3, k=2).shape == (2, 3, 28, 28, 1)


# --- Commands ------------------------------------------------------------------------


@backend_independent
def test_directions_command_writes_walks_and_a_variance_table(checkpoints, tmp_path):
    out = tmp_path / "pcs.png"
    result = invoke("explore", "directions", checkpoints["folder"], "--layer", "project",
                    "--k", 3, "--n", 100, "--steps", 5, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.exists()
    lines = result.stdout.splitlines()
    assert lines[0].startswith("direction  explained variance")
    shares = [float(line.split()[1].rstrip("%")) for line in lines[1:4]]
    assert shares == sorted(shares, reverse=True)
    out = tmp_path / "sefa.png"
    result = invoke("explore", "directions", checkpoints["file"], "--method", "sefa",
                    "--k", 2, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.exists() and "SeFa of project" in result.stdout


@backend_independent
def test_dissect_command_ranks_units_and_draws_the_ablations(checkpoints, tmp_path):
    out = tmp_path / "units.png"
    result = invoke("explore", "dissect", checkpoints["file"], "--top", 3, "--n", 12,
                    "--samples", 4, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.exists()
    lines = result.stdout.splitlines()
    assert lines[0].startswith("rank  unit  effect")
    effects = [float(line.split()[2]) for line in lines[1:4]]
    assert effects == sorted(effects, reverse=True)
    assert "top 3 units ablated together" in result.stdout
    assert "3 random units ablated together" in result.stdout


@pytest.mark.parametrize("args, fragment", [
    (["directions", "{file}", "--layer", "nope", "--k", 2], "`layer` must be the name or index"),
    (["directions", "{file}", "--method", "sefa", "--layer", "project"], "--layer is for"),
    (["directions", "{file}", "--space", "w"], "has no W space"),
    (["directions", "{file}", "--k", 9], "`k` must be an int in [1, latent_dim = 4]"),
    (["directions", "{file}", "--out", "pcs.jpg"], "must be a .png file"),
    (["directions", "{file}", "--label", 1], "--label is for conditional models"),
    (["dissect", "{file}", "--concept", "12"], "--concept must be a class of lenet-mnist"),
    (["dissect", "{file}", "--top", 99, "--layer", 4], "--top is at most the 8 units"),
    (["dissect", "{file}", "--layer", 0], "a layer after the generator's inputs"),
    (["dissect", "{file}", "--extractor", "nope"], "Unknown feature extractor"),
    (["dissect", "/no/such/run"], "No such"),
])
def test_command_mistakes_are_one_line(checkpoints, tmp_path, args, fragment):
    args = [str(a).format(file=checkpoints["file"]) for a in args]
    result = invoke("explore", *args, *([] if "--out" in args else
                                        ["--out", tmp_path / "x.png"]))
    assert_one_line_error(result)
    assert fragment in result.stderr

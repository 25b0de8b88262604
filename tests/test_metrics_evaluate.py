"""Feature extractors, evaluation, the `--eval-every` callback and
`kerasgen eval`."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import assert_one_line_error, invoke, train_tiny
from kerasgen.data import load_images
from kerasgen.metrics import evaluate as ev
from kerasgen.metrics.extractors import (FeatureExtractor, load_extractor,
                                         load_preset_extractor)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_mnist = pytest.mark.skipif(not (SHARED / "mnist").is_dir(),
                                 reason="the shared MNIST digits are not here")
needs_cat2dog = pytest.mark.skipif(not (SHARED / "cat2dog").is_dir(),
                                   reason="the shared cat2dog set is not here")


@pytest.fixture(scope="module")
def lenet():
    return load_extractor("lenet-mnist")


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASGEN_HOME", str(tmp_path / "home"))


FixedImages = ev.ImageSamples


# --- Extractors ------------------------------------------------------------------


def test_extractor_converts_channels_and_size(lenet):
    rgb = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3)).astype("uint8")
    prepared = lenet.prepare(rgb)
    assert prepared.shape == (3, 28, 28, 1) and prepared.dtype == np.float32
    assert prepared.min() >= -1 and prepared.max() <= 1
    features, logits = lenet.run(rgb)
    assert features.shape == (3, 128) and logits.shape == (3, 10)
    probabilities = lenet.probabilities(rgb)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-6)


def test_unknown_extractor_is_refused():
    with pytest.raises(ValueError, match="Unknown feature extractor 'vgg'"):
        load_extractor("vgg")


def test_a_preset_with_altered_weights_is_refused(tmp_path):
    from kerasgen.zoo.registry import ZOO_FOLDER

    copy = tmp_path / "lenet-mnist"
    shutil.copytree(ZOO_FOLDER / "lenet-mnist", copy)
    weights = copy / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match the sha256"):
        load_preset_extractor(copy)


def test_a_preset_naming_an_unknown_builder_is_refused(tmp_path):
    from kerasgen.zoo.registry import ZOO_FOLDER
    from kerasgen.zoo.registry import seal_folder

    copy = tmp_path / "lenet-mnist"
    shutil.copytree(ZOO_FOLDER / "lenet-mnist", copy)
    config = json.loads((copy / "config.json").read_text())
    config["builder"] = "os.system"
    (copy / "config.json").write_text(json.dumps(config))
    # Sealed again, so that the builder check, not the sha256, is what refuses it.
    seal_folder(copy)
    with pytest.raises(ValueError, match="does not have"):
        load_preset_extractor(copy)


@needs_mnist
def test_lenet_mnist_card_accuracy_is_what_the_shipped_weights_give(lenet):
    digits = load_images(SHARED / "mnist")
    logits = lenet.run(digits.images[8000:])[1]
    accuracy = float(np.mean(np.argmax(logits, -1) == digits.labels[8000:]))
    card = lenet.metadata["metrics"]["held_out_accuracy"]
    # The same weights on another backend may flip a borderline digit.
    assert abs(accuracy - card) <= 1 / 2000, (accuracy, card)
    assert card > 0.98


@needs_cat2dog
def test_catdog_card_numbers_are_what_the_shipped_weights_give():
    from kerasgen.data import load_unpaired

    judge = load_extractor("catdog-classifier-64")
    cats, dogs = load_unpaired(SHARED / "cat2dog", image_size=64, split="test")
    p_cats = judge.probabilities(cats.images)[:, 1]
    p_dogs = judge.probabilities(dogs.images)[:, 1]
    card = judge.metadata["metrics"]
    assert abs(np.mean(p_cats > 0.5) - card["real_test_cats_judged_dog"]) <= 1 / 200
    accuracy = (np.sum(p_cats <= 0.5) + np.sum(p_dogs > 0.5)) / 400
    assert abs(accuracy - card["test_accuracy"]) <= 1 / 400


# --- Evaluation ------------------------------------------------------------------


def test_fid_of_real_digits_against_themselves_is_zero_and_named(lenet):
    real = load_images(image_size=28).images[:400]
    result = ev.evaluate_samples(FixedImages(real), real, ["fid", "kid", "pr"], n=400,
                                 extractor=lenet)
    values = {r["label"]: r["value"] for r in result["rows"]}
    assert abs(values["FID (lenet-mnist)"]) < 1e-4
    assert values["precision (lenet-mnist)"] == 1.0
    assert values["recall (lenet-mnist)"] == 1.0
    assert all("(lenet-mnist)" in label for label in values)
    assert result["settings"]["extractor"] == "lenet-mnist"
    assert result["settings"]["n"] == 400


def test_fid_grows_with_a_worse_sampler(lenet):
    real = load_images(image_size=28).images
    noise = np.random.default_rng(0).integers(0, 256, (400, 28, 28, 1)).astype("uint8")
    good = ev.evaluate_samples(FixedImages(real[400:800]), real[:400], ["fid"], n=400,
                               extractor=lenet)["rows"][0]["value"]
    bad = ev.evaluate_samples(FixedImages(noise), real[:400], ["fid"], n=400,
                              extractor=lenet)["rows"][0]["value"]
    assert bad > 10 * good


def test_real_features_are_cached_and_keyed_by_the_images(lenet, monkeypatch):
    real = load_images(image_size=28).images[:300]
    first = ev.reference_features(real, lenet, name="digits")
    assert first["path"].is_file()

    def fail(*args, **kwargs):
        raise AssertionError("read the images again")

    monkeypatch.setattr(FeatureExtractor, "run", fail)
    second = ev.reference_features(real, lenet, name="digits")
    np.testing.assert_array_equal(first["features"], second["features"])
    other = real.copy()
    other[0, 0, 0, 0] ^= 1
    with pytest.raises(AssertionError, match="read the images again"):
        ev.reference_features(other, lenet, name="digits")


def test_too_few_samples_for_fid_is_one_clear_error(lenet):
    real = load_images(image_size=28).images[:100]
    with pytest.raises(ValueError, match="more samples than its 128 feature dimensions"):
        ev.evaluate_samples(FixedImages(real), real, ["fid"], n=100, extractor=lenet)


def test_conditional_samples_are_balanced_over_classes():
    import kerasgen

    model = kerasgen.ConditionalGAN(image_size=8, latent_dim=4, num_classes=3,
                                    generator_filters=4, discriminator_filters=4)
    seen = []
    decode = model.decode
    model.decode = lambda latents, labels=None, batch_size=256: (
        seen.append(labels), decode(latents, labels, batch_size))[1]
    ev.generate_samples(model, 7, batch_size=4)
    assert np.concatenate(seen).tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_paired_translation_scores_of_a_perfect_translator():
    class Identity:
        interfaces = ("translate",)
        paired = True

        def translate(self, images, direction="a2b", batch_size=32):
            return images

    images = np.random.default_rng(0).uniform(-1, 1, (5, 16, 16, 3)).astype("float32")
    result = ev.evaluate_translation(Identity(), images, images)
    values = {r["metric"]: r["value"] for r in result["rows"]}
    assert values["l1"] == 0.0 and values["ssim"] == pytest.approx(1.0)
    assert values["psnr"] == float("inf")
    json.loads(ev.to_json(result))  # infinity survives as text


def test_evaluate_every_measures_at_its_steps():
    import kerasgen
    from kerasgen.metrics.callback import EvaluateEvery

    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    model.compile()
    real = load_images(image_size=8, max_images=200).images
    callback = EvaluateEvery(2, real, n=200)
    model.fit(real[:80].astype("float32") / 127.5 - 1, batch_size=16, epochs=1,
              verbose=0, callbacks=[callback])
    assert [step for step, _ in callback.history] == [2, 4, 5]
    assert all(np.isfinite(v["FID (lenet-mnist)"]) for _, v in callback.history)


# --- The command line -------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "run"
    assert train_tiny(out, "--steps", 2).exit_code == 0
    return out


def test_eval_prints_named_numbers_and_writes_json(tiny_run, tmp_path):
    out = tmp_path / "eval.json"
    result = invoke("eval", tiny_run, "--n", 200, "--metrics", "fid,kid,is", "--json", out)
    assert result.exit_code == 0, result.output
    for label in ("FID (lenet-mnist)", "KID (lenet-mnist)", "IS (lenet-mnist)"):
        assert label in result.stdout
    written = json.loads(out.read_text())
    assert [r["metric"] for r in written["rows"]] == ["fid", "kid", "is"]
    settings = written["settings"]
    assert settings["n"] == 200 and settings["extractor"] == "lenet-mnist"
    assert settings["checkpoint"].endswith("checkpoint.keras")


@pytest.mark.parametrize("args, code, fragment", [
    (["/no/such/run"], 2, "No such checkpoint"),
    (["{run}", "--n", 50], 2, "more samples than its 128 feature dimensions"),
    (["{run}", "--extractor", "vgg16"], 2, "Unknown --extractor vgg16"),
    (["{run}", "--metrics", "fid,sharpness"], 2, "Unknown metric sharpness"),
    (["{run}", "--data", "{empty}"], 1, "No image files"),
    (["{run}", "--extractor", "inception-v3"], 1, "pt_inception-2015-12-05"),
])
def test_eval_mistakes_end_in_one_error_line(tiny_run, tmp_path, args, code, fragment):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [str(a).format(run=tiny_run, empty=empty) for a in args]
    result = invoke("eval", *args)
    assert_one_line_error(result, code=code)
    assert fragment in result.stderr


def test_train_eval_every_writes_eval_csv(tmp_path):
    out = tmp_path / "run"
    result = train_tiny(out, "--steps", 4, "--eval-every", 2, "--eval-n", 200)
    assert result.exit_code == 0, result.output
    rows = (out / "eval.csv").read_text().splitlines()
    assert rows[0] == "step,metric,value,std"
    assert [row.split(",")[:2] for row in rows[1:]] == [
        ["2", "FID (lenet-mnist)"], ["4", "FID (lenet-mnist)"]]

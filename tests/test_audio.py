"""The audio families and what they stand on: WAV data, the STFT and its
inverses, phase shuffle, WaveGAN and SpecGAN, the spoken-digit judge and
the command line.

The tests that read the Free Spoken Digit Dataset skip, with a reason,
only when ../shared/datasets/fsdd is absent.
"""

import os
from pathlib import Path

import keras
import numpy as np
import pytest

from backends import backend_independent
from cli_helpers import assert_one_line_error, invoke
from family_contract import run_family_test
from kerasgen.data.audio import (FSDD_TEST_TAKES, fit_length, load_waveforms,
                                 make_waveform_batches, read_wav, resample, synthetic_tones,
                                 to_int16, write_wav)
from kerasgen.layers.audio import PhaseShuffle, build_wave_generator
from kerasgen.layers.spectral import Spectrogram
from kerasgen.models.specgan import SpecGAN
from kerasgen.models.wavegan import WaveGAN

FSDD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fsdd" / "recordings"
needs_fsdd = pytest.mark.skipif(not FSDD.is_dir(), reason="the shared FSDD recordings are not here")

TINY_WAVEGAN = dict(length=256, sample_rate=4000, latent_dim=8, model_size=4, num_layers=3,
                    n_critic=2, seed=0)
TINY_SPECGAN = dict(length=1024, sample_rate=4000, frame_length=64, latent_dim=8,
                    generator_filters=4, critic_filters=4, n_critic=2, seed=0)


def wav_folder(root, files):
    """Writes `{relative path: waveform}` as 8 kHz WAVs under `root`."""
    for name, wave in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_wav(str(path), wave, 8000)
    return root


def tone(n, frequency=440.0, rate=8000, amplitude=0.5):
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(n) / rate)).astype("float32")


# --- Data ------------------------------------------------------------------------


@backend_independent
def test_read_wav_scales_pcm_and_refuses_what_it_cannot_train_on(tmp_path):
    import scipy.io.wavfile

    write_wav(str(tmp_path / "a.wav"), np.array([0.0, 0.5, -1.0, 2.0]), 8000)
    rate, wave = read_wav(str(tmp_path / "a.wav"))
    assert rate == 8000
    np.testing.assert_allclose(wave, [0.0, 16384 / 32768, -32767 / 32768, 32767 / 32768])
    scipy.io.wavfile.write(tmp_path / "u8.wav", 8000, np.array([128, 255, 0], "uint8"))
    np.testing.assert_allclose(read_wav(str(tmp_path / "u8.wav"))[1], [0, 127 / 128, -1])
    scipy.io.wavfile.write(tmp_path / "f.wav", 16000, np.array([0.25, -0.5], "float32"))
    assert read_wav(str(tmp_path / "f.wav"))[1].tolist() == [0.25, -0.5]

    scipy.io.wavfile.write(tmp_path / "stereo.wav", 8000, np.zeros((10, 2), "int16"))
    with pytest.raises(ValueError, match="has 2 channels.*mono"):
        read_wav(str(tmp_path / "stereo.wav"))
    scipy.io.wavfile.write(tmp_path / "empty.wav", 8000, np.zeros((0,), "int16"))
    with pytest.raises(ValueError, match="holds no samples"):
        read_wav(str(tmp_path / "empty.wav"))
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="Cannot read .*junk.wav as a WAV file"):
        read_wav(str(tmp_path / "junk.wav"))


@backend_independent
def test_resampling_keeps_a_tone_and_lengths_are_cut_or_padded():
    wave = tone(16000, 440.0, rate=16000)
    down = resample(wave, 16000, 8000)
    assert down.shape == (8000,)
    spectrum = np.abs(np.fft.rfft(down))
    assert abs(np.argmax(spectrum) * 8000 / len(down) - 440.0) <= 1.0
    assert fit_length(np.ones(5), 3).tolist() == [1, 1, 1]
    assert fit_length(np.ones(2), 4).tolist() == [1, 1, 0, 0]


@backend_independent
def test_labels_come_from_class_folders_or_name_prefixes(tmp_path):
    folders = wav_folder(tmp_path / "folders", {
        "yes/1.wav": tone(100), "yes/2.wav": tone(120), "no/1.wav": tone(90)})
    data = load_waveforms(folders, length=64, sample_rate=8000)
    assert data.class_names == ["no", "yes"] and data.labels.tolist() == [0, 1, 1]
    assert data.waveforms.shape == (3, 64, 1)
    # Peak-normalized: every clip reaches 1.
    np.testing.assert_allclose(np.abs(data.waveforms).max(axis=(1, 2)), 1.0, atol=1e-3)

    flat = wav_folder(tmp_path / "flat", {"Seven_a.wav": tone(50), "Two_b.wav": tone(50)})
    assert load_waveforms(flat, length=64).class_names == ["Seven", "Two"]
    # A flat folder without FSDD's names has no test split; "train" is all of it.
    assert len(load_waveforms(flat, length=64, split="train")) == 2
    with pytest.raises(ValueError, match="has no test split"):
        load_waveforms(flat, length=64, split="test")
    (tmp_path / "none").mkdir()
    with pytest.raises(ValueError, match="holds no WAV files"):
        load_waveforms(tmp_path / "none", length=64)


@backend_independent
@needs_fsdd
def test_fsdd_split_is_the_datasets_own():
    train = load_waveforms(FSDD, split="train", max_files=None)
    test = load_waveforms(FSDD, split="test")
    assert (len(train), len(test)) == (2700, 300)
    assert train.class_names == [str(d) for d in range(10)]
    takes = {int(Path(name).stem.split("_")[2]) for name in test.names}
    assert takes == set(FSDD_TEST_TAKES)
    assert not set(train.names) & set(test.names)
    assert np.bincount(test.labels).tolist() == [30] * 10
    assert train.waveforms.shape[1:] == (8192, 1)


@backend_independent
def test_synthetic_tones_are_labelled_and_seeded():
    a, b = synthetic_tones(20, 512, 4000, seed=1), synthetic_tones(20, 512, 4000, seed=1)
    np.testing.assert_array_equal(a.waveforms, b.waveforms)
    assert a.labels.tolist() == [i % 10 for i in range(20)]
    assert "synthetic" in a.source and np.abs(a.waveforms).max() <= 1.0
    batches = make_waveform_batches(a, 8, with_labels=True)
    waves, labels = batches[0]
    assert waves.shape == (8, 512, 1) and waves.dtype == np.float32 and labels.shape == (8,)


def test_int16_levels_in_python_and_in_the_graph_agree():
    from kerasgen.models.serving import waveform_outputs

    wave = np.linspace(-1.2, 1.2, 97).astype("float32")[None, :, None]
    served = waveform_outputs(wave)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(served["waveforms_int16"]),
                                  to_int16(wave))
    assert keras.ops.convert_to_numpy(served["waveforms_int16"]).dtype == np.int16


# --- Phase shuffle ----------------------------------------------------------------


def test_phase_shuffle_shifts_by_at_most_n_with_reflection():
    length, n = 32, 3
    x = np.random.default_rng(0).normal(size=(64, length, 2)).astype("float32")
    layer = PhaseShuffle(n, seed=1)
    out = keras.ops.convert_to_numpy(layer(x, training=True))
    padded = np.pad(x, [(0, 0), (n, n), (0, 0)], mode="reflect")
    seen = set()
    for i in range(len(x)):
        # Output t reads input t - s, reflected at the edges, for one s in [-n, n].
        matches = [s for s in range(-n, n + 1)
                   if np.array_equal(out[i], padded[i, n - s:n - s + length])]
        assert len(matches) == 1, i
        seen.add(matches[0])
    assert seen == set(range(-n, n + 1))  # 64 draws reach every shift
    # The edge sample a shift by +2 brings in is x[2], reflected (not 0, not wrapped).
    shifted = keras.ops.convert_to_numpy(layer.shift(x[:1], np.array([2], "int32")))
    np.testing.assert_array_equal(shifted[0, :3], x[0, [2, 1, 0]])


def test_phase_shuffle_is_the_identity_at_zero_and_outside_training():
    x = np.random.default_rng(1).normal(size=(8, 16, 1)).astype("float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(PhaseShuffle(0)(x, training=True)), x)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(PhaseShuffle(2)(x, training=False)), x)


# --- Spectrograms -------------------------------------------------------------------


def _real_recording():
    if FSDD.is_dir():
        wave = read_wav(str(FSDD / "3_jackson_0.wav"))[1]
        return wave[:len(wave) - len(wave) % 64]  # whole hops
    pytest.skip("the shared FSDD recordings are not here")


def test_stft_matches_numpys_fft_of_windowed_frames():
    spec = Spectrogram(256, 64)
    wave = np.random.default_rng(2).uniform(-1, 1, (1, 1024)).astype("float32")
    real, imag = (keras.ops.convert_to_numpy(t) for t in spec.stft(wave))
    padded = np.pad(wave[0], (spec.pad, spec.pad))
    frame = 5
    want = np.fft.rfft(padded[frame * 64:frame * 64 + 256] * spec.window)
    np.testing.assert_allclose(real[0, frame], want.real, atol=2e-4)
    np.testing.assert_allclose(imag[0, frame], want.imag, atol=2e-4)
    assert real.shape == (1, 1024 // 64, 129)


def test_spectrogram_round_trip_of_a_real_recording():
    """The exact inverse gives the recording back within 1e-5; Griffin-Lim
    from the magnitude alone (32 iterations) gives a waveform whose
    magnitude spectrogram is within 10% (spectral convergence; on the 300
    FSDD test recordings mean 0.064, largest 0.129: benchmarks/audio_figures.py)."""
    wave = _real_recording()[None]
    spec = Spectrogram(256, 64)
    back = keras.ops.convert_to_numpy(spec.istft(*spec.stft(wave)))
    assert np.max(np.abs(back - wave)) < 1e-5
    estimate = spec.griffin_lim(spec.magnitude(wave), iterations=32)
    convergence = spec.spectral_convergence(estimate, wave)
    assert convergence < 0.1, convergence
    # Far better than a waveform of the right loudness and random phase.
    noise = np.random.default_rng(0).normal(0, wave.std(), wave.shape).astype("float32")
    assert spec.spectral_convergence(noise, wave) > 5 * convergence


# --- WaveGAN and SpecGAN --------------------------------------------------------------


@pytest.mark.parametrize("length,num_layers", [(256, 3), (1024, 4), (8192, 5)])
def test_the_generator_makes_exactly_the_configured_length(length, num_layers):
    generator = build_wave_generator(8, length, model_size=2, num_layers=num_layers)
    out = generator(np.zeros((2, 8), "float32"))
    assert tuple(out.shape) == (2, length, 1)
    model = WaveGAN(length=length, latent_dim=8, model_size=2, num_layers=num_layers)
    clips = model.sample(3, seed=0)
    assert clips.shape == (3, length, 1) and np.abs(clips).max() <= 1.0
    assert model.data_spec().shape == (length, 1)


def test_a_length_the_strides_cannot_make_is_refused():
    with pytest.raises(ValueError, match="multiple of stride"):
        WaveGAN(length=1000, num_layers=3)
    with pytest.raises(ValueError, match="spectrograms are square"):
        SpecGAN(length=1000, frame_length=64)


def _clips(n=16, length=256, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 4000.0
    return np.stack([0.5 * np.sin(2 * np.pi * rng.uniform(200, 800) * t)
                     for _ in range(n)]).astype("float32")[..., None]


def test_wavegan_family_contract(tmp_path):
    run_family_test(WaveGAN, TINY_WAVEGAN, (_clips(), None), tmp_path)


# The contracts below repeat the unconditional one's JAX train step with a
# label or on spectrograms: on JAX in `make test-all` (each is about a
# minute of compilations on CI's two cores).
@backend_independent
def test_class_conditional_wavegan_family_contract(tmp_path):
    model = run_family_test(WaveGAN, dict(TINY_WAVEGAN, num_classes=3),
                            (_clips(), np.arange(16) % 3), tmp_path)
    a = model.sample(2, seed=0, labels=[0, 0])
    b = model.sample(2, seed=0, labels=[2, 2])
    assert not np.allclose(a, b)  # the label reaches the waveform


@backend_independent
def test_specgan_family_contract(tmp_path):
    run_family_test(SpecGAN, TINY_SPECGAN, (_clips(length=1024), None), tmp_path)


def test_specgan_keeps_its_moments_through_save_and_load(tmp_path):
    model = SpecGAN(**TINY_SPECGAN)
    model.adapt(_clips(8, 1024))
    model.compile()
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    for name in ("bin_mean", "bin_std"):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(getattr(loaded, name)),
                                      keras.ops.convert_to_numpy(getattr(model, name)))
    assert not np.allclose(keras.ops.convert_to_numpy(model.bin_std), 1.0)
    np.testing.assert_allclose(loaded.sample(2, seed=0), model.sample(2, seed=0), atol=1e-5)


def test_specgan_normalizes_to_the_unit_range_and_inverts_its_own_spectrograms():
    clips = _clips(8, 1024)
    model = SpecGAN(**TINY_SPECGAN)
    model.adapt(clips)
    normalized = keras.ops.convert_to_numpy(model.normalize(clips))
    assert normalized.shape == (8, 32, 32, 1)
    assert normalized.min() >= -1 and normalized.max() <= 1
    # Per bin: mean ~0 over the data (before the clip, which is rare here).
    assert np.abs(normalized.mean(axis=(0, 1))).max() < 0.1
    # Undoing the normalization gives the magnitude back where nothing was clipped.
    magnitude = keras.ops.convert_to_numpy(model.to_magnitude(normalized))
    want = keras.ops.convert_to_numpy(model.spectrogram.magnitude(clips))
    inside = np.abs(normalized[..., 0]) < 0.99
    np.testing.assert_allclose(magnitude[..., :-1][inside], want[..., :-1][inside],
                               rtol=1e-3, atol=1e-4)


# --- The command line ------------------------------------------------------------------


@pytest.fixture(scope="module")
def wav_data(tmp_path_factory):
    """A folder of 24 labelled 8 kHz clips (two classes of tones)."""
    root = tmp_path_factory.mktemp("wavs")
    files = {f"{'low' if i % 2 else 'high'}_{i}.wav": tone(700 + 37 * i, 300 if i % 2 else 900)
             for i in range(24)}
    return wav_folder(root, files)


@backend_independent
def test_train_sample_and_eval_wavegan_on_a_wav_folder(wav_data, tmp_path):
    run = tmp_path / "run"
    result = invoke("train", "wavegan", "--data", wav_data, "--steps", 2, "--batch-size", 8,
                    "--set", "length=1024", "--set", "sample_rate=8000", "--set", "model_size=4",
                    "--set", "num_layers=4", "--set", "num_classes=2",
                    "--sample-every", 2, "--checkpoint-every", 2, "--num-samples", 3,
                    "--out", run)
    assert result.exit_code == 0, result.output
    assert "24 recordings of 1024 samples at 8000 Hz" in result.output
    step = run / "samples" / "step_000002"
    assert sorted(os.listdir(step)) == ["sample_00.wav", "sample_01.wav", "sample_02.wav"]
    assert read_wav(str(step / "sample_00.wav"))[1].shape == (1024,)
    assert (run / "samples" / "step_000002.png").is_file()
    # TensorBoard got the clips as audio.
    events = list((run / "tensorboard").rglob("events.*"))
    assert events and any(b"audio" in path.read_bytes() for path in events)

    out = tmp_path / "clips"
    sampled = invoke("sample", run, "--n", 4, "--label", 1, "--out", out)
    assert sampled.exit_code == 0, sampled.output
    assert sorted(os.listdir(out)) == [f"sample_0{i}.wav" for i in range(4)] + ["samples.png"]
    refused = invoke("sample", run, "--out", tmp_path / "grid.png")
    assert_one_line_error(refused)
    assert "folder" in refused.stderr
    # The image figures of the latent tools are refused in one line.
    explored = invoke("explore", "interpolate", run, "--seeds", "1,2",
                      "--out", tmp_path / "walk.png")
    assert_one_line_error(explored)
    assert "makes audio" in explored.stderr


@backend_independent
def test_audio_data_mistakes_are_one_line(tmp_path):
    import scipy.io.wavfile

    stereo = tmp_path / "stereo"
    stereo.mkdir()
    scipy.io.wavfile.write(stereo / "a_1.wav", 8000, np.zeros((4000, 2), "int16"))
    for data, message in ((stereo, "mono"), (tmp_path / "missing", "No such folder")):
        result = invoke("train", "wavegan", "--data", data, "--steps", 1,
                        "--out", tmp_path / "run")
        assert_one_line_error(result)
        assert message in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("train", "specgan", "--data", empty, "--steps", 1, "--out", tmp_path / "r2")
    assert_one_line_error(result)
    assert "holds no WAV files" in result.stderr


# --- The judge and the bounds ------------------------------------------------------------


def test_the_judge_reads_clips_of_any_length_at_its_rate():
    from kerasgen.metrics.extractors import load_extractor

    judge = load_extractor("logmel-cnn-fsdd")
    assert judge.is_audio and judge.sample_rate == 8000 and len(judge.classes) == 10
    short, long = np.zeros((2, 3000), "float32"), np.zeros((2, 9000, 1), "float32")
    assert judge.prepare(short).shape == (2, 8192, 1)
    assert judge.prepare(long).shape == (2, 8192, 1)
    features, logits = judge.run(_clips(3, 8192))
    assert features.shape == (3, judge.feature_dim) and logits.shape == (3, 10)
    with pytest.raises(ValueError, match="reads audio at 8000 Hz"):
        from kerasgen.metrics import evaluate as ev

        ev.evaluate_samples(WaveGAN(length=1024, sample_rate=16000, model_size=2, num_layers=4),
                            np.zeros((20, 1024, 1)), ["fid"], n=20, extractor=judge)


@backend_independent
@needs_fsdd
def test_the_judge_card_accuracy_is_what_the_shipped_weights_give():
    from kerasgen.metrics.extractors import load_extractor

    judge = load_extractor("logmel-cnn-fsdd")
    test = load_waveforms(FSDD, split="test")
    accuracy = float(np.mean(np.argmax(judge.run(test.waveforms)[1], -1) == test.labels))
    card = judge.metadata["metrics"]["held_out_accuracy"]
    assert abs(accuracy - card) <= 1 / 300, (accuracy, card)
    assert card > 0.9


@backend_independent
@needs_fsdd
def test_real_recordings_outscore_an_untrained_generator(tmp_path, monkeypatch):
    """The two ends of the audio cards' scale: the training recordings read
    as samples against the test ones, and a WaveGAN before any step."""
    from kerasgen.metrics import evaluate as ev

    monkeypatch.setenv("KERASGEN_HOME", str(tmp_path))
    train = load_waveforms(FSDD, split="train")
    test = load_waveforms(FSDD, split="test")
    picked = train.waveforms[::9]  # 300, every digit and speaker
    real = ev.evaluate_real(picked, test.waveforms, ["is", "fid"], "logmel-cnn-fsdd")
    keras.utils.set_random_seed(0)
    untrained = ev.evaluate_samples(
        WaveGAN(length=8192, sample_rate=8000, model_size=4), test.waveforms, ["is", "fid"],
        n=300, extractor="logmel-cnn-fsdd")
    (real_is, real_fid), (bad_is, bad_fid) = ([r["value"] for r in result["rows"]]
                                              for result in (real, untrained))
    assert real_is > 8.0 and bad_is < 2.0, (real_is, bad_is)
    assert real_fid < bad_fid / 10, (real_fid, bad_fid)

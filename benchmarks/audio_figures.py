"""The audio families' README material, from the shipped weights and the
FSDD test recordings.

    python benchmarks/audio_figures.py            # wavegan-fsdd (and specgan-fsdd if shipped)
    python benchmarks/audio_figures.py --no-presets   # the spectrogram round trip only

Writes, and appends one row per measurement to benchmarks/results/audio.jsonl:

- `docs/audio/<preset>/sample_0k.wav` and `docs/images/<preset>.png`: 8
  clips (seed 0) and their waveforms and spectrograms;
- `docs/images/fsdd-test.png`: 8 test recordings (one of each of eight
  digits) as the loader gives them (peak 1, 8,192 samples), for comparison
  (a picture only: the recordings stay in ../shared/datasets);
- the spectrogram round trip on the 300 test recordings (Hann frames of 256
  every 64): the exact inverse's largest error, and Griffin-Lim's spectral
  convergence `|| |S| - |S(GL(|S|))| ||_F / || |S| ||_F`, fast (momentum
  0.99) at 16, 32 and 64 iterations and plain at 16 and 32 (SpecGAN samples
  with plain, 16);
- the judge's class shares of each preset's 1,000 card samples, and the
  share of them it is confident about (top probability > 0.9), beside the
  same for the real test recordings.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
FSDD = os.path.join(ROOT, "..", "shared", "datasets", "fsdd", "recordings")
RESULTS = os.path.join(ROOT, "benchmarks", "results", "audio.jsonl")
CLIPS = 8


def record(row):
    from kerasgen.utils.machine import machine_info

    import keras

    row = dict(row, backend=keras.backend.backend(), machine=machine_info(),
               date=time.strftime("%Y-%m-%d"))
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "a") as file:
        file.write(json.dumps(row) + "\n")
    print(json.dumps({k: v for k, v in row.items() if k != "machine"}))


def write_clips(name, clips, sample_rate, wav=True):
    from kerasgen.utils.audio import audio_figure
    from kerasgen.utils.audio import write_audio_samples
    from kerasgen.utils.images import save_png

    if wav:
        write_audio_samples(os.path.join(ROOT, "docs", "audio", name), clips, sample_rate,
                            figure=False)
    save_png(audio_figure(clips, sample_rate), os.path.join(ROOT, "docs", "images",
                                                            f"{name}.png"))


def round_trip(test):
    from keras import ops

    from kerasgen.layers.spectral import Spectrogram

    spec = Spectrogram(256, 64)
    waves = test.waveforms[..., 0]
    exact = ops.convert_to_numpy(spec.istft(*spec.stft(waves)))
    row = {"measure": "spectrogram_round_trip", "recordings": len(waves),
           "frame_length": 256, "hop_length": 64,
           "exact_inverse_max_abs_error": float(np.abs(exact - waves).max())}
    magnitude = spec.magnitude(waves)
    # Fast Griffin-Lim (momentum 0.99, the default) and plain (SpecGAN's).
    for momentum, variants in ((0.99, (16, 32, 64)), (0.0, (16, 32))):
        for iterations in variants:
            estimate = ops.convert_to_numpy(spec.griffin_lim(magnitude, iterations, momentum))
            per_clip = [spec.spectral_convergence(estimate[i:i + 1], waves[i:i + 1])
                        for i in range(len(waves))]
            key = f"griffin_lim{'_plain' if not momentum else ''}_{iterations}"
            row[f"{key}_spectral_convergence_mean"] = float(np.mean(per_clip))
            row[f"{key}_spectral_convergence_max"] = float(np.max(per_clip))
    record(row)


def judge_confidence(name, clips, judge):
    probabilities = judge.probabilities(clips)
    shares = np.bincount(probabilities.argmax(-1), minlength=10) / len(clips)
    record({"measure": "judge_confidence", "clips": name, "n": len(clips),
            "class_shares": [round(float(s), 4) for s in shares],
            "confident_share": float(np.mean(probabilities.max(-1) > 0.9))})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-presets", action="store_true")
    args = parser.parse_args()

    import kerasgen
    from kerasgen.data.audio import load_waveforms
    from kerasgen.metrics.extractors import load_extractor
    from kerasgen.zoo.registry import shipped_index

    test = load_waveforms(FSDD, split="test")
    round_trip(test)
    if args.no_presets:
        return
    judge = load_extractor("logmel-cnn-fsdd")
    # A picture only: the recordings themselves stay in ../shared (the
    # project does not copy the datasets in).
    write_clips("fsdd-test", test.waveforms[::37][:CLIPS], test.sample_rate, wav=False)
    judge_confidence("fsdd test recordings", test.waveforms, judge)
    for name in ("wavegan-fsdd", "specgan-fsdd"):
        if name not in shipped_index():
            continue
        model = kerasgen.load(name)
        write_clips(name, model.sample(CLIPS, seed=0), model.sample_rate)
        judge_confidence(name, model.sample(1000, seed=0), judge)


if __name__ == "__main__":
    main()

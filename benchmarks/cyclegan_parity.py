"""CycleGAN parity: kerasgen against a plain PyTorch reference of the
authors' recipe, at equal budget, judged by a cat/dog classifier.

What it measures, per run: a CycleGAN trained on the shared cat2dog set
(`trainA` cats -> `trainB` dogs) at `--image-size` 64 with 32-filter
generators and discriminators and 6 residual blocks, batch 1, for
`--steps` 3000 (learning rate constant for the first half, then linearly
to 0), then:

- **cats judged dog**: the share of the 200 `testA` cats, translated by
  G (cat -> dog), that the classifier of `benchmarks/catdog_classifier.py`
  calls dogs (p(dog) > 0.5), and the mean p(dog). The classifier's own
  rate on the real test cats is printed beside it (the floor).
- **cycle L1**: mean |F(G(a)) - a| over the test cats, in [-1, 1] units.
- **ms per step**: wall time per step from step 20 to the end.

`--impl reference` trains `benchmarks/reference/cyclegan_torch.py`
(PyTorch, CPU); `--impl kerasgen` trains `kerasgen.CycleGAN` with
`fit()` on `--backend`. The ablation switches change one thing at a time
in the kerasgen run: `--set key=value` (a constructor argument, e.g.
`strided_padding=same`), `--pipeline reference` (the reference's data:
each file resized to 286/256 of the crop size, randomly cropped and
flipped, in place of kerasgen's in-graph jitter of the already resized
images), `--adam-epsilon`, `--discriminator-fakes recomputed|generator-step`.
Each run appends one JSON line to `--results`
(`benchmarks/results/cyclegan_parity.jsonl`); `--table` prints them as
the markdown table of the README and issue.

    .venv/bin/python benchmarks/cyclegan_parity.py --impl reference --seed 0
    .venv/bin/python benchmarks/cyclegan_parity.py --impl kerasgen --seed 0
    .venv/bin/python benchmarks/cyclegan_parity.py --impl kerasgen --seed 0 \\
        --set strided_padding=same --label "TF 'same' padding"
    .venv/bin/python benchmarks/cyclegan_parity.py --table

The reference needs PyTorch (`pip install torch`, an optional benchmark
dependency); the test suite does not.
"""

import argparse
import os
import sys
from pathlib import Path

from parity_common import add_run_arguments
from parity_common import keras_progress
from parity_common import parse_settings
from parity_common import print_progress
from parity_common import print_step_times
from parity_common import read_results
from parity_common import run_and_record
from parity_common import used_config

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "cat2dog"
DEFAULT_RESULTS = BENCHMARKS / "results" / "cyclegan_parity.jsonl"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(parser, steps=3000, image_size=64, filters=32,
                      data=DEFAULT_DATA, results=DEFAULT_RESULTS)
    parser.add_argument("--residual-blocks", type=int, default=6)
    parser.add_argument("--pipeline", choices=("kerasgen", "reference"), default="kerasgen")
    parser.add_argument("--adam-epsilon", type=float, default=None)
    parser.add_argument("--discriminator-fakes", choices=("default", "recomputed", "generator-step"),
                        default="default")
    parser.add_argument("--grid", default=None,
                        help="write [a, G(a), F(G(a))] of 8 test cats here (PNG)")
    return parser.parse_args(argv)


# --- Training ------------------------------------------------------------------------


def reference_batches(opts, seed):
    """The reference's data stream (files -> load size -> crop, flip)."""
    import random

    sys.path.insert(0, str(BENCHMARKS / "reference"))
    from cyclegan_torch import UnalignedImages

    files = lambda d: sorted(Path(opts.data, d).iterdir())
    return UnalignedImages(files("trainA"), files("trainB"), opts.image_size,
                           random.Random(seed + 1000))


def train_reference(opts, timer):
    import torch

    sys.path.insert(0, str(BENCHMARKS / "reference"))
    import cyclegan_torch

    torch.set_num_threads(os.cpu_count())
    model = cyclegan_torch.CycleGAN(
        generator_filters=opts.filters, discriminator_filters=opts.filters,
        num_blocks=opts.residual_blocks, total_steps=opts.steps, seed=opts.seed)
    data = reference_batches(opts, opts.seed)
    for step in range(1, opts.steps + 1):
        logs = model.train_step(*data.batch())
        timer.step_done(step)
        print_progress(step, logs)
    config = dict(torch=torch.__version__)
    return model.translate, config


def train_kerasgen(opts, timer):
    import keras
    import numpy as np

    import kerasgen
    from kerasgen.data import load_unpaired, make_pair_batches

    keras.utils.set_random_seed(opts.seed)
    overrides = parse_settings(opts.set)
    config = dict(image_size=opts.image_size, generator_filters=opts.filters,
                  discriminator_filters=opts.filters,
                  num_residual_blocks=opts.residual_blocks, seed=opts.seed)
    if opts.pipeline == "reference":
        overrides.setdefault("jitter", False)
    config.update(overrides)
    family = kerasgen.CycleGAN
    if opts.discriminator_fakes != "default":
        config["discriminator_fakes"] = opts.discriminator_fakes.replace("-", "_")
    model = family(**config)
    model.plan_run(opts.steps)
    if opts.adam_epsilon is not None:
        schedule = model.learning_rate_schedule
        model.compile({name: keras.optimizers.Adam(schedule(), beta_1=model.beta_1,
                                                   epsilon=opts.adam_epsilon)
                       for name in model.optimizer_steps})
    else:
        model.compile()

    if opts.pipeline == "reference":
        stream = reference_batches(opts, opts.seed)
        pairs = [stream.batch() for _ in range(opts.steps)]
        x = np.concatenate([a for a, _ in pairs])
        y = np.concatenate([b for _, b in pairs])
        fit_data = dict(x=x, y=y, batch_size=1, shuffle=False)
    else:
        data_a, data_b = load_unpaired(opts.data, image_size=opts.image_size)
        fit_data = dict(x=make_pair_batches(data_a, data_b, 1, paired=False, seed=opts.seed),
                        steps_per_epoch=opts.steps, shuffle=False)

    model.fit(epochs=1, verbose=0, callbacks=[keras_progress(timer)], **fit_data)
    used = used_config(model)
    if opts.adam_epsilon is not None:
        used["adam_epsilon"] = opts.adam_epsilon
    used["pipeline"] = opts.pipeline
    return model.translate, used


# --- Scoring -------------------------------------------------------------------------


def score(translate, opts):
    import numpy as np

    from catdog_classifier import load_classifier, p_dog
    from kerasgen.data import load_unpaired

    classifier, classifier_metrics = load_classifier(opts.image_size, opts.data)
    cats, _ = load_unpaired(opts.data, image_size=opts.image_size, split="test")
    cats = cats.images.astype("float32") / 127.5 - 1.0
    dogs_from_cats = np.clip(translate(cats, "a2b"), -1, 1)
    back = translate(dogs_from_cats, "b2a")
    probabilities = p_dog(classifier, dogs_from_cats)
    if opts.grid:
        from kerasgen.utils.images import save_grid

        rows = np.stack([cats[:8], dogs_from_cats[:8], back[:8]], 1)
        save_grid(rows.reshape((-1,) + cats.shape[1:]), opts.grid, nrow=6, min_size=512)
    return {
        "test_cats": int(len(cats)),
        "cats_judged_dog": round(float(np.mean(probabilities > 0.5)), 4),
        "mean_p_dog": round(float(np.mean(probabilities)), 4),
        "cycle_l1_test_cats": round(float(np.mean(np.abs(back - cats))), 4),
        "classifier": {k: classifier_metrics[k] for k in (
            "test_accuracy", "real_test_cats_judged_dog", "real_test_cats_mean_p_dog")},
    }


# --- Table ---------------------------------------------------------------------------


def print_table(path):
    rows = read_results(path)
    print("| run | backend | seed | cats judged dog | mean p(dog) | cycle L1 on test cats "
          "| ms per step |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['label']} | {r['backend']} | {r['seed']} | "
              f"{100 * r['cats_judged_dog']:.1f}% | {r['mean_p_dog']:.2f} | "
              f"{r['cycle_l1_test_cats']:.3f} | {r['ms_per_step']:.0f} |")
    if rows:
        c = rows[-1]["classifier"]
        print(f"\nClassifier: test accuracy {c['test_accuracy']:.3f}; real test cats judged "
              f"dog {100 * c['real_test_cats_judged_dog']:.1f}% "
              f"(mean p(dog) {c['real_test_cats_mean_p_dog']:.2f}).")


def main(argv=None):
    opts = parse_args(argv)
    if opts.table:
        print_table(opts.results)
        print_step_times(opts.results)
        return 0
    run_and_record(opts, train_kerasgen, train_reference, score, REPO, residual_blocks=opts.residual_blocks)
    return 0


if __name__ == "__main__":
    sys.exit(main())

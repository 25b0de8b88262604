"""CycleGAN step parity: kerasgen and the PyTorch reference, started from the
same weights and fed the same batches, must stay together step for step.

What it checks: the weights of a small `kerasgen.CycleGAN` (default 32x32,
8 filters, 2 residual blocks) are copied into
`benchmarks/reference/cyclegan_torch.py`'s networks; both then train
`--steps` steps on the same random batches, with what is random in a step
turned off on both sides (no jitter, pool size 0) and the reference's Adam
epsilon (1e-8) on kerasgen's side. Printed per step: the largest
difference between the two G(a) and D_B(b) on a fixed probe batch, and the
generator losses. With the authors' alignment (`strided_padding=
"symmetric"`) and the discriminators judging the generator step's
translations (`discriminator_fakes="generator_step"`) they agree to float
precision; `--set strided_padding=same` or `--set
discriminator_fakes=recomputed` shows how far each deviation moves a run.

    .venv/bin/python benchmarks/cyclegan_step_parity.py
    .venv/bin/python benchmarks/cyclegan_step_parity.py --set strided_padding=same

Needs PyTorch (`pip install -e ".[reference]"`).
"""

import argparse
import os
import sys
from pathlib import Path

from parity_common import parse_settings

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent


def copy_weights(keras_network, torch_network):
    """Copies the Keras network's conv kernels and biases into the torch
    network's convs, in order (a conv without bias gets a zero bias)."""
    import keras
    import numpy as np
    import torch
    from torch import nn

    keras_convs = [layer for layer in keras_network.layers
                   if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]
    torch_convs = [m for m in torch_network.modules()
                   if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    if len(keras_convs) != len(torch_convs):
        raise ValueError(f"{len(keras_convs)} Keras convs against {len(torch_convs)} torch ones")
    for k, t in zip(keras_convs, torch_convs):
        # Keras (h, w, in, out) and transposed (h, w, out, in); torch
        # (out, in, h, w) and transposed (in, out, h, w): the same axes swap.
        kernel = np.asarray(keras.ops.convert_to_numpy(k.kernel))
        t.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
        bias = (keras.ops.convert_to_numpy(k.bias) if k.use_bias
                else np.zeros(t.bias.shape, "float32"))
        t.bias.data = torch.from_numpy(np.asarray(bias).copy())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("tensorflow", "jax"), default="tensorflow")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--filters", type=int, default=8)
    parser.add_argument("--residual-blocks", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    opts = parser.parse_args(argv)
    os.environ["KERAS_BACKEND"] = opts.backend
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(BENCHMARKS / "reference"))
    import keras
    import numpy as np
    import torch

    import cyclegan_torch
    import kerasgen

    keras.utils.set_random_seed(0)
    config = dict(image_size=opts.image_size, generator_filters=opts.filters,
                  discriminator_filters=opts.filters,
                  num_residual_blocks=opts.residual_blocks, pool_size=0, jitter=False,
                  learning_rate=2e-4, constant_steps=opts.steps, decay_steps=0)
    config.update(parse_settings(opts.set))
    model = kerasgen.CycleGAN(**config)
    model.compile({name: keras.optimizers.Adam(2e-4, beta_1=0.5, epsilon=1e-8)
                   for name in model.optimizer_steps})
    reference = cyclegan_torch.CycleGAN(
        generator_filters=opts.filters, discriminator_filters=opts.filters,
        num_blocks=opts.residual_blocks, pool_size=0, total_steps=10 ** 9)
    for ours, theirs in ((model.generator_ab, reference.g_ab), (model.generator_ba, reference.g_ba),
                         (model.discriminator_a, reference.d_a),
                         (model.discriminator_b, reference.d_b)):
        copy_weights(ours, theirs)

    rng = np.random.default_rng(0)
    shape = (1, opts.image_size, opts.image_size, 3)
    probe_a, probe_b = (rng.uniform(-1, 1, shape).astype("float32") for _ in range(2))

    def gap():
        with torch.no_grad():
            g = reference.translate(probe_a, "a2b")
            d = reference.d_b(cyclegan_torch._to_torch(probe_b)).numpy().transpose(0, 2, 3, 1)
        ours_g = model.translate(probe_a, "a2b")
        ours_d = keras.ops.convert_to_numpy(model.discriminator_b(probe_b))
        return float(np.abs(ours_g - g).max()), float(np.abs(ours_d - d).max())

    g_gap, d_gap = gap()
    print(f"{'step':>4} {'max |G(a) diff|':>16} {'max |D_B(b) diff|':>18} "
          f"{'g_loss kerasgen':>16} {'g_loss reference':>17}")
    print(f"{0:>4} {g_gap:>16.2e} {d_gap:>18.2e}")
    for step in range(1, opts.steps + 1):
        a, b = (rng.uniform(-1, 1, shape).astype("float32") for _ in range(2))
        ours = model.train_on_batch(a, b, return_dict=True)
        theirs = reference.train_step(a, b)
        g_gap, d_gap = gap()
        print(f"{step:>4} {g_gap:>16.2e} {d_gap:>18.2e} {float(ours['g_loss']):>16.5f} "
              f"{theirs['g_loss']:>17.5f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

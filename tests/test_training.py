"""The training core: what every family relies on, on the running backend."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import kerasgen
from family_contract import fit_one_batch, run_family_test
from kerasgen.training import UpdateStep

TINY = dict(image_size=8, latent_dim=4, generator_filters=4, discriminator_filters=4)
BACKEND = keras.backend.backend()


def batch(n=8):
    rng = np.random.default_rng(2)
    return rng.uniform(-1, 1, (n, 8, 8, 1)).astype("float32"), None


@keras.saving.register_keras_serializable(package="kerasgen_tests")
class CriticHeavyGAN(kerasgen.DCGAN):
    """Three discriminator updates per generator update, like WGAN's n_critic."""

    def update_steps(self):
        d_step, g_step = super().update_steps()
        return [UpdateStep(d_step.name, d_step.loss, d_step.networks, repeat=3), g_step]


def test_repeated_steps_contract(tmp_path):
    model = run_family_test(CriticHeavyGAN, TINY, batch(), tmp_path)
    assert int(model.optimizer["discriminator"].iterations) == 6  # two batches
    assert int(model.optimizer["generator"].iterations) == 2


def test_same_seed_same_first_losses():
    def first_losses(seed):
        keras.utils.set_random_seed(seed)
        model = kerasgen.DCGAN(**TINY, seed=seed)
        model.compile()
        return fit_one_batch(model, batch())

    a, b, c = first_losses(1), first_losses(1), first_losses(2)
    assert a == b
    assert a != c


def test_ema_is_the_exponential_moving_average():
    keras.utils.set_random_seed(0)
    model = kerasgen.DCGAN(**TINY, ema_decay=0.75)
    model.compile()
    start = [np.array(w) for w in model.generator.weights]
    np.testing.assert_array_equal(
        start[0], np.array(model.generator_ema.weights[0])
    )
    fit_one_batch(model, batch())
    for w0, w1, ema in zip(start, model.generator.weights, model.generator_ema.weights):
        np.testing.assert_allclose(
            np.array(ema), 0.75 * w0 + 0.25 * np.array(w1), rtol=1e-5, atol=1e-6
        )
    # Sampling uses the average, not the raw generator.
    z = model.sample_latents(2, seed=0)
    expected = keras.ops.convert_to_numpy(model.generator_ema(z, training=False))
    np.testing.assert_allclose(model.decode(z), expected, atol=1e-6)
    assert not model.generator_ema.trainable


def test_fit_reports_a_step_whose_only_log_is_loss():
    # Keras's own loss tracker (never updated) once replaced such logs by 0.
    model = kerasgen.Autoencoder(image_size=8, latent_dim=4)
    model.compile()
    images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    # The loss before the first update (no corruption: deterministic).
    expected = float(keras.ops.convert_to_numpy(model.autoencoder_loss(images)[0]))
    history = model.fit(images, batch_size=16, epochs=2, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[0] == pytest.approx(expected, rel=1e-4), (losses, expected)
    assert losses[1] < losses[0]


def test_ema_config_errors():
    with pytest.raises(ValueError, match="ema_decay"):
        kerasgen.DCGAN(**TINY, ema_decay=1.5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(policy, tmp_path):
    model = kerasgen.DCGAN(**TINY, dtype=policy)
    model.compile()
    scaled = all(
        isinstance(child, keras.optimizers.LossScaleOptimizer)
        for _, child in model.optimizer.items()
    )
    assert scaled == (policy == "mixed_float16")
    assert model.generator.layers[-1].dtype_policy.name == "float32"
    logs = fit_one_batch(model, batch())
    assert all(np.isfinite(v) for v in logs.values())
    assert model.sample(2, seed=0).dtype == np.float32
    path = str(tmp_path / "mixed.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert all(
        isinstance(c, keras.optimizers.LossScaleOptimizer) == scaled
        for _, c in loaded.optimizer.items()
    )
    fit_one_batch(loaded, batch())


def test_compile_errors():
    model = kerasgen.DCGAN(**TINY)
    with pytest.raises(ValueError, match="one optimizer per update step"):
        model.compile({"generator": keras.optimizers.Adam()})
    with pytest.raises(TypeError, match="dict of update-step"):
        model.compile(keras.optimizers.Adam())
    with pytest.raises(ValueError, match="defines its own losses"):
        model.compile(loss="mse")


def test_custom_optimizers_are_used():
    model = kerasgen.DCGAN(**TINY)
    model.compile({
        "discriminator": keras.optimizers.SGD(0.0),
        "generator": keras.optimizers.Adam(1e-3),
    })
    before = [np.array(v) for v in model.discriminator.trainable_variables]
    fit_one_batch(model, batch())
    after = [np.array(v) for v in model.discriminator.trainable_variables]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)  # SGD with lr 0 moves nothing


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute is TensorFlow's; the TensorFlow run executes it")
def test_trains_on_two_replicas_under_a_mirrored_strategy():
    """Multi-GPU comes later; two logical CPUs stand in for two devices."""
    script = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras, kerasgen
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        with strategy.scope():
            model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                                   discriminator_filters=4, ema_decay=0.9)
            model.compile()
        x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
        history = model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
        count = lambda v: int(keras.ops.convert_to_numpy(v.value))
        assert count(model.optimizer.iterations) == 2
        assert [count(c.iterations) for c in model.optimizer.children] == [2, 2]
        assert all(np.isfinite(v[-1]) for v in history.history.values())
        # Mirrored variables stay equal on both replicas.
        for v in model.generator.trainable_variables + model.generator_ema.weights:
            a, b = [np.array(x) for x in v.value.values]
            np.testing.assert_array_equal(a, b)

        # An every-2 step: the all-reduce cannot sit in a tf.cond, so under a
        # strategy the optimizer applies every batch and is undone when the
        # step is not due. On batch 3, after a real Adam step on batch 2,
        # an apply left in place would have moved the weights.
        from kerasgen.training import UpdateStep
        class LazyCritic(kerasgen.DCGAN):
            def update_steps(self):
                d, g = super().update_steps()
                return [UpdateStep(d.name, d.loss, d.networks, every=2), g]
        with strategy.scope():
            lazy = LazyCritic(image_size=8, latent_dim=4, generator_filters=4,
                              discriminator_filters=4)
            lazy.compile()
        first = lambda v: np.array(v.value.values[0])
        weights = lambda: [first(v) for v in lazy.discriminator.trainable_variables]
        snapshots, runs = [weights()], []
        for _ in range(3):
            lazy.fit(x[:8], batch_size=8, epochs=1, shuffle=False, verbose=0)
            snapshots.append(weights())
            runs.append([count(c.iterations) for c in lazy.optimizer.children])
        assert runs == [[0, 1], [1, 2], [1, 3]], runs
        same = lambda a, b: all(np.array_equal(u, w) for u, w in zip(a, b))
        assert same(snapshots[0], snapshots[1])  # batch 1: not due
        assert not same(snapshots[1], snapshots[2])  # batch 2: the step ran
        assert same(snapshots[2], snapshots[3])  # batch 3: not due
        for v in lazy.discriminator.trainable_variables + lazy.optimizer.variables:
            a, b = [np.array(x) for x in v.value.values]
            np.testing.assert_array_equal(a, b)
        print("ok")
    """)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    out = subprocess.run([sys.executable, "-c", script], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


def test_jax_path_trains_with_tensorflow_unimportable(tmp_path):
    """The zoo's GPU machines have no TensorFlow: block it and train.

    KERAS_BACKEND is left unset: kerasgen must pick JAX by itself there."""
    script = textwrap.dedent("""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "tensorflow" or name.startswith("tensorflow."):
                    raise ImportError("tensorflow is blocked in this test")
        sys.meta_path.insert(0, Block())
        import kerasgen  # before keras: it picks the backend
        import numpy as np, keras
        model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                               discriminator_filters=4)
        model.compile()
        x = np.zeros((8, 8, 8, 1), "float32")
        model.fit(x, batch_size=8, epochs=1, verbose=0)
        model.save(sys.argv[1])
        keras.saving.load_model(sys.argv[1]).sample(2, seed=0)
        assert "tensorflow" not in sys.modules
        assert keras.backend.backend() == "jax"
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "m.keras")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


@pytest.mark.parametrize("jit_compile", [True, False])
def test_jit_compile_on_and_off_give_the_same_step(jit_compile):
    def losses(jit):
        keras.utils.set_random_seed(4)
        model = kerasgen.DCGAN(**TINY, seed=4)
        model.compile(jit_compile=jit)
        return fit_one_batch(model, batch())

    reference = losses("auto")
    other = losses(jit_compile)
    # Same weights and seeds; XLA fuses differently (and TensorFlow's XLA
    # random kernels may differ), so equal up to float32 round-off of a
    # tiny network, not bit for bit.
    for key in reference:
        np.testing.assert_allclose(other[key], reference[key], rtol=1e-3)


def test_initial_weights_are_seeded_and_not_shared_between_layers():
    """A shared, unseeded Keras initializer draws its seed once, at import:
    every same-shaped layer then starts equal, and each process differently."""
    script = textwrap.dedent("""
        import keras, numpy as np, kerasgen
        keras.utils.set_random_seed(0)
        model = kerasgen.DCGAN(image_size=16, latent_dim=4, generator_filters=4,
                               discriminator_filters=4)
        kernels = [l.kernel_initializer for n in (model.generator, model.discriminator)
                   for l in n.layers if hasattr(l, "kernel_initializer")]
        assert len({id(k) for k in kernels}) == len(kernels)
        print(sum(float(np.abs(w).sum()) for w in model.get_weights()))
    """)
    env = {**os.environ}
    outputs = [
        subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                       text=True, timeout=300)
        for _ in range(2)
    ]
    for out in outputs:
        assert out.returncode == 0, out.stderr[-3000:]
    first, second = (out.stdout.strip().splitlines()[-1] for out in outputs)
    assert first == second

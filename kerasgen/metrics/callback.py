"""Metrics during training: a Keras callback that evaluates every N steps."""

import logging

import keras

logger = logging.getLogger("kerasgen.metrics")


class EvaluateEvery(keras.callbacks.Callback):
    """Evaluates the model every `every` steps (and at the end of `fit()`).

    A model that samples is measured with `evaluate_samples` against
    `real_images`; one that translates with `evaluate_translation` on
    `real_images` (its inputs) and `targets`. Steps are counted from the
    model's `optimizer.iterations`, so a resumed run evaluates at the same
    steps as an uninterrupted one. Each result goes to `on_result(step,
    result)` (the CLI writes it to TensorBoard and `eval.csv`) and is kept
    in `history` as `(step, {label: value})`.

    Args:
        every: int. Steps between evaluations.
        real_images: uint8 or float images `(N, H, W, C)`: the real data
            of a sampling model, the inputs of a translation model.
        targets: images or None. A translation model's ground truth or
            target-domain images.
        metrics: names, or None for `("fid",)` on a sampling model and the
            translation defaults otherwise.
        n: int. Samples per evaluation. Defaults to 2000.
        extractor: a name or `FeatureExtractor`, or None for the default.
        seed: int. Defaults to 0.
        on_result: callable `(step, result)` or None.

    Example:

    ```python
    import numpy as np
    import kerasgen
    from kerasgen.data import load_images
    model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4,
                           discriminator_filters=4)
    model.compile()
    real = load_images(image_size=8, max_images=200).images
    x = real.astype("float32") / 127.5 - 1
    callback = EvaluateEvery(2, real, n=200)
    model.fit(x[:64], batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    [step for step, _ in callback.history]  # [2, 4]
    ```
    """

    def __init__(self, every, real_images, targets=None, metrics=None, n=2000,
                 extractor=None, seed=0, on_result=None):
        super().__init__()
        self.every = max(1, int(every))
        self.real_images = real_images
        self.targets = targets
        self.metrics = metrics
        self.n = int(n)
        self.extractor = extractor
        self.seed = seed
        self.on_result = on_result
        self.history = []
        self.step = 0
        self._last = None

    def on_train_begin(self, logs=None):
        from kerasgen.metrics.extractors import load_extractor

        if isinstance(self.extractor, str):
            self.extractor = load_extractor(self.extractor)
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        self.step = 0 if iterations is None else int(keras.ops.convert_to_numpy(iterations))

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            self.evaluate()

    def on_train_end(self, logs=None):
        if self.step and self._last != self.step:
            self.evaluate()

    def evaluate(self):
        """Evaluates now; returns the result dict."""
        from kerasgen.metrics import evaluate as ev
        from kerasgen.models.interfaces import provides

        if provides(self.model, "translate"):
            result = ev.evaluate_translation(
                self.model, self.real_images[:self.n], self.targets[:self.n], self.metrics,
                extractor=self.extractor, seed=self.seed, cache=True)
        else:
            result = ev.evaluate_samples(
                self.model, self.real_images, self.metrics or ("fid",), n=self.n,
                extractor=self.extractor, seed=self.seed, cache=True)
        self._last = self.step
        self.history.append((self.step, {r["label"]: r["value"] for r in result["rows"]}))
        logger.info("step %d: %s", self.step, ", ".join(
            f"{label} {value:.4f}" for label, value in self.history[-1][1].items()))
        if self.on_result is not None:
            self.on_result(self.step, result)
        return result

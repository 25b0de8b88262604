"""Helpers the latent-tool tests share: a tiny DCGAN whose images differ
from latent to latent, saved as a run folder and as a `.keras` file."""

import keras

import kerasgen


def tiny_dcgan(seed=0, **config):
    """A DCGAN of `config` whose images span [-1, 1] and differ from latent
    to latent. Freshly initialized, a DCGAN draws nearly flat grey images
    (its last layer's outputs are ~1e-3), which would make every image
    close to every other; its last layer is scaled up."""
    keras.utils.set_random_seed(seed)
    model = kerasgen.DCGAN(**config)
    kernel = model.generator.get_layer("to_image").kernel
    kernel.assign(kernel * 300.0)
    return model


def saved_checkpoints(tmp_path_factory, network):
    """`network`, compiled, saved as a run folder and as a `.keras` file:
    `{"folder": ..., "file": ..., "model": network}`."""
    folder = tmp_path_factory.mktemp("run")
    network.compile()
    network.save(folder / "checkpoint.keras")
    file = tmp_path_factory.mktemp("file") / "tiny.keras"
    network.save(file)
    return {"folder": folder, "file": file, "model": network}

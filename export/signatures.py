"""The serving signatures of each family, as a Keras `ExportArchive`.

Every exported model is a `keras.export.ExportArchive` over the family's
inference networks (the EMA copy where the model keeps one), with one
endpoint (a `tf.function`) per signature. Each endpoint has an explicit
`input_signature` of named `TensorSpec`s, so that a client sees `z`,
`images`, `labels`, `seed` and `n`, never `keras_tensor` or `output_0`. Image outputs come twice: `images`, float32 in
[-1, 1], and `images_uint8`, `round((images + 1) * 127.5)` in [0, 255], which
a client can write to a PNG as is.

| family       | signature            | inputs                                      | outputs                   |
| ------------ | -------------------- | ------------------------------------------- | ------------------------- |
| GAN, DCGAN   | `generate`           | `z` float32 `(n, latent_dim)`               | `images`, `images_uint8`  |
| GAN, DCGAN   | `generate_from_seed` | `seed` int64 `()`, `n` int32 `()`           | `images`, `images_uint8`  |
| cond. GAN    | `generate`           | `z` float32 `(n, latent_dim)`, `labels` int32 `(n,)` | `images`, `images_uint8` |
| cond. GAN    | `generate_from_seed` | `seed` int64 `()`, `labels` int32 `(n,)`    | `images`, `images_uint8`  |
| VAE          | `encode`             | `images` float32 `(n, H, W, C)`             | `mean`, `log_var`         |
| VAE          | `decode`             | `z` float32 `(n, latent_dim)`               | `images`, `images_uint8`  |
| VAE          | `reconstruct`        | `images` float32 `(n, H, W, C)`             | `images`, `images_uint8`  |
| VAE          | `generate_from_seed` | `seed` int64 `()`, `n` int32 `()`           | `images`, `images_uint8`  |
| CycleGAN     | `translate_a2b`      | `images` float32 `(n, S, S, 3)` in [-1, 1]  | `images`, `images_uint8`  |
| CycleGAN     | `translate_b2a`      | `images` float32 `(n, S, S, 3)` in [-1, 1]  | `images`, `images_uint8`  |
| Pix2Pix      | `translate`          | `images` float32 `(n, S, S, 3)` in [-1, 1]  | `images`, `images_uint8`  |

A conditional VAE (`num_classes > 0`) adds `labels` int32 `(n,)` to
`encode`, `decode` and `reconstruct`; its `generate_from_seed` takes `seed`
and `labels` (one image per label) instead of `seed` and `n`.

"GAN, DCGAN" stands for every generator family (`family_kind`): WGAN and
WGAN-GP export the same way; a conditional GAN (`num_classes > 0`: the
generator takes `[z, labels]`) as the "cond. GAN" rows.

`serving_default` is the family's main use: `generate` for GANs, `decode`
for VAEs (a VAE served is a generator: latents in, images out),
`translate_a2b` for CycleGAN (generator `generator_ab`; `translate_b2a` runs
`generator_ba`) and `translate` for Pix2Pix (its one generator, in the
direction it was trained for: `model.direction`).

`generate_from_seed` draws `z ~ N(0, I)` inside the graph with
`tf.random.stateless_normal(seed=[seed, 0])`: the same seed gives the same
images on every call and every server, but not the images of
`model.sample(n, seed=seed)`, which draws its latents with NumPy.

This module imports TensorFlow only inside its functions, so that
`import kerasgen.export` on JAX leaves TensorFlow unloaded.
"""

import keras

#: The signature `serving_default` points to, per family kind.
SERVING_DEFAULT = {
    "gan": "generate", "conditional_gan": "generate", "vae": "decode",
    "cyclegan": "translate_a2b", "pix2pix": "translate",
}
#: Signatures that need ops outside the TFLite builtins (stateless RNG).
NEEDS_SELECT_TF_OPS = ("generate_from_seed",)


def require_tensorflow_backend(what="Export"):
    """Raises unless Keras runs on TensorFlow, where the networks' variables
    are `tf.Variable`s that a SavedModel can hold.

    Example:

    ```python
    import keras
    if keras.backend.backend() == "tensorflow":
        require_tensorflow_backend()  # passes
    ```
    """
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"{what} runs through TensorFlow, and Keras is running on the "
            f"{backend!r} backend in this process. Run the export with "
            "KERAS_BACKEND=tensorflow (a .keras checkpoint trained on JAX "
            "loads there unchanged). "
            f"Received: KERAS_BACKEND={backend}"
        )


def family_kind(model):
    """`"gan"`, `"conditional_gan"`, `"vae"`, `"cyclegan"` or `"pix2pix"`:
    the signature set of `model`.

    An image-to-image family (a `data_spec()` with "pairing") exports its
    generators: `"cyclegan"` (unpaired: `generator_ab` and `generator_ba`)
    or `"pix2pix"` (paired: one `generator`). A VAE exports
    `encode`/`decode`/`reconstruct`. Any other model with a
    `generator` network and an int `latent_dim` is a generator family (GAN,
    DCGAN, WGAN, WGAN-GP, ...): `generator(z)`, or `generator([z, labels])`
    when it has `num_classes > 0` (conditional GAN, AC-GAN).

    Example:

    ```python
    import kerasgen
    family_kind(kerasgen.VAE(image_size=8, latent_dim=2, filters=4))  # "vae"
    ```
    """
    from kerasgen.models.vae import VAE

    if isinstance(model, VAE):
        return "vae"
    pairing = _pairing(model)
    if pairing == "unpaired" and all(
        isinstance(getattr(model, name, None), keras.Model)
        for name in ("generator_ab", "generator_ba")
    ):
        return "cyclegan"
    if pairing == "paired" and isinstance(getattr(model, "generator", None), keras.Model):
        return "pix2pix"
    generator = getattr(model, "generator", None)
    latent_dim = getattr(model, "latent_dim", None)
    if isinstance(generator, keras.Model) and isinstance(latent_dim, int):
        return "conditional_gan" if getattr(model, "num_classes", 0) else "gan"
    raise TypeError(
        "kerasgen.export exports VAEs, generator families (a `generator` "
        "network from latents `z` of size `latent_dim`, with class labels "
        "when `num_classes > 0`: GAN, DCGAN and the like) and image-to-image "
        "families (CycleGAN, Pix2Pix). "
        f"Received: model of type {type(model).__name__}"
    )


def _pairing(model):
    data_spec = getattr(model, "data_spec", None)
    if not callable(data_spec):
        return None
    return data_spec().pairing


def default_model_name(model):
    """The TF Serving model name used when none is given: the family's name
    in lower case (`dcgan`, `vae`)."""
    family_kind(model)
    return type(model).__name__.lower()


def _to_uint8(tf, images):
    scaled = tf.round((images + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(scaled, 0.0, 255.0), tf.uint8)


def _image_outputs(tf, images):
    images = tf.cast(images, tf.float32)
    return {"images": images, "images_uint8": _to_uint8(tf, images)}


def build_export_archive(model, batch_size=None, signatures=None):
    """A `keras.export.ExportArchive` with the family's signatures.

    The archive's endpoints are the signatures of the module docstring;
    `archive.write_out(path)` writes them as a SavedModel, with
    `serving_default` pointing to the family's main signature. (An archive
    rather than a bare `tf.Module` holding the Keras networks: converted to
    TFLite, such a module's SavedModel kept the weights as uninitialized
    resource variables and the file returned NaN; the archive's SavedModel
    converts with its weights in it.)

    Args:
        model: a kerasgen VAE or generator family (`GAN`, `DCGAN`, ...; see
            `family_kind`), on the TensorFlow backend.
        batch_size: int or None. Fixes the batch dimension of the tensor
            inputs (`z`, `images`, `labels`); None leaves it dynamic.
            Defaults to None.
        signatures: sequence of str or None. The signatures to include;
            None includes all of the family's. Defaults to None.

    Returns:
        The `ExportArchive`.

    Example:

    ```python
    import tempfile, keras, kerasgen
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        model = kerasgen.DCGAN(image_size=8, latent_dim=4, generator_filters=4)
        path = tempfile.mkdtemp()
        build_export_archive(model).write_out(path, verbose=False)
        generate = tf.saved_model.load(path).signatures["generate"]
        generate(z=tf.zeros((2, 4)))["images"].shape  # (2, 8, 8, 1)
    ```
    """
    require_tensorflow_backend()
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(
            f"`batch_size` must be None or a positive int. Received: batch_size={batch_size!r}"
        )
    _, functions = serving_functions(model, batch_size)
    if signatures is None:
        signatures = list(functions)
    unknown = [name for name in signatures if name not in functions]
    if unknown or not signatures:
        raise ValueError(
            f"{type(model).__name__} exports the signatures {list(functions)}. "
            f"Received: signatures={list(signatures)!r}"
        )
    # The archive tracks the variables the endpoints capture. (Calling
    # `archive.track(network)` as well would store every weight twice.)
    archive = keras.export.ExportArchive()
    # The first endpoint becomes `serving_default`: put the main use first.
    main = SERVING_DEFAULT[family_kind(model)]
    ordered = sorted(signatures, key=lambda name: name != main)
    for name in ordered:
        function, input_signature = functions[name]
        archive.add_endpoint(name, function, input_signature=input_signature)
    return archive


def signature_names(model):
    """The names of the signatures `model` exports, main one first, without
    `serving_default` (which the SavedModel adds).

    Example:

    ```python
    import kerasgen
    signature_names(kerasgen.VAE(image_size=8, latent_dim=2, filters=4))
    # ['decode', 'encode', 'reconstruct', 'generate_from_seed']
    ```
    """
    main = SERVING_DEFAULT[family_kind(model)]
    names = list(_SIGNATURES[family_kind(model)])
    return sorted(names, key=lambda name: name != main)


_SIGNATURES = {
    "gan": ("generate", "generate_from_seed"),
    "conditional_gan": ("generate", "generate_from_seed"),
    "vae": ("encode", "decode", "reconstruct", "generate_from_seed"),
    "cyclegan": ("translate_a2b", "translate_b2a"),
    "pix2pix": ("translate",),
}


def serving_functions(model, batch_size=None):
    """`(networks, {name: (python function, input_signature)})` of a family."""
    kind = family_kind(model)
    if kind in ("gan", "conditional_gan"):
        return _gan_functions(model, batch_size)
    if kind in ("cyclegan", "pix2pix"):
        return _translation_functions(model, batch_size)
    return _vae_functions(model, batch_size)


def _seeded_normal(tf, seed, n, dim):
    seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    return tf.random.stateless_normal(tf.stack([n, dim]), seed=seed, dtype=tf.float32)


def _gan_functions(model, batch_size):
    import tensorflow as tf

    generator = model.sampling_network("generator")
    latent_dim = int(model.latent_dim)
    num_classes = int(getattr(model, "num_classes", 0) or 0)
    z_spec = tf.TensorSpec([batch_size, latent_dim], tf.float32, name="z")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")

    if num_classes:

        def generate(z, labels):
            return _image_outputs(tf, generator([z, labels], training=False))

        def generate_from_seed(seed, labels):
            return generate(_seeded_normal(tf, seed, tf.size(labels), latent_dim), labels)

        return [generator], {
            "generate": (generate, [
                z_spec, tf.TensorSpec([batch_size], tf.int32, name="labels"),
            ]),
            "generate_from_seed": (generate_from_seed, [
                seed_spec, tf.TensorSpec([None], tf.int32, name="labels"),
            ]),
        }

    def generate(z):
        return _image_outputs(tf, generator(z, training=False))

    def generate_from_seed(seed, n):
        return generate(_seeded_normal(tf, seed, n, latent_dim))

    return [generator], {
        "generate": (generate, [z_spec]),
        "generate_from_seed": (generate_from_seed, [
            seed_spec, tf.TensorSpec([], tf.int32, name="n"),
        ]),
    }


def _vae_functions(model, batch_size):
    import tensorflow as tf

    encoder = model.encoder
    decoder = model.sampling_network("decoder")
    latent_dim = int(model.latent_dim)
    num_classes = int(model.num_classes)
    size, channels = int(model.image_size), int(model.channels)
    bernoulli = model.reconstruction == "bernoulli"

    def one_hot(labels):
        return tf.one_hot(tf.cast(labels, tf.int32), num_classes, dtype=tf.float32)

    def encode(images, labels=None):
        x = images
        if num_classes:
            planes = one_hot(labels)[:, None, None, :]
            planes = tf.broadcast_to(
                planes, tf.concat([tf.shape(images)[:3], [num_classes]], 0)
            )
            x = tf.concat([images, planes], axis=-1)
        stats = tf.cast(encoder(x, training=False), tf.float32)
        mean, log_var = tf.split(stats, 2, axis=-1)
        return {"mean": mean, "log_var": log_var}

    def decode(z, labels=None):
        x = tf.concat([z, one_hot(labels)], axis=-1) if num_classes else z
        logits = tf.cast(decoder(x, training=False), tf.float32)
        images = 2.0 * tf.sigmoid(logits) - 1.0 if bernoulli else tf.tanh(logits)
        return _image_outputs(tf, images)

    def reconstruct(images, labels=None):
        return decode(encode(images, labels)["mean"], labels)

    image_spec = tf.TensorSpec([batch_size, size, size, channels], tf.float32, name="images")
    z_spec = tf.TensorSpec([batch_size, latent_dim], tf.float32, name="z")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")
    if num_classes:
        labels_spec = tf.TensorSpec([batch_size], tf.int32, name="labels")

        def generate_from_seed(seed, labels):
            z = _seeded_normal(tf, seed, tf.size(labels), latent_dim)
            return decode(z, labels)

        functions = {
            "encode": (encode, [image_spec, labels_spec]),
            "decode": (decode, [z_spec, labels_spec]),
            "reconstruct": (reconstruct, [image_spec, labels_spec]),
            "generate_from_seed": (generate_from_seed, [
                seed_spec, tf.TensorSpec([None], tf.int32, name="labels"),
            ]),
        }
    else:

        def generate_from_seed(seed, n):
            return decode(_seeded_normal(tf, seed, n, latent_dim))

        functions = {
            "encode": (lambda images: encode(images), [image_spec]),
            "decode": (lambda z: decode(z), [z_spec]),
            "reconstruct": (lambda images: reconstruct(images), [image_spec]),
            "generate_from_seed": (generate_from_seed, [
                seed_spec, tf.TensorSpec([], tf.int32, name="n"),
            ]),
        }
    return [encoder, decoder], functions


def _translation_functions(model, batch_size):
    """CycleGAN: `translate_a2b` (`generator_ab`) and `translate_b2a`
    (`generator_ba`); Pix2Pix: `translate` (`generator`). Images in and
    out are in [-1, 1], as `model.translate` takes and returns them."""
    import tensorflow as tf

    spec = model.data_spec()
    size, channels = int(spec.image_size), int(spec.channels)
    image_spec = tf.TensorSpec([batch_size, size, size, channels], tf.float32,
                               name="images")

    def endpoint(generator):
        def translate(images):
            return _image_outputs(tf, generator(images, training=False))

        return translate, [image_spec]

    if family_kind(model) == "pix2pix":
        generator = model.sampling_network("generator")
        return [generator], {"translate": endpoint(generator)}
    generator_ab = model.sampling_network("generator_ab")
    generator_ba = model.sampling_network("generator_ba")
    return [generator_ab, generator_ba], {
        "translate_a2b": endpoint(generator_ab),
        "translate_b2a": endpoint(generator_ba),
    }

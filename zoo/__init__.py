"""Pretrained presets of kerasgen (installed as `kerasgen.zoo`).

One folder per preset id (family first, then data, then size:
`dcgan-mnist`, `cyclegan-cat2dog-128`), each with `config.json`,
`model.weights.h5`, `metadata.json` (with the sha256 of the weights,
checked before they load) and a model card `README.md`: the layout of
keras-hub presets plus a checksum and metrics.

What ships today are the feature extractors of `kerasgen.metrics`:
`lenet-mnist` and `catdog-classifier-64` (loaded with
`kerasgen.metrics.load_extractor`). The registry of model presets and
`from_preset` are tracked in a later issue.
"""

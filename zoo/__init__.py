"""Pretrained presets of kerasgen (installed as `kerasgen.zoo`).

This is where the zoo's presets will live, one folder per preset id (family
first, then data, then size: `dcgan-mnist`, `cyclegan-cat2dog-128`), each with
`config.json`, `model.weights.h5`, `metadata.json`, `metrics.json` and a model
card `README.md`, the layout of keras-hub presets plus a checksum and metrics.

No preset ships yet, and nothing here loads one: the registry and
`from_preset` are tracked in a later issue.
"""

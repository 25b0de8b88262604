"""Model probes: what the zoo's own classifiers see, and how little it takes
to fool them.

The two classifiers kerasgen ships as feature extractors
(`kerasgen.metrics.load_extractor`: `lenet-mnist`, `catdog-classifier-64`)
are functional `keras.Model`s from images in [-1, 1] to
`[features, logits]`; every probe here takes such an extractor (or the
network itself) and works by gradients with respect to the *input*
(`kerasgen.training.input_gradients.input_gradient`), on TensorFlow and JAX
alike:

- `kerasgen.probes.deepdream`: DeepDream (Mordvintsev, Olah and Tyka 2015):
  gradient ascent on the image to raise a layer's mean activation (or one
  channel's), from noise or a picture, over several octaves (`dream`).
- `kerasgen.probes.adversarial`: adversarial examples: FGSM (Goodfellow,
  Shlens and Szegedy 2015) and PGD (Madry et al. 2018) against the true
  labels, the accuracy they leave over a grid of epsilons
  (`accuracy_under_attack`), and the "panda + noise = gibbon" figure
  (`attack_figure`).
- `kerasgen.probes.networks`: what both share: turning an extractor or a
  network into one with a known input, and naming its layers the same way
  in every process (`layer_names`).

`import kerasgen.probes` imports no Keras; the modules import it when they
are used.

Example:

```python
from kerasgen.metrics import load_extractor
from kerasgen.probes.adversarial import fgsm
extractor = load_extractor("lenet-mnist")
import numpy as np
x = np.full((1, 28, 28, 1), -1.0, "float32")
fgsm(extractor, x, [3], epsilon=0.1).shape  # (1, 28, 28, 1)
```
"""

"""How good a model is: sample-quality metrics (FID, KID, Inception Score,
precision and recall) on named feature extractors, and translation metrics.

Written once against the families' interfaces (`sample`, `translate`; see
`kerasgen.models.interfaces`), so every family is measured the same way.
Empty until the metrics land.
"""

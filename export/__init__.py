"""Export of trained kerasgen models for serving (installed as `kerasgen.export`).

This is where SavedModel export (laid out for TF Serving as
`<name>/<version>/`, with named signatures) and TFLite export will live, as
DESIGN.md describes.

Nothing is exported yet: the exporters are tracked in a later issue.
"""

"""Which backend this test run is on, and the marker for checks that do not
depend on it.

A check of code that runs the same whatever the backend (a file lock, a
wheel's contents, a weights file mapped onto Keras layers) runs on
TensorFlow, the first backend `make test` and CI run; on JAX it is marked
`slow`, so `make test-all` still repeats it there.
"""

import keras
import pytest

ON_TF = keras.backend.backend() == "tensorflow"


def backend_independent(test):
    """Decorator: run `test` on TensorFlow always, on JAX only with `make test-all`."""
    return test if ON_TF else pytest.mark.slow(test)

"""What a loss needs to know about the other replicas of a data-parallel
step, so that N replicas compute what one device computes on the global
batch.

Under a `tf.distribute` strategy (MirroredStrategy, MultiWorkerMirrored,
TPUStrategy) TensorFlow runs the train step once per replica, each on its
share of the global batch, with its own copy of every variable. Three things
would then differ from one device, and this module puts them right:

- **Noise.** Every replica's copy of the seed generator holds the same
  state, so a plain `keras.random.normal((n, d), seed=...)` draws the *same*
  latents on every replica. `per_example` draws the global batch's noise
  on every replica (the same numbers one device draws) and keeps this
  replica's rows.
- **Batch-wide state.** A pool of past translations (CycleGAN) is one pool
  for the whole batch: `gather` puts the replicas' rows together in batch
  order, every replica runs the same update on them, and `local_part`
  keeps its rows of the result.
- **The loss.** Each replica's loss is the mean over its own rows; the
  optimizer *sums* the replicas' gradients (Keras's all-reduce), so the
  backends divide each replica's loss by `count()` before the gradient:
  the sum is then the gradient of the global batch's mean, the loss every
  paper writes. A per-example penalty (WGAN-GP's, R1) is a mean over rows
  of terms that each depend on one row only, so it reduces the same way.

On JAX there is nothing to do: `keras.distribution.DataParallel` shards one
global computation, so `count()` is 1 and each function is the identity.

Example:

```python
import keras
from kerasgen.training import replicas

z = replicas.per_example(keras.random.normal, (4, 2), seed=0)
tuple(z.shape), replicas.count()  # ((4, 2), 1)
```
"""

import keras
from keras import ops


def _replica_context():
    """The replica context of a tf.distribute step, or None (on JAX, or
    outside a strategy, or in its cross-replica context)."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return None
    return tf.distribute.get_replica_context()


def count():
    """How many replicas share the global batch of this step (1 outside a
    tf.distribute strategy, and on JAX)."""
    context = _replica_context()
    return 1 if context is None else int(context.num_replicas_in_sync)


def index():
    """This replica's position in the global batch (0 outside a strategy):
    replica i holds rows `i * n` to `(i + 1) * n` of it."""
    context = _replica_context()
    return 0 if context is None else context.replica_id_in_sync_group


def gather(x):
    """The global batch of `x`: every replica's rows, in replica order (x
    itself outside a strategy). No gradient flows back through it; use it
    on values that are not differentiated (kept translations, statistics)."""
    context = _replica_context()
    if context is None:
        return x
    return context.all_gather(ops.stop_gradient(x), axis=0)


def local_part(x):
    """This replica's rows of a global-batch tensor (x outside a strategy)."""
    n = count()
    if n == 1:
        return x
    shape = ops.shape(x)  # dynamic where a loop left a dimension unknown
    rows = shape[0] // n
    return ops.slice(x, [index() * rows] + [0] * (len(shape) - 1),
                     [rows] + list(shape[1:]))


def per_example(draw, shape, *args, **kwargs):
    """`draw(shape, *args, **kwargs)` for noise with one row per example (the
    first axis is the batch): under a strategy each replica draws the
    global batch's rows with the shared seed state and keeps its own, so the
    replicas draw what one device would and no two replicas share a row.

    Example:

    ```python
    eps = per_example(keras.random.uniform, (3, 1, 1, 1), seed=1)
    tuple(eps.shape)  # (3, 1, 1, 1)
    ```
    """
    n = count()
    if n == 1:
        return draw(shape, *args, **kwargs)
    shape = tuple(shape)
    return local_part(draw((shape[0] * n,) + shape[1:], *args, **kwargs))


def mean_for_gradient(loss):
    """The loss each replica differentiates: its mean over its own rows
    divided by the number of replicas, so that the optimizer's sum of the
    replicas' gradients is the global batch's gradient."""
    n = count()
    return loss if n == 1 else loss / n


def creation_scope(model):
    """The scope in which `model`'s optimizers must be created: the
    tf.distribute strategy the model was built under (a no-op context on JAX
    and without one), so that a family that compiles again inside `fit()`
    gets mirrored optimizer state."""
    import contextlib

    strategy = getattr(model, "distribute_strategy", None)
    if keras.backend.backend() != "tensorflow" or strategy is None:
        return contextlib.nullcontext()
    return strategy.scope()

"""Training on several devices and machines: one name per way of spreading a
run, on both backends (`kerasgen train ... --strategy NAME`).

| `--strategy`   | TensorFlow                                   | JAX                                             |
| -------------- | -------------------------------------------- | ----------------------------------------------- |
| `auto`         | `mirrored` when there are 2+ GPUs, else the default device | `mirrored` when there are 2+ devices, else one |
| `one-device`   | `OneDeviceStrategy` (the first GPU, else the CPU) | no distribution (JAX's default device)     |
| `mirrored`     | `MirroredStrategy` over the local GPUs (else the CPU's logical devices) | `keras.distribution.DataParallel` over the local devices |
| `multi-worker` | `MultiWorkerMirroredStrategy`, from `TF_CONFIG` | `jax.distributed.initialize()` (from `JAX_COORDINATOR_ADDRESS`, `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`, or a cluster JAX detects), then `DataParallel` over every process's devices |
| `tpu`          | `TPUStrategy` (`TPUClusterResolver`)         | `DataParallel` over the TPU devices             |

What every strategy keeps the same as one device with the same global
batch (the tests train DCGAN, WGAN-GP and CycleGAN both ways and compare the
weights):

- The global batch (`--batch-size`) is split in order: replica i of N
  trains on rows `i * B / N` to `(i + 1) * B / N` of each batch (the batch
  size must divide). On TensorFlow each worker process reads the same
  shuffled stream and keeps its rows; on JAX each process feeds its rows and
  Keras assembles the global array.
- The losses are the papers' means over the global batch
  (`kerasgen.training.replicas`): each replica divides its own mean by N and
  Keras sums the replicas' gradients. Training noise (latents, the penalty's
  interpolation weights, jitter) is drawn for the global batch and sliced;
  CycleGAN's pool is one pool.
- BatchNorm: on TensorFlow each replica normalizes with its own rows'
  statistics unless `sync_batchnorm=True` (`--sync-batchnorm`), which
  all-reduces them (the single-device numbers). On JAX `DataParallel` runs
  one global computation, so statistics are always the global batch's.
- A checkpoint is a plain `.keras` file: one written under a strategy
  loads without it, and back.

Only the chief (process 0) writes the run folder. The other processes run
the same callbacks (on JAX a save or a sample is a computation every process
takes part in) into a scratch folder of their own, and read the chief's
checkpoint when they resume, so `--out` must be a folder every process sees
(a shared file system across machines).

Example:

```python
from kerasgen.training.distribute import make_distribution

distribution = make_distribution("one-device")
distribution.num_replicas, distribution.is_chief  # (1, True)
```
"""

import contextlib
import json
import os

import keras

STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker", "tpu")


# Measured on TensorFlow 2.21 with two logical CPU devices: a train step
# compiled with XLA (jit_compile=True) under MirroredStrategy fails ("Trying
# to access resource ... located in device CPU:1 from device CPU:0", the
# XLA known issue of variables on another device). kerasgen train refuses
# --xla with more than one TensorFlow replica rather than fail at step 1.
XLA_WITH_REPLICAS = (
    "--xla with {replicas} TensorFlow replicas: an XLA-compiled step reads "
    "variables across devices and TensorFlow refuses it (measured on TF 2.21); "
    "train with one replica, without --xla, or on JAX (always XLA). "
    "Received: --strategy {name} --xla")


class DistributionError(ValueError):
    """A strategy that cannot run here (no TF_CONFIG, no TPU, a batch size
    the replicas cannot share): the CLI shows it in one line."""


class Distribution:
    """How one run spreads over devices and processes: what `make_distribution`
    returns.

    Attributes:
        name: str. The `--strategy` it was made from.
        num_replicas: int. Replicas sharing each global batch.
        num_processes: int. Processes (workers) in the run.
        process_index: int. This process's index; 0 is the chief.
        strategy: the `tf.distribute.Strategy` (TensorFlow) or None.
        distribution: the `keras.distribution.Distribution` (JAX) or None.
        devices: list of str. The devices the replicas run on.
    """

    def __init__(self, name, *, num_replicas=1, num_processes=1, process_index=0,
                 strategy=None, distribution=None, devices=()):
        self.name = name
        self.num_replicas = int(num_replicas)
        self.num_processes = int(num_processes)
        self.process_index = int(process_index)
        self.strategy = strategy
        self.distribution = distribution
        self.devices = [str(d) for d in devices]

    @property
    def is_chief(self):
        """Whether this process writes the run folder."""
        return self.process_index == 0

    def scope(self):
        """Where models are built, loaded and compiled: the TensorFlow
        strategy's scope, or (JAX) the Keras distribution set for the `with`
        block. Training runs in `run_scope()`."""
        if self.strategy is not None:
            return self.strategy.scope()
        return _distribution_set(self.distribution)

    def run_scope(self):
        """Where the run trains: on JAX the Keras distribution (fit() reads
        it to shard the batches); on TensorFlow nothing, since a model
        trains under the strategy it was built in (and reading a mirrored
        counter inside the strategy's scope fails in callbacks)."""
        if self.strategy is not None:
            return contextlib.nullcontext()
        return _distribution_set(self.distribution)

    def describe(self):
        """One line for the run's header, e.g. `mirrored: 2 replicas
        (/cpu:0, /cpu:1)`."""
        where = ", ".join(self.devices) if self.devices else "default device"
        text = f"{self.name}: {self.num_replicas} replica"
        text += "s" if self.num_replicas != 1 else ""
        if self.num_processes > 1:
            text += f" in {self.num_processes} processes (this is process {self.process_index})"
        return f"{text} ({where})"

    def check_batch_size(self, batch_size):
        """Raises `DistributionError` unless every replica gets the same
        whole number of rows of a `batch_size` batch."""
        parts = max(self.num_replicas, self.num_processes)
        if batch_size % parts:
            raise DistributionError(
                f"--batch-size is the global batch, split over {parts} "
                f"replicas ({self.name}): it must be a multiple of {parts}. "
                f"Received: --batch-size {batch_size}"
            )

    def sync_batchnorm(self, model):
        """Makes every BatchNormalization layer of `model` all-reduce its
        batch statistics across replicas (TensorFlow; on JAX they are the
        global batch's already). Returns how many layers it changed."""
        if keras.backend.backend() != "tensorflow":
            return 0
        changed = 0
        for layer in model._flatten_layers(include_self=False, recursive=True):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True
                changed += 1
        return changed

    def local_batches(self, batches, batch_size):
        """What this process passes to `fit()`, from the stream of global
        batches every process builds with the same seed.

        - One process: `batches` as they are (TensorFlow's mirrored strategy
          splits each batch over its replicas in order).
        - TensorFlow, several workers: a distributed dataset whose input
          pipeline i keeps its rows of each global batch.
        - JAX, several processes: a `keras.utils.PyDataset` of this
          process's rows of each batch.
        """
        if self.num_processes == 1:
            return batches
        if self.strategy is not None:
            return self._tensorflow_worker_batches(batches, batch_size)
        return ProcessRows(batches, self.process_index, self.num_processes)

    def _tensorflow_worker_batches(self, dataset, batch_size):
        import tensorflow as tf

        per_replica = batch_size // self.num_replicas

        def dataset_fn(context):
            index, count = context.input_pipeline_id, context.num_input_pipelines
            rows = batch_size // count

            def keep(*parts):
                kept = tuple(part[index * rows:(index + 1) * rows] for part in parts)
                return kept if len(kept) > 1 else kept[0]

            local = dataset.map(keep)
            # Several replicas in this worker: consecutive pieces, in order.
            return local.rebatch(per_replica) if rows != per_replica else local

        options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
        return self.strategy.distribute_datasets_from_function(dataset_fn, options)


class ProcessRows(keras.utils.PyDataset):
    """This process's rows of each batch of `batches` (a PyDataset or any
    indexable stream of batches): process i of n keeps rows `i * B / n` to
    `(i + 1) * B / n`, so that the global array JAX assembles from the
    processes' parts is the batch one process would have read."""

    def __init__(self, batches, index, count):
        super().__init__()
        self.batches = batches
        self.index = int(index)
        self.count = int(count)

    @property
    def num_batches(self):
        return self.batches.num_batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        batch = self.batches[i]

        def rows(part):
            n = len(part) // self.count
            return part[self.index * n:(self.index + 1) * n]

        if isinstance(batch, tuple):
            return tuple(rows(part) for part in batch)
        return rows(batch)

    def on_epoch_end(self):
        self.batches.on_epoch_end()


def cpu_devices(count):
    """Splits the CPU into `count` logical devices, to try a strategy on a
    machine without accelerators; must run before the backend starts
    (TensorFlow's runtime, JAX's first device query)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError as error:
            raise DistributionError(
                "The CPU can be split only before TensorFlow starts. "
                f"Received: {error}") from error
    else:
        import jax

        jax.config.update("jax_num_cpu_devices", int(count))


def make_distribution(name="auto"):
    """The `Distribution` for `--strategy name` on the current backend.

    Raises `DistributionError` (one line) when the strategy cannot run here:
    `multi-worker` without `TF_CONFIG` (TensorFlow) or a coordinator (JAX),
    `tpu` without a TPU.

    Example:

    ```python
    make_distribution("mirrored").name  # 'mirrored'
    ```
    """
    if name not in STRATEGIES:
        raise DistributionError(
            f"--strategy must be one of {', '.join(STRATEGIES)}. Received: {name!r}")
    if keras.backend.backend() == "tensorflow":
        return _tensorflow(name)
    if keras.backend.backend() == "jax":
        return _jax(name)
    raise DistributionError(
        "kerasgen distributes training on the tensorflow and jax backends. "
        f"Received: KERAS_BACKEND={keras.backend.backend()}")


# --- TensorFlow ---------------------------------------------------------------


def _tensorflow(name):
    import tensorflow as tf

    if name == "multi-worker":
        # First: listing devices starts TensorFlow's runtime, after which
        # collective ops cannot be configured.
        return _tensorflow_workers()
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if name == "auto":
        if len(gpus) <= 1:
            # Keras's default strategy: no wrapping at all.
            return Distribution("one-device", devices=[(gpus or cpus)[0]])
        name = "mirrored"
    if name == "one-device":
        device = gpus[0] if gpus else cpus[0]
        strategy = tf.distribute.OneDeviceStrategy(device)
        return Distribution("one-device", strategy=strategy, devices=[device])
    if name == "mirrored":
        devices = gpus or cpus
        strategy = tf.distribute.MirroredStrategy(devices)
        return Distribution("mirrored", num_replicas=strategy.num_replicas_in_sync,
                            strategy=strategy, devices=devices)
    # tpu
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise DistributionError(
            f"--strategy tpu found no TPU here. Received: {str(error).splitlines()[0]}"
        ) from error
    strategy = tf.distribute.TPUStrategy(resolver)
    return Distribution("tpu", num_replicas=strategy.num_replicas_in_sync,
                        strategy=strategy,
                        devices=[d.name for d in tf.config.list_logical_devices("TPU")])


def _tensorflow_workers():
    import tensorflow as tf

    config = _tf_config()
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise DistributionError(
            "--strategy multi-worker must start before TensorFlow runs "
            f"anything (--cpu-devices cannot split the CPU of a worker). "
            f"Received: {error}") from error
    workers = len(config["cluster"]["worker"])
    return Distribution(
        "multi-worker", num_replicas=strategy.num_replicas_in_sync,
        num_processes=workers, process_index=int(config["task"]["index"]),
        strategy=strategy, devices=[f"worker {i}" for i in range(workers)])


def _tf_config():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise DistributionError(
            "--strategy multi-worker reads the cluster from TF_CONFIG "
            '(e.g. {"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}). Received: TF_CONFIG unset')
    try:
        config = json.loads(raw)
        config["cluster"]["worker"], config["task"]["index"]
    except (ValueError, KeyError, TypeError) as error:
        raise DistributionError(
            "TF_CONFIG must be JSON with cluster.worker (a list of host:port) "
            f"and task.index. Received: TF_CONFIG={raw!r}") from error
    return config


# --- JAX ----------------------------------------------------------------------

_JAX_ENVIRONMENT = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")


def _jax(name):
    import jax

    if name == "multi-worker":
        _initialize_jax_processes()
    devices = jax.devices()
    if name == "auto":
        name = "mirrored" if len(devices) > 1 else "one-device"
    if name == "one-device":
        return Distribution("one-device", devices=[devices[0]])
    if name == "tpu":
        if devices[0].platform != "tpu":
            raise DistributionError(
                f"--strategy tpu found no TPU here. Received: devices of platform "
                f"{devices[0].platform!r}")
    elif name == "mirrored":
        devices = jax.local_devices()
    distribution = keras.distribution.DataParallel(devices=devices)
    # Each process passes its own rows (`local_batches`); Keras must not
    # shard them again.
    distribution.auto_shard_dataset = False
    return Distribution(
        name, num_replicas=len(devices), num_processes=jax.process_count(),
        process_index=jax.process_index(), distribution=distribution,
        devices=devices if len(devices) <= 8 else [f"{len(devices)} devices"])


def _initialize_jax_processes():
    import jax

    if jax.distributed.is_initialized():
        return
    missing = [key for key in _JAX_ENVIRONMENT if not os.environ.get(key)]
    if missing and len(missing) < len(_JAX_ENVIRONMENT):
        raise DistributionError(
            "--strategy multi-worker on JAX reads JAX_COORDINATOR_ADDRESS "
            "(host:port of process 0), JAX_NUM_PROCESSES and JAX_PROCESS_ID. "
            f"Received: {', '.join(missing)} unset")
    # On CPUs the processes' all-reduce goes through gloo (TCP); the
    # setting does nothing on accelerators.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    given = {}
    if not missing:
        given = dict(coordinator_address=os.environ["JAX_COORDINATOR_ADDRESS"],
                     num_processes=int(os.environ["JAX_NUM_PROCESSES"]),
                     process_id=int(os.environ["JAX_PROCESS_ID"]))
    try:
        # None given: a cluster JAX detects (SLURM, Cloud TPU, Open MPI).
        jax.distributed.initialize(**given)
    except (ValueError, RuntimeError, TypeError) as error:
        raise DistributionError(
            "--strategy multi-worker could not start jax.distributed: "
            f"{str(error).splitlines()[0]}") from error


@contextlib.contextmanager
def _distribution_set(distribution):
    if distribution is None:
        yield
        return
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(distribution)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)

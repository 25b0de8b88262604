"""Audio for the audio families: WAV folders, read, resampled and cut to one length.

`load_waveforms()` reads a folder of WAV files (the standard PCM and float
formats, through `scipy.io.wavfile`) into an `AudioData`: float32 waveforms
`(N, length, 1)` in [-1, 1], one sample rate, and labels where the layout
gives them:

- class subfolders (`DIR/<class>/*.wav`), the label is the folder;
- or flat files named `<class>_<anything>.wav`, the label is the text before
  the first underscore: the Free Spoken Digit Dataset (`7_jackson_32.wav`)
  and Speech Commands' SC09 (`Seven_0a2b400e_nohash_0.wav`) are named so.

Each recording is resampled to `sample_rate` (`scipy.signal.resample_poly`),
scaled to a peak of 1 where `normalize` (WaveGAN's loader does the same:
FSDD's speakers recorded at very different levels), then cut to `length`
samples from its start or padded with silence at its end (recordings are
trimmed, so the speech is at the start).

Splits: a folder with `train/` and `test/` subfolders, or FSDD's own rule for
files named `<digit>_<speaker>_<take>.wav`: takes 0-4 are the test set, the
others the training set (the dataset's README).

No recording of speech ships with kerasgen's dependencies, so the embedded
default (`source=None`) is not speech: it is `synthetic_tones()`, ten
classes of harmonic tones with a class-specific pitch contour, made on the
fly. It is there so that `kerasgen train wavegan` runs offline; it says what
it is, and no preset is trained on it.

```python
from kerasgen.data.audio import load_waveforms
data = load_waveforms(length=1024, sample_rate=4000)  # synthetic tones, offline
data.waveforms.shape, data.num_classes  # ((1000, 1024, 1), 10)
```
"""

import dataclasses
import math
import os
import re
import warnings

import numpy as np

#: File suffixes read as WAV.
WAV_SUFFIXES = (".wav", ".wave")
#: FSDD's rule: takes 0-4 of each digit and speaker are its test set.
FSDD_TEST_TAKES = range(5)
_FSDD_NAME = re.compile(r"^(\d+)_([A-Za-z]+)_(\d+)$")
SYNTHETIC_SOURCE = "(embedded) synthetic tones: 10 classes, no recorded speech ships with a dependency"


@dataclasses.dataclass(repr=False)
class AudioData:
    """Waveforms held in memory, with their sample rate and optional labels.

    Args:
        waveforms: float array `(N, length, 1)` in [-1, 1]. Stored as float32.
        sample_rate: int. Samples per second of every waveform.
        labels: int array `(N,)` or None. Defaults to None.
        class_names: list of str or None: label `i` is `class_names[i]`.
            Defaults to None.
        source: str. Where the recordings came from. Defaults to "".
        names: list of str or None. The file of each waveform. Defaults to
            None.

    Example:

    ```python
    import numpy as np
    data = AudioData(np.zeros((2, 16, 1)), 8000, labels=[0, 1])
    data.length, data.num_classes, data.seconds  # (16, 2, 0.002)
    ```
    """

    waveforms: np.ndarray
    sample_rate: int
    labels: np.ndarray = None
    class_names: list = None
    source: str = ""
    names: list = None

    def __post_init__(self):
        waveforms = np.asarray(self.waveforms, dtype="float32")
        if waveforms.ndim != 3 or waveforms.shape[-1] != 1:
            raise ValueError(
                "AudioData.waveforms must have shape (N, length, 1) (mono). "
                f"Received: waveforms.shape={waveforms.shape}")
        self.waveforms = waveforms
        self.sample_rate = int(self.sample_rate)
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if labels.shape != (len(waveforms),) or (
                    labels.size and labels.dtype.kind not in "iu") or (
                    labels.size and labels.min() < 0):
                raise ValueError(
                    "AudioData.labels must be class indices >= 0, one per "
                    f"waveform ({len(waveforms)}). Received: labels of shape "
                    f"{labels.shape} and dtype {labels.dtype}")
            self.labels = labels.astype("int32")

    def __len__(self):
        return len(self.waveforms)

    @property
    def length(self):
        return self.waveforms.shape[1]

    @property
    def seconds(self):
        return self.length / self.sample_rate

    @property
    def num_classes(self):
        if self.class_names is not None:
            return len(self.class_names)
        if self.labels is None or not self.labels.size:
            return 0
        return int(self.labels.max()) + 1

    def take(self, index):
        """The waveforms at `index` (a slice or indices) as a new AudioData."""
        pick = (lambda values: None if values is None else
                [values[i] for i in np.arange(len(self))[index]])
        return AudioData(
            self.waveforms[index], self.sample_rate,
            None if self.labels is None else self.labels[index],
            self.class_names, self.source, pick(self.names))


# --- One file ----------------------------------------------------------------


def read_wav(path):
    """`(sample_rate, waveform)` of a mono WAV file: float32 `(samples,)`
    in [-1, 1] (PCM scaled by its full range, float kept as is).

    Raises a one-line ValueError naming the file when it cannot be read,
    holds no samples or has more than one channel.

    Example:

    ```python
    import os, tempfile
    import numpy as np
    path = os.path.join(tempfile.mkdtemp(), "a.wav")
    write_wav(path, np.array([0.0, 0.5, -0.5]), 8000)
    rate, wave = read_wav(path)
    rate, wave.round(2).tolist()  # (8000, [0.0, 0.5, -0.5])
    ```
    """
    import scipy.io.wavfile

    try:
        with warnings.catch_warnings():
            # A truncated file is read up to where it ends; say nothing.
            warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
            rate, data = scipy.io.wavfile.read(path)
    except (ValueError, OSError, EOFError, TypeError) as error:
        raise ValueError(f"Cannot read {path} as a WAV file: {error}") from None
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.ndim != 1:
        raise ValueError(
            f"{path} has {data.shape[1]} channels; the audio families train on "
            "mono recordings (mix it down first, e.g. `sox in.wav -c 1 out.wav`). "
            f"Received: a {data.shape[1]}-channel file")
    if data.size == 0:
        raise ValueError(f"{path} holds no samples. Received: an empty WAV file")
    return int(rate), _to_float(data, path)


def _to_float(data, path):
    if data.dtype.kind == "f":
        return data.astype("float32")
    if data.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        return ((data.astype("float32") - 128.0) / 128.0)
    if data.dtype.kind == "i":
        return (data.astype("float64") / float(2 ** (8 * data.dtype.itemsize - 1))).astype(
            "float32")
    raise ValueError(f"Cannot read {path}: samples of type {data.dtype}")


def write_wav(path, waveform, sample_rate):
    """Writes a mono waveform in [-1, 1] as 16-bit PCM, atomically (a file
    that exists is whole).

    Args:
        path: str. The `.wav` file to write.
        waveform: array `(samples,)` or `(samples, 1)`; clipped to [-1, 1].
        sample_rate: int.

    Example:

    ```python
    import os, tempfile
    import numpy as np
    path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    write_wav(path, np.sin(np.arange(800) / 5.0), 8000)
    os.path.getsize(path)  # 1644
    ```
    """
    import scipy.io.wavfile

    from kerasgen.utils.io import atomic_write

    samples = np.asarray(waveform, dtype="float32").reshape(-1)
    with atomic_write(path) as tmp:
        scipy.io.wavfile.write(tmp, int(sample_rate), to_int16(samples))


def to_int16(waveform):
    """16-bit PCM levels of a waveform in [-1, 1]: `round(x * 32767)`, clipped.

    Example:

    ```python
    import numpy as np
    to_int16(np.array([-2.0, 0.0, 0.5, 1.0])).tolist()  # [-32767, 0, 16384, 32767]
    ```
    """
    return np.round(np.clip(np.asarray(waveform, "float32"), -1.0, 1.0) * 32767.0).astype(
        "int16")


def resample(waveform, from_rate, to_rate):
    """A waveform at `from_rate` resampled to `to_rate` (polyphase filter,
    `scipy.signal.resample_poly`); the same array when the rates agree.

    Example:

    ```python
    import numpy as np
    resample(np.zeros(16000, "float32"), 16000, 8000).shape  # (8000,)
    ```
    """
    from_rate, to_rate = int(from_rate), int(to_rate)
    if from_rate == to_rate:
        return waveform
    import scipy.signal

    divisor = math.gcd(from_rate, to_rate)
    return scipy.signal.resample_poly(
        waveform, to_rate // divisor, from_rate // divisor).astype("float32")


def fit_length(waveform, length):
    """The first `length` samples, zeros appended where it is shorter.

    Example:

    ```python
    import numpy as np
    fit_length(np.ones(3), 5).tolist(), fit_length(np.ones(3), 2).tolist()
    # ([1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 1.0])
    ```
    """
    waveform = np.asarray(waveform, "float32")[:length]
    return np.pad(waveform, (0, length - len(waveform)))


# --- A folder ------------------------------------------------------------------


def load_waveforms(source=None, *, length=8192, sample_rate=8000, split=None,
                   subset=None, normalize=True, max_files=None, seed=0):
    """Recordings as an `AudioData` of `(N, length, 1)` waveforms.

    Args:
        source: str or None. A folder of WAV files (class subfolders, or
            files named `<class>_....wav`), or None for the embedded
            synthetic tones (see the module docstring). Defaults to None.
        length: int. Samples per waveform: longer recordings are cut, shorter
            ones padded with silence at the end. Defaults to 8192 (1.02 s at
            8 kHz).
        sample_rate: int. Every recording is resampled to it. Defaults to 8000.
        split: `"train"`, `"test"` or None (all). `"train"` reads all of a
            folder that has no split. Defaults to None.
        subset: `"START:STOP"` or None: a range of the (sorted) files.
            Defaults to None.
        normalize: bool. Scale each recording to a peak of 1 before it is
            cut. Defaults to True.
        max_files: int or None. At most this many files (after `split` and
            `subset`). Defaults to None.
        seed: int. The synthetic tones' seed. Defaults to 0.

    Example:

    ```python
    data = load_waveforms(length=256, sample_rate=2000, max_files=20)
    data.waveforms.shape, data.sample_rate  # ((20, 256, 1), 2000)
    ```
    """
    from kerasgen.data.sources import parse_subset

    length, sample_rate = int(length), int(sample_rate)
    if length < 1 or sample_rate < 1:
        raise ValueError("`length` and `sample_rate` must be positive. Received: "
                         f"length={length}, sample_rate={sample_rate}")
    if split not in (None, "train", "test"):
        raise ValueError(f"`split` is 'train', 'test' or None. Received: split={split!r}")
    subset = parse_subset(subset)
    if source is None:
        count = 1000 if split is None else (800 if split == "train" else 200)
        data = synthetic_tones(count, length, sample_rate,
                               seed=seed + (1 if split == "test" else 0))
        return _cut(data, subset, max_files)
    source = os.fspath(source)
    if not os.path.exists(source):
        raise FileNotFoundError(f"No such folder: {source}. Received: data={source}")
    if not os.path.isdir(source):
        raise ValueError(f"Audio data is a folder of WAV files. Received: data={source}")
    paths, labels, class_names = _list_recordings(source, split)
    if subset is not None:
        picked = np.arange(len(paths))[subset]
        if not picked.size:
            raise ValueError(f"The subset holds no recordings: the source has "
                             f"{len(paths)}. Received: subset={subset.start}:{subset.stop}")
        paths = [paths[i] for i in picked]
        labels = None if labels is None else labels[picked]
    if max_files is not None:
        paths = paths[:int(max_files)]
        labels = None if labels is None else labels[:int(max_files)]
    waveforms = np.stack([
        read_fixed(path, length, sample_rate, normalize) for path in paths])[..., None]
    where = source + (f" ({split} split)" if split else "")
    if subset is not None:
        where += f" [{subset.start or ''}:{'' if subset.stop is None else subset.stop}]"
    return AudioData(waveforms, sample_rate, labels, class_names, where,
                     [os.path.relpath(p, source) for p in paths])


def read_fixed(path, length, sample_rate, normalize=True):
    """One file as a float32 `(length,)` waveform at `sample_rate` (see
    `load_waveforms`).

    Example:

    ```python
    import os, tempfile
    import numpy as np
    path = os.path.join(tempfile.mkdtemp(), "a.wav")
    write_wav(path, np.full(100, 0.25), 16000)
    read_fixed(path, 64, 8000).shape  # (64,)
    ```
    """
    rate, waveform = read_wav(path)
    waveform = resample(waveform, rate, sample_rate)
    if normalize:
        peak = float(np.max(np.abs(waveform)))
        if peak > 0:
            waveform = waveform / peak
    return fit_length(np.clip(waveform, -1.0, 1.0), length)


def _wav_files(folder):
    return sorted(
        (name for name in os.listdir(folder)
         if name.lower().endswith(WAV_SUFFIXES) and not name.startswith(".")
         and os.path.isfile(os.path.join(folder, name))),
        key=_natural_key)


def _natural_key(text):
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r"(\d+)", text)]


def _list_recordings(folder, split):
    """`(paths, labels or None, class_names or None)` of a folder."""
    subfolders = sorted(
        name for name in os.listdir(folder)
        if os.path.isdir(os.path.join(folder, name)) and not name.startswith("."))
    if split is not None and split in subfolders:
        return _list_recordings(os.path.join(folder, split), None)
    files = _wav_files(folder)
    has_takes = bool(files) and all(_FSDD_NAME.match(os.path.splitext(f)[0]) for f in files)
    if split == "train" and not has_takes:
        split = None  # no splits here: all of it is training data (as for images)
    if split is not None:
        if not has_takes:
            raise ValueError(
                f"{folder} has no {split}/ subfolder and its files are not named "
                "<digit>_<speaker>_<take>.wav (FSDD), so it has no "
                f"{split} split. Received: split={split!r}")
        want_test = split == "test"
        files = [f for f in files
                 if (int(_FSDD_NAME.match(os.path.splitext(f)[0]).group(3))
                     in FSDD_TEST_TAKES) == want_test]
    if files:
        prefixes = [f.split("_", 1)[0] if "_" in f else None for f in files]
        paths = [os.path.join(folder, f) for f in files]
        if all(prefixes):
            class_names = sorted(set(prefixes), key=_natural_key)
            index = {name: i for i, name in enumerate(class_names)}
            return paths, np.array([index[p] for p in prefixes], "int32"), class_names
        return paths, None, None
    class_folders = [name for name in subfolders if _wav_files(os.path.join(folder, name))]
    if not class_folders:
        raise ValueError(
            f"{folder} holds no WAV files (*.wav, directly or in class "
            f"subfolders). Received: data={folder}")
    paths, labels = [], []
    for label, name in enumerate(class_folders):
        for f in _wav_files(os.path.join(folder, name)):
            paths.append(os.path.join(folder, name, f))
            labels.append(label)
    return paths, np.array(labels, "int32"), class_folders


def _cut(data, subset, max_files):
    if subset is not None:
        data = data.take(subset)
    if max_files is not None:
        data = data.take(slice(0, int(max_files)))
    if not len(data):
        raise ValueError("The subset holds no recordings. Received: "
                         f"subset={subset}")
    return data


# --- The embedded default ------------------------------------------------------


def synthetic_tones(n, length, sample_rate, seed=0):
    """`n` synthetic recordings of ten classes: not speech, made here.

    Class k is a harmonic tone (fundamental plus two overtones at 1/2 and
    1/4 amplitude) whose pitch glides from `f_k` to `f_k * (1 + (k - 4.5)
    / 10)` (up for high classes, down for low ones), with `f_k` spaced
    from 150 to 600 Hz (kept under a fifth of the sample rate), a random
    start of 0-20% of the length, a duration of 30-70% of it, a Hann
    envelope, and noise at -30 dB. Deterministic for a seed.

    Example:

    ```python
    data = synthetic_tones(20, 512, 4000)
    data.waveforms.shape, data.labels[:3].tolist()  # ((20, 512, 1), [0, 1, 2])
    ```
    """
    rng = np.random.default_rng(seed)
    top = min(600.0, sample_rate / 5.0)
    base = np.linspace(top / 4.0, top, 10)
    labels = np.arange(n) % 10
    waveforms = np.zeros((n, length), "float32")
    for i, k in enumerate(labels):
        start = int(rng.uniform(0.0, 0.2) * length)
        duration = max(2, int(rng.uniform(0.3, 0.7) * length))
        duration = min(duration, length - start)
        glide = 1.0 + (k - 4.5) / 10.0 * np.linspace(0.0, 1.0, duration)
        f0 = base[k] * rng.uniform(0.95, 1.05)
        phase = 2.0 * np.pi * np.cumsum(f0 * glide) / sample_rate
        tone = np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(4 * phase)
        tone *= np.hanning(duration) * rng.uniform(0.5, 0.9) / 1.75
        waveforms[i, start:start + duration] = tone
    waveforms += rng.normal(0.0, 0.03 * 0.3, waveforms.shape).astype("float32")
    return AudioData(np.clip(waveforms, -1, 1)[..., None], sample_rate, labels.astype("int32"),
                     [f"tone{k}" for k in range(10)], SYNTHETIC_SOURCE)


# --- Batches -------------------------------------------------------------------


def make_waveform_batches(data, batch_size, *, shuffle=True, seed=0, with_labels=False,
                          repeat=True):
    """Shuffled batches of an `AudioData` for `fit()` on either backend: a
    `keras.utils.PyDataset` of float32 `(batch_size, length, 1)` (and int32
    labels when `with_labels`); incomplete batches are dropped.

    Example:

    ```python
    data = load_waveforms(length=64, sample_rate=1000, max_files=40)
    batches = make_waveform_batches(data, 8, with_labels=True)
    waves, labels = next(iter(batches))
    waves.shape, labels.shape  # ((8, 64, 1), (8,))
    ```
    """
    from kerasgen.data.numpy_batches import NumpyBatches

    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not (
            1 <= batch_size <= len(data)):
        raise ValueError(
            f"`batch_size` must be an integer from 1 to the number of recordings "
            f"({len(data)}). Received: batch_size={batch_size!r}")
    if with_labels and data.labels is None:
        raise ValueError(f"with_labels=True, but {data.source} has no labels. "
                         f"Received: with_labels={with_labels}")
    return NumpyBatches(data.waveforms, data.labels if with_labels else None,
                        batch_size, shuffle=shuffle, seed=seed, repeat=repeat)

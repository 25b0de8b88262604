"""Pictures and files of generated audio: what `kerasgen sample` and training write.

- `audio_figure(waveforms, sample_rate)`: one panel per clip, its waveform
  (the min and max of each pixel column) above its log-magnitude
  spectrogram (time to the right, frequency up, 80 dB of range), as a
  uint8 RGB picture drawn with numpy alone.
- `write_audio_samples(folder, waveforms, sample_rate)`: the clips as 16-bit
  WAV files and the figure as a PNG.
"""

import os

import numpy as np

#: Pixels of one panel: waveform strip and spectrogram.
PANEL_WIDTH = 256
WAVE_HEIGHT = 64
SPECTROGRAM_HEIGHT = 96
_DB_RANGE = 80.0


def _colormap(values):
    """[0, 1] -> RGB uint8, dark blue through red to yellow (a heat map)."""
    values = np.clip(values, 0.0, 1.0)[..., None]
    stops = np.array([[0, 0, 32], [64, 0, 128], [200, 30, 60], [255, 160, 0],
                      [255, 255, 200]], "float32")
    position = values * (len(stops) - 1)
    low = np.floor(position).astype(int).clip(0, len(stops) - 2)
    frac = position - low
    colour = stops[low[..., 0]] * (1 - frac) + stops[low[..., 0] + 1] * frac
    return colour.astype("uint8")


def _wave_panel(waveform):
    panel = np.full((WAVE_HEIGHT, PANEL_WIDTH, 3), 250, "uint8")
    middle = WAVE_HEIGHT // 2
    panel[middle, :] = 200
    columns = np.array_split(np.asarray(waveform, "float32"), PANEL_WIDTH)
    for x, chunk in enumerate(columns):
        if not len(chunk):
            continue
        top = int(round(middle - np.clip(chunk.max(), -1, 1) * (middle - 1)))
        bottom = int(round(middle - np.clip(chunk.min(), -1, 1) * (middle - 1)))
        panel[min(top, bottom):max(top, bottom) + 1, x] = (30, 60, 160)
    return panel


def _spectrogram_panel(waveform, frame_length):
    from kerasgen.layers.spectral import Spectrogram

    hop = frame_length // 4
    length = len(waveform) - len(waveform) % hop
    spec = Spectrogram(frame_length, hop)
    magnitude = np.asarray(spec.magnitude(np.asarray(waveform[:length], "float32")[None]))[0]
    db = 20.0 * np.log10(np.maximum(magnitude, 1e-5))
    scaled = (db - (db.max() - _DB_RANGE)) / _DB_RANGE  # (frames, bins)
    picture = scaled.T[::-1]  # frequency up
    rows = np.linspace(0, picture.shape[0] - 1, SPECTROGRAM_HEIGHT).round().astype(int)
    cols = np.linspace(0, picture.shape[1] - 1, PANEL_WIDTH).round().astype(int)
    return _colormap(picture[rows][:, cols])


def audio_figure(waveforms, sample_rate, columns=4, frame_length=256):
    """A uint8 RGB picture of clips `(n, length[, 1])`: per clip, the waveform
    above the spectrogram, `columns` clips per row.

    Example:

    ```python
    import numpy as np
    waves = np.sin(np.arange(4096) / 3.0)[None].repeat(3, 0)
    audio_figure(waves, 8000, columns=2).shape  # (326, 518, 3)
    ```
    """
    del sample_rate  # the axes are not labelled; kept for callers' clarity
    waveforms = np.asarray(waveforms, "float32")
    if waveforms.ndim == 3:
        waveforms = waveforms[..., 0]
    if waveforms.ndim != 2 or not len(waveforms):
        raise ValueError(f"Pass clips of shape (n, length). Received: {waveforms.shape}")
    frame_length = min(frame_length, 1 << (waveforms.shape[1].bit_length() - 1))
    panels = [np.concatenate([_wave_panel(w), _spectrogram_panel(w, frame_length)], 0)
              for w in waveforms]
    columns = max(1, min(int(columns), len(panels)))
    rows = -(-len(panels) // columns)
    height, width = panels[0].shape[:2]
    pad = 2
    figure = np.full((rows * (height + pad) + pad, columns * (width + pad) + pad, 3),
                     128, "uint8")
    for i, panel in enumerate(panels):
        r, c = divmod(i, columns)
        figure[pad + r * (height + pad):pad + r * (height + pad) + height,
               pad + c * (width + pad):pad + c * (width + pad) + width] = panel
    return figure


def write_audio_samples(folder, waveforms, sample_rate, prefix="sample", figure=True):
    """Writes clips as `folder/{prefix}_00.wav`, ... (16-bit PCM) and their
    `audio_figure` as `folder/{prefix}s.png`; returns the paths written.

    Example:

    ```python
    import tempfile
    import numpy as np
    paths = write_audio_samples(tempfile.mkdtemp(), np.zeros((2, 512, 1)), 8000)
    [os.path.basename(p) for p in paths]  # ['sample_00.wav', 'sample_01.wav', 'samples.png']
    ```
    """
    from kerasgen.data.audio import write_wav
    from kerasgen.utils.images import save_png

    os.makedirs(folder, exist_ok=True)
    digits = max(2, len(str(len(waveforms) - 1)))
    paths = []
    for i, waveform in enumerate(np.asarray(waveforms, "float32")):
        path = os.path.join(folder, f"{prefix}_{i:0{digits}d}.wav")
        write_wav(path, waveform, sample_rate)
        paths.append(path)
    if figure:
        path = os.path.join(folder, f"{prefix}s.png")
        save_png(audio_figure(waveforms, sample_rate), path)
        paths.append(path)
    return paths

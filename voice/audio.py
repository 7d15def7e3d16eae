"""Audio in and out with PyAV (FFmpeg's libraries, in the `av` wheel).

- `decode(data)`: any container FFmpeg reads (Telegram's OGG/Opus voice notes, MP3, M4A/AAC,
  WAV, FLAC, WebM from a browser) -> 16 kHz mono int16 PCM and its duration.
- `encode_ogg_opus(pcm, rate)`: int16 mono PCM -> an OGG/Opus voice note as Telegram sends them
  (48 kHz, mono, 32 kbit/s).
- `speech_span(pcm)`: where the speech is, or None for silence, from frame energies.

Limits the bot checks *before* downloading (Telegram tells the duration and size first) are
here too, so the bot and the pipeline agree on them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

RATE = 16_000  # what the recogniser listens to
OPUS_RATE = 48_000
OPUS_BITRATE = 32_000
MAX_VOICE_SECONDS = 60  # longer notes are refused before download
MAX_AUDIO_BYTES = 5 * 1024 * 1024  # bigger voice notes or audio files are refused before download
MAX_DECODED_SECONDS = MAX_VOICE_SECONDS + 5  # what we decode at most, whatever the header said
MIN_SPEECH_SECONDS = 0.15

_FRAME = RATE // 50  # 20 ms


class AudioError(Exception):
    """The bytes are not audio FFmpeg can read (or hold no audio stream)."""


class AudioTooLong(AudioError):
    """The audio runs past MAX_DECODED_SECONDS (the note's header understated it)."""


@dataclass(frozen=True)
class Audio:
    pcm: bytes  # 16 kHz mono signed 16-bit little-endian
    rate: int = RATE

    @property
    def samples(self) -> int:
        return len(self.pcm) // 2

    @property
    def duration(self) -> float:
        return self.samples / self.rate

    def array(self) -> np.ndarray:
        return np.frombuffer(self.pcm, dtype="<i2")


def decode(data: bytes, *, max_seconds: float = MAX_DECODED_SECONDS) -> Audio:
    """Decode and resample to 16 kHz mono int16. Raises AudioError for anything unreadable."""
    if not data:
        raise AudioError("empty file")
    chunks: list[np.ndarray] = []
    total = 0
    limit = int(max_seconds * RATE)
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            streams = container.streams.audio
            if not streams:
                raise AudioError("no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            for frame in container.decode(streams[0]):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += len(chunk)
                if total > limit:
                    raise AudioTooLong(f"audio longer than {max_seconds:.0f} s")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, IndexError, EOFError) as error:
        raise AudioError(f"cannot decode audio: {error}") from None
    if not chunks:
        raise AudioError("no audio in the file")
    pcm = np.concatenate(chunks).astype("<i2")
    return Audio(pcm.tobytes())


def resample(samples: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """int16 mono at `rate` -> int16 mono at `to_rate` (FFmpeg's resampler)."""
    if rate == to_rate:
        return samples.astype("<i2")
    frame = av.AudioFrame.from_ndarray(
        samples.astype("<i2").reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=to_rate)
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    out: np.ndarray = np.concatenate(parts) if parts else np.zeros(0, dtype="<i2")
    return out


def encode_ogg_opus(pcm: bytes | np.ndarray, rate: int) -> bytes:
    """int16 mono PCM at `rate` -> OGG/Opus bytes (a Telegram voice note)."""
    samples = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, bytes) else pcm
    samples = resample(samples.astype("<i2"), rate, OPUS_RATE)
    out = io.BytesIO()
    with av.open(out, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE)
        stream.bit_rate = OPUS_BITRATE
        stream.layout = "mono"
        step = OPUS_RATE // 50
        for start in range(0, max(len(samples), 1), step * 50):
            block = samples[start : start + step * 50]
            if not len(block):
                break
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = OPUS_RATE
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def float_to_pcm(audio: np.ndarray) -> np.ndarray:
    """float samples in [-1, 1] -> int16."""
    pcm: np.ndarray = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    return pcm


def speech_span(audio: Audio, *, margin_s: float = 0.25) -> tuple[int, int] | None:
    """Byte offsets of the part of `audio` that holds speech (with a margin), or None when
    there is less than MIN_SPEECH_SECONDS of it: silence, or a steady hum."""
    samples = audio.array().astype(np.float32)
    frames = len(samples) // _FRAME
    if frames == 0:
        return None
    energy = np.sqrt(np.mean(samples[: frames * _FRAME].reshape(frames, _FRAME) ** 2, axis=1))
    floor = float(np.percentile(energy, 10))
    threshold = max(200.0, floor * 3.0)  # 200 of 32767 is about -44 dBFS
    loud = np.flatnonzero(energy > threshold)
    if len(loud) * _FRAME < MIN_SPEECH_SECONDS * RATE:
        return None
    margin = int(margin_s * RATE) // _FRAME
    first = max(0, int(loud[0]) - margin)
    last = min(frames, int(loud[-1]) + 1 + margin)
    return first * _FRAME * 2, last * _FRAME * 2


def snr_db(audio: Audio, span: tuple[int, int]) -> float:
    """How far speech stands above the background, in dB (capped at 60): the loud frames of
    the speech span against the quiet frames of the whole note."""
    samples = audio.array().astype(np.float32)
    frames = len(samples) // _FRAME
    if frames == 0:
        return 0.0
    energy = np.sqrt(np.mean(samples[: frames * _FRAME].reshape(frames, _FRAME) ** 2, axis=1))
    first, last = span[0] // 2 // _FRAME, max(span[0] // 2 // _FRAME + 1, span[1] // 2 // _FRAME)
    speech = float(np.percentile(energy[first:last], 90))
    background = float(np.percentile(energy, 10))
    if background < 1.0:
        return 60.0
    return float(min(60.0, 20 * np.log10(max(speech, 1.0) / background)))


def ogg_duration(data: bytes) -> float:
    """Duration of an encoded file in seconds (0 when unknown)."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if container.duration:
                return float(container.duration) / av.time_base
            stream = container.streams.audio[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except (av.FFmpegError, IndexError):
        return 0.0
    return 0.0

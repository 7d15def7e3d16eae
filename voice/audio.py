"""Audio in and out with PyAV (FFmpeg's libraries, in the `av` wheel).

- `decode(data)`: any container FFmpeg reads (Telegram's OGG/Opus voice notes, MP3, M4A/AAC,
  WAV, FLAC, WebM from a browser) -> 16 kHz mono int16 PCM and its duration.
- `encode_ogg_opus(pcm, rate)`: int16 mono PCM -> an OGG/Opus voice note (48 kHz, mono,
  32 kbit/s: what the bot sends). `TELEGRAM_RECORDER` is how Telegram's apps record the notes
  customers send (16 kHz, 16 kbit/s, 60 ms frames): the bench and tests encode speech with it.
- `speech_span(pcm)`: where the speech is, or None for silence, from frame energies.
- `denoise(audio)`: steady background (traffic, a fan, a café's murmur) taken out of the
  spectrum before recognition.

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


@dataclass(frozen=True)
class OpusProfile:
    """How a voice note is encoded: the Opus sample rate, bit rate and frame length."""

    rate: int = OPUS_RATE
    bitrate: int = OPUS_BITRATE
    frame_ms: int = 20


SPOKEN_REPLY = OpusProfile()
# Telegram's Android recorder (TMessagesProj/jni/audio.c in DrKLO/Telegram): 16 kHz input,
# 16 kbit/s, 60 ms frames. What a customer's voice note has been through before we hear it.
TELEGRAM_RECORDER = OpusProfile(rate=16_000, bitrate=16_000, frame_ms=60)


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


def encode_ogg_opus(
    pcm: bytes | np.ndarray, rate: int, profile: OpusProfile = SPOKEN_REPLY
) -> bytes:
    """int16 mono PCM at `rate` -> OGG/Opus bytes (a Telegram voice note)."""
    samples = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, bytes) else pcm
    samples = resample(samples.astype("<i2"), rate, profile.rate)
    out = io.BytesIO()
    with av.open(out, mode="w", format="ogg") as container:
        options = {"frame_duration": str(profile.frame_ms)}
        stream = container.add_stream("libopus", rate=profile.rate, options=options)
        stream.bit_rate = profile.bitrate
        stream.layout = "mono"
        step = profile.rate  # one second per frame handed to the encoder
        for start in range(0, max(len(samples), 1), step):
            block = samples[start : start + step]
            if not len(block):
                break
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = profile.rate
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


# Noise reduction ---------------------------------------------------------------------------

_NFFT = 512  # 32 ms at 16 kHz
_HOP = 128


def _stft(samples: np.ndarray) -> np.ndarray:
    window = np.hanning(_NFFT + 1)[:-1].astype(np.float32)
    padded = np.concatenate([np.zeros(_NFFT, np.float32), samples, np.zeros(_NFFT, np.float32)])
    frames = 1 + (len(padded) - _NFFT) // _HOP
    index = np.arange(_NFFT)[None, :] + _HOP * np.arange(frames)[:, None]
    spectrum: np.ndarray = np.fft.rfft(padded[index] * window, axis=1)
    return spectrum


def _istft(spectrum: np.ndarray, samples: int) -> np.ndarray:
    window = np.hanning(_NFFT + 1)[:-1].astype(np.float32)
    frames = np.fft.irfft(spectrum, _NFFT, axis=1) * window
    out = np.zeros(_HOP * (len(frames) - 1) + _NFFT, np.float32)
    norm = np.zeros_like(out)
    for index, frame in enumerate(frames):
        out[index * _HOP : index * _HOP + _NFFT] += frame
        norm[index * _HOP : index * _HOP + _NFFT] += window**2
    result: np.ndarray = (out / np.maximum(norm, 1e-3))[_NFFT : _NFFT + samples]
    return result


# Chosen on the bench's TUNE split (bench/voice): the noise is the mean spectrum of the quietest
# fifth of the note, taken as it is (over-subtracting it, x1.5 or x2, cost more words than it
# saved), and no bin is cut below 0.3 (-10 dB; a floor of 0.15 or 0.2 left more artefacts).
DENOISE_QUIET_SHARE = 0.2
DENOISE_OVER = 1.0
DENOISE_FLOOR = 0.3
DENOISE_SMOOTH = 0.96  # decision-directed smoothing of the speech-to-noise ratio


def denoise(audio: Audio) -> Audio:
    """Background noise taken out of the spectrum before recognition: the noise's spectrum
    is the mean of the quietest frames of the note, and each bin is scaled by a Wiener gain
    from a smoothed (decision-directed) estimate of its speech-to-noise ratio, never below
    DENOISE_FLOOR (deeper cuts leave 'musical' artefacts the recogniser takes for sounds)."""
    samples = audio.array().astype(np.float32)
    if len(samples) < _NFFT * 2:
        return audio
    spectrum = _stft(samples)
    power = np.abs(spectrum) ** 2
    energy = power.sum(axis=1)
    quiet = energy <= np.quantile(energy, DENOISE_QUIET_SHARE)
    noise = power[quiet].mean(axis=0) * DENOISE_OVER + 1e-6
    gains = np.empty_like(power)
    previous = np.ones(power.shape[1], np.float32)
    for index in range(len(power)):
        posterior = power[index] / noise
        prior = DENOISE_SMOOTH * previous + (1 - DENOISE_SMOOTH) * np.maximum(posterior - 1, 0)
        gain = np.maximum(prior / (1 + prior), DENOISE_FLOOR)
        gains[index] = gain
        previous = gain**2 * posterior
    cleaned = _istft(spectrum * gains, len(samples))
    return Audio(float_to_pcm(cleaned / 32768.0).tobytes())

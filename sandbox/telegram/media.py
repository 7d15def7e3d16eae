"""Voice notes and audio files: what bots send (sendVoice, sendAudio), what users send (/sim and
the chat page's microphone), and how bots fetch them back (getFile, /file/bot<token>/<path>).

Telegram delivers a user's voice note as OGG/Opus whatever the phone recorded; the page's
MediaRecorder gives WebM/Opus (Chromium) or OGG/Opus (Firefox), so recordings are converted here
with PyAV, lazily imported: the rest of the emulator runs without it.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.telegram.errors import bad_request
from sandbox.telegram.params import UploadedFile

MediaKind = Literal["voice", "audio"]
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files, as Telegram does
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # bots may send up to 50 MB
WRONG_FILE = "wrong file identifier/HTTP URL specified"
FILE_TOO_BIG = "file is too big"
_FOLDERS = {"voice": ("voice", "oga"), "audio": ("music", "mp3"), "photo": ("photos", "jpg")}


class MediaError(Exception):
    """Bytes that are not audio (or that need PyAV, which is missing)."""


@dataclass
class Media:
    kind: MediaKind
    file_id: str
    file_unique_id: str
    duration: int
    mime_type: str
    size: int
    file_name: str | None = None
    performer: str | None = None
    title: str | None = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "duration": self.duration,
            "mime_type": self.mime_type,
            "file_size": self.size,
        }
        if self.kind == "audio":
            extra = {"file_name": self.file_name, "performer": self.performer, "title": self.title}
            body.update({k: v for k, v in extra.items() if v})
        return body


def new_ids(prefix: str) -> tuple[str, str]:
    return f"{prefix}{secrets.token_urlsafe(24)}", f"AgAD{secrets.token_urlsafe(8)}"


def sniff(data: bytes, declared: str = "") -> str:
    """The audio type from the bytes' magic numbers (the declared type only as a hint)."""
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"fLaC"):
        return "audio/flac"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    return declared if declared.startswith("audio/") else "application/octet-stream"


def _av() -> Any:
    try:
        import av
    except ImportError as error:  # pragma: no cover - the voice extra installs it
        raise MediaError("PyAV (the 'av' package) is needed for audio") from error
    return av


def probe_duration(data: bytes) -> int:
    """Whole seconds of audio (rounded up, at least 1), or 0 when it cannot be read."""
    av = _av()
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            seconds = float(container.duration or 0) / av.time_base
            if not seconds and container.streams.audio:
                samples = sum(f.samples for f in container.decode(container.streams.audio[0]))
                seconds = samples / (container.streams.audio[0].rate or 48_000)
    except (av.FFmpegError, IndexError, ValueError):
        return 0
    return max(1, int(-(-seconds // 1))) if seconds > 0 else 0


def to_voice_note(data: bytes) -> bytes:
    """Any audio -> OGG/Opus, 48 kHz mono, as Telegram's apps record voice notes."""
    av = _av()
    out = io.BytesIO()
    try:
        with av.open(io.BytesIO(data), mode="r") as source:
            if not source.streams.audio:
                raise MediaError("no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
            with av.open(out, mode="w", format="ogg") as target:
                stream = target.add_stream("libopus", rate=48_000)
                stream.bit_rate = 32_000
                stream.layout = "mono"
                for frame in source.decode(source.streams.audio[0]):
                    frame.pts = None
                    for converted in resampler.resample(frame):
                        for packet in stream.encode(converted):
                            target.mux(packet)
                for converted in resampler.resample(None):
                    for packet in stream.encode(converted):
                        target.mux(packet)
                for packet in stream.encode(None):
                    target.mux(packet)
    except av.FFmpegError as error:
        raise MediaError(f"cannot read audio: {error}") from None
    return out.getvalue()


@dataclass
class UserAudio:
    """A user's upload after conversion: bytes as Telegram would store them, and their facts."""

    media: Media
    data: bytes


def user_voice_note(data: bytes, content_type: str = "") -> UserAudio:
    """A recording from the user becomes an OGG/Opus voice note (converted if needed)."""
    if not data:
        raise MediaError("empty recording")
    kind = sniff(data, content_type)
    is_opus_ogg = kind == "audio/ogg" and b"OpusHead" in data[:200]
    note = data if is_opus_ogg else to_voice_note(data)
    duration = probe_duration(note)
    if duration == 0:
        raise MediaError("no audio in the recording")
    file_id, unique = new_ids("AwACAgIAAxk")
    media = Media("voice", file_id, unique, duration, "audio/ogg", len(note))
    return UserAudio(media, note)


def user_audio_file(data: bytes, file_name: str, content_type: str = "") -> UserAudio:
    """An audio file the user attached: kept as it is, like Telegram does."""
    if not data:
        raise MediaError("empty file")
    kind = sniff(data, content_type)
    if not kind.startswith("audio/"):
        raise MediaError("not an audio file")
    file_id, unique = new_ids("CQACAgIAAxk")
    duration = probe_duration(data)
    media = Media("audio", file_id, unique, duration, kind, len(data), file_name=file_name)
    return UserAudio(media, data)


def bot_media(
    kind: MediaKind,
    upload: UploadedFile,
    *,
    duration: int | None,
    performer: str | None = None,
    title: str | None = None,
) -> UserAudio:
    """A voice note or audio file a bot uploads. Telegram plays voice notes only as OGG/Opus,
    MP3 or M4A; anything else is refused here so a bot finds out before production."""
    if not upload.data:
        raise bad_request("file must be non-empty")
    if len(upload.data) > MAX_UPLOAD_BYTES:
        raise bad_request("Request Entity Too Large")
    mime = sniff(upload.data)  # what the bytes are, not what the client declared
    allowed = ("audio/ogg", "audio/mpeg", "audio/mp4")
    if (kind == "voice" and mime not in allowed) or not mime.startswith("audio/"):
        raise bad_request(WRONG_FILE)
    try:
        measured = probe_duration(upload.data)
    except MediaError:
        measured = 0
    prefix = "AwACAgIAAxk" if kind == "voice" else "CQACAgIAAxk"
    file_id, unique = new_ids(prefix)
    media = Media(
        kind,
        file_id,
        unique,
        duration if duration is not None else measured,
        mime,
        len(upload.data),
        file_name=upload.filename if kind == "audio" else None,
        performer=performer,
        title=title,
    )
    return UserAudio(media, upload.data)


def file_path_for(kind: str, number: int) -> str:
    folder, extension = _FOLDERS.get(kind, ("documents", "bin"))
    return f"{folder}/file_{number}.{extension}"

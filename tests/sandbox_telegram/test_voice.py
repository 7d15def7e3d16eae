"""Voice notes and audio files: sendVoice/sendAudio, getFile and the file download URL, and
voice notes from the user through /sim (converted to OGG/Opus as Telegram delivers them)."""

from __future__ import annotations

import io
import math
import struct
import wave

import httpx
from starlette.applications import Starlette

from sandbox.telegram.client import SimClient
from sandbox.telegram.media import MAX_DOWNLOAD_BYTES
from tests.sandbox_telegram.conftest import TOKEN, BotApi
from tests.sandbox_telegram.echo_bot import build_application
from voice.audio import encode_ogg_opus


def tone_wav(seconds: float, rate: int = 16_000, hz: float = 440.0) -> bytes:
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * n / rate)))
        for n in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def tone_ogg(seconds: float) -> bytes:
    wav = tone_wav(seconds)
    return encode_ogg_opus(wav[44:], 16_000)


async def upload(
    api: BotApi, method: str, field: str, data: bytes, **params: str
) -> httpx.Response:
    files = {field: ("note.ogg", data, "audio/ogg")}
    return await api.http.post(f"/bot{TOKEN}/{method}", data=params, files=files)


async def test_a_bot_sends_a_voice_note_and_fetches_it_back(api: BotApi, sim: SimClient) -> None:
    await sim.send(7, "hi")
    note = tone_ogg(2.2)
    response = await upload(api, "sendVoice", "voice", note, chat_id="7", caption="Say or tap")
    sent = response.json()["result"]
    assert sent["voice"]["duration"] == 3  # rounded up, as Telegram does
    assert sent["voice"]["mime_type"] == "audio/ogg"
    assert sent["caption"] == "Say or tap"
    info = await api.ok("getFile", file_id=sent["voice"]["file_id"])
    assert info["file_path"] == "voice/file_1.oga" and info["file_size"] == len(note)
    download = await api.http.get(f"/file/bot{TOKEN}/{info['file_path']}")
    assert download.status_code == 200 and download.content == note
    assert (await api.http.get(f"/file/bot{TOKEN}/voice/file_9.oga")).status_code == 404
    assert (await api.http.get(f"/file/bot1:WRONG/{info['file_path']}")).status_code == 401
    again = await api.ok("sendVoice", chat_id=7, voice=sent["voice"]["file_id"])
    assert again["voice"]["file_id"] == sent["voice"]["file_id"]
    assert "[voice 0:03] Say or tap" in await sim.transcript_text(7)
    (message, *_) = [m for m in await sim.transcript(7) if m.voice]
    assert message.voice is not None and await sim.file(message.voice["file_id"]) == note


async def test_bad_voice_uploads_and_big_files_are_refused(api: BotApi, sim: SimClient) -> None:
    await sim.send(8, "hi")
    response = await upload(api, "sendVoice", "voice", b"not audio at all", chat_id="8")
    assert response.status_code == 400
    assert response.json()["description"] == (
        "Bad Request: wrong file identifier/HTTP URL specified"
    )
    assert await api.refused("sendVoice", chat_id=8) == (
        400,
        "Bad Request: there is no voice in the request",
    )
    assert await api.refused("sendVoice", chat_id=8, voice="AwACnope") == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )
    huge = b"ID3" + bytes(MAX_DOWNLOAD_BYTES)
    files = {"audio": ("big.mp3", huge, "audio/mpeg")}
    sent = await api.http.post(f"/bot{TOKEN}/sendAudio", data={"chat_id": "8"}, files=files)
    audio = sent.json()["result"]["audio"]
    assert audio["file_name"] == "big.mp3" and audio["file_size"] == len(huge)
    assert await api.refused("getFile", file_id=audio["file_id"]) == (
        400,
        "Bad Request: file is too big",
    )
    assert await api.refused("getFile", file_id="nope") == (400, "Bad Request: invalid file_id")


async def test_a_user_records_a_voice_note(api: BotApi, sim: SimClient) -> None:
    """Whatever the recorder made (WAV here, WebM in Chromium), the bot receives OGG/Opus."""
    sent = await sim.send_voice(9, tone_wav(1.5), content_type="audio/wav", first_name="Vi")
    assert sent["mime_type"] == "audio/ogg" and sent["duration"] == 2
    (update,) = await api.ok("getUpdates")
    voice = update["message"]["voice"]
    assert voice["file_id"] == sent["file_id"] and voice["duration"] == 2
    assert update["message"]["from"]["first_name"] == "Vi"
    assert "text" not in update["message"]
    path = (await api.ok("getFile", file_id=voice["file_id"]))["file_path"]
    data = (await api.http.get(f"/file/bot{TOKEN}/{path}")).content
    assert data.startswith(b"OggS") and b"OpusHead" in data[:200]
    assert "[voice 0:02]" in await sim.transcript_text(9)


async def test_an_ogg_opus_note_is_kept_as_recorded(api: BotApi, sim: SimClient) -> None:
    note = tone_ogg(1.0)
    sent = await sim.send_voice(10, note)
    assert await sim.file(sent["file_id"]) == note


async def test_a_user_attaches_an_audio_file(api: BotApi, sim: SimClient) -> None:
    wav = tone_wav(1.0)
    sent = await sim.send_audio(11, wav, file_name="take.wav", content_type="audio/wav")
    (update,) = await api.ok("getUpdates")
    audio = update["message"]["audio"]
    assert audio["file_name"] == "take.wav" and audio["mime_type"] == "audio/wav"
    assert audio["duration"] == 1
    assert await sim.file(sent["file_id"]) == wav


async def test_recordings_that_are_not_audio_are_refused(app: Starlette, sim: SimClient) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tg") as http:
        response = await http.post(
            "/sim/voice",
            params={"user_id": 12},
            content=b"hello",
            headers={"Content-Type": "audio/webm"},
        )
        assert response.status_code == 400
        assert "audio" in response.json()["error"]
        multipart = await http.post(
            "/sim/voice",
            data={"user_id": "12"},
            files={"file": ("note.wav", tone_wav(0.5), "audio/wav")},
        )
        assert multipart.status_code == 200 and multipart.json()["duration"] == 1


async def test_a_ptb_bot_downloads_a_voice_note_and_answers_with_one(live_server: str) -> None:
    application = build_application(TOKEN, f"{live_server}/bot")
    async with application, SimClient(live_server) as sim:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1)
        try:
            note = tone_ogg(1.2)
            await sim.send_voice(21, note)
            reply = await sim.wait_for_message(21, lambda m: m.sender == "bot" and bool(m.voice))
            assert reply.text == f"{len(note)} bytes"
            assert reply.voice is not None and await sim.file(reply.voice["file_id"]) == note
        finally:
            await application.updater.stop()
            await application.stop()

"""The web chat page in headless Chromium: the user talks to the echo bot and taps a button."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.telegram.client import SimClient
from tests.sandbox_telegram.conftest import TOKEN
from tests.sandbox_telegram.echo_bot import build_application

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium missing: run scripts/ensure-browser.sh"
    ),
]


async def test_user_taps_a_button_and_sees_the_edit(live_server: str) -> None:
    from playwright.async_api import async_playwright, expect

    application = build_application(TOKEN, f"{live_server}/bot")
    async with application, SimClient(live_server) as sim, async_playwright() as p:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1)
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{live_server}/?user=31&name=Ann")
            await expect(page.locator("#status")).to_have_text("online")
            await page.fill("#text", "<script>alert(1)</script> hi")
            await page.press("#text", "Enter")
            echoed = page.locator(".row.bot .text").first
            await expect(echoed).to_have_text("<script>alert(1)</script> hi")
            await page.fill("#text", "/menu")
            await page.click("#send")
            menu = page.locator(".row.bot").last
            await expect(menu.locator(".text b")).to_have_text("device")
            await menu.get_by_role("button", name="Heat pump").click()
            await expect(menu.locator(".text")).to_have_text("You picked Heat pump")
            await expect(menu.locator(".meta")).to_contain_text("edited")
            await expect(menu.locator(".inline-btn")).to_have_count(0)
            assert "> tapped [Heat pump]" in await sim.transcript_text(31)
            assert (await sim.chat(31))["user"]["first_name"] == "Ann"
        finally:
            await browser.close()
            await application.updater.stop()
            await application.stop()


async def test_a_start_link_opens_the_chat_as_telegram_would(live_server: str) -> None:
    """Opening the page from a hand-off link sends /start <payload> once; a pasted t.me
    link is sent as the command a tap on it would produce."""
    from playwright.async_api import async_playwright, expect

    async with SimClient(live_server) as sim, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{live_server}/?user=32&name=Bo&start=Tok_en-123")
            user_rows = page.locator(".row.user .text")
            await expect(user_rows.first).to_have_text("/start Tok_en-123")
            assert "start=" not in page.url
            await page.reload()
            await expect(page.locator("#status")).to_have_text("online")
            await page.fill("#text", "https://t.me/smartflex_demo_bot?start=Second_1")
            await page.press("#text", "Enter")
            await expect(user_rows.last).to_have_text("/start Second_1")
            texts = [m.text for m in await sim.transcript(32) if m.sender == "user"]
            assert texts == ["/start Tok_en-123", "/start Second_1"]
        finally:
            await browser.close()


async def test_the_user_records_a_voice_note_and_plays_the_bots(
    live_server: str, tmp_path: Path
) -> None:
    """Chromium's fake microphone plays a WAV file into MediaRecorder; the page uploads the
    recording, the emulator turns it into an OGG/Opus voice note, and a voice note from the
    bot shows a play button and its duration."""
    import httpx
    from playwright.async_api import async_playwright, expect

    from tests.sandbox_telegram.test_voice import tone_ogg, tone_wav

    microphone = tmp_path / "microphone.wav"
    microphone.write_bytes(tone_wav(4.0, rate=48_000))
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    async with SimClient(live_server) as sim, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            context = await browser.new_context()
            await context.grant_permissions(["microphone"], origin=live_server)
            page = await context.new_page()
            await page.goto(f"{live_server}/?user=41&name=Mia")
            await expect(page.locator("#status")).to_have_text("online")
            await page.click("#mic")
            await expect(page.locator("#composer")).to_have_class(re.compile("recording"))
            await expect(page.locator("#rec-time")).to_have_attribute(
                "data-seconds", re.compile(r"^[1-9]")
            )
            await page.click("#mic")
            sent = await sim.wait_for_message(41, lambda m: m.voice is not None, timeout=15)
            assert sent.sender == "user" and sent.voice is not None
            assert sent.voice["duration"] >= 1 and sent.voice["mime_type"] == "audio/ogg"
            recorded = await sim.file(sent.voice["file_id"])
            assert recorded.startswith(b"OggS") and b"OpusHead" in recorded[:200]
            user_note = page.locator(".row.user .player")
            await expect(user_note.locator(".play")).to_be_visible()

            async with httpx.AsyncClient(base_url=live_server) as http:
                files = {"voice": ("answer.ogg", tone_ogg(2.5), "audio/ogg")}
                answer = await http.post(
                    f"/bot{TOKEN}/sendVoice", data={"chat_id": "41"}, files=files
                )
                assert answer.json()["ok"], answer.text
            bot_note = page.locator(".row.bot .player")
            await expect(bot_note.locator(".duration")).to_have_text("0:03")
            await bot_note.locator(".play").click()
            await expect(bot_note).to_have_class(re.compile("playing"))
        finally:
            await browser.close()

"""A Tesla journey walked on the emulator's chat page in headless Chromium, as a person would:
after LIVE no earlier message offers a wizard button, and the test charge's progress line
moved while it ran. Screenshots of the key screens are kept under `var/artifacts/chat-page/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import deployment
from tests.e2e.stack import World

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "artifacts" / "chat-page"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
TIME_SCALE = 0.1  # the 7-minute test charge takes 42 s
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, e2e_redis_url: str) -> Iterator[World]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium missing: run scripts/ensure-browser.sh")
    with deployment(tmp_path_factory.mktemp("e2e-page"), e2e_redis_url, TIME_SCALE) as page_world:
        env = {
            "TEST_CHARGE_SECONDS": str(7 * 60 * TIME_SCALE),
            "PROGRESS_EVERY": "4",
            "WATCH_FIRST_DELAY": "1",
            "WATCH_MAX_DELAY": "2",
        }
        page_world.start(page_world.bot_process("bot", "run", port=page_world.bot_port, env=env))
        yield page_world


async def test_a_tesla_journey_on_the_chat_page_leaves_one_live_message(world: World) -> None:
    from playwright.async_api import Page, async_playwright, expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    account = world.next_account()
    token = await world.issue_handoff(account)
    user = world.next_user_id()

    async def newest(text: str) -> None:
        bubble = page.locator(".row.bot .text").last
        await expect(bubble).to_contain_text(text, timeout=TIMEOUT_MS)

    async def tap(label: str, then: str | None = None) -> None:
        """Tap the newest message's button; wait until the newest message shows `then`
        (or, without it, until it shows something else)."""
        before = await page.locator(".row.bot .text").last.inner_text()
        buttons = page.locator(".row.bot").last.locator(".inline-btn", has_text=label)
        if not await buttons.count():
            await page.fill("#text", label)  # narrow a long list by typing, as a person would
            await page.press("#text", "Enter")
            buttons = page.locator(".row.bot").last.locator(".inline-btn", has_text=label)
        await buttons.first.click()
        if then is not None:
            await newest(then)
        else:
            bubble = page.locator(".row.bot .text").last
            await expect(bubble).not_to_have_text(before, timeout=TIMEOUT_MS)

    async def shot(name: str, on: Page) -> None:
        await on.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 480, "height": 900})
            await page.goto(f"{world.telegram_url}/?user={user}&name=Alex&start={token}")
            await newest("What would you like to connect?")
            await shot("1-first-question", page)
            await tap("Electric car or charger", "make is your car")
            await tap("Tesla")
            await tap("Model 3")
            await tap("No smart charger")
            await newest("Sign in")
            await shot("2-sign-in", page)

            async with page.context.expect_page() as opened:
                await page.locator(".row.bot").last.locator("a.inline-btn").first.click()
            consent = await opened.value
            await consent.locator("button.allow").click()
            await expect(consent.locator("body")).to_contain_text("Telegram", timeout=TIMEOUT_MS)
            await shot("3-back-to-telegram", consent)
            await consent.close()

            await newest("virtual key")
            await tap("I've added the key", "test charge")
            await tap("start the test", "Test charge running")
            running = page.locator(".row.bot").last
            message_id = await running.get_attribute("data-message-id")
            progress = page.locator(f'.row.bot[data-message-id="{message_id}"] .text')
            await expect(progress).to_contain_text("▰", timeout=TIMEOUT_MS)
            first_line = await progress.inner_text()
            await shot("4-test-charge-progress", page)
            await expect(progress).not_to_have_text(first_line, timeout=TIMEOUT_MS)

            await newest("is connected!")
            await shot("5-live", page)
            rows = page.locator(".row.bot")
            count = await rows.count()
            live_buttons = [
                i for i in range(count - 1) if await rows.nth(i).locator(".inline-btn").count()
            ]
            assert live_buttons == [], [await rows.nth(i).inner_text() for i in live_buttons]
            finished = await progress.inner_text()
            assert re.search(r"✓\s*$", finished), finished
        finally:
            await browser.close()


def _speech_wav(words: str, path: Path, rate: int = 48_000) -> None:
    """`words` said by the shipped voice, as the WAV Chromium's fake microphone plays (it
    loops the file: a long quiet tail keeps one recording to one saying)."""
    import wave

    import numpy as np

    from tests.voice.conftest import synthesiser
    from voice.audio import float_to_pcm

    tts = synthesiser().tts
    said = tts(words, seed=0)
    times = np.arange(int(len(said) * rate / tts.sample_rate)) / rate
    resampled = np.interp(times, np.arange(len(said)) / tts.sample_rate, said)
    quiet = np.zeros(rate // 2, np.float32)
    tail = np.zeros(rate * 6, np.float32)
    pcm = float_to_pcm(np.concatenate([quiet, resampled.astype(np.float32), tail]))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


async def test_a_voice_note_recorded_on_the_page_is_heard_and_acted_on(
    world: World, tmp_path: Path
) -> None:
    """Chromium's fake microphone says "heat pump"; the page records it (WebM/Opus), the
    emulator delivers it as Telegram would, and the bot answers as if the button was tapped."""
    from playwright.async_api import async_playwright, expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    microphone = tmp_path / "microphone.wav"
    _speech_wav("heat pump", microphone)
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
    ]
    token = await world.issue_handoff(world.next_account())
    user = world.next_user_id()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            context = await browser.new_context(viewport={"width": 480, "height": 900})
            await context.grant_permissions(["microphone"], origin=world.telegram_url)
            page = await context.new_page()
            await page.goto(f"{world.telegram_url}/?user={user}&name=Sam&start={token}")
            first = page.locator(".row.bot .text", has_text="What would you like to connect?")
            await expect(first).to_be_visible(timeout=TIMEOUT_MS)

            await page.click("#mic")
            await expect(page.locator("#rec-time")).to_have_attribute(
                "data-seconds", re.compile(r"^[3-9]"), timeout=TIMEOUT_MS
            )
            await page.click("#mic")
            await expect(page.locator(".row.user .player")).to_be_visible(timeout=TIMEOUT_MS)
            heard = page.locator(".row.bot .text", has_text="I heard")
            await expect(heard).to_have_text("🎙 I heard: “Heat pump”", timeout=TIMEOUT_MS)
            makes = page.locator(".row.bot .text", has_text="Who made your heat pump?")
            await expect(makes).to_be_visible(timeout=TIMEOUT_MS)
            # The customer spoke: the new screen is read out too, with a play button.
            spoken = page.locator(".row.bot .player").last
            await expect(spoken.locator(".play")).to_be_visible(timeout=TIMEOUT_MS)
            await page.screenshot(path=str(ARTIFACTS / "6-voice-note.png"), full_page=True)
        finally:
            await browser.close()

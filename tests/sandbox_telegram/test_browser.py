"""The web chat page in headless Chromium: the user talks to the echo bot and taps a button."""

from __future__ import annotations

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

"""The support console in Chromium, against the real processes (Kraken sandbox, Telegram
emulator, `python -m bot run`), at phone width: an agent made with `python -m bot agents add`
signs in, looks an account up, issues a link and reads its QR code; the customer opens the
chat with it (under a name that is an HTML tag) and moves on while the hand-offs list, never
reloaded, follows; the agent reads the timeline and writes to the customer, who reads it in
the chat; the funnel shows the journey; a revoked link is refused in the chat; the audit log
has it all. Screenshots go to `var/artifacts/console/`.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.stack import World

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "artifacts" / "console"
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium: scripts/ensure-browser.sh"
    ),
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
TIMEOUT_MS = 30_000
PASSWORD = "a long demo password"
NAME = "<script>window.__xss = 1</script>Alex"


async def add_agent(world: World, name: str) -> None:
    """`python -m bot agents add NAME --admin --password-stdin`, as an operator runs it."""
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bot", "agents", "add", name, "--admin", "--password-stdin"),
        env={**os.environ, **world.bot_env(world.bot_port)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await command.communicate(f"{PASSWORD}\n".encode())
    assert command.returncode == 0, output.decode()


def qr_text(png: bytes) -> str:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1, found
    return str(found[0].text)


async def test_an_agent_hands_over_follows_and_writes_to_a_customer(world: World) -> None:
    from playwright.async_api import Page, async_playwright, expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    account, user = world.next_account(), world.next_user_id()
    await add_agent(world, "alice")

    async def shot(name: str, on: Page) -> None:
        await on.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    async def issue_link(console: Page) -> str:
        await console.goto(f"{world.bot_url}/support/lookup")
        await console.fill("input[name=account]", account)
        await console.click("button:has-text('Look up in Kraken')")
        await expect(console.locator("#lookup-result")).to_contain_text(account)
        await console.click("button:has-text('Issue the link')")
        await expect(console.locator("h1")).to_have_text("Hand-off link issued")
        return await console.input_value("#issued-link")

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            console = await browser.new_page(viewport={"width": 390, "height": 844})
            await console.goto(f"{world.bot_url}/support/handoffs")
            await expect(console).to_have_url(re.compile(r"/support/login\?next="))
            await console.fill("input[name=name]", "alice")
            await console.fill("input[name=password]", PASSWORD)
            await console.click("button:has-text('Sign in')")
            await expect(console.locator("h1")).to_have_text("Hand-offs")

            link = await issue_link(console)
            source = await console.get_attribute("#issued-qr", "src")
            assert source is not None and source.startswith("data:image/png;base64,")
            assert qr_text(base64.b64decode(source.split(",", 1)[1])) == link
            await expect(console.locator("#issued")).to_contain_text("Works until")
            fits = "document.documentElement.scrollWidth <= window.innerWidth"
            assert await console.evaluate(fits), "the page is wider than a phone"
            await shot("1-issued", console)

            await console.goto(f"{world.bot_url}/support/handoffs?q={account}")
            await console.evaluate("window.__stayed = true")
            row = console.locator("#handoff-rows tr").first
            await expect(row).to_contain_text("not opened")

            chat = await browser.new_page(viewport={"width": 390, "height": 844})
            token = link.rsplit("start=", 1)[1]
            await chat.goto(f"{world.telegram_url}/?user={user}&name={quote(NAME)}&start={token}")
            newest = chat.locator(".row.bot .text").last
            await expect(newest).to_contain_text(
                "What would you like to connect?", timeout=TIMEOUT_MS
            )
            await expect(row.locator(".step")).to_have_text("Device type", timeout=TIMEOUT_MS)
            await (
                chat.locator(".row.bot")
                .last.locator(".inline-btn", has_text="Electric car")
                .click()
            )
            await expect(newest).to_contain_text("make", timeout=TIMEOUT_MS)
            await expect(row.locator(".step")).to_have_text("Vehicle make", timeout=TIMEOUT_MS)
            assert await console.evaluate("window.__stayed === true"), "the list was reloaded"
            await expect(row.locator(".customer")).to_contain_text(
                "<script>window.__xss = 1</script>Alex"
            )
            assert await console.evaluate("window.__xss === undefined")
            assert await console.evaluate(fits), "the list is wider than a phone"
            await shot("2-handoffs", console)

            await row.locator("a", has_text="Timeline").click()
            await expect(console.locator(".timeline")).to_contain_text("Tapped: choose")
            await expect(console.locator(".timeline")).to_contain_text(
                "Opened the chat for the account"
            )
            assert account in await console.input_value("#case-summary")
            await console.fill("textarea[name=text]", "Hello from support: take your time.")
            await console.click("button:has-text('Send through the bot')")
            await expect(console.locator(".notice")).to_contain_text("Message sent")
            await expect(newest).to_contain_text("take your time", timeout=TIMEOUT_MS)
            await expect(console.locator(".timeline")).to_contain_text("Support (alice) wrote:")
            await shot("3-timeline", console)

            await console.goto(f"{world.bot_url}/support/funnel?days=today")
            reached = console.locator(
                '#funnel-table tr[data-step="SelectVehicleMake"] td.num'
            ).first
            assert int(await reached.inner_text()) >= 1
            assert await console.locator("#funnel-chart rect.reached").count() >= 2
            await shot("4-funnel", console)

            revoked = await issue_link(console)
            await console.click("button:has-text('Revoke')")
            await expect(console.locator(".notice")).to_contain_text("no longer works")
            other = world.next_user_id()
            second = revoked.rsplit("start=", 1)[1]
            await chat.goto(f"{world.telegram_url}/?user={other}&name=Sam&start={second}")
            await expect(newest).to_contain_text("already been used", timeout=TIMEOUT_MS)

            await console.goto(f"{world.bot_url}/support/audit")
            audit = console.locator("#audit")
            for action in ("sign_in", "lookup", "issue_link", "send_message", "revoke_link"):
                await expect(audit.locator(f'tr[data-action="{action}"]').first).to_be_visible()
            await shot("5-audit", console)
        finally:
            await browser.close()

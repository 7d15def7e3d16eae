"""An agent's day in-process: sign in, look an account up, issue a link, watch the customer
move, read the timeline, write to them, read the funnel, revoke a link, read the audit log."""

from __future__ import annotations

import html
import re

import httpx

from bot.handoff.issuing import issue_link
from bot.handoff.request import HandoffRequest
from harness.deployment import InProcessDeployment
from tests.console.conftest import ACCOUNT, Browser, csrf_of, sign_in

USER = 1001
LINK = re.compile(r'id="issued-link" readonly value="([^"]+)"')


async def issue(browser: httpx.AsyncClient, account: str = ACCOUNT, intent: str = "start") -> str:
    page = await browser.get("/support/lookup", params={"account": account, "property": "1"})
    assert page.status_code == 200, page.text
    issued = await browser.post(
        "/support/links",
        data={"csrf": csrf_of(page), "account": account, "property": "1", "intent": intent},
    )
    assert issued.status_code == 200, issued.text
    found = LINK.search(issued.text)
    assert found, issued.text
    return html.unescape(found.group(1))


async def test_an_agent_hands_a_customer_over_and_follows_them(
    deployment: InProcessDeployment, browsers: Browser, agent: str
) -> None:
    browser = browsers()
    signed = await sign_in(browser, agent)
    assert signed.status_code == 303 and signed.headers["location"] == "/support/handoffs"

    lookup = await browser.get("/support/lookup", params={"account": ACCOUNT})
    assert "Start (or continue) an onboarding" in lookup.text
    link = await issue(browser)
    token = link.rsplit("start=", 1)[1]

    await deployment.user_says(USER, f"/start {token}", first_name="<b>Ann</b>")
    await deployment.user_taps(USER, "Electric car or charger")

    rows = await browser.get("/support/handoffs/rows", headers={"X-Console-Poll": "1"})
    assert "Vehicle make" in rows.text
    assert "&lt;b&gt;Ann&lt;/b&gt;" in rows.text and "<b>Ann" not in rows.text

    chat = await browser.get(f"/support/chats/{USER}")
    assert chat.status_code == 200
    assert "Tapped: choose" in chat.text and "Opened the chat for the account" in chat.text

    sent = await browser.post(
        f"/support/chats/{USER}/message", data={"csrf": csrf_of(chat), "text": "Hi <there>"}
    )
    assert sent.status_code == 303
    transcript = await deployment.sim.transcript_text(USER)
    assert "Message from support" in transcript and "Hi <there>" in transcript

    funnel = await browser.get("/support/funnel", params={"days": "today"})
    assert 'data-step="SelectDeviceType"' in funnel.text
    assert 'data-step="SelectVehicleMake"' in funnel.text

    second = await issue(browser)
    page = await browser.get("/support/handoffs")
    link_id = re.findall(r'data-link="([^"]+)" data-status="not_opened"', page.text)[0]
    revoked = await browser.post(f"/support/links/{link_id}/revoke", data={"csrf": csrf_of(page)})
    assert "the link no longer works" in revoked.text
    await deployment.user_says(USER + 1, f"/start {second.rsplit('start=', 1)[1]}")
    assert "already" in (await deployment.sim.transcript_text(USER + 1)).lower()

    # Links from the CLI and the support API are listed too, as theirs.
    runtime = deployment.runtime
    wanted = HandoffRequest.model_validate({"accountNumber": ACCOUNT})
    await issue_link(runtime.handoff, runtime.bot_username, wanted, runtime.kraken)
    listed = await browser.get("/support/handoffs", params={"q": ACCOUNT})
    assert "by cli/api" in listed.text

    audit = await browser.get("/support/audit")
    for action in (
        "sign_in",
        "lookup",
        "issue_link",
        "view_timeline",
        "send_message",
        "revoke_link",
    ):
        assert f'data-action="{action}"' in audit.text, action

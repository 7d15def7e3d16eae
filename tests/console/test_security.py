"""Who gets in, and what a page refuses: sign-in redirects, CSRF, lock-out, sessions that end,
the trusted proxy header, customer text shown as text, and the audit trail of it all."""

from __future__ import annotations

import pytest

from bot.state.agents import MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_AGENT, Agents, AuditLog
from harness.deployment import InProcessDeployment
from tests.console.conftest import ACCOUNT, PASSWORD, Browser, csrf_of, sign_in

PAGES = (
    "/support/handoffs",
    "/support/lookup?account=A-SANDBOX1",
    "/support/chats/1001",
    "/support/funnel",
    "/support/funnel.csv",
    "/support/audit",
    "/support/audit.csv",
    "/support/preferences",
)
PROXY = {"support_trusted_user_header": "X-Auth-User", "support_trusted_proxies": "10.9.0.0/16"}


async def actions(deployment: InProcessDeployment) -> list[str]:
    runtime = deployment.runtime
    return [entry.action for entry in await AuditLog(runtime.redis.client, runtime.keys).page()]


@pytest.mark.parametrize("path", PAGES)
async def test_pages_without_a_session_send_the_browser_to_sign_in(
    browsers: Browser, path: str
) -> None:
    response = await browsers().get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/support/login?next=/support/")


async def test_a_poll_without_a_session_is_401_and_the_page_reloads_to_sign_in(
    browsers: Browser,
) -> None:
    response = await browsers().get("/support/handoffs/rows", headers={"X-Console-Poll": "1"})
    assert response.status_code == 401


async def test_forms_without_their_csrf_token_are_refused(
    deployment: InProcessDeployment, browsers: Browser, agent: str
) -> None:
    browser = browsers()
    await sign_in(browser, agent)
    form = {"account": ACCOUNT, "property": "1", "intent": "start"}
    assert (await browser.post("/support/links", data=form)).status_code == 403
    forged = await browser.post("/support/links", data={**form, "csrf": "x" * 43})
    assert forged.status_code == 403 and "did not come from this console" in forged.text
    assert (await browser.post("/support/logout")).status_code == 403
    assert "csrf_refused" in await actions(deployment)
    # The sign-in form has its own token, tied to a cookie set with the form.
    stranger = browsers()
    refused = await stranger.post("/support/login", data={"name": agent, "password": PASSWORD})
    assert refused.status_code == 403


async def test_wrong_passwords_lock_the_account_out_even_for_the_right_one(
    deployment: InProcessDeployment, browsers: Browser, agent: str
) -> None:
    browser = browsers()
    for _ in range(MAX_FAILURES_PER_AGENT - 1):
        wrong = await sign_in(browser, agent, "not the password")
        assert wrong.status_code == 401 and "Wrong agent name or password" in wrong.text
    locked = await sign_in(browser, agent, "not the password")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    right = await sign_in(browsers(address="127.0.0.2"), agent)
    assert right.status_code == 429 and "try again in 15 minutes" in right.text
    assert {"sign_in_failed", "sign_in_locked"} <= set(await actions(deployment))


async def test_many_failures_from_one_address_lock_that_address_only(
    deployment: InProcessDeployment, browsers: Browser, agent: str
) -> None:
    browser = browsers(address="127.0.0.3")
    for index in range(MAX_FAILURES_PER_ADDRESS):
        await sign_in(browser, f"guess{index}", "not the password")
    assert (await sign_in(browser, agent)).status_code == 429
    assert (await sign_in(browsers(address="127.0.0.4"), agent)).status_code == 303


async def test_a_session_ends_after_inactivity_but_not_because_a_page_polls(
    deployment: InProcessDeployment, browsers: Browser, agent: str
) -> None:
    redis, keys = deployment.runtime.redis.client, deployment.runtime.keys
    browser = browsers()
    await sign_in(browser, agent)
    [session_key] = [key async for key in redis.scan_iter(keys.console_session("*"))]
    await redis.pexpire(session_key, 5_000)  # as if the agent had been away a while
    polled = await browser.get("/support/handoffs/rows", headers={"X-Console-Poll": "1"})
    assert polled.status_code == 200 and await redis.pttl(session_key) <= 5_000
    assert (await browser.get("/support/funnel")).status_code == 200
    assert await redis.pttl(session_key) > 60_000  # a person's request renews it
    await redis.delete(session_key)  # what the idle TTL does when it runs out
    assert (await browser.get("/support/funnel")).status_code == 303


async def test_signing_out_ends_the_session_and_disabling_an_agent_ends_theirs(
    deployment: InProcessDeployment, browsers: Browser, agent: str
) -> None:
    browser = browsers()
    await sign_in(browser, agent)
    page = await browser.get("/support/preferences")
    out = await browser.post("/support/logout", data={"csrf": csrf_of(page)})
    assert out.status_code == 303 and out.headers["location"] == "/support/login"
    assert (await browser.get("/support/handoffs")).status_code == 303
    await sign_in(browser, agent)
    runtime = deployment.runtime
    await Agents(runtime.redis.client, runtime.keys).disable(agent)
    assert (await browser.get("/support/handoffs")).status_code == 303
    assert (await sign_in(browsers(), agent)).status_code == 401


async def test_the_trusted_header_counts_only_from_the_trusted_proxies(
    deployment: InProcessDeployment, browsers: Browser
) -> None:
    via_proxy = browsers(address="10.9.3.4", **PROXY)
    page = await via_proxy.get("/support/handoffs", headers={"X-Auth-User": "bob@example.com"})
    assert page.status_code == 200 and "bob@example.com" in page.text
    direct = browsers(address="127.0.0.1", **PROXY)
    spoofed = await direct.get("/support/handoffs", headers={"X-Auth-User": "bob@example.com"})
    assert spoofed.status_code == 303
    # The proxy session's cookie is no good without the proxy's header either.
    direct.cookies = via_proxy.cookies
    assert (await direct.get("/support/handoffs")).status_code == 303
    assert (await via_proxy.get("/support/handoffs")).status_code == 303
    assert "sign_in" in await actions(deployment)


async def test_customer_text_is_shown_as_text(
    deployment: InProcessDeployment, browsers: Browser, agent: str
) -> None:
    browser = browsers()
    await sign_in(browser, agent)
    page = await browser.get("/support/lookup", params={"account": ACCOUNT})
    issued = await browser.post(
        "/support/links",
        data={"csrf": csrf_of(page), "account": ACCOUNT, "property": "1", "intent": "start"},
    )
    token = issued.text.split("start=", 1)[1].split('"', 1)[0]
    await deployment.user_says(1001, f"/start {token}", first_name="<script>alert(1)</script>")
    for path in ("/support/handoffs", "/support/chats/1001"):
        shown = (await browser.get(path)).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown, path
        assert "<script>alert" not in shown, path


async def test_pages_forbid_framing_inline_scripts_and_caching(
    browsers: Browser, agent: str
) -> None:
    browser = browsers()
    login = await browser.get("/support/login")
    policy = login.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert login.headers["cache-control"] == "no-store"
    cookie = (await sign_in(browser, agent)).headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/support" in cookie

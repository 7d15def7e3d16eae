from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from starlette.applications import Starlette

from bot.handoff import HandoffService, HandoffUsed
from bot.handoff.http import support_routes
from bot.state import KeySpace
from bot.state.bindings import Binding, ChatBindings
from dialogs.events import Resume
from tests.bot.handoff_kraken import SandboxKraken, sandbox_kraken

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TOKEN = "support-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"accountNumber": "A-SANDBOX1", "propertyId": 1, "intent": "resume:W-1"}
CHAT = 5005


@pytest.fixture
def service(redis_client: aioredis.Redis) -> HandoffService:
    return HandoffService(redis_client)


@pytest.fixture
async def kraken() -> AsyncIterator[SandboxKraken]:
    async with sandbox_kraken() as built:
        yield built


@pytest.fixture
async def http(service: HandoffService, kraken: SandboxKraken) -> AsyncIterator[httpx.AsyncClient]:
    routes = support_routes(service, "SmartFlexBot", SecretStr(TOKEN), kraken.client)
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        yield client


async def issue(http: httpx.AsyncClient) -> str:
    response = await http.post("/support/handoff", json=BODY, headers=AUTH)
    assert response.status_code == 200, response.text
    link: str = response.json()["link"]
    return link


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/support/handoff", BODY),
        ("/support/handoff/revoke", {"token": "x" * 32}),
        ("/support/chat/revoke", {"chatId": CHAT}),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
)
async def test_requests_without_the_support_token_are_refused(
    http: httpx.AsyncClient,
    redis_client: aioredis.Redis,
    headers: dict[str, str],
    path: str,
    body: dict[str, object],
) -> None:
    await ChatBindings(redis_client, KeySpace()).bind(CHAT, Binding("A-SANDBOX1", 1))
    before = await redis_client.dbsize()
    response = await http.post(path, json=body, headers=headers)
    assert response.status_code == 401
    assert await redis_client.dbsize() == before  # nothing issued, nothing revoked


async def test_json_answer_carries_a_working_link_and_a_qr_code(
    http: httpx.AsyncClient, service: HandoffService
) -> None:
    response = await http.post("/support/handoff", json=BODY, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["link"].startswith("https://t.me/SmartFlexBot?start=")
    assert body["expiresAt"].endswith("Z")
    assert base64.b64decode(body["qrPng"]).startswith(PNG_MAGIC)
    grant = await service.redeem(body["link"].rpartition("=")[2])
    assert (grant.account_number, grant.property_id) == ("A-SANDBOX1", 1)
    assert grant.intent == Resume("W-1")


async def test_png_format_returns_the_qr_image(http: httpx.AsyncClient) -> None:
    response = await http.post("/support/handoff?format=png", json=BODY, headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG_MAGIC)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"accountNumber": "12345", "propertyId": 1}, "accountNumber"),
        ({"accountNumber": "A-SANDBOX1", "propertyId": "one"}, "propertyId"),
        ({"accountNumber": "A-SANDBOX1", "propertyId": 1, "intent": "fly:away"}, "intent"),
        ({"propertyId": 1}, "accountNumber"),
        ({"accountNumber": "A-SANDBOX1", "propertyId": 1, "colour": "red"}, "colour"),
    ],
)
async def test_bad_input_gets_422_naming_the_field(
    http: httpx.AsyncClient, body: dict[str, object], named: str
) -> None:
    response = await http.post("/support/handoff", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"].startswith(f"{named}: ")


async def test_body_that_is_not_a_json_object_gets_422(http: httpx.AsyncClient) -> None:
    for content in (b"account=A-1", b"[1, 2]"):
        response = await http.post("/support/handoff", content=content, headers=AUTH)
        assert response.status_code == 422


# ---------------------------------------------------------------- checked with Kraken


async def test_an_account_kraken_does_not_know_gets_422_and_no_link(
    http: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    body = {"accountNumber": "A-NOSUCH1", "propertyId": 1}
    response = await http.post("/support/handoff", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {
        "error": "Kraken does not know account A-NOSUCH1 (or our API key may not act for it)"
    }
    assert await redis_client.dbsize() == 0


async def test_kraken_failing_gets_503_and_no_link(
    http: httpx.AsyncClient, kraken: SandboxKraken, redis_client: aioredis.Redis
) -> None:
    kraken.fail_checks(http_status=502)
    response = await http.post("/support/handoff", json=BODY, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["error"].startswith("Kraken could not be reached")
    assert await redis_client.dbsize() == 0


# ---------------------------------------------------------------- revoking a link


async def test_a_revoked_link_no_longer_binds(
    http: httpx.AsyncClient, service: HandoffService
) -> None:
    link = await issue(http)
    first = await http.post("/support/handoff/revoke", json={"link": link}, headers=AUTH)
    assert (first.status_code, first.json()) == (200, {"revoked": True})
    with pytest.raises(HandoffUsed):
        await service.redeem(link.rpartition("=")[2])
    again = await http.post("/support/handoff/revoke", json={"link": link}, headers=AUTH)
    assert (again.status_code, again.json()) == (200, {"revoked": False})


async def test_a_link_can_be_revoked_by_its_token(
    http: httpx.AsyncClient, service: HandoffService
) -> None:
    token = (await issue(http)).rpartition("=")[2]
    response = await http.post("/support/handoff/revoke", json={"token": token}, headers=AUTH)
    assert response.json() == {"revoked": True}
    with pytest.raises(HandoffUsed):
        await service.inspect(token)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "request: give exactly one of link, token"),
        ({"link": "a", "token": "b"}, "request: give exactly one of link, token"),
        ({"link": "https://t.me/SmartFlexBot"}, "link: not a hand-off link or token"),
        ({"token": "short"}, "token: not a hand-off link or token"),
        ({"token": 12}, "token: Input should be a valid string"),
        ({"url": "x"}, "url: is not a known field"),
    ],
)
async def test_revoking_something_that_is_no_link_gets_422(
    http: httpx.AsyncClient, body: dict[str, object], error: str
) -> None:
    response = await http.post("/support/handoff/revoke", json=body, headers=AUTH)
    assert (response.status_code, response.json()) == (422, {"error": error})


# ---------------------------------------------------------------- revoking a chat


async def test_revoking_a_chat_says_which_account_it_was_bound_to(
    http: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    bindings = ChatBindings(redis_client, KeySpace())
    await bindings.bind(CHAT, Binding("A-SANDBOX1", 1))
    response = await http.post("/support/chat/revoke", json={"chatId": CHAT}, headers=AUTH)
    assert (response.status_code, response.json()) == (
        200,
        {"chatId": CHAT, "revoked": True, "accountNumber": "A-SANDBOX1", "propertyId": 1},
    )
    assert await bindings.get(CHAT) is None
    again = await http.post("/support/chat/revoke", json={"chatId": CHAT}, headers=AUTH)
    assert again.json() == {
        "chatId": CHAT,
        "revoked": False,
        "accountNumber": None,
        "propertyId": None,
    }


@pytest.mark.parametrize("body", [{}, {"chatId": "5005"}, {"chatId": 5.5}, {"chat": 5005}])
async def test_revoking_a_chat_needs_a_whole_number_chat_id(
    http: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await http.post("/support/chat/revoke", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"].split(":")[0] in {"chatId", "chat"}


# ---------------------------------------------------------------- tokens stay out of logs


async def test_no_token_reaches_the_logs(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    link = await issue(http)
    token = link.rpartition("=")[2]
    await http.post("/support/handoff/revoke", json={"link": link}, headers=AUTH)
    await http.post("/support/handoff/revoke", json={"token": token}, headers=AUTH)
    assert any("revoked a hand-off link" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert token not in record.getMessage()
        assert token not in repr(record.__dict__)

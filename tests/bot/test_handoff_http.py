from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from starlette.applications import Starlette

from bot.handoff import HandoffService, ResumeWizard
from bot.handoff.http import support_routes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TOKEN = "support-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"accountNumber": "A-SANDBOX1", "propertyId": 1, "intent": "resume:W-1"}


@pytest.fixture
def service(redis_client: aioredis.Redis) -> HandoffService:
    return HandoffService(redis_client)


@pytest.fixture
async def http(service: HandoffService) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=support_routes(service, "SmartFlexBot", SecretStr(TOKEN)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        yield client


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
)
async def test_requests_without_the_support_token_are_refused(
    http: httpx.AsyncClient, redis_client: aioredis.Redis, headers: dict[str, str]
) -> None:
    response = await http.post("/support/handoff", json=BODY, headers=headers)
    assert response.status_code == 401
    assert await redis_client.dbsize() == 0  # nothing issued


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
    assert grant.intent == ResumeWizard("W-1")


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

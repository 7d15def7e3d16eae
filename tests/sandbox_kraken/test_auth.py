"""obtainKrakenToken, the Authorization header forms and token expiry on the sandbox clock."""

from __future__ import annotations

from typing import Any

import pytest

from .gql import Driver

VIEWER = "{ viewer { accounts { number } } }"
SANDBOX_NOW = 1_700_000_000


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


async def test_api_key_token_has_kraken_shape(anon: Driver) -> None:
    token = await anon.login()
    assert token["token"].count(".") == 2
    assert token["payload"]["exp"] - token["payload"]["iat"] == 3600
    assert token["refreshExpiresIn"] == SANDBOX_NOW + 7 * 24 * 3600
    data = await anon.gql(VIEWER)
    assert {"number": "A-SANDBOX1"} in data["viewer"]["accounts"]


@pytest.mark.parametrize("prefix", ["", "JWT ", "Bearer "])
async def test_header_forms_are_accepted(anon: Driver, prefix: str) -> None:
    token = (await anon.login())["token"]
    body = await anon.raw(VIEWER, token=prefix + token)
    assert body["data"]["viewer"]["accounts"]


async def test_missing_and_bad_tokens(anon: Driver) -> None:
    missing = error_of(await anon.raw(VIEWER))
    assert missing["extensions"]["errorCode"] == "KT-CT-1112"
    assert missing["message"] == "'Authorization' header not provided."
    assert missing["path"] == ["viewer"]
    bad = error_of(await anon.raw(VIEWER, token="not-a-token"))
    assert bad["extensions"]["errorCode"] == "KT-CT-1111"
    assert bad["extensions"]["errorType"] == "AUTHORIZATION"


@pytest.mark.parametrize(
    ("flavour", "key_code", "password_code"),
    [("eu", "KT-CT-1134", "KT-CT-1134"), ("uk", "KT-CT-1139", "KT-CT-1138")],
)
async def test_bad_api_key_and_bad_password(
    anon: Driver, key_code: str, password_code: str
) -> None:
    """The EU reference lists only 1134/1135 for obtainKrakenToken; UK clients see 1139/1138."""
    bad_key = error_of(
        await anon.raw('mutation { obtainKrakenToken(input: {APIKey: "wrong"}) { token } }')
    )
    assert bad_key["extensions"]["errorCode"] == key_code
    assert bad_key["message"] == "Invalid data."
    assert bad_key["extensions"]["errorType"] == "VALIDATION"
    assert bad_key["extensions"]["validationErrors"][0]["inputPath"] == ["input", "apiKey"]
    bad_password = error_of(
        await anon.raw(
            'mutation { obtainKrakenToken(input: {email: "customer@example.com", '
            'password: "nope"}) { token } }'
        )
    )
    assert bad_password["extensions"]["errorCode"] == password_code


async def test_customer_login_sees_only_its_account(anon: Driver) -> None:
    data = await anon.gql(
        'mutation { obtainKrakenToken(input: {email: "customer@example.com", '
        'password: "sandbox-password"}) { token } }'
    )
    anon.token = data["obtainKrakenToken"]["token"]
    assert (await anon.gql(VIEWER))["viewer"]["accounts"] == [{"number": "A-SANDBOX1"}]
    other = error_of(await anon.raw('{ eligibleDeviceTypes(accountNumber: "A-OTHER") }'))
    assert other["extensions"]["errorCode"] == "KT-CT-1111"


async def test_token_expires_on_the_sandbox_clock_and_refresh_works(anon: Driver) -> None:
    token = await anon.login()
    await anon.advance_clock(3600)
    expired = error_of(await anon.raw(VIEWER))
    assert expired["extensions"]["errorCode"] == "KT-CT-1124"
    assert expired["message"] == "Signature of the JWT has expired"
    data = await anon.gql(
        "mutation($r: String) { obtainKrakenToken(input: {refreshToken: $r}) { token } }",
        {"r": token["refreshToken"]},
    )
    anon.token = data["obtainKrakenToken"]["token"]
    assert (await anon.gql(VIEWER))["viewer"]["accounts"]


async def test_expire_hook_expires_every_token(kraken: Driver) -> None:
    assert (await kraken.http.post("/sandbox/tokens/expire")).status_code == 200
    expired = error_of(await kraken.raw(VIEWER))
    assert expired["extensions"]["errorCode"] == "KT-CT-1124"
    await kraken.login()
    assert (await kraken.gql(VIEWER))["viewer"]["accounts"]

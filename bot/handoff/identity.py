"""Which bot the links point at: `TELEGRAM_BOT_USERNAME`, else asked of Telegram via getMe.

The CLI is often run where only the token is configured (it is the same `.env` as the bot);
one getMe call then saves support from keeping the username in sync by hand.
"""

from __future__ import annotations

import httpx

from bot.config import ConfigError, Settings


async def resolve_bot_username(settings: Settings, client: httpx.AsyncClient | None = None) -> str:
    if settings.telegram_bot_username:
        return settings.telegram_bot_username
    if settings.telegram_bot_token is None:
        raise ConfigError(
            "TELEGRAM_BOT_USERNAME", "is required (or set TELEGRAM_BOT_TOKEN to look it up)"
        )
    url = f"{settings.telegram_api_url}/bot{settings.telegram_bot_token.get_secret_value()}/getMe"
    owned = client is None
    http = client or httpx.AsyncClient(timeout=10.0)
    try:
        response = await http.get(url)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        # The exception text would contain the URL, and with it the token.
        raise ConfigError(
            "TELEGRAM_API_URL", "getMe failed; cannot look up the bot username"
        ) from None
    finally:
        if owned:
            await http.aclose()
    if not body.get("ok") or not body.get("result", {}).get("username"):
        raise ConfigError("TELEGRAM_BOT_TOKEN", "getMe did not return a bot username")
    return str(body["result"]["username"])

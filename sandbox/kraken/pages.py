"""The fake manufacturer consent page and the landing page the OAuth redirect ends on."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

PROVIDER_NAMES = {
    "tesla": "Tesla",
    "enode": "Enode",
    "smartcar": "Smartcar",
    "ford": "FordPass",
    "mercedes": "Mercedes me",
    "volkswagen": "We Connect (Volkswagen)",
    "byd": "BYD",
    "myenergi": "myenergi",
    "ohme": "Ohme",
    "hypervolt": "Hypervolt",
    "indra": "Indra",
    "daikin": "Daikin Onecta",
    "octopus_energy": "Octopus Energy",
    "smartflex_connect": "SmartFlex Connect",
}

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;display:flex;
min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;padding:2rem;max-width:26rem;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin-top:0}
button{font-size:1rem;padding:.6rem 1.4rem;border-radius:8px;border:1px solid #888;
margin-right:.6rem;cursor:pointer}
button.allow{background:#1a7f37;color:#fff;border-color:#1a7f37}
textarea{width:100%;font-family:monospace;font-size:.85rem}
small{color:#666}
"""


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider.lower(), provider.replace("_", " ").title())


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def consent_page(provider: str, state: str, redirect_uri: str) -> str:
    name = escape(provider_name(provider))
    hidden = (
        f'<input type="hidden" name="state" value="{escape(state)}">'
        f'<input type="hidden" name="redirect_uri" value="{escape(redirect_uri)}">'
    )
    return _page(
        f"{provider_name(provider)} – authorise",
        f"<h1>{name}</h1><p>An energy supplier wants to control when your device charges or "
        f"heats. Allow it access to your {name} account?</p>"
        f'<form method="post">{hidden}'
        f'<button class="allow" name="decision" value="allow" type="submit">Allow</button>'
        f'<button class="deny" name="decision" value="deny" type="submit">Deny</button></form>'
        f"<p><small>Kraken sandbox – no real account is involved.</small></p>",
    )


def decision_redirect(redirect_uri: str, state: str, allow: bool, code: str) -> str:
    """Where the provider sends the browser back: `code`+`state`, or `error=access_denied`."""
    params = {"code": code, "state": state} if allow else {"error": "access_denied", "state": state}
    parts = urlsplit(redirect_uri)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def landing_page(full_url: str) -> str:
    return _page(
        "Authorisation finished",
        "<h1>Almost done</h1><p>Copy this address and paste it back into the chat:</p>"
        f'<textarea id="continuation" rows="5" readonly>{escape(full_url)}</textarea>',
    )


def error_page(message: str) -> str:
    return _page("Error", f"<h1>Something is wrong</h1><p>{escape(message)}</p>")


BAD_GATEWAY_PAGE = _page("502 Bad Gateway", "<h1>502 Bad Gateway</h1><p>nginx</p>")

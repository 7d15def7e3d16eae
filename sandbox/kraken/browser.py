"""Pressing Allow or Deny on the sandbox's consent page, the way a browser does.

Shipped with the sandbox (as aiogram-dialog ships its test tools) so every test layer, the
bot's in-process harness and the benchmark act on the page alike: load it, read the form it
shows, submit it with the chosen button, and report where the provider sends the browser.
"""

from __future__ import annotations

from html.parser import HTMLParser

import httpx


class ConsentPageError(AssertionError):
    """The page or its answer was not what a consent page gives (status, form, redirect)."""


class _ConsentForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found = False
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.found, self.action = True, values.get("action")
        elif tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


async def press_consent(
    http: httpx.AsyncClient, authorization_url: str, *, allow: bool = True
) -> str:
    """Open `authorization_url`, press Allow (or Deny); returns the redirect's target."""
    page = await http.get(authorization_url)
    if page.status_code != 200:
        raise ConsentPageError(f"consent page answered {page.status_code}: {page.text[:200]}")
    form = _ConsentForm()
    form.feed(page.text)
    if not form.found:
        raise ConsentPageError("no form on the consent page")
    target = httpx.URL(authorization_url).join(form.action or authorization_url)
    data = {**form.fields, "decision": "allow" if allow else "deny"}
    answer = await http.post(target, data=data, follow_redirects=False)
    if answer.status_code != 303:
        raise ConsentPageError(f"consent form answered {answer.status_code}: {answer.text[:200]}")
    return answer.headers["location"]

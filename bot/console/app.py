"""The support console's pages, at `PUBLIC_URL/support/` on the bot's web app.

Server-rendered (Jinja2, autoescaped: customer-provided text is always shown as text), plain
forms, and one small script of our own (`static/console.js`) that refreshes the live parts of
a page and fills in copy buttons. Every page needs a signed-in agent (`gate`); every form a
CSRF token; every action is written to the audit log.

| page | what |
| --- | --- |
| `/support/handoffs` | links issued, newest first, where each customer is now (live) |
| `/support/lookup` | look an account up in Kraken, pick property and intent, issue a link |
| `/support/chats/<id>` | one customer's timeline, the CRM summary, a message to them |
| `/support/funnel` | how far onboardings got, per step (today / 7 / 30 days; CSV) |
| `/support/audit` | who did what, when, for which account (admins; CSV) |
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from telegram.error import TelegramError

from bot.config import SUPPORTED_LOCALES, Settings
from bot.console.gate import (
    POLL_HEADER,
    Gate,
    Viewer,
    accepted_locale,
    client_address,
    read_form,
    valid_zone,
    zone,
)
from bot.console.views import (
    BAR_HEIGHT,
    CHART_WIDTH,
    KINDS,
    STATUSES,
    Funnel,
    HandoffRow,
    Speaker,
    chart,
    funnel,
    handoff_row,
    shown,
    span,
    summary,
)
from bot.handoff.issuing import HandoffRefused, KrakenUnavailable, check_with_kraken, issue_link
from bot.handoff.links import qr_png, token_in
from bot.handoff.request import HandoffRequest, describe_validation_error
from bot.handoff.service import HandoffError, HandoffService, token_hash
from bot.state.agents import AgentPrefs, Agents, AuditLog, LoginThrottle, Prefs, Sessions
from bot.state.journal import Journal, LinkLog, link_id_of
from bot.state.keys import KeySpace
from dialogs.conversation import Conversation
from dialogs.i18n import t
from dialogs.render.common import support_reference
from dialogs.screen import Screen
from kraken.client import KrakenClient
from kraken.errors import KrakenError
from kraken.models import Device, DeviceType, Wizard

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = {"console.css": "text/css", "console.js": "text/javascript"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
LIST_SCAN = 500  # links looked at per list refresh (newest first)
LIST_SHOW = 200
DEFAULT_STUCK_HOURS = 24
MAX_MESSAGE = 1000
LOOKUP_TIMEOUT_S = 15.0
FUNNEL_WINDOWS = ("today", "7", "30")

Handler = Callable[[Request, Viewer, dict[str, str]], Awaitable[Response]]


class ConsoleKraken(Protocol):
    """What the console asks Kraken (the bot's `KrakenClient` has it all)."""

    async def eligible_device_types(
        self, account_number: str, property_id: int | None = None
    ) -> list[DeviceType]: ...

    async def wizards(
        self, account_number: str, *, property_id: int | None = None
    ) -> list[Wizard]: ...

    async def devices(
        self, account_number: str, property_id: int | str | None = None
    ) -> list[Device]: ...


class ConsoleTurns(Protocol):
    """What the console asks of the chats (the bot's `Turns`)."""

    async def peek(self, chat_id: int) -> Conversation | None: ...

    async def say(
        self, chat_id: int, shown: Sequence[Screen], language_code: str | None = None
    ) -> None: ...


@dataclass(frozen=True)
class LookupResult:
    account: str
    property_id: int
    property_given: bool
    eligible: list[str]
    wizards: list[Wizard]
    devices: list[Device]


def _csv_cell(value: object) -> str:
    """A spreadsheet must not run a cell as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/support/") and not target.startswith("//"):
        return target
    return "/support/handoffs"


class Console:
    def __init__(
        self,
        *,
        redis: Redis,
        keys: KeySpace,
        settings: Settings,
        handoff: HandoffService,
        kraken: ConsoleKraken,
        turns: ConsoleTurns,
        bot_username: Callable[[], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.handoff, self.kraken, self.turns = settings, handoff, kraken, turns
        self.bot_username, self.clock = bot_username, clock
        self.agents = Agents(redis, keys, clock)
        self.prefs = AgentPrefs(redis, keys)
        self.audit = AuditLog(redis, keys, clock)
        self.journal = Journal(redis, keys)
        self.links = LinkLog(redis, keys, clock)
        self.throttle = LoginThrottle(redis, keys)
        sessions = Sessions(redis, keys, settings.support_session_idle, clock)
        self.gate = Gate(redis, keys, settings, self.agents, self.prefs, sessions, self.audit)
        self.sessions = sessions
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ------------------------------------------------------------------ plumbing

    def render(
        self,
        template: str,
        speaker: Speaker,
        viewer: Viewer | None,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            _=speaker,
            sp=speaker,
            span=span,
            viewer=viewer,
            csrf=viewer.csrf if viewer else "",
            locale=speaker.locale,
            kinds=KINDS,
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)

    def speaker_for(self, request: Request) -> Speaker:
        """For pages without a signed-in agent: the browser's language, UTC."""
        locale = accepted_locale(
            request.headers.get("accept-language", ""), self.settings.default_locale
        )
        return Speaker(locale, zone(None))

    def page(
        self, handler: Handler, *, admin: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """Sign-in, CSRF (on POST) and the admin check around a page."""

        async def endpoint(request: Request) -> Response:
            viewer, fresh = await self.gate.viewer(request)
            if viewer is None:
                if request.headers.get(POLL_HEADER) == "1":
                    return Response(status_code=401, headers=SECURITY_HEADERS)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/support/login?next={quote(target)}", status_code=303)
            speaker = Speaker(viewer.locale, viewer.time_zone)
            form: dict[str, str] = {}
            if request.method == "POST":
                read = await read_form(request)
                if read is None or not self.gate.csrf_ok(viewer, read):
                    await self.audit.add(viewer.agent, "csrf_refused", detail=request.url.path)
                    return self.render(
                        "notice.html", speaker, viewer, status_code=403, notice="console.csrf"
                    )
                form = read
            if admin and not viewer.admin:
                return self.render(
                    "notice.html", speaker, viewer, status_code=403, notice="console.admins_only"
                )
            response = await handler(request, viewer, form)
            if fresh is not None:
                await self.gate.set_session_cookie(response, fresh)
            return response

        return endpoint

    # ------------------------------------------------------------------ signing in

    async def login_page(self, request: Request) -> Response:
        viewer, fresh = await self.gate.viewer(request)
        if viewer is not None:
            response: Response = RedirectResponse(
                _safe_next(request.query_params.get("next")), status_code=303
            )
            if fresh is not None:
                await self.gate.set_session_cookie(response, fresh)
            return response
        return self._login_form(request, self.speaker_for(request))

    def _login_form(
        self,
        request: Request,
        speaker: Speaker,
        problem: str | None = None,
        status: int = 200,
        count: int | None = None,
    ) -> Response:
        token, new = self.gate.login_token(request)
        response = self.render(
            "login.html",
            speaker,
            None,
            status_code=status,
            login_csrf=token,
            next=_safe_next(request.query_params.get("next")),
            problem=speaker(problem, count) if problem else None,
        )
        if new:
            self.gate.set_login_cookie(response, token)
        return response

    async def login(self, request: Request) -> Response:
        speaker = self.speaker_for(request)
        form = await read_form(request)
        if form is None or not self.gate.login_token_ok(request, form):
            return self._login_form(request, speaker, "console.csrf", 403)
        name, password = form.get("name", "").strip()[:64], form.get("password", "")
        address = client_address(request)
        wait = await self.throttle.locked_for(name, address)
        if wait > 0:
            await self.audit.add(name or "?", "sign_in_locked", detail=address)
            minutes = max(1, round(wait / 60))
            return self._login_form(request, speaker, "console.login.locked", 429, count=minutes)
        agent = await self.agents.verify(name, password)
        if agent is None:
            await self.throttle.failed(name, address)
            await self.audit.add(name or "?", "sign_in_failed", detail=address)
            wait = await self.throttle.locked_for(name, address)
            if wait > 0:
                minutes = max(1, round(wait / 60))
                return self._login_form(
                    request, speaker, "console.login.locked", 429, count=minutes
                )
            return self._login_form(request, speaker, "console.login.wrong", 401)
        await self.throttle.succeeded(agent.name)
        session = await self.sessions.create(agent.name, "password")
        prefs = await self.prefs.get(agent.name)
        browser_zone = form.get("tz", "")
        if prefs.time_zone is None and browser_zone and valid_zone(browser_zone):
            await self.prefs.set(agent.name, Prefs(prefs.locale, browser_zone))
        await self.audit.add(agent.name, "sign_in", detail=address)
        response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
        await self.gate.set_session_cookie(response, session)
        return response

    async def logout(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        await self.sessions.drop(viewer.session.session_id)
        await self.audit.add(viewer.agent, "sign_out")
        response = RedirectResponse("/support/login", status_code=303)
        self.gate.clear_session_cookie(response)
        return response

    # ------------------------------------------------------------------ hand-offs list

    def _list_query(self, request: Request) -> tuple[str, str, int]:
        status = request.query_params.get("status", "")
        status = status if status in STATUSES else ""
        query = request.query_params.get("q", "").strip().upper()[:40]
        try:
            hours = int(request.query_params.get("stuck", DEFAULT_STUCK_HOURS))
        except ValueError:
            hours = DEFAULT_STUCK_HOURS
        return status, query, min(max(hours, 1), 720)

    async def _rows(self, status: str, query: str, stuck_hours: int) -> list[HandoffRow]:
        exact = None
        try:
            exact = (
                HandoffRequest.model_validate({"accountNumber": query}).account_number
                if query
                else None
            )
        except ValidationError:
            exact = None
        records = await self.links.newest(LIST_SCAN, exact)
        if query and exact is None:
            records = [record for record in records if query in record.account_number]
        tokens = await self.links.still_live(records)
        chats = [record.chat_id for record in records if record.chat_id is not None]
        nows = dict(zip(chats, await self.journal.nows(chats), strict=True))
        now_ms = self._now_ms()
        stuck_ms = stuck_hours * 3600 * 1000
        rows = [
            handoff_row(record, token, nows.get(record.chat_id or 0, {}), now_ms, stuck_ms)
            for record, token in zip(records, tokens, strict=True)
        ]
        return [row for row in rows if shown(row, status)][:LIST_SHOW]

    async def handoffs(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        status, query, hours = self._list_query(request)
        speaker = Speaker(viewer.locale, viewer.time_zone)
        rows = await self._rows(status, query, hours)
        if query:
            await self.audit.add(viewer.agent, "search", account=query)
        return self.render(
            "handoffs.html",
            speaker,
            viewer,
            rows=rows,
            status=status,
            statuses=STATUSES,
            query=query,
            stuck=hours,
            now_ms=self._now_ms(),
            poll_url="/support/handoffs/rows?"
            + urlencode({"status": status, "q": query, "stuck": hours}),
        )

    async def handoff_rows(
        self, request: Request, viewer: Viewer, form: dict[str, str]
    ) -> Response:
        status, query, hours = self._list_query(request)
        speaker = Speaker(viewer.locale, viewer.time_zone)
        rows = await self._rows(status, query, hours)
        return self.render("_rows.html", speaker, viewer, rows=rows, now_ms=self._now_ms())

    # ------------------------------------------------------------------ issuing

    async def _look_up(self, request: HandoffRequest) -> LookupResult:
        account, property_id = request.account_number, request.property_id or 1
        async with asyncio.timeout(LOOKUP_TIMEOUT_S):
            await check_with_kraken(cast(KrakenClient, self.kraken), request)
            try:
                eligible, wizards, devices = await asyncio.gather(
                    self.kraken.eligible_device_types(account, property_id),
                    self.kraken.wizards(account, property_id=property_id),
                    self.kraken.devices(account, property_id),
                )
            except KrakenError as error:
                raise KrakenUnavailable(f"Kraken could not be asked ({error})") from None
        return LookupResult(
            account=account,
            property_id=property_id,
            property_given=request.property_id is not None,
            eligible=[str(kind) for kind in eligible],
            wizards=[wizard for wizard in wizards if not wizard.is_complete],
            devices=devices,
        )

    async def lookup(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        account = request.query_params.get("account", "").strip()
        property_text = request.query_params.get("property", "").strip()
        context: dict[str, Any] = {
            "account": account,
            "property": property_text or "1",
            "result": None,
            "problem": None,
        }
        if account:
            try:
                wanted = HandoffRequest.model_validate(
                    {
                        "accountNumber": account,
                        "propertyId": int(property_text) if property_text else None,
                    }
                )
            except ValueError as error:
                problem = (
                    describe_validation_error(error)
                    if isinstance(error, ValidationError)
                    else "propertyId: must be a whole number"
                )
                context["problem"] = problem
                return self.render("lookup.html", speaker, viewer, status_code=422, **context)
            await self.audit.add(
                viewer.agent,
                "lookup",
                account=wanted.account_number,
                detail=f"property {wanted.property_id or 1}",
            )
            try:
                context["result"] = await self._look_up(wanted)
            except HandoffRefused as refused:
                context["problem"] = str(refused)
            except (KrakenUnavailable, TimeoutError) as unavailable:
                context["problem"] = str(unavailable) or "Kraken did not answer in time"
        return self.render("lookup.html", speaker, viewer, **context)

    async def issue(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        intent = form.get("intent", "start")
        try:
            wanted = HandoffRequest.model_validate(
                {
                    "accountNumber": form.get("account", ""),
                    "propertyId": int(form["property"]) if form.get("property") else None,
                    "intent": None if intent == "start" else intent,
                }
            )
        except (ValueError, KeyError) as error:
            problem = (
                describe_validation_error(error)
                if isinstance(error, ValidationError)
                else "propertyId: must be a whole number"
            )
            return self.render(
                "notice.html", speaker, viewer, status_code=422, notice=None, problem=problem
            )
        try:
            issued = await issue_link(
                self.handoff,
                self.bot_username(),
                wanted,
                cast(KrakenClient, self.kraken),
                issued_by=viewer.agent,
            )
        except (HandoffRefused, KrakenUnavailable) as refused:
            return self.render(
                "notice.html", speaker, viewer, status_code=422, notice=None, problem=str(refused)
            )
        link_id = link_id_of(token_hash(token_in(issued.link)))
        qr = base64.b64encode(qr_png(issued.link)).decode()
        return self.render(
            "issued.html",
            speaker,
            viewer,
            link=issued.link,
            link_id=link_id,
            qr=qr,
            expires_ms=int(issued.expires_at.timestamp() * 1000),
            request=wanted,
        )

    async def revoke(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        record = await self.links.get(str(request.path_params["link_id"]))
        if record is None:
            return self.render(
                "notice.html", speaker, viewer, status_code=404, notice="console.revoke.unknown"
            )
        try:
            await self.handoff.redeem_digest(record.digest)  # consumed, never bound: revoked
            revoked = True
        except HandoffError:
            revoked = False
        if revoked:
            await self.links.revoked(record.link_id, viewer.agent)
        await self.audit.add(
            viewer.agent,
            "revoke_link" if revoked else "revoke_link_noop",
            account=record.account_number,
            detail=f"link {record.link_id}",
        )
        notice = "console.revoke.done" if revoked else "console.revoke.nothing"
        return self.render("notice.html", speaker, viewer, notice=notice)

    # ------------------------------------------------------------------ one customer

    async def _chat_context(self, chat_id: int, speaker: Speaker) -> dict[str, Any] | None:
        now = await self.journal.now(chat_id)
        if not now:
            return None
        link = await self.links.get(now["link"]) if now.get("link") else None
        timeline = await self.journal.timeline(chat_id)
        conv = await self.turns.peek(chat_id)
        now_ms = self._now_ms()
        row = (
            handoff_row(link, "used", now, now_ms, DEFAULT_STUCK_HOURS * 3_600_000)
            if link is not None
            else None
        )
        status = row.status if row else ("live" if now.get("state") == "live" else "in_progress")
        return {
            "chat_id": chat_id,
            "now": now,
            "link": link,
            "timeline": timeline,
            "status": status,
            "now_ms": now_ms,
            "since_ms": int(now["since"]) if now.get("since", "").isdigit() else None,
            "summary": summary(
                speaker,
                chat_id=chat_id,
                now=now,
                link=link,
                reference=support_reference(conv),
                timeline=timeline,
                status=status,
                now_ms=now_ms,
            ),
        }

    async def chat(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        chat_id = int(request.path_params["chat_id"])
        context = await self._chat_context(chat_id, speaker)
        if context is None:
            return self.render(
                "notice.html", speaker, viewer, status_code=404, notice="console.chat.unknown"
            )
        await self.audit.add(
            viewer.agent,
            "view_timeline",
            account=context["now"].get("account", ""),
            detail=f"chat {chat_id}",
        )
        sent = request.query_params.get("sent") == "1"
        return self.render("chat.html", speaker, viewer, sent=sent, **context)

    async def chat_timeline(
        self, request: Request, viewer: Viewer, form: dict[str, str]
    ) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        chat_id = int(request.path_params["chat_id"])
        context = await self._chat_context(chat_id, speaker)
        if context is None:
            return Response(status_code=404)
        return self.render("_timeline.html", speaker, viewer, **context)

    async def message(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        chat_id = int(request.path_params["chat_id"])
        text = form.get("text", "").strip()
        now = await self.journal.now(chat_id)
        if not now:
            return self.render(
                "notice.html", speaker, viewer, status_code=404, notice="console.chat.unknown"
            )
        if not text or len(text) > MAX_MESSAGE:
            return self.render(
                "notice.html",
                speaker,
                viewer,
                status_code=422,
                notice="console.message.length",
                count=MAX_MESSAGE,
            )
        conv = await self.turns.peek(chat_id)
        locale = conv.locale if conv is not None else self.settings.default_locale
        screen = Screen(text=t(locale, "console.to_customer", text=text))
        try:
            await self.turns.say(chat_id, [screen])
        except TelegramError as error:
            log.warning("console: message to chat %s failed: %s", chat_id, error)
            return self.render(
                "notice.html", speaker, viewer, status_code=502, notice="console.message.failed"
            )
        await self.journal.support_message(chat_id, viewer.agent, text)
        await self.audit.add(
            viewer.agent,
            "send_message",
            account=now.get("account", ""),
            detail=f"chat {chat_id}: {text[:300]}",
        )
        return RedirectResponse(f"/support/chats/{chat_id}?sent=1", status_code=303)

    # ------------------------------------------------------------------ the funnel

    def _window(self, request: Request, viewer: Viewer) -> tuple[str, int]:
        window = request.query_params.get("days", "7")
        window = window if window in FUNNEL_WINDOWS else "7"
        now = datetime.fromtimestamp(self.clock(), viewer.time_zone)
        if window == "today":
            start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        else:
            start = now - timedelta(days=int(window))
        return window, int(start.timestamp() * 1000)

    async def _funnel(self, since_ms: int) -> Funnel:
        return funnel([event async for event in self.journal.funnel_events(since_ms)])

    async def funnel_page(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        window, since_ms = self._window(request, viewer)
        result = await self._funnel(since_ms)
        bars, height = chart(result, speaker)
        return self.render(
            "funnel.html",
            speaker,
            viewer,
            window=window,
            windows=FUNNEL_WINDOWS,
            result=result,
            bars=bars,
            height=height,
            chart_width=CHART_WIDTH,
            bar_height=BAR_HEIGHT,
            since_ms=since_ms,
        )

    async def funnel_csv(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        window, since_ms = self._window(request, viewer)
        result = await self._funnel(since_ms)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["step", "label", "reached", "stopped", "median_seconds", "top_errors"])
        for row in result.rows:
            errors = " ".join(f"{code}:{count}" for code, count in row.errors)
            median = "" if row.median_seconds is None else f"{row.median_seconds:.0f}"
            writer.writerow(
                [
                    _csv_cell(value)
                    for value in (
                        row.step,
                        speaker.step(row.step),
                        row.reached,
                        row.stopped,
                        median,
                        errors,
                    )
                ]
            )
        await self.audit.add(viewer.agent, "export_funnel", detail=f"window {window}")
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="funnel-{window}.csv"',
            },
        )

    # ------------------------------------------------------------------ audit

    async def audit_page(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        before = request.query_params.get("before")
        if before is not None and not all(part.isdigit() for part in before.split("-", 1)):
            before = None
        entries = await self.audit.page(before, count=100)
        return self.render("audit.html", speaker, viewer, entries=entries)

    async def audit_csv(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        await self.audit.add(viewer.agent, "export_audit")
        speaker = Speaker(viewer.locale, viewer.time_zone)

        async def rows() -> AsyncIterator[str]:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["time", "agent", "action", "account", "detail"])
            async for entry in self.audit.everything():
                writer.writerow(
                    [
                        _csv_cell(value)
                        for value in (
                            speaker.when(entry.at_ms, seconds=True),
                            entry.agent,
                            entry.action,
                            entry.account,
                            entry.detail,
                        )
                    ]
                )
                if out.tell() > 32_000:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue()

        return StreamingResponse(
            rows(),
            media_type="text/csv; charset=utf-8",
            headers={**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="audit.csv"'},
        )

    # ------------------------------------------------------------------ preferences

    async def preferences(self, request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        speaker = Speaker(viewer.locale, viewer.time_zone)
        saved = False
        if request.method == "POST":
            locale = form.get("locale", "")
            zone_name = form.get("tz", "").strip()
            if locale not in SUPPORTED_LOCALES or not valid_zone(zone_name):
                return self.render(
                    "notice.html", speaker, viewer, status_code=422, notice="console.prefs.invalid"
                )
            await self.prefs.set(viewer.agent, Prefs(locale, zone_name))
            await self.audit.add(viewer.agent, "preferences", detail=f"{locale} {zone_name}")
            speaker = Speaker(locale, zone(zone_name))
            saved = True
        return self.render(
            "preferences.html",
            speaker,
            viewer,
            locales={code: t(code, "bot.language.name") for code in SUPPORTED_LOCALES},
            saved=saved,
        )

    # ------------------------------------------------------------------ the rest

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/support/handoffs", status_code=303)

    async def static(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        if name not in STATIC:
            return Response(status_code=404)
        body = (HERE / "static" / name).read_bytes()
        return Response(
            body,
            media_type=STATIC[name],
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    def routes(self) -> list[Route]:
        page = self.page
        return [
            Route("/support", self.home, methods=["GET"]),
            Route("/support/", self.home, methods=["GET"]),
            Route("/support/login", self.login_page, methods=["GET"]),
            Route("/support/login", self.login, methods=["POST"]),
            Route("/support/logout", page(self.logout), methods=["POST"]),
            Route("/support/handoffs", page(self.handoffs), methods=["GET"]),
            Route("/support/handoffs/rows", page(self.handoff_rows), methods=["GET"]),
            Route("/support/lookup", page(self.lookup), methods=["GET"]),
            Route("/support/links", page(self.issue), methods=["POST"]),
            Route("/support/links/{link_id:str}/revoke", page(self.revoke), methods=["POST"]),
            Route("/support/chats/{chat_id:int}", page(self.chat), methods=["GET"]),
            Route(
                "/support/chats/{chat_id:int}/timeline", page(self.chat_timeline), methods=["GET"]
            ),
            Route("/support/chats/{chat_id:int}/message", page(self.message), methods=["POST"]),
            Route("/support/funnel", page(self.funnel_page), methods=["GET"]),
            Route("/support/funnel.csv", page(self.funnel_csv), methods=["GET"]),
            Route("/support/audit", page(self.audit_page, admin=True), methods=["GET"]),
            Route("/support/audit.csv", page(self.audit_csv, admin=True), methods=["GET"]),
            Route("/support/preferences", page(self.preferences), methods=["GET", "POST"]),
            Route("/support/static/{name:str}", self.static, methods=["GET"]),
        ]

"""The journal: what happened to each customer, for the support console.

Three things are written as conversations move, each bounded:

- per chat, a **timeline** stream (one entry per turn that changed something: the event's
  kind — a tap's action name, "answered", the notifier, the OAuth return —, the step and
  state after it, a Kraken error code, whether the chat got a pushed message) and a small
  **now** hash (step, since when, waiting or not, last error, the link it opened, the
  customer's Telegram name). Never typed text, OAuth codes or tokens: only kinds and ids.
- one **funnel** stream of onboarding events (started, step reached, error at a step, LIVE,
  cancelled), trimmed to `FUNNEL_RETENTION`, read by the console's funnel page.
- per issued hand-off link, a **link record** (who issued it, when, for which account and
  intent; the chat that opened it), indexed by time of issue and by account.

A turn is recorded by one Lua script (one round trip, atomic), which compares the turn's
outcome with the chat's now-hash: a progress refresh that changed nothing writes nothing, and
the chat that binds an account marks that account's newest unopened link as opened by it.
Recording never fails a turn: a Redis error is logged and dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from bot.state.agents import AuditLog
from bot.state.conversations import ConversationStore
from bot.state.keys import KeySpace
from bot.state.lock import ChatLock
from dialogs.callback_data import decode
from dialogs.conversation import Conversation
from dialogs.events import (
    AuthCallback,
    Begin,
    Cancel,
    CheckNow,
    Event,
    Help,
    Language,
    OfferSwitch,
    Progress,
    Tap,
    Text,
    WizardChanged,
)

log = logging.getLogger(__name__)

# A chat's timeline and now-hash live as long as a link (and a little longer); the funnel
# keeps a month, the longest window the console offers.
CHAT_RETENTION = timedelta(days=35)
FUNNEL_RETENTION = timedelta(days=31)
LINK_RETENTION = timedelta(days=35)
TIMELINE_MAX = 500
# Events that act on Kraken: an error code left after them is news.
_ACTING = (Begin, Tap, Text, CheckNow, WizardChanged, AuthCallback, Cancel)
# Events recorded only when they changed something.
_QUIET = (Progress, Help)

# KEYS: timeline, now-hash, funnel, the account's unopened-link pointer.
# ARGV: see `Journal._turn`. Times are Redis's own (TIME), like the stream ids beside them.
_TURN = """
local clock = redis.call('TIME')
local now = tostring(tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000))
local kind, step, state, wizard, account = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local err, waiting, notify, quiet, acting = ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[16]
local prev = redis.call('HMGET', KEYS[2], 'step', 'state', 'wizard', 'account')
local pstep, pstate, pwizard, paccount = prev[1] or '', prev[2] or '', prev[3] or '', prev[4] or ''
local moved = step ~= pstep or wizard ~= pwizard
local erred = err ~= '' and acting == '1'
if quiet == '1' and not moved and state == pstate and not erred then return 0 end
local ttl = tonumber(ARGV[12])
redis.call('HSET', KEYS[2], 'step', step, 'state', state, 'wizard', wizard, 'account', account,
    'property', ARGV[7], 'waiting', waiting, 'seen', now)
if moved or state ~= pstate then redis.call('HSET', KEYS[2], 'since', now) end
if wizard ~= pwizard and wizard ~= '' then redis.call('HSET', KEYS[2], 'started', now) end
if erred then redis.call('HSET', KEYS[2], 'err', err, 'err_at', now) end
local entry = {'k', kind, 's', step, 'st', state}
if erred then table.insert(entry, 'e'); table.insert(entry, err) end
if notify == '1' then table.insert(entry, 'n'); table.insert(entry, '1') end
if wizard ~= pwizard then table.insert(entry, 'w'); table.insert(entry, wizard) end
if account ~= '' and (account ~= paccount or kind == 'begin') then
    local link = redis.call('GET', KEYS[4])
    if link then
        redis.call('DEL', KEYS[4])
        local record = ARGV[14] .. link
        if redis.call('EXISTS', record) == 1 then
            redis.call('HSET', record, 'chat', ARGV[15], 'opened', now)
            redis.call('HSET', KEYS[2], 'link', link)
            table.insert(entry, 'o'); table.insert(entry, link)
        end
    end
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[17], '*', unpack(entry))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
if wizard ~= '' then
    local minid = tostring(tonumber(now) - tonumber(ARGV[18])) .. '-0'
    local function funnel(...)
        redis.call('XADD', KEYS[3], 'MINID', '~', minid, '*', 'w', wizard, ...)
    end
    if wizard ~= pwizard then funnel('ev', 'start', 's', step, 'c', ARGV[15])
    elseif step ~= pstep and step ~= '' then funnel('ev', 'step', 's', step) end
    if erred then funnel('ev', 'err', 's', step ~= '' and step or pstep, 'e', err) end
    if state ~= pstate and state == 'live' then funnel('ev', 'live') end
    if state ~= pstate and state == 'cancelled' then
        funnel('ev', 'cancel', 's', step ~= '' and step or pstep)
    end
    redis.call('PEXPIRE', KEYS[3], ARGV[18])
end
return 1
"""


def event_kind(event: Event) -> str:
    """What the timeline says happened: the event's kind, a tap's action (never its data)."""
    match event:
        case Tap(data=data):
            pressed = decode(data)
            return f"tap:{pressed.action.name.lower()}" if pressed else "tap"
        case Begin():
            return "begin"
        case OfferSwitch():
            return "switch_offered"
        case Text():
            return "answer"
        case CheckNow():
            return "check"
        case WizardChanged():
            return "notifier"
        case Progress():
            return "progress"
        case AuthCallback():
            return "oauth"
        case Cancel():
            return "cancel"
        case Help():
            return "help"
        case Language():
            return "language"
    return "other"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decoded(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(key): _text(value) for key, value in raw.items()}


def stream_ms(entry_id: str) -> int:
    """The time (Unix ms) a stream entry was added, from its id."""
    return int(entry_id.split("-", 1)[0])


@dataclass(frozen=True)
class TimelineEntry:
    at_ms: int
    kind: str
    step: str
    state: str
    error: str = ""
    notified: bool = False
    wizard: str = ""
    opened_link: str = ""
    agent: str = ""
    message: str = ""


@dataclass(frozen=True)
class FunnelEvent:
    at_ms: int
    wizard: str
    kind: str  # start, step, err, live, cancel
    step: str = ""
    error: str = ""


@dataclass(frozen=True)
class LinkRecord:
    link_id: str
    digest: str
    account_number: str
    property_id: int | None
    intent: str
    issued_by: str
    issued_ms: int
    expires_ms: int
    chat_id: int | None = None
    opened_ms: int | None = None
    revoked_ms: int | None = None
    revoked_by: str = ""

    @classmethod
    def from_hash(cls, link_id: str, data: Mapping[str, str]) -> LinkRecord:
        def number(name: str) -> int | None:
            value = data.get(name, "")
            return int(value) if value.lstrip("-").isdigit() else None

        return cls(
            link_id=link_id,
            digest=data.get("digest", ""),
            account_number=data.get("account", ""),
            property_id=number("property"),
            intent=data.get("intent", ""),
            issued_by=data.get("by", ""),
            issued_ms=number("at") or 0,
            expires_ms=number("exp") or 0,
            chat_id=number("chat"),
            opened_ms=number("opened"),
            revoked_ms=number("revoked"),
            revoked_by=data.get("revoked_by", ""),
        )


def link_id_of(digest: str) -> str:
    """The id the console shows and addresses a link by: the start of its token's hash."""
    return digest[:20]


class Journal:
    def __init__(self, redis: Redis, keys: KeySpace | None = None) -> None:
        self.redis = redis
        self.keys = keys or KeySpace()

    @classmethod
    def beside(cls, store: ConversationStore) -> Journal:
        """The journal in the conversations' Redis, under the same key space."""
        return cls(store.redis, store.keys)

    # ------------------------------------------------------------------ writing

    def turn_on_release(
        self, lock: ChatLock, chat_id: int, event: Event, conv: Conversation, *, notify: bool
    ) -> None:
        """Record the turn in the same round trip that releases the chat's lock."""
        try:
            keys, args = self._turn(chat_id, event, conv, notify=notify)
        except Exception as error:  # never the turn's problem: it is done and saved
            log.warning("journal: turn of chat %s not recorded: %s", chat_id, type(error).__name__)
            return
        lock.on_release(
            lambda pipe: pipe.eval(_TURN, len(keys), *keys, *args),
            f"journal: turn of chat {chat_id} not recorded",
        )

    def _turn(
        self, chat_id: int, event: Event, conv: Conversation, *, notify: bool
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        kind = event_kind(event)
        keys = (
            self.keys.journal_chat(chat_id),
            self.keys.journal_chat_now(chat_id),
            self.keys.journal_funnel(),
            self.keys.link_unopened(conv.account_number or "-"),
        )
        args = (
            "",  # unused: the script reads Redis's clock
            kind,
            conv.step_type or "",
            str(conv.state),
            conv.wizard_id or "",
            conv.account_number or "",
            "" if conv.property_id is None else str(conv.property_id),
            conv.last_error or "",
            "1" if conv.waiting_since is not None else "",
            "1" if notify and isinstance(event, WizardChanged | AuthCallback) else "",
            "1" if isinstance(event, _QUIET) else "",
            str(int(CHAT_RETENTION.total_seconds() * 1000)),
            "",  # unused
            self.keys.link_prefix(),
            str(chat_id),
            "1" if isinstance(event, _ACTING) else "",
            str(TIMELINE_MAX),
            str(int(FUNNEL_RETENTION.total_seconds() * 1000)),
        )
        return keys, args

    async def customer_name(self, chat_id: int, name: str) -> None:
        """The customer's Telegram name, as they set it (shown escaped, never trusted)."""
        key = self.keys.journal_chat_now(chat_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, "name", name[:128])
            pipe.pexpire(key, int(CHAT_RETENTION.total_seconds() * 1000))
            await pipe.execute()

    async def support_message(self, chat_id: int, agent: str, text: str) -> None:
        """A message support sent the customer through the bot."""
        key = self.keys.journal_chat(chat_id)
        fields: dict[Any, Any] = {"k": "support", "a": agent, "m": text}
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, fields, maxlen=TIMELINE_MAX, approximate=True)
            pipe.pexpire(key, int(CHAT_RETENTION.total_seconds() * 1000))
            await pipe.execute()

    # ------------------------------------------------------------------ reading

    async def now(self, chat_id: int) -> dict[str, str]:
        return _decoded(await self.redis.hgetall(self.keys.journal_chat_now(chat_id)))  # type: ignore[misc]

    async def nows(self, chat_ids: list[int]) -> list[dict[str, str]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat_id in chat_ids:
                pipe.hgetall(self.keys.journal_chat_now(chat_id))
            found = await pipe.execute()
        return [_decoded(raw) for raw in found]

    async def timeline(self, chat_id: int, count: int = 200) -> list[TimelineEntry]:
        """Newest first."""
        raw = await self.redis.xrevrange(self.keys.journal_chat(chat_id), count=count)
        entries = []
        for entry_id, fields in raw:
            data = _decoded(fields)
            entries.append(
                TimelineEntry(
                    at_ms=stream_ms(_text(entry_id)),
                    kind=data.get("k", ""),
                    step=data.get("s", ""),
                    state=data.get("st", ""),
                    error=data.get("e", ""),
                    notified=data.get("n") == "1",
                    wizard=data.get("w", ""),
                    opened_link=data.get("o", ""),
                    agent=data.get("a", ""),
                    message=data.get("m", ""),
                )
            )
        return entries

    async def funnel_events(self, since_ms: int, batch: int = 5000) -> AsyncIterator[FunnelEvent]:
        """Every funnel event from `since_ms` on, oldest first, read in batches."""
        start = f"{since_ms}-0"
        key = self.keys.journal_funnel()
        while True:
            raw = await self.redis.xrange(key, min=start, max="+", count=batch)
            for entry_id, fields in raw:
                data = _decoded(fields)
                yield FunnelEvent(
                    at_ms=stream_ms(_text(entry_id)),
                    wizard=data.get("w", ""),
                    kind=data.get("ev", ""),
                    step=data.get("s", ""),
                    error=data.get("e", ""),
                )
            if len(raw) < batch:
                return
            start = "(" + _text(raw[-1][0])


class LinkLog:
    """Hand-off links as issued (by whom, for what), and what became of them."""

    def __init__(
        self,
        redis: Redis,
        keys: KeySpace | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.keys = keys or KeySpace()
        self.clock = clock

    async def issued(
        self,
        digest: str,
        account_number: str,
        property_id: int | None,
        intent: str | None,
        issued_by: str,
        expires_ms: int,
    ) -> str:
        """Record a link just issued (and audit it); returns its id."""
        now = int(self.clock() * 1000)
        link_id = link_id_of(digest)
        retention = int(LINK_RETENTION.total_seconds() * 1000)
        record = {
            "digest": digest,
            "account": account_number,
            "property": "" if property_id is None else str(property_id),
            "intent": intent or "",
            "by": issued_by,
            "at": str(now),
            "exp": str(expires_ms),
        }
        detail = f"link {link_id}" + (f", {intent}" if intent else "")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.link_record(link_id), mapping=record)
            pipe.pexpire(self.keys.link_record(link_id), retention)
            for index in (self.keys.links_issued(), self.keys.links_of_account(account_number)):
                pipe.zadd(index, {link_id: now})
                pipe.zremrangebyscore(index, "-inf", now - retention)
                pipe.pexpire(index, retention)
            pipe.set(self.keys.link_unopened(account_number), link_id, px=max(1, expires_ms - now))
            AuditLog(self.redis, self.keys, self.clock).add_to(
                pipe, issued_by, "issue_link", account_number, detail
            )
            await pipe.execute()
        return link_id

    async def revoked(self, link_id: str, by: str) -> None:
        key = self.keys.link_record(link_id)
        now = int(self.clock() * 1000)
        await self.redis.hset(key, mapping={"revoked": str(now), "revoked_by": by})  # type: ignore[misc]
        record = await self.get(link_id)
        if record is not None:
            pointer = self.keys.link_unopened(record.account_number)
            current = await self.redis.get(pointer)
            if current is not None and _text(current) == link_id:
                await self.redis.delete(pointer)

    async def get(self, link_id: str) -> LinkRecord | None:
        raw = _decoded(await self.redis.hgetall(self.keys.link_record(link_id)))  # type: ignore[misc]
        return LinkRecord.from_hash(link_id, raw) if raw else None

    async def newest(self, count: int, account_number: str | None = None) -> list[LinkRecord]:
        """The newest `count` links (of one account, when given), newest first."""
        index = (
            self.keys.links_of_account(account_number)
            if account_number
            else self.keys.links_issued()
        )
        ids = [_text(value) for value in await self.redis.zrevrange(index, 0, count - 1)]
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for link_id in ids:
                pipe.hgetall(self.keys.link_record(link_id))
            found = await pipe.execute()
        return [
            LinkRecord.from_hash(link_id, _decoded(raw))
            for link_id, raw in zip(ids, found, strict=True)
            if raw
        ]

    async def still_live(self, records: list[LinkRecord]) -> list[str]:
        """For each record, what Redis says of its token now: "live", "used" (redeemed or
        revoked), "expired" (or forgotten)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for record in records:
                pipe.exists(self.keys.handoff(record.digest))
                pipe.get(self.keys.handoff_tombstone(record.digest))
            found = await pipe.execute()
        answers = []
        for index in range(len(records)):
            exists, tombstone = found[2 * index], found[2 * index + 1]
            if exists:
                answers.append("live")
            elif tombstone is not None and _text(tombstone) == "used":
                answers.append("used")
            else:
                answers.append("expired")
        return answers


async def record_issued(
    redis: Redis,
    keys: KeySpace,
    digest: str,
    account_number: str,
    property_id: int | None,
    intent: str | None,
    issued_by: str,
    expires_ms: int,
) -> str | None:
    """`LinkLog.issued` that never raises: the link works whether or not it is listed."""
    try:
        return await LinkLog(redis, keys).issued(
            digest, account_number, property_id, intent, issued_by, expires_ms
        )
    except Exception as error:
        log.warning("journal: issued link not recorded: %s", type(error).__name__)
        return None

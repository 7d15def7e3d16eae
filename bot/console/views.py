"""What the console's pages show, computed from the journal: pure functions, no I/O.

- `Speaker`: the agent's language and time zone (translations, times, durations).
- hand-off rows: a link record, what Redis says of its token and where its chat is now, read
  as one status (not opened, in progress, waiting on the outside world, LIVE, ...).
- the funnel: onboardings started in a window, the steps each reached, where those that did
  not go LIVE stopped, the median time spent per step and the commonest error codes — with the
  geometry of its bar chart.
- the case summary support pastes into the CRM.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from bot.state.journal import FunnelEvent, LinkRecord, TimelineEntry
from dialogs.i18n import has_key, t
from kraken.steps import STEP_TYPES

LIVE_STEP = "LIVE"
# What a timeline entry can say happened (`bot.state.journal.event_kind`, taps apart).
KINDS = frozenset(
    {"begin", "switch_offered", "answer", "check", "notifier", "progress", "oauth", "cancel"}
    | {"help", "language", "other"}
)
STATUSES = ("not_opened", "in_progress", "waiting", "stuck", "live", "cancelled")
# Which row statuses each filter shows ("stuck" is a flag on top of a status).
_FILTERS: Mapping[str, frozenset[str]] = {
    "not_opened": frozenset({"not_opened", "expired"}),
    "in_progress": frozenset({"in_progress"}),
    "waiting": frozenset({"waiting"}),
    "live": frozenset({"live"}),
    "cancelled": frozenset({"cancelled", "revoked"}),
}
_STEP_ORDER = {name: index for index, name in enumerate(STEP_TYPES)}


@dataclass(frozen=True)
class Speaker:
    locale: str
    time_zone: ZoneInfo

    def __call__(self, key: str, count: int | None = None, **params: object) -> Markup:
        """The catalog text for `key` as markup, every parameter escaped for HTML (quotes
        too: a translation may end up in an attribute)."""
        slots = {name: f"\x00{index}\x00" for index, name in enumerate(params)}
        text = _translate(self.locale, key, count, slots)
        for index, value in enumerate(params.values()):
            text = text.replace(f"\x00{index}\x00", str(escape(value)))
        return Markup(text)

    def plain(self, key: str, **params: object) -> str:
        """For CSV files and the CRM summary: text, not HTML."""
        return html.unescape(_translate(self.locale, key, None, params))

    def when(self, ms: int | None, seconds: bool = False) -> str:
        if not ms:
            return "—"
        moment = datetime.fromtimestamp(ms / 1000, self.time_zone)
        return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    def step(self, step: str) -> str:
        if not step:
            return "—"
        key = f"console.step.{step}"
        return t(self.locale, key) if has_key(key) else step

    @property
    def zone_name(self) -> str:
        return str(self.time_zone.key)


def _translate(locale: str, key: str, count: int | None, params: Mapping[str, object]) -> str:
    return t(locale, key, count, **params)


def span(seconds: float | None) -> str:
    """A duration in compact units: 45 s, 12 min, 3 h 05 min, 2 d 4 h."""
    if seconds is None:
        return "—"
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


# ====================================================================== hand-offs


@dataclass(frozen=True)
class HandoffRow:
    link: LinkRecord
    status: str
    stuck: bool
    name: str
    step: str
    since_ms: int | None
    error: str
    error_ms: int | None

    @property
    def opened(self) -> bool:
        return self.link.chat_id is not None

    @property
    def revocable(self) -> bool:
        return self.status == "not_opened"


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def handoff_row(
    link: LinkRecord, token: str, now: Mapping[str, str], now_ms: int, stuck_after_ms: int
) -> HandoffRow:
    """`token`: what Redis says of the link's token ("live", "used", "expired"); `now`: the
    journal's now-hash of the chat that opened it (empty when none did)."""
    if link.chat_id is None:
        if link.revoked_ms or token == "used":
            status = "revoked"
        elif token == "expired" or link.expires_ms <= now_ms:
            status = "expired"
        else:
            status = "not_opened"
    elif now.get("state") == "live":
        status = "live"
    elif now.get("state") == "cancelled":
        status = "cancelled"
    elif now.get("waiting") == "1":
        status = "waiting"
    else:
        status = "in_progress"
    since = _int(now.get("since"))
    stuck = (
        status in ("in_progress", "waiting")
        and since is not None
        and now_ms - since >= stuck_after_ms
    )
    return HandoffRow(
        link=link,
        status=status,
        stuck=stuck,
        name=now.get("name", ""),
        step=now.get("step", ""),
        since_ms=since,
        error=now.get("err", ""),
        error_ms=_int(now.get("err_at")),
    )


def shown(row: HandoffRow, wanted: str) -> bool:
    """Whether the status filter `wanted` ("" for all) shows the row."""
    if not wanted:
        return True
    if wanted == "stuck":
        return row.stuck
    return row.status in _FILTERS.get(wanted, frozenset())


# ====================================================================== the funnel


@dataclass
class _Journey:
    path: list[tuple[str, int]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    live_ms: int | None = None
    cancelled: bool = False

    def reach(self, step: str, at_ms: int) -> None:
        if step and (not self.path or self.path[-1][0] != step):
            self.path.append((step, at_ms))


@dataclass(frozen=True)
class FunnelRow:
    step: str
    reached: int
    stopped: int
    median_seconds: float | None
    errors: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Funnel:
    started: int
    live: int
    rows: tuple[FunnelRow, ...]

    @property
    def widest(self) -> int:
        return max([row.reached for row in self.rows] or [0])


def funnel(events: Iterable[FunnelEvent]) -> Funnel:
    """Onboardings whose start is among `events` (older ones are left out: their beginning
    lies outside the window)."""
    journeys: dict[str, _Journey] = {}
    for event in events:
        journey = journeys.get(event.wizard)
        if event.kind == "start":
            journey = journeys.setdefault(event.wizard, _Journey())
            journey.reach(event.step, event.at_ms)
        if journey is None:
            continue
        if event.kind == "step":
            journey.reach(event.step, event.at_ms)
        elif event.kind == "err":
            journey.errors.append((event.step, event.error))
        elif event.kind == "live":
            journey.live_ms = journey.live_ms or event.at_ms
        elif event.kind == "cancel":
            journey.cancelled = True
    reached: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    times: dict[str, list[float]] = {}
    errors: dict[str, Counter[str]] = {}
    for journey in journeys.values():
        reached.update({step for step, _ in journey.path})
        ends = [*journey.path[1:], (LIVE_STEP, journey.live_ms)] if journey.live_ms else None
        for (step, entered), (_, left) in zip(journey.path, ends or journey.path[1:], strict=False):
            if left is not None:
                times.setdefault(step, []).append((left - entered) / 1000)
        if journey.live_ms:
            reached[LIVE_STEP] += 1
        elif journey.path:
            stopped[journey.path[-1][0]] += 1
        for step, code in journey.errors:
            errors.setdefault(step, Counter())[code] += 1
    first_seen = {step: index for index, step in enumerate(reached)}
    order = sorted(
        (step for step in reached if step != LIVE_STEP),
        key=lambda step: (_STEP_ORDER.get(step, len(_STEP_ORDER)), first_seen[step]),
    )
    rows = [
        FunnelRow(
            step=step,
            reached=reached[step],
            stopped=stopped[step],
            median_seconds=statistics.median(times[step]) if times.get(step) else None,
            errors=tuple(errors.get(step, Counter()).most_common(3)),
        )
        for step in order
    ]
    rows.append(FunnelRow(LIVE_STEP, reached[LIVE_STEP], 0, None, ()))
    return Funnel(started=len(journeys), live=reached[LIVE_STEP], rows=tuple(rows))


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    reached_width: float
    stopped_width: float
    value: str


CHART_WIDTH = 300
BAR_HEIGHT = 12
ROW_HEIGHT = 34


def chart(result: Funnel, speaker: Speaker) -> tuple[list[Bar], int]:
    """Bars for the SVG chart (label above each bar) and the chart's height."""
    widest = result.widest or 1
    bars = []
    for index, row in enumerate(result.rows):
        bars.append(
            Bar(
                label=speaker.step(row.step),
                y=index * ROW_HEIGHT,
                reached_width=round(CHART_WIDTH * row.reached / widest, 1),
                stopped_width=round(CHART_WIDTH * row.stopped / widest, 1),
                value=f"{row.reached}" + (f" / {row.stopped}" if row.stopped else ""),
            )
        )
    return bars, max(ROW_HEIGHT, len(bars) * ROW_HEIGHT)


# ====================================================================== one customer


def summary(
    speaker: Speaker,
    *,
    chat_id: int,
    now: Mapping[str, str],
    link: LinkRecord | None,
    reference: str,
    timeline: list[TimelineEntry],
    status: str,
    now_ms: int,
) -> str:
    """The case summary support pastes into the CRM (plain text, in the agent's language)."""
    since = _int(now.get("since"))
    steps = [entry for entry in reversed(timeline) if entry.kind != "support"]
    path: list[str] = []
    for entry in steps:
        label = speaker.step(entry.step) if entry.step else ""
        if label and (not path or not path[-1].endswith(label)):
            path.append(f"{speaker.when(entry.at_ms)[11:]} {label}")
    lines = [
        speaker.plain(
            "console.summary.account",
            account=now.get("account") or (link.account_number if link else "—"),
            property=now.get("property") or "1",
        ),
        speaker.plain("console.summary.reference", reference=reference),
        speaker.plain("console.summary.chat", chat=chat_id, name=now.get("name") or "—"),
    ]
    if link is not None:
        lines.append(
            speaker.plain(
                "console.summary.link",
                by=link.issued_by,
                issued=speaker.when(link.issued_ms),
                opened=speaker.when(link.opened_ms),
            )
        )
    lines += [
        speaker.plain("console.summary.status", status=speaker.plain(f"console.status.{status}")),
        speaker.plain(
            "console.summary.step",
            step=speaker.step(now.get("step", "")),
            since=speaker.when(since),
            waited=span((now_ms - since) / 1000 if since else None),
        ),
        speaker.plain(
            "console.summary.error",
            code=now.get("err") or "—",
            at=speaker.when(_int(now.get("err_at"))),
        ),
        speaker.plain("console.summary.path", path=" → ".join(path) or "—"),
    ]
    return "\n".join(lines)

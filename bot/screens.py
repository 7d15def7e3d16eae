"""Screens that belong to the chat around the wizard: links, status, support, odd input.

They are built from the same `Screen` view model as the wizard's, so one delivery path shows
both; all text comes from the catalogs through `t`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.handoff.service import (
    HandoffError,
    HandoffExpired,
    HandoffMalformed,
    HandoffUnknown,
    HandoffUsed,
)
from dialogs.callback_data import Action, encode
from dialogs.conversation import Conversation
from dialogs.i18n import available_locales, t
from dialogs.render.common import support_reference
from dialogs.screen import Button, CallbackButton, Delivery, Screen

if TYPE_CHECKING:
    from bot.turns import Turns

# Which message each refused hand-off gets (`bot.handoff.<kind>`).
_HANDOFF_PROBLEMS: dict[type[HandoffError], str] = {
    HandoffMalformed: "malformed",
    HandoffUnknown: "unknown",
    HandoffUsed: "used",
    HandoffExpired: "expired",
}


def _send(text: str, keyboard: list[list[Button]] | None = None) -> Screen:
    return Screen(text=text, keyboard=keyboard or [], delivery=Delivery.SEND)


def start_without_link(locale: str) -> Screen:
    return _send(t(locale, "bot.start.no_link"))


def handoff_problem(locale: str, error: HandoffError) -> Screen:
    return _send(t(locale, f"bot.handoff.{_HANDOFF_PROBLEMS[type(error)]}"))


def support_case(locale: str, conv: Conversation | None) -> Screen:
    def when(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"

    if conv is None or conv.account_number is None:
        return _send(t(locale, "bot.support.not_linked"))
    summary = t(
        locale,
        "bot.support.summary",
        reference=support_reference(conv),
        account=conv.account_number,
        wizard=conv.wizard_id or "—",
        step=conv.step_type or conv.state,
        error=conv.last_error or "—",
        started=when(conv.started_at),
        active=when(conv.last_activity_at),
    )
    return _send(summary)


def language_picker(locale: str) -> Screen:
    return _send(
        t(locale, "bot.language.choose"),
        [
            [CallbackButton(t(code, "bot.language.name"), encode(None, Action.LANGUAGE, code))]
            for code in available_locales()
        ],
    )


def unsupported_message(locale: str, *, voice: bool = False) -> Screen:
    """`voice`: this deployment listens to voice notes, so only photos and the like are not
    read (and the customer should hear that speaking works)."""
    return _send(t(locale, "voice.unsupported_message" if voice else "bot.unsupported_message"))


def unknown_command(locale: str) -> Screen:
    return _send(t(locale, "bot.unknown_command"))


def something_went_wrong(locale: str) -> Screen:
    return _send(t(locale, "bot.error.generic"))


def busy(locale: str) -> Screen:
    return _send(t(locale, "bot.busy"))


def slow_down(locale: str, seconds: int) -> Screen:
    return _send(t(locale, "bot.slow_down", seconds=seconds))


def driven_elsewhere(
    locale: str, key: str = "bot.driver.elsewhere", reference: str = "—"
) -> Screen:
    """For a chat bound to an account whose onboarding another chat drives (`key` says how
    it came to be), with the one button that acts here: take it over."""
    take_over = CallbackButton(t(locale, "bot.btn.take_over"), encode(None, Action.TAKE_OVER))
    return _send(t(locale, key, reference=reference), [[take_over]])


async def wait_overdue(service: Turns, chat_id: int) -> Screen:
    conv = await service.peek(chat_id)
    locale = service.locale_for(conv)
    reference = support_reference(conv)
    return _send(t(locale, "bot.wait_overdue", reference=reference))

"""Screens that belong to the chat around the wizard: links, status, support, odd input.

They are built from the same `Screen` view model as the wizard's, so one delivery path shows
both; all text comes from the catalogs through `t`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.state.bindings import Binding
from dialogs.conversation import Conversation
from dialogs.i18n import available_locales, t
from dialogs.screen import Button, CallbackButton, Delivery, Screen
from kraken.models import Device

if TYPE_CHECKING:
    from bot.service import ChatService

# Bot-level buttons carry this prefix; the wizard's own callback data starts with a version digit.
BOT_PREFIX = "b|"
SWITCH_YES = "b|switch|y"
SWITCH_NO = "b|switch|n"
LANGUAGE_PREFIX = "b|lang|"
TAKE_OVER = "b|takeover"


def _send(text: str, keyboard: list[list[Button]] | None = None) -> Screen:
    return Screen(text=text, keyboard=keyboard or [], delivery=Delivery.SEND)


def start_without_link(locale: str) -> Screen:
    return _send(t(locale, "bot.start.no_link"))


def handoff_problem(locale: str, kind: str) -> Screen:
    """`kind` is one of malformed, unknown, used, expired."""
    return _send(t(locale, f"bot.handoff.{kind}"))


def confirm_switch(locale: str, current: str, new: str) -> Screen:
    return _send(
        t(locale, "bot.switch.confirm", current=current, new=new),
        [
            [CallbackButton(t(locale, "bot.btn.switch_yes"), SWITCH_YES)],
            [CallbackButton(t(locale, "bot.btn.switch_no"), SWITCH_NO)],
        ],
    )


def switch_kept(locale: str) -> Screen:
    return _send(t(locale, "bot.switch.kept"))


def switch_expired(locale: str) -> Screen:
    return _send(t(locale, "bot.switch.expired"))


def status(locale: str, binding: Binding | None, devices: Sequence[Device]) -> Screen:
    if binding is None:
        return _send(t(locale, "bot.status.not_linked"))
    account = binding.account_number
    if not devices:
        return _send(t(locale, "bot.status.none", account=account))
    lines = [t(locale, "bot.status.header", count=len(devices), account=account)]
    for device in devices:
        lifecycle = device.status.current if device.status else None
        status_key = f"bot.device_status.{lifecycle or 'UNKNOWN'}"
        lines.append(
            t(
                locale,
                "bot.status.device",
                name=device.name
                or " ".join(filter(None, [device.make, device.model]))
                or device.id,
                status=t(locale, status_key),
            )
        )
    return _send("\n".join(lines))


def _device_name(device: Device) -> str:
    return device.name or " ".join(filter(None, [device.make, device.model])) or device.id


def support_case(locale: str, conv: Conversation | None, chat_id: int) -> Screen:
    def when(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"

    if conv is None or conv.account_number is None:
        return _send(t(locale, "bot.support.not_linked"))
    summary = t(
        locale,
        "bot.support.summary",
        reference=support_reference(chat_id, conv),
        account=conv.account_number,
        wizard=conv.wizard_id or "—",
        step=conv.step_type or conv.state,
        error=conv.last_error or "—",
        started=when(conv.started_at),
        active=when(conv.last_activity_at),
    )
    return _send(summary)


def support_reference(chat_id: int, conv: Conversation) -> str:
    """Short enough to read out on the phone, derived so support can find the case."""
    return f"SF-{conv.wizard_id or 'none'}-{chat_id % 10000:04d}"


def language_picker(locale: str) -> Screen:
    return _send(
        t(locale, "bot.language.choose"),
        [
            [CallbackButton(t(code, "bot.language.name"), LANGUAGE_PREFIX + code)]
            for code in available_locales()
        ],
    )


def unsupported_message(locale: str) -> Screen:
    return _send(t(locale, "bot.unsupported_message"))


def unknown_command(locale: str) -> Screen:
    return _send(t(locale, "bot.unknown_command"))


def something_went_wrong(locale: str) -> Screen:
    return _send(t(locale, "bot.error.generic"))


def busy(locale: str) -> Screen:
    return _send(t(locale, "bot.busy"))


def slow_down(locale: str, seconds: int) -> Screen:
    return _send(t(locale, "bot.slow_down", seconds=seconds))


def driven_elsewhere(locale: str, key: str = "bot.driver.elsewhere") -> Screen:
    """For a chat bound to an account whose onboarding another chat drives."""
    return _send(t(locale, key), [[CallbackButton(t(locale, "bot.btn.take_over"), TAKE_OVER)]])


def opened_elsewhere(locale: str, reference: str) -> Screen:
    return _send(t(locale, "bot.driver.opened_elsewhere", reference=reference))


async def wait_overdue(service: ChatService, chat_id: int) -> Screen:
    conv = await service.peek(chat_id)
    locale = service.locale_for(conv)
    reference = support_reference(chat_id, conv) if conv else "—"
    return _send(t(locale, "bot.wait_overdue", reference=reference))

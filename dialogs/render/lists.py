"""List steps: paged, filterable keyboards of options that fit Telegram's limits.

One option per row keeps long model names readable; six rows of options plus a navigation row
and an action row stay within eight rows. Buttons name their option by a hash of its id, not
by its position, so filtering, paging or a list that changed never turns a tap into another
option.
"""

from __future__ import annotations

from collections import Counter

from babel.numbers import format_decimal

from dialogs.callback_data import Action, option_hash
from dialogs.conversation import Conversation
from dialogs.i18n import has_key, t
from dialogs.render.common import button, cancel_row, paragraphs, raw_button
from dialogs.screen import Button, Screen
from kraken.models import ListOption, SelectDeviceTypeStep, SelectFromListStep

PAGE_SIZE = 6
MAX_LABEL = 48


def is_supported(option: ListOption) -> bool:
    """False only for options Kraken says have no live integration (unknown counts as yes)."""
    return option.is_integration_live is not False


def matching(step: SelectFromListStep, text: str) -> list[int]:
    """Indices of the options whose label, make or model contains ``text`` (any case)."""
    needle = text.strip().casefold()
    return [
        index
        for index, option in enumerate(step.options)
        if not needle
        or any(
            needle in (part or "").casefold() for part in (option.label, option.make, option.model)
        )
    ]


def option_label(conv: Conversation, step: SelectFromListStep, option: ListOption) -> str:
    """A button label: translated device types, models with their years, unsupported marked."""
    if isinstance(step, SelectDeviceTypeStep) and has_key(f"device_type.{option.id}"):
        name = t(conv.locale, f"device_type.{option.id}")
    else:
        name = option.label
    if option.model and option.available_from and option.available_to:
        name = t(
            conv.locale,
            "btn.option.years_range",
            name=name,
            start=option.available_from,
            end=option.available_to,
        )
    elif option.model and option.available_from:
        name = t(conv.locale, "btn.option.years_from", name=name, start=option.available_from)
    if not is_supported(option):
        name = t(conv.locale, "btn.option.not_live", name=name)
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


def _with_battery(conv: Conversation, label: str, option: ListOption) -> str:
    if option.battery_size is None:
        return label
    kwh = format_decimal(option.battery_size, locale=conv.locale)
    return t(conv.locale, "btn.option.battery", name=label, kwh=kwh)


def distinct_labels(conv: Conversation, step: SelectFromListStep) -> list[str]:
    """Labels for every option. Variants that would look identical are told apart by their
    battery size (what a driver knows their car by); any still alike get a running number."""
    labels = [option_label(conv, step, option) for option in step.options]
    counts = Counter(labels)
    labels = [
        _with_battery(conv, label, option) if counts[label] > 1 else label
        for label, option in zip(labels, step.options, strict=True)
    ]
    counts = Counter(labels)
    seen: dict[str, int] = {}
    numbered = []
    for label in labels:
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            label = t(conv.locale, "btn.option.duplicate", name=label, n=seen[label])
        numbered.append(label)
    return numbered


def _title(conv: Conversation, step: SelectFromListStep) -> str:
    key = f"step.list.title.{step.typename}"
    return t(conv.locale, key if has_key(key) else "step.list.title.generic")


def render_list(conv: Conversation, step: SelectFromListStep) -> Screen:
    indices = matching(step, conv.list_filter)
    pages = max(1, -(-len(indices) // PAGE_SIZE))
    page = min(max(conv.list_page, 0), pages - 1)
    shown = indices[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    loc = conv.locale

    if conv.list_filter and not indices:
        status = t(loc, "step.list.no_match", filter=conv.list_filter)
    elif conv.list_filter:
        status = t(loc, "step.list.filtered", count=len(indices), filter=conv.list_filter)
    elif pages > 1:
        status = t(loc, "step.list.count", count=len(indices))
    else:
        status = ""  # every option is on screen: counting them adds nothing
    if pages > 1:
        status += " · " + t(loc, "step.list.page", page=page + 1, pages=pages)
    long_list = len(step.options) > PAGE_SIZE and not conv.list_filter
    hints = [t(loc, "step.list.filter_hint")] if long_list else []
    if any(not is_supported(step.options[i]) for i in shown):
        hints.append(t(loc, "step.list.not_live_legend"))
    reselect = t(loc, "step.list.reselect_note") if conv.revisit_step_id else None
    text = paragraphs([reselect, _title(conv, step), status, "\n".join(hints)])

    labels = distinct_labels(conv, step)
    keyboard: list[list[Button]] = [
        [raw_button(conv, labels[i], Action.CHOOSE, option_hash(step.options[i].id))] for i in shown
    ]
    nav: list[Button] = []
    if page > 0:
        nav.append(button(conv, "btn.prev", Action.PAGE, page - 1))
    if conv.list_filter:
        nav.append(button(conv, "btn.clear_filter", Action.CLEAR_FILTER))
    if page < pages - 1:
        nav.append(button(conv, "btn.next", Action.PAGE, page + 1))
    if nav:
        keyboard.append(nav)
    keyboard.append(back_and_cancel(conv))
    return Screen(text=text, keyboard=keyboard)


def back_and_cancel(conv: Conversation) -> list[Button]:
    """Back (when an earlier list step can be re-selected) and cancel, on one row."""
    back = [button(conv, "btn.back", Action.BACK)] if conv.back_step_id else []
    return [*back, *cancel_row(conv)]


def not_live_notice(conv: Conversation, option: ListOption) -> str:
    return t(conv.locale, "step.list.not_live_explain", name=option.label)

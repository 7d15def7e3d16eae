"""The customer's devices after onboarding: the list, one device's card, and "are you sure?".

Pure functions of the conversation and the devices as Kraken returned them. Device buttons
name their device by a hash of its id (like list options) and are not bound to a wizard
step: a card stays usable after onboarding, and each action re-reads the device first.
"""

from __future__ import annotations

from collections.abc import Sequence

from dialogs.callback_data import Action, encode, option_hash
from dialogs.conversation import Conversation
from dialogs.i18n import has_key, t
from dialogs.render.common import paragraphs
from dialogs.screen import Button, CallbackButton, Screen
from kraken.models import Device, DeviceLifecycleStatus

# Boosting means charging now: it applies to cars and their chargers.
BOOSTABLE = ("ELECTRIC_VEHICLES", "CHARGE_POINTS")
SHOWN_ALERTS = 3


def device_button(conv: Conversation, key: str, action: Action, device: Device) -> Button:
    return CallbackButton(t(conv.locale, key), encode(None, action, option_hash(device.id)))


def device_name(conv: Conversation, device: Device) -> str:
    made = " ".join(part for part in (device.make, device.model) if part)
    return device.name or made or t(conv.locale, "step.done.device_fallback")


def _type(conv: Conversation, device: Device) -> str:
    key = f"device.type.{device.device_type}"
    return t(conv.locale, key if has_key(key) else "device.type.other")


def render_device_list(conv: Conversation, devices: Sequence[Device]) -> Screen:
    if not devices:
        return Screen(text=t(conv.locale, "device.list.none", account=conv.account_number))
    keyboard: list[list[Button]] = [
        [
            CallbackButton(
                f"{device_name(conv, d)} · {_type(conv, d)}",
                encode(None, Action.DEVICE_OPEN, option_hash(d.id)),
            )
        ]
        for d in devices
    ]
    return Screen(text=t(conv.locale, "device.list.title"), keyboard=keyboard)


def render_device_card(conv: Conversation, device: Device, *, more: bool = False) -> Screen:
    """What is true now, as `devices` says; `more`: the account has other devices."""
    loc, status = conv.locale, device.status
    lifecycle = status.current.value if status.current else "UNKNOWN"
    lines = [t(loc, "device.card.title", name=device_name(conv, device), type=_type(conv, device))]
    live = status.current is DeviceLifecycleStatus.LIVE
    if live:
        # Not the lifecycle text ("live — smart charging is on"): paused is paused.
        lines.append(t(loc, "device.card.paused" if status.is_suspended else "device.card.on"))
    else:
        lines.append(t(loc, "device.card.status", status=t(loc, f"bot.device_status.{lifecycle}")))
    if status.current_state:
        key = f"device.state.{status.current_state}"
        if has_key(key):
            lines.append(t(loc, "device.card.now", state=t(loc, key)))
    if status.state_of_charge is not None:
        limit = status.state_of_charge_limit or 100
        lines.append(t(loc, "device.card.battery", soc=status.state_of_charge, limit=limit))
    state = device.re_authentication_state
    reauth = bool(state is not None and state.is_eligible)
    alerts = [f"• {a.message}" for a in device.alerts if a.message][:SHOWN_ALERTS]
    text = paragraphs(
        [
            "\n".join(lines),
            t(loc, "device.card.reauth") if reauth else None,
            "\n".join([t(loc, "device.card.alerts"), *alerts]) if alerts else None,
        ]
    )
    return Screen(text=text, keyboard=_card_keyboard(conv, device, live, reauth, more))


def _card_keyboard(
    conv: Conversation, device: Device, live: bool, reauth: bool, more: bool
) -> list[list[Button]]:
    rows: list[list[Button]] = []
    if reauth:
        rows.append([device_button(conv, "btn.device.reauth", Action.DEVICE_REAUTH, device)])
    if live:
        if device.status.is_suspended:
            rows.append([device_button(conv, "btn.device.resume", Action.DEVICE_RESUME, device)])
        else:
            rows.append([device_button(conv, "btn.device.pause", Action.DEVICE_PAUSE, device)])
        if device.device_type in BOOSTABLE:
            boosting = device.status.current_state == "BOOSTING"
            key, action = (
                ("btn.device.stop_boost", Action.DEVICE_STOP_BOOST)
                if boosting
                else ("btn.device.boost", Action.DEVICE_BOOST)
            )
            rows.append([device_button(conv, key, action, device)])
    rows.append([device_button(conv, "btn.device.remove", Action.DEVICE_REMOVE, device)])
    if more:
        all_devices = CallbackButton(
            t(conv.locale, "btn.device.all"), encode(None, Action.DEVICES_LIST)
        )
        rows.append([all_devices])
    return rows


def render_device_confirm(conv: Conversation, device: Device, what: str) -> Screen:
    """Before what is not undone by a tap: pausing (it then charges at any price) and
    removing (it has to be set up again)."""
    key = f"device.confirm.{what}"
    if what == "pause" and device.device_type == "HEAT_PUMPS":
        key = "device.confirm.pause_heat_pump"
    yes = device_button(conv, f"btn.device.yes_{what}", Action.DEVICE_YES, device)
    no = device_button(conv, "btn.device.no", Action.DEVICE_NO, device)
    return Screen(text=t(conv.locale, key, name=device_name(conv, device)), keyboard=[[yes], [no]])


def device_problem(conv: Conversation, code: str | None, reasons: Sequence[str]) -> str:
    """A refused device action in plain words: each boost refusal reason, else the code's."""
    loc = conv.locale
    if reasons:
        said = [t(loc, f"device.bc.{r}") for r in reasons if has_key(f"device.bc.{r}")]
        if said:
            return "\n".join([t(loc, "device.boost_refused"), *(f"• {s}" for s in said)])
    key = f"device.error.{code}"
    return t(loc, key if has_key(key) else "device.error.other")

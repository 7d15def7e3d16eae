"""Renderers for the wizard's steps other than lists: one function per step family, each a pure
function from (conversation, step) to a Screen."""

from __future__ import annotations

from collections.abc import Sequence

from dialogs.callback_data import Action, encode
from dialogs.conversation import Conversation
from dialogs.i18n import has_key, t
from dialogs.render.common import button, cancel_row, link, openable, paragraphs, support_reference
from dialogs.render.devices import device_button
from dialogs.render.lists import back_and_cancel
from dialogs.screen import Button, CallbackButton, InputExpectation, Screen
from kraken.models import (
    AuthFlowStep,
    Device,
    DeviceRegistrationStep,
    Integration,
    RetryStep,
    SelectVehicleOrChargePointStep,
    StepBase,
    TerminalErrorStep,
    TeslaModifyScopesStep,
    TeslaRegistrationFailedStep,
    TeslaSetupVirtualKeyStep,
    TestChargeStep,
    UserActionRequiredStep,
    UserInput,
    UserInputRequiredStep,
    WaitForLiveIntegrationStep,
    WaitForTransitionStep,
)

# The car first: it reports its state of charge, so smart charging can target a level.
ORDER = (Integration.ELECTRIC_VEHICLE, Integration.CHARGE_POINT)


def render_integration(conv: Conversation, step: SelectVehicleOrChargePointStep) -> Screen:
    keyboard = [
        [button(conv, f"btn.integration.{choice.value}", Action.INTEGRATION, choice.value)]
        for choice in ORDER
    ]
    keyboard.append(back_and_cancel(conv))
    return Screen(text=t(conv.locale, "step.integration.body"), keyboard=keyboard)


def render_virtual_key(conv: Conversation, step: TeslaSetupVirtualKeyStep) -> Screen:
    keyboard: list[list[Button]] = []
    if step.uri and openable(step.uri):
        keyboard.append([link(conv, "btn.add_key", step.uri)])
    keyboard += [[button(conv, "btn.key_added", Action.KEY_ADDED)], cancel_row(conv)]
    text = t(conv.locale, "step.virtual_key.body", key_name=step.key or "")
    return Screen(text=text, keyboard=keyboard)


def render_user_action(conv: Conversation, step: UserActionRequiredStep) -> Screen:
    loc = conv.locale
    items: list[str] = []
    links: list[Button] = []
    for n, action in enumerate(step.user_actions, start=1):
        description = action.description or action.user_action or ""
        items.append(t(loc, "step.action.item", index=n, description=description))
        if action.uri and openable(action.uri):
            links.append(link(conv, "btn.open_link", action.uri, index=n))
        elif action.uri:
            items.append(t(loc, "step.action.address", address=action.uri))
    keyboard: list[list[Button]] = [links[i : i + 2] for i in range(0, len(links), 2)]
    keyboard += [[button(conv, "btn.action_done", Action.ACTION_DONE)], cancel_row(conv)]
    return Screen(
        text=paragraphs([t(loc, "step.action.body"), "\n".join(items)]), keyboard=keyboard
    )


def render_retry_step(conv: Conversation, step: RetryStep) -> Screen:
    keyboard = [[button(conv, "btn.retry", Action.RETRY)], cancel_row(conv)]
    return Screen(text=t(conv.locale, "step.retry.body"), keyboard=keyboard)


def _device_label(conv: Conversation, device: Device | None) -> str:
    named = device.name or " ".join(filter(None, [device.make, device.model])) if device else None
    return named or conv.device_name or t(conv.locale, "step.done.device_fallback")


def render_live(conv: Conversation, device: Device | None = None) -> Screen:
    """What is now true, as `devices` says: the device is LIVE, under smart control or with
    smart control paused."""
    suspended = device is not None and device.status.is_suspended
    key = "device.live.suspended" if suspended else "device.live.body"
    text = t(conv.locale, key, device=_device_label(conv, device))
    # Alerts about the device come by themselves (the notifier); say how to stop them.
    text = paragraphs([text, t(conv.locale, "step.done.alerts")])
    manage = (
        device_button(conv, "btn.device.manage", Action.DEVICE_OPEN, device)
        if device is not None
        else CallbackButton(t(conv.locale, "btn.device.manage"), encode(None, Action.DEVICES_LIST))
    )
    return Screen(text=text, keyboard=[[manage]])


def render_completing(conv: Conversation, device: Device | None) -> Screen:
    """The wizard is done but the device is not LIVE yet: say what is still happening."""
    status = device.status.current if device is not None else None
    state = t(conv.locale, f"bot.device_status.{status or 'UNKNOWN'}")
    text = t(conv.locale, "step.completing.body", device=_device_label(conv, device), state=state)
    keyboard = [[button(conv, "btn.check_now", Action.CHECK_NOW)]]
    return Screen(text=paragraphs([text, t(conv.locale, "step.wait.footer")]), keyboard=keyboard)


def render_cancelled_elsewhere(conv: Conversation) -> Screen:
    keyboard = [[button(conv, "btn.start_again", Action.START_AGAIN)]]
    return Screen(text=t(conv.locale, "step.cancelled_elsewhere.body"), keyboard=keyboard)


def render_ended(conv: Conversation, device: Device | None) -> Screen:
    """Complete, but the device is retired, failed its test, or cannot be found: no
    pretending, and a reference for support."""
    status = device.status.current if device is not None else None
    state = t(conv.locale, f"bot.device_status.{status or 'UNKNOWN'}")
    text = t(conv.locale, "step.ended.body", device=_device_label(conv, device), state=state)
    keyboard = [[button(conv, "btn.start_again", Action.START_AGAIN)]]
    return Screen(text=paragraphs([text, _reference(conv, status)]), keyboard=keyboard)


def render_unsupported(conv: Conversation) -> Screen:
    return Screen(text=t(conv.locale, "step.unsupported.body"), keyboard=[back_and_cancel(conv)])


def _reference(conv: Conversation, code: str | None = None) -> str:
    return t(conv.locale, "step.support_reference", reference=support_reference(conv, code))


# The two ways out of a failed Tesla registration (Kraken takes them as list options).
TESLA_REMEDIES = ("MODIFY_SCOPES", "RETRY_AUTHENTICATION")


def render_tesla_failed(conv: Conversation, step: TeslaRegistrationFailedStep) -> Screen:
    keyboard = [
        [button(conv, f"btn.tesla.{remedy.lower()}", Action.TESLA_REMEDY, remedy)]
        for remedy in TESLA_REMEDIES
    ]
    return Screen(
        text=t(conv.locale, "step.tesla_failed.body"), keyboard=[*keyboard, cancel_row(conv)]
    )


def render_terminal(conv: Conversation, step: TerminalErrorStep) -> Screen:
    loc = conv.locale
    items = "\n".join(
        t(
            loc,
            "step.terminal.item",
            description=e.description or e.error_code,
            code=e.error_code,
        )
        for e in step.errors
    )
    code = step.errors[0].error_code if step.errors else None
    text = paragraphs([t(loc, "step.terminal.body"), items, _reference(conv, code)])
    keyboard = [[button(conv, "btn.start_again", Action.START_AGAIN)]]
    return Screen(text=text, keyboard=keyboard)


def render_unknown(conv: Conversation, step: StepBase | None, code: str | None = None) -> Screen:
    """A step the chat cannot complete — a type we do not know, or one this Kraken instance
    lacks the mutation for (`code`): finish it in the app; we keep checking."""
    what = code or (step.typename if step is not None else None)
    text = paragraphs([t(conv.locale, "step.unknown.body"), _reference(conv, what)])
    keyboard = [[button(conv, "btn.check_now", Action.CHECK_NOW)], cancel_row(conv)]
    return Screen(text=text, keyboard=keyboard)


def current_input(conv: Conversation, step: UserInputRequiredStep) -> UserInput | None:
    """The input being asked for, or None once every input has an answer (or was skipped)."""
    inputs = step.user_inputs
    return inputs[conv.input_index] if conv.input_index < len(inputs) else None


def is_optional(user_input: UserInput) -> bool:
    return user_input.is_required is False


def render_input(conv: Conversation, step: UserInputRequiredStep) -> Screen:
    user_input = current_input(conv, step) or step.user_inputs[0]
    loc = conv.locale
    total = len(step.user_inputs)
    rejected = (
        t(loc, "step.input.rejected", message=step.error_message)
        if step.error_message and conv.input_index == 0
        else None
    )
    text = paragraphs(
        [
            rejected,
            t(loc, "step.input.progress", index=conv.input_index + 1, total=total)
            if total > 1
            else None,
            t(loc, "step.input.prompt", description=user_input.description or user_input.key),
            t(loc, "step.input.optional") if is_optional(user_input) else None,
        ]
    )
    keyboard: list[list[Button]] = []
    if is_optional(user_input):
        keyboard.append([button(conv, "btn.skip", Action.SKIP_INPUT, conv.input_index)])
    keyboard.append(back_and_cancel(conv))
    expects = InputExpectation(
        key=user_input.key, regex=user_input.regex, optional=is_optional(user_input)
    )
    return Screen(text=text, keyboard=keyboard, expects=expects)


CONTINUATION_KEY = "continuation_uri"


def render_sign_in(conv: Conversation, step: AuthFlowStep | TeslaModifyScopesStep) -> Screen:
    loc = conv.locale
    if isinstance(step, AuthFlowStep):
        body, url, label = "step.auth.body", step.authorization_uri, "btn.sign_in"
        previous = step.error_message
    else:
        body, url, label = (
            "step.tesla_scopes.body",
            step.modify_scopes_uri,
            "btn.update_permissions",
        )
        previous = None
    keyboard: list[list[Button]] = []
    if url and openable(url):
        keyboard.append([link(conv, label, url)])
    if conv.awaiting_url:
        text = t(loc, "step.auth.paste_prompt")
    else:
        text = paragraphs(
            [
                t(loc, "step.auth.previous_error", message=previous) if previous else None,
                t(loc, body),
                t(loc, "step.auth.paste_hint"),
            ]
        )
        keyboard.append([button(conv, "btn.signed_in", Action.SIGNED_IN)])
    keyboard.append(back_and_cancel(conv))
    return Screen(text=text, keyboard=keyboard, expects=InputExpectation(key=CONTINUATION_KEY))


TEST_MINUTES = 7


def reason_advice(conv: Conversation, reasons: Sequence[str]) -> str:
    """One line of advice per refusal/failure reason, generic advice for unknown ones."""
    keys = [f"test_charge.reason.{r}" for r in reasons]
    known = [key if has_key(key) else "test_charge.reason.generic" for key in keys]
    unique = list(dict.fromkeys(known)) or ["test_charge.reason.generic"]
    return "\n".join(f"• {t(conv.locale, key)}" for key in unique)


def render_test_charge(
    conv: Conversation,
    step: TestChargeStep,
    refusal_reasons: Sequence[str] = (),
) -> Screen:
    loc = conv.locale
    keyboard: list[list[Button]]
    if step.error is not None or refusal_reasons:
        reasons = list(refusal_reasons) or (step.error.reasons if step.error else [])
        text = paragraphs(
            [
                t(loc, "step.test_charge.failed"),
                reason_advice(conv, reasons),
                t(loc, "step.test_charge.try_again"),
            ]
        )
        keyboard = [[button(conv, "btn.retry", Action.CONFIRM_TEST)], cancel_row(conv)]
    elif step.is_started:
        text = paragraphs(
            [t(loc, "step.test_charge.running", count=TEST_MINUTES), t(loc, "step.wait.footer")]
        )
        keyboard = [[button(conv, "btn.check_now", Action.CHECK_NOW)], cancel_row(conv)]
    else:
        text = t(loc, "step.test_charge.checklist")
        keyboard = [[button(conv, "btn.start_test_charge", Action.CONFIRM_TEST)], cancel_row(conv)]
    return Screen(text=text, keyboard=keyboard)


WaitingStep = DeviceRegistrationStep | WaitForTransitionStep | WaitForLiveIntegrationStep


def render_waiting(conv: Conversation, step: WaitingStep) -> Screen:
    text = paragraphs(
        [t(conv.locale, f"step.wait.{step.typename}"), t(conv.locale, "step.wait.footer")]
    )
    keyboard = [[button(conv, "btn.check_now", Action.CHECK_NOW)], cancel_row(conv)]
    return Screen(text=text, keyboard=keyboard)

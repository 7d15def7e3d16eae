"""TestCharge: an explicit checklist first, then progress, then what to do if it failed."""

from __future__ import annotations

from collections.abc import Sequence

from dialogs.callback_data import Action
from dialogs.conversation import Conversation
from dialogs.i18n import has_key, t
from dialogs.render.common import button, cancel_row, paragraphs
from dialogs.screen import Button, Screen
from kraken.models import TestChargeStep

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

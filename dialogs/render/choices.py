"""SelectVehicleOrChargePoint: both devices can be integrated; recommend the car."""

from __future__ import annotations

from dialogs.callback_data import Action
from dialogs.conversation import Conversation
from dialogs.i18n import t
from dialogs.render.common import button
from dialogs.render.lists import back_and_cancel
from dialogs.screen import Screen
from kraken.models import Integration, SelectVehicleOrChargePointStep

# The car first: it reports its state of charge, so smart charging can target a level.
ORDER = (Integration.ELECTRIC_VEHICLE, Integration.CHARGE_POINT)


def render_integration(conv: Conversation, step: SelectVehicleOrChargePointStep) -> Screen:
    keyboard = [
        [button(conv, f"btn.integration.{choice.value}", Action.INTEGRATION, choice.value)]
        for choice in ORDER
    ]
    keyboard.append(back_and_cancel(conv))
    return Screen(text=t(conv.locale, "step.integration.body"), keyboard=keyboard)

"""Taps on a list do not re-read what the previous mutation's answer already said."""

from __future__ import annotations

from typing import Any

from dialogs.wizard import WizardSnapshots
from harness.conversation import DialogTester
from kraken.client import KrakenClient
from kraken.models import parse_wizard

from .conftest import ACCOUNT, PROPERTY, Sandbox


def wizard(step: dict[str, Any] | None, wizard_id: str = "W1") -> Any:
    return parse_wizard({"id": wizard_id, "isComplete": step is None, "currentStep": step})


LIST = {"__typename": "SelectHeatPumpMake", "id": "s1", "options": []}
WAIT = {"__typename": "WaitForTransition", "id": "s2"}


def test_recalls_a_list_step_only_while_the_chat_is_on_it() -> None:
    snapshots = WizardSnapshots()
    snapshots.remember(wizard(LIST))
    assert snapshots.recall("W1", "s1") is not None
    assert snapshots.recall("W1", "older-step") is None
    assert snapshots.recall("W2", "s1") is None


def test_steps_that_change_under_the_same_id_are_never_served() -> None:
    snapshots = WizardSnapshots()
    snapshots.remember(wizard(LIST))
    snapshots.remember(wizard(WAIT))  # the wizard moved on to a wait: forget the list
    assert snapshots.recall("W1", "s1") is None
    assert snapshots.recall("W1", "s2") is None
    assert len(snapshots) == 0


def test_the_oldest_wizards_are_dropped_first() -> None:
    snapshots = WizardSnapshots(maxsize=2)
    for name in ("A", "B", "C"):
        snapshots.remember(wizard(LIST, wizard_id=name))
    assert [snapshots.recall(n, "s1") is not None for n in "ABC"] == [False, True, True]


class CountingKraken:
    """The real client, with a log of which operations each user action cost."""

    def __init__(self, client: KrakenClient) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await method(*args, **kwargs)

        return counted


async def test_each_choice_costs_one_mutation_and_no_read(
    kraken: KrakenClient, sandbox: Sandbox
) -> None:
    counting = CountingKraken(kraken)
    user = DialogTester(counting, advance_clock=sandbox.advance)
    await user.begin(ACCOUNT, PROPERTY)
    counting.calls.clear()
    await user.tap("Heat pump")
    assert counting.calls == ["select_from_list"]
    counting.calls.clear()
    await user.tap("Next")  # paging re-renders the remembered list
    await user.tap("Previous")
    await user.tap("Daikin")
    assert counting.calls == ["select_from_list"]

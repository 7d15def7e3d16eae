"""What a turn asks Kraken, and that asking less never says what Kraken no longer says.

A LIVE chat's wizard is complete and cannot change, so re-showing the chat asks `devices`
alone; a wizard read among the ones not cancelled needs no second look to know it is
complete. Every ending is compared with the one the full path (an older conversation, a
fresh process) reaches from the same answers.
"""

from __future__ import annotations

import pytest

from dialogs.conversation import Conversation
from dialogs.events import StartWatching, StopWatching
from dialogs.machine import State, WaitReason
from dialogs.wizard import WizardSnapshots, read_ending, read_wizard
from harness.conversation import DialogTester
from kraken.models import Device

from .fakes import FakeKraken, device, step, wizard

WAIT = step("WaitForTransition", "wait")
ZAPPI = "Zappi"


def names(fake: FakeKraken) -> list[str]:
    return [name for name, _ in fake.calls]


async def live(fake: FakeKraken) -> Conversation:
    """A chat taken to LIVE, as it is stored after that turn."""
    fake.current = wizard(WAIT, display_name=ZAPPI)
    tester = DialogTester(fake)
    await tester.begin("A-1", 1)
    await tester.wizard_changed(wizard(None, WAIT, display_name=ZAPPI))
    assert tester.state == State.LIVE
    fake.current = wizard(None, WAIT, display_name=ZAPPI)
    return Conversation.from_json(tester.conversation.to_json())


def stored_by_an_older_release(conv: Conversation) -> Conversation:
    """The same chat as a release without `wizard_device_id` stored it."""
    body = conv.to_dict()
    assert body.pop("wizard_device_id") == "d1"
    return Conversation.from_dict(body)


def in_a_fresh_process(fake: FakeKraken, conv: Conversation) -> DialogTester:
    """A tester with the stored conversation and nothing remembered of earlier turns."""
    tester = DialogTester(fake)
    tester.conversation = conv
    fake.calls.clear()
    return tester


class TestLiveChat:
    async def test_a_message_costs_one_read_of_devices(self) -> None:
        fake = FakeKraken(wizard(WAIT))
        tester = in_a_fresh_process(fake, await live(fake))
        screen = await tester.type("hello")
        assert fake.calls == [("devices", ("A-1", 1))]
        assert tester.state == State.LIVE and "Zappi is connected" in screen.text
        assert "wasn't expecting a message" in screen.text

    async def test_a_language_change_costs_one_read_of_devices(self) -> None:
        fake = FakeKraken(wizard(WAIT))
        tester = in_a_fresh_process(fake, await live(fake))
        await tester.language("de")
        assert names(fake) == ["devices"] and tester.state == State.LIVE

    async def test_check_now_costs_one_read_of_devices(self) -> None:
        fake = FakeKraken(wizard(WAIT))
        tester = in_a_fresh_process(fake, await live(fake))
        await tester.check_now()
        assert names(fake) == ["devices"] and tester.state == State.LIVE

    @pytest.mark.parametrize(
        ("now", "state", "says"),
        [
            ([device("LIVE", suspended=True)], State.LIVE, "Smart control is paused"),
            ([device("RETIRED")], State.ENDED, "isn't under smart control"),
            ([device("FAILED_ONBOARDING_TEST")], State.ENDED, "SF-w1/FAILED_ONBOARDING_TEST"),
            ([device("PENDING_LIVE")], State.COMPLETING, "Almost there"),
            ([], State.COMPLETING, "Almost there"),
        ],
        ids=["paused", "removed", "failed", "not-live-yet", "gone"],
    )
    async def test_a_device_that_changed_ends_as_the_full_path_ends_it(
        self, now: list[Device], state: State, says: str
    ) -> None:
        fake = FakeKraken(wizard(WAIT))
        conv = await live(fake)
        fake.device_list = now
        lean = in_a_fresh_process(fake, conv)
        await lean.type("hello")
        assert names(fake) == ["devices"]
        full = in_a_fresh_process(fake, stored_by_an_older_release(conv))
        await full.type("hello")
        assert names(fake) == ["wizards", "devices"]  # the old path, as the fallback
        assert lean.state == full.state == state and says in lean.last_screen.text
        assert lean.last_screen == full.last_screen
        assert lean.last_effects == full.last_effects
        assert lean.conversation.wizard_device_id is None or state is State.LIVE
        if state is State.COMPLETING:
            assert StartWatching("w1", WaitReason.DEVICE_LIVE) in lean.last_effects

    async def test_another_device_of_the_same_type_does_not_stand_in_for_the_one_set_up(
        self,
    ) -> None:
        fake = FakeKraken(wizard(WAIT))
        conv = await live(fake)
        fake.device_list = [device("LIVE", device_id="d2"), device("RETIRED")]
        tester = in_a_fresh_process(fake, conv)
        screen = await tester.type("hello")
        assert tester.state == State.ENDED and "connected" not in screen.text

    async def test_an_older_conversation_takes_the_full_path_once_then_the_lean_one(
        self,
    ) -> None:
        fake = FakeKraken(wizard(WAIT))
        stored = '{"version":1,"account_number":"A-1","property_id":1,"wizard_id":"w1",'
        stored += '"state":"live","device_name":"Zappi"}'
        fake.current = wizard(None, WAIT, display_name=ZAPPI)
        tester = in_a_fresh_process(fake, Conversation.from_json(stored))
        screen = await tester.type("hello")
        assert names(fake) == ["wizards", "devices"]
        assert tester.state == State.LIVE and "Zappi is connected" in screen.text
        assert tester.conversation.wizard_device_id == "d1"
        fake.calls.clear()
        await tester.type("hello")
        assert names(fake) == ["devices"]

    async def test_an_older_conversation_still_learns_of_a_cancellation(self) -> None:
        fake = FakeKraken(wizard(None, WAIT), cancelled={"w1"})
        stored = '{"version":1,"account_number":"A-1","property_id":1,"wizard_id":"w1",'
        stored += '"state":"live"}'
        tester = in_a_fresh_process(fake, Conversation.from_json(stored))
        screen = await tester.type("hello")
        assert tester.state == State.CANCELLED and "was cancelled" in screen.text
        assert "devices" not in names(fake)

    async def test_device_screens_read_devices_and_never_the_wizard(self) -> None:
        fake = FakeKraken(wizard(WAIT))
        tester = in_a_fresh_process(fake, await live(fake))
        await tester.type("hello")
        await tester.tap("Manage")
        await tester.type("hello")
        await tester.check_now()
        await tester.language("fr")
        await tester.cancel()
        await tester.devices()
        assert tester.state == State.DEVICE
        assert names(fake) == ["devices"] * 7


class TestOnboardingReads:
    async def test_a_wizard_read_complete_needs_no_second_look_at_the_list(self) -> None:
        fake = FakeKraken(wizard(WAIT, display_name=ZAPPI))
        tester = DialogTester(fake)
        await tester.begin("A-1", 1)
        fake.current = wizard(None, WAIT, display_name=ZAPPI)
        fake.calls.clear()
        screen = await tester.check_now()
        assert names(fake) == ["wizards", "devices"]  # was: the wizard, the list, devices
        assert tester.state == State.LIVE and "Zappi is connected" in screen.text
        assert StopWatching("w1") in tester.last_effects

    async def test_a_wizard_cancelled_in_the_app_is_still_told_as_cancelled(self) -> None:
        fake = FakeKraken(wizard(WAIT))
        tester = DialogTester(fake)
        await tester.begin("A-1", 1)
        fake.current = wizard(None, WAIT)
        fake.cancelled.add("w1")
        fake.calls.clear()
        screen = await tester.check_now()
        assert tester.state == State.CANCELLED and "was cancelled" in screen.text
        assert "devices" not in names(fake)

    async def test_a_complete_wizard_is_remembered_only_from_a_list_without_cancelled_ones(
        self,
    ) -> None:
        fake = FakeKraken(wizard(None, WAIT), cancelled={"w1"})
        snapshots = WizardSnapshots()
        read = await read_wizard(fake, "A-1", "w1", snapshots)
        assert read.current_step is None and not snapshots.known_complete("w1")
        ending = await read_ending(fake, "A-1", 1, read, snapshots)
        assert ending.cancelled
        fake.cancelled.clear()
        fake.calls.clear()
        read = await read_wizard(fake, "A-1", "w1", snapshots)
        assert snapshots.known_complete("w1")
        ending = await read_ending(fake, "A-1", 1, read, snapshots)
        assert not ending.cancelled and ending.device is not None
        assert names(fake) == ["wizards", "devices"]

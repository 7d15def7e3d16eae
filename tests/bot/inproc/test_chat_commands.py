"""Commands, odd messages and a Kraken outage, as the customer sees them."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.handlers import COMMANDS, publish_commands
from dialogs.i18n import t
from harness.deployment import InProcessDeployment
from sandbox.kraken.faults import Fault
from tests.bot.inproc.conftest import ACCOUNT, OTHER_ACCOUNT, USER


async def newest_text(d: InProcessDeployment) -> str:
    return (await d.sim.transcript(USER))[-1].text


async def test_a_link_for_another_account_asks_before_switching(
    started: InProcessDeployment,
) -> None:
    d = started
    token = await d.handoff_token(OTHER_ACCOUNT)
    await d.user_says(USER, f"/start {token}")
    assert f"linked to account {ACCOUNT}" in await newest_text(d)
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.account_number == ACCOUNT

    await d.user_taps(USER, "Switch")
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.account_number == OTHER_ACCOUNT


async def test_declining_a_switch_leaves_the_link_usable(started: InProcessDeployment) -> None:
    d = started
    token = await d.handoff_token(OTHER_ACCOUNT)
    await d.user_says(USER, f"/start {token}")
    await d.user_taps(USER, "No, keep")
    assert "nothing changed" in await newest_text(d)
    # Before: the question had already used the link up, so saying "no" lost it for good.
    await d.user_says(USER, f"/start {token}")
    assert f"linked to account {ACCOUNT}" in await newest_text(d)
    await d.user_taps(USER, "Switch")
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.account_number == OTHER_ACCOUNT


async def test_the_switch_question_reads_the_binding_when_the_conversation_is_lost(
    started: InProcessDeployment,
) -> None:
    d = started
    await d.runtime.store.delete(USER)  # the conversation expired; the binding did not
    token = await d.handoff_token(OTHER_ACCOUNT)
    await d.user_says(USER, f"/start {token}")
    assert f"linked to account {ACCOUNT}" in await newest_text(d)
    binding = await d.runtime.turns.bindings.get(USER)
    assert binding is not None and binding.account_number == ACCOUNT


async def test_a_stranger_leaves_only_a_short_lived_trace(
    deployment: InProcessDeployment,
) -> None:
    d = deployment
    stranger = 4242
    await d.user_says(stranger, "hello")
    assert "link" in await newest_text_of(d, stranger)
    key = d.runtime.keys.conversation(stranger)
    assert 0 < await d.runtime.redis.client.ttl(key) <= 24 * 3600
    assert await d.runtime.turns.bindings.get(stranger) is None


async def newest_text_of(d: InProcessDeployment, user: int) -> str:
    return (await d.sim.transcript(user))[-1].text


async def test_status_is_still_the_devices_command(started: InProcessDeployment) -> None:
    d = started
    await d.user_says(USER, "/status")
    assert f"no device under smart control on account {ACCOUNT}" in await newest_text(d)


async def test_support_gives_a_reference_for_the_case(started: InProcessDeployment) -> None:
    d = started
    await d.user_says(USER, "/support")
    text = await newest_text(d)
    assert "Support reference" in text and f"Account: {ACCOUNT}" in text


async def test_language_offers_a_picker_and_switches(started: InProcessDeployment) -> None:
    d = started
    await d.user_says(USER, "/language")
    picker = (await d.sim.transcript(USER))[-1]
    assert picker.text == "Which language would you like?" and "Deutsch" in picker.labels
    await d.user_taps(USER, "Deutsch")
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.locale == "de"


async def test_an_unknown_command_points_at_help(started: InProcessDeployment) -> None:
    d = started
    await d.user_says(USER, "/frobnicate")
    assert "I don't know that command" in await newest_text(d)


async def test_a_sticker_gets_a_helpful_answer(started: InProcessDeployment) -> None:
    d = started
    sticker: dict[str, Any] = {
        "update_id": 10_000,
        "message": {
            "message_id": 900,
            "date": 1_800_000_000,
            "chat": {"id": USER, "type": "private", "first_name": "Ann"},
            "from": {"id": USER, "is_bot": False, "first_name": "Ann"},
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "s1u",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            },
        },
    }
    await d.process(Update.de_json(sticker, d.runtime.application.bot))
    assert "but not photos, stickers or other files" in await newest_text(d)


async def test_the_user_hears_back_when_kraken_is_down(started: InProcessDeployment) -> None:
    d = started
    d.sandbox.faults.add(Fault(operation="SelectFromList", times=50, http_status=502))
    before = await d.runtime.turns.peek(USER)
    await d.user_taps(USER, "Heat pump")

    text = await d.sim.transcript_text(USER)
    assert "didn't go through" in text or "something went wrong" in text
    after = await d.runtime.turns.peek(USER)
    assert before is not None and after is not None and after.step_id == before.step_id


async def test_the_command_menu_is_published_in_every_language(
    deployment: InProcessDeployment,
) -> None:
    bot = deployment.runtime.application.bot
    await publish_commands(bot, "en")
    default = await bot.get_my_commands()
    german = await bot.get_my_commands(language_code="de")
    assert [c.command for c in default] == list(COMMANDS)
    assert [c.command for c in german] == list(COMMANDS)
    assert dict((c.command, c.description) for c in default)["status"] == t(
        "en", "bot.command.status"
    )
    assert (
        dict((c.command, c.description) for c in german)["status"] == "Deine Geräte und ihr Status"
    )

"""Webhook mode as production scales it: two web processes behind a balancer and two
notifier workers, all on one Redis.

The emulator delivers every update to the balancer (this module's `RoundRobinProxy`), which
alternates between the two `python -m bot web` processes; two `python -m bot worker`
processes share the notifier's looks. One customer's journey must read exactly as it does
with a single process, whichever process takes a tap or a look, and whichever one dies.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from bot.state.keys import KeySpace
from bot.web import SECRET_HEADER, WEBHOOK_PATH
from scripts.processes import ManagedProcess, free_port
from tests.e2e.conftest import FIRST_SCREEN, deployment
from tests.e2e.harness import User, eventually
from tests.e2e.kraken_sandbox import KrakenSandbox
from tests.e2e.proxy import RoundRobinProxy, serving
from tests.e2e.stack import BOT_TOKEN, Look, Mark, World, looks_logged
from tests.e2e.test_journeys import CONNECTED, PAST_ANY_WAIT, START_TEST, TEST_CHECKLIST

pytestmark = pytest.mark.e2e

NOTIFIERS = ("notifier1", "notifier2")
_update_ids = itertools.count(900_000_000)


@dataclass
class Webhook:
    world: World
    proxy: RoundRobinProxy
    webs: list[str]
    """The web processes' URLs behind the balancer, web1's first."""


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory, e2e_redis_url: str) -> Iterator[Webhook]:
    with deployment(tmp_path_factory.mktemp("e2e-webhook"), e2e_redis_url) as world:
        ports = [free_port(), free_port()]
        webs = [f"http://127.0.0.1:{port}" for port in ports]
        proxy = RoundRobinProxy(webs)
        with serving(proxy, world.bot_port):
            for n, port in enumerate(ports, start=1):
                world.start(world.bot_process(f"web{n}", "web", port=port))
            for name in NOTIFIERS:
                world.start(world.bot_process(name, "worker"))
            yield Webhook(world, proxy, webs)


@pytest.fixture
def world(webhook: Webhook) -> World:
    return webhook.world


@pytest.fixture
def proxy(webhook: Webhook) -> RoundRobinProxy:
    return webhook.proxy


@pytest.fixture
def webs(webhook: Webhook) -> list[str]:
    return webhook.webs


@pytest.fixture(autouse=True)
async def notifiers(webhook: Webhook) -> list[ManagedProcess]:
    """Both notifiers running, with a live heartbeat, before every test: one that a test
    killed and did not bring back is started again here."""
    return [await webhook.world.notifier(name) for name in NOTIFIERS]


async def _wizard_id(user: User) -> str:
    wizard_id: str = (await user.sandbox.only_wizard(user.account))["id"]
    return wizard_id


def _looks(notifiers: list[ManagedProcess], wizard_id: str) -> dict[str, list[Look]]:
    return {notifier.name: looks_logged(notifier, wizard_id) for notifier in notifiers}


async def _every_look_ended(notifiers: list[ManagedProcess], wizard_id: str) -> list[Look]:
    """Once every waited step's job has ended in some notifier (a customer is told before
    the look that told them returns), the looks at the wizard that ended, across notifiers."""
    ended: list[Look] = []

    async def settled() -> bool:
        looks = [look for found in _looks(notifiers, wizard_id).values() for look in found]
        ended[:] = [look for look in looks if look.mark is Mark.FINISHED]
        return {look.job for look in looks} == {look.job for look in ended}

    await eventually(settled)
    return ended


async def test_a_journey_across_two_web_processes_and_two_notifiers_goes_live_once(
    linked: User, proxy: RoundRobinProxy, webs: list[str], notifiers: list[ManagedProcess]
) -> None:
    await linked.choose("Electric car or charger", "Renault", "Zoe", "No smart charger")
    waiting = await linked.tap("Done", expect="Waiting for the manufacturer")
    await linked.wait_new_message(CONNECTED, after=waiting.id)
    assert proxy.backends_hit(WEBHOOK_PATH) == set(webs)
    assert await linked.count_bot_messages(CONNECTED) == 1
    assert await linked.count_bot_messages("Waiting for the manufacturer") == 1
    assert await linked.count_bot_messages("went wrong") == 0
    assert await linked.sandbox.device_statuses(linked.account) == ["LIVE"]
    # The notifiers took the wait's looks from the queue they share: each waited step's job
    # ended once, in one of them, however many looks it took and whoever ran them.
    ended = await _every_look_ended(notifiers, await _wizard_id(linked))
    assert ended
    assert len({look.job for look in ended}) == len(ended), ended
    assert all(notifier.running() for notifier in notifiers)


# The Kraken read every look at a wizard starts with.
LOOK_READ = "SmartFlexOnboardingWizards"


async def _armed_faults(sandbox: KrakenSandbox) -> list[dict[str, Any]]:
    """The sandbox's faults still armed: it lists them in its answer to an arming, and a
    fault armed zero times adds nothing."""
    answer = await sandbox.hook("faults", {"operation": LOOK_READ, "times": 0, "latencyMs": 1})
    armed: list[dict[str, Any]] = answer["faults"]
    return armed


@pytest.mark.usefixtures("clean_faults")
async def test_a_notifier_killed_in_the_middle_of_a_look_leaves_the_wait_to_the_other(
    linked: User, world: World, notifiers: list[ManagedProcess]
) -> None:
    await linked.choose("Electric car or charger", "Tesla", "Model 3", "No smart charger")
    await linked.oauth_allow(expect="I've added the key")
    await linked.tap("I've added the key", expect=TEST_CHECKLIST)
    running = await linked.tap(START_TEST, expect="Test charge running")
    wizard_id = await _wizard_id(linked)
    await world.turn_running(linked.user_id, running=False)  # the tap's own reads are done

    # Kraken holds the next look's read for 10 s: whichever notifier took that look is
    # certainly still in it when it is killed.
    await linked.sandbox.fault(LOOK_READ, latencyMs=10_000)

    async def look_held() -> bool:
        return not await _armed_faults(linked.sandbox)

    await eventually(look_held)
    looks = _looks(notifiers, wizard_id)
    (victim,) = [n for n in notifiers if looks[n.name] and looks[n.name][-1].mark is Mark.STARTED]
    (survivor,) = [n for n in notifiers if n is not victim]
    held = looks[victim.name][-1]
    world.crash(victim.name)

    await linked.sandbox.advance(PAST_ANY_WAIT)  # the test charge is over
    # arq gives a job whose worker died to another only when its in-progress mark expires
    # (the job timeout and 10 s: 30 s), so the customer is told up to half a minute late.
    await linked.wait_new_message(CONNECTED, after=running.id, timeout=60)
    assert await linked.count_bot_messages(CONNECTED) == 1
    assert await linked.count_bot_messages("Test charge running") == 1
    assert await linked.count_bot_messages("went wrong") == 0
    assert await linked.sandbox.device_statuses(linked.account) == ["LIVE"]

    ended = await _every_look_ended(notifiers, wizard_id)
    assert len({look.job for look in ended}) == len(ended), ended
    assert looks_logged(victim, wizard_id)[-1] == held  # it died in the middle of that look
    # The other notifier ran the same job's next try, and that look ended the wait.
    carried = looks_logged(survivor, wizard_id)
    assert any(
        look.mark is Mark.STARTED and look.job == held.job and look.attempt > held.attempt
        for look in carried
    ), carried
    assert any(look.mark is Mark.FINISHED and look.job == held.job for look in carried), carried
    await world.notifier(victim.name)  # back to two for the module's other tests


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Mallory"}


def _message(user_id: int, message_id: int, **content: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": _user(user_id),
        **content,
    }


def message_update(user_id: int, **content: Any) -> dict[str, Any]:
    """An update as Telegram POSTs it for a private message (text, sticker, voice...)."""
    text = content.get("text", "")
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": next(_update_ids), "message": _message(user_id, 10_000, **content)}


def callback_update(user_id: int, message_id: int, data: str) -> dict[str, Any]:
    """A button tap as a modified client could send it: any data, on a real message."""
    update_id = next(_update_ids)
    message = _message(user_id, message_id, text="…")
    message["from"] = {"id": 123456, "is_bot": True, "first_name": "Bot"}
    query = {
        "id": f"forged-{update_id}",
        "from": _user(user_id),
        "chat_instance": "1",
        "data": data,
        "message": message,
    }
    return {"update_id": update_id, "callback_query": query}


async def post_update(web: str, update: dict[str, Any], secret: str | None) -> int:
    """POST to one web process's webhook as Telegram (or an impostor) would; returns the
    status."""
    headers = {SECRET_HEADER: secret} if secret else {}
    async with httpx.AsyncClient(timeout=10.0) as http:
        answer = await http.post(f"{web}{WEBHOOK_PATH}", json=update, headers=headers)
    return answer.status_code


@pytest.mark.parametrize("secret", [None, "wrong-secret"], ids=["missing", "wrong"])
async def test_a_webhook_call_without_the_secret_is_refused_unprocessed(
    linked: User, webs: list[str], secret: str | None
) -> None:
    for web in webs:
        update = message_update(linked.user_id, text="/support")
        assert await post_update(web, update, secret) == 403
    # A refused update is never processed: the reply would have been sent before the answer.
    assert await linked.count_bot_messages("Support reference") == 0
    assert FIRST_SCREEN in (await linked.screen()).text


async def test_forged_button_data_is_refused_and_nothing_changes(
    linked: User, world: World, webs: list[str]
) -> None:
    """A modified client can send any callback data; Telegram forwards it with the secret."""
    screen = await linked.screen()
    # Well-formed data for a step that does not exist reads as an outdated button.
    for data, told in [("1|ffffff|c|0", "moved on"), ("garbage", "isn't valid")]:
        update = callback_update(linked.user_id, screen.id, data)

        async def deliver(body: dict[str, Any] = update) -> None:
            assert await post_update(webs[0], body, world.webhook_secret) == 200

        refused = await linked.act(deliver, expect=told)
        assert FIRST_SCREEN in refused.text
    wizard = await linked.sandbox.only_wizard(linked.account)
    assert wizard["completedSteps"] == []


MEDIA: dict[str, dict[str, Any]] = {
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "v1u", "duration": 3}},
    "photo": {"photo": [{"file_id": "p1", "file_unique_id": "p1u", "width": 90, "height": 90}]},
    "sticker": {
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "s1u",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
}


@pytest.mark.parametrize("kind", list(MEDIA))
async def test_a_voice_note_photo_or_sticker_gets_a_helpful_answer(
    linked: User, world: World, webs: list[str], kind: str
) -> None:
    """Posted as Telegram would; the voice note names a file Telegram no longer has."""
    update = message_update(linked.user_id, **MEDIA[kind])

    async def deliver() -> None:
        assert await post_update(webs[1], update, world.webhook_secret) == 200

    if kind == "voice":
        answer = await linked.act(deliver, expect="couldn't fetch that voice note")
        assert "tap a button" in answer.text
        return
    answer = await linked.act(deliver, expect="but not photos, stickers or other files")
    assert "type or say your answer, or tap one of the buttons" in answer.text


# ---------------------------------------------------------------- crashes, moves, floods

SELECT = "selectFromListForSmartFlexOnboarding"
HEAT_PUMP_MAKES = "Who made your heat pump?"


async def _completed_steps(user: User) -> list[str]:
    wizard = await user.sandbox.only_wizard(user.account)
    return [step["__typename"] for step in wizard["completedSteps"]]


def _backend_of_last_webhook(proxy: RoundRobinProxy, before: dict[str, int]) -> str:
    after = _webhook_hits(proxy)
    grown = [b for b, n in after.items() if n > before.get(b, 0)]
    assert len(grown) == 1, (before, after)
    return grown[0]


def _webhook_hits(proxy: RoundRobinProxy) -> dict[str, int]:
    return {b: n for (b, path), n in proxy.hits.items() if path == WEBHOOK_PATH}


@pytest.mark.usefixtures("clean_faults")
async def test_a_tap_whose_web_process_dies_mid_kraken_call_is_finished_by_another(
    linked: User, world: World, proxy: RoundRobinProxy, webs: list[str]
) -> None:
    # The web process that takes the tap is killed while Kraken is still answering it.
    await linked.sandbox.fault(SELECT, times=1, latencyMs=15_000)
    message, label = await linked.button("Heat pump")
    before = _webhook_hits(proxy)
    await linked.sim.tap(linked.user_id, label, message_id=message.id)
    await world.turn_running(linked.user_id)
    backend = _backend_of_last_webhook(proxy, before)
    name = f"web{webs.index(backend) + 1}"
    world.crash(name)
    world.start(world.bot_process(name, "web", port=int(backend.rsplit(":", 1)[1])))

    moved = await linked.wait_text(HEAT_PUMP_MAKES, timeout=40)
    assert moved.id == message.id  # the tapped message itself moved on
    assert await _completed_steps(linked) == ["SelectDeviceType"]
    assert await linked.count_bot_messages("went wrong") == 0


async def test_a_tap_after_the_wizard_moved_on_elsewhere_never_acts_on_the_new_step(
    linked: User, world: World
) -> None:
    """The customer's app chose "Heat pump"; the chat still shows the first question and the
    customer taps "Electric car or charger" there: nothing may be recorded for it."""
    wizard = await linked.sandbox.only_wizard(linked.account)
    read = await linked.sandbox.graphql(
        "query($w: ID) { smartFlexOnboardingWizard(wizardId: $w) { currentStep {"
        " ... on SelectDeviceType { id options { id ... on SelectDeviceTypeListItem { label } } }"
        " } } }",
        {"w": wizard["id"]},
    )
    step = read["smartFlexOnboardingWizard"]["currentStep"]
    heat_pump = next(o for o in step["options"] if "heat" in o["label"].lower())
    await linked.sandbox.graphql(  # what the customer's app does
        "mutation($input: SelectFromListInput!) {"
        " selectFromListForSmartFlexOnboarding(input: $input) { wizard { id } } }",
        {
            "input": {
                "wizardId": wizard["id"],
                "stepId": step["id"],
                "selectedOption": heat_pump["id"],
            }
        },
    )
    shown = await linked.tap("Electric car or charger", expect=HEAT_PUMP_MAKES)
    assert "moved on" in shown.text
    wizard = await linked.sandbox.only_wizard(linked.account)
    assert [s["__typename"] for s in wizard["completedSteps"]] == ["SelectDeviceType"]
    assert wizard["currentStep"]["__typename"] != "AuthFlow"  # no sign-in for a wrong make


@pytest.mark.usefixtures("clean_faults")
async def test_a_flood_of_taps_gets_toasts_not_messages_and_never_holds_the_webhook(
    linked: User, world: World, webs: list[str]
) -> None:
    screen = await linked.screen()
    data = next(b.callback_data for row in screen.buttons for b in row if "Heat pump" in b.text)
    assert data is not None
    sent_before = len(await linked.bot_messages())
    # The first tap's Kraken call is slow: the chat's turn is still running while the rest
    # arrive, and Telegram's requests must be answered without waiting for it.
    await linked.sandbox.fault(SELECT, times=1, latencyMs=3_000)
    for n in range(120):
        update = callback_update(linked.user_id, screen.id, data)
        assert await post_update(webs[n % 2], update, world.webhook_secret) == 200
        if n == 1:
            await world.turn_running(linked.user_id)  # answered while the turn runs
    await linked.wait_text(HEAT_PUMP_MAKES)
    bot_id = int(BOT_TOKEN.split(":")[0])

    async def every_tap_dealt_with(redis: aioredis.Redis, keys: KeySpace) -> bool:
        return not await redis.zcard(keys.update_inbox(bot_id))

    await world.until_keys(every_tap_dealt_with)
    transcript = await linked.transcript()
    # The tap's own screen is an edit; the flood adds one "slow down" note, not a message
    # per tap (before: one "I'm still working" message for most of them).
    assert len(await linked.bot_messages()) - sent_before == 1, transcript
    assert await linked.count_bot_messages("sending messages faster") == 1, transcript
    assert await _completed_steps(linked) == ["SelectDeviceType"]

"""Webhook mode with two web workers behind a balancer and a separate notifier worker.

The emulator delivers every update to the balancer (this module's `RoundRobinProxy`), which
alternates between the two `python -m bot web` processes; `python -m bot worker` runs the
notifier. One customer's journey must read exactly as it does with a single process.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from bot.state.keys import KeySpace
from bot.web import SECRET_HEADER, WEBHOOK_PATH
from scripts.processes import free_port
from tests.e2e.conftest import FIRST_SCREEN, deployment
from tests.e2e.harness import User
from tests.e2e.proxy import RoundRobinProxy, serving
from tests.e2e.stack import BOT_TOKEN, World

pytestmark = pytest.mark.e2e

_update_ids = itertools.count(900_000_000)


@pytest.fixture(scope="module")
def webhook_world(
    tmp_path_factory: pytest.TempPathFactory, e2e_redis_url: str
) -> Iterator[tuple[World, RoundRobinProxy, list[str]]]:
    with deployment(tmp_path_factory.mktemp("e2e-webhook"), e2e_redis_url) as world:
        ports = [free_port(), free_port()]
        backends = [f"http://127.0.0.1:{port}" for port in ports]
        proxy = RoundRobinProxy(backends)
        with serving(proxy, world.bot_port):
            for n, port in enumerate(ports, start=1):
                world.start(world.bot_process(f"web{n}", "web", port=port))
            world.start(world.bot_process("worker", "worker"))
            yield world, proxy, backends


@pytest.fixture
def world(webhook_world: tuple[World, RoundRobinProxy, list[str]]) -> World:
    return webhook_world[0]


@pytest.fixture
def proxy(webhook_world: tuple[World, RoundRobinProxy, list[str]]) -> RoundRobinProxy:
    return webhook_world[1]


@pytest.fixture
def workers(webhook_world: tuple[World, RoundRobinProxy, list[str]]) -> list[str]:
    return webhook_world[2]


async def test_a_journey_across_two_web_workers_goes_live_once(
    linked: User, proxy: RoundRobinProxy, workers: list[str]
) -> None:
    await linked.choose("Electric car or charger", "Renault", "Zoe", "No smart charger")
    waiting = await linked.tap("Done", expect="Waiting for the manufacturer")
    await linked.wait_new_message("is connected!", after=waiting.id)
    assert proxy.backends_hit(WEBHOOK_PATH) == set(workers)
    assert await linked.count_bot_messages("is connected!") == 1
    assert await linked.count_bot_messages("Waiting for the manufacturer") == 1
    assert await linked.count_bot_messages("went wrong") == 0
    assert await linked.sandbox.device_statuses(linked.account) == ["LIVE"]


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


async def post_update(worker: str, update: dict[str, Any], secret: str | None) -> int:
    """POST to one worker's webhook as Telegram (or an impostor) would; returns the status."""
    headers = {SECRET_HEADER: secret} if secret else {}
    async with httpx.AsyncClient(timeout=10.0) as http:
        answer = await http.post(f"{worker}{WEBHOOK_PATH}", json=update, headers=headers)
    return answer.status_code


@pytest.mark.parametrize("secret", [None, "wrong-secret"], ids=["missing", "wrong"])
async def test_a_webhook_call_without_the_secret_is_refused_unprocessed(
    linked: User, workers: list[str], secret: str | None
) -> None:
    for worker in workers:
        update = message_update(linked.user_id, text="/support")
        assert await post_update(worker, update, secret) == 403
    # A refused update is never processed: the reply would have been sent before the answer.
    assert await linked.count_bot_messages("Support reference") == 0
    assert FIRST_SCREEN in (await linked.screen()).text


async def test_forged_button_data_is_refused_and_nothing_changes(
    linked: User, world: World, workers: list[str]
) -> None:
    """A modified client can send any callback data; Telegram forwards it with the secret."""
    screen = await linked.screen()
    # Well-formed data for a step that does not exist reads as an outdated button.
    for data, told in [("1|ffffff|c|0", "moved on"), ("garbage", "isn't valid")]:
        update = callback_update(linked.user_id, screen.id, data)

        async def deliver(body: dict[str, Any] = update) -> None:
            assert await post_update(workers[0], body, world.webhook_secret) == 200

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
    linked: User, world: World, workers: list[str], kind: str
) -> None:
    """Posted as Telegram would; the voice note names a file Telegram no longer has."""
    update = message_update(linked.user_id, **MEDIA[kind])

    async def deliver() -> None:
        assert await post_update(workers[1], update, world.webhook_secret) == 200

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
    after = {b: n for (b, path), n in proxy.hits.items() if path == WEBHOOK_PATH}
    grown = [b for b, n in after.items() if n > before.get(b, 0)]
    assert len(grown) == 1, (before, after)
    return grown[0]


def _webhook_hits(proxy: RoundRobinProxy) -> dict[str, int]:
    return {b: n for (b, path), n in proxy.hits.items() if path == WEBHOOK_PATH}


@pytest.mark.usefixtures("clean_faults")
async def test_a_tap_whose_web_worker_dies_mid_kraken_call_is_finished_by_another(
    linked: User, world: World, proxy: RoundRobinProxy, workers: list[str]
) -> None:
    # The worker that takes the tap is killed while Kraken is still answering it.
    await linked.sandbox.fault(SELECT, times=1, latencyMs=15_000)
    message, label = await linked.button("Heat pump")
    before = _webhook_hits(proxy)
    await linked.sim.tap(linked.user_id, label, message_id=message.id)
    await world.turn_running(linked.user_id)
    backend = _backend_of_last_webhook(proxy, before)
    name = f"web{workers.index(backend) + 1}"
    victim = next(p for p in world.group.processes if p.name == name and p.returncode is None)
    victim.kill()
    assert victim.returncode == -9
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
    linked: User, world: World, workers: list[str]
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
        assert await post_update(workers[n % 2], update, world.webhook_secret) == 200
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

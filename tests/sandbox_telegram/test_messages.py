"""sendMessage / edits / deletes are refused exactly as Telegram refuses them."""

from __future__ import annotations

import pytest

from sandbox.telegram.client import SimClient
from tests.sandbox_telegram.conftest import TOKEN, BotApi

USER = 42
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
KEYBOARD = {"inline_keyboard": [[{"text": "Heat pump", "callback_data": "hp"}]]}


@pytest.fixture
async def chat(sim: SimClient) -> int:
    await sim.send(USER, "/start")
    return USER


async def test_unknown_token_is_unauthorized(api: BotApi) -> None:
    status, body = await BotApi(api.http, token="999:WRONG").call("getMe")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_unknown_method_is_not_found(api: BotApi) -> None:
    assert await api.refused("sendTelepathy", chat_id=1) == (404, "Not Found")


async def test_get_me_describes_the_bot(api: BotApi) -> None:
    me = await api.ok("getMe")
    assert (me["id"], me["is_bot"], me["username"]) == (123456, True, "smartflex_demo_bot")


async def test_message_to_unknown_chat_is_refused(api: BotApi) -> None:
    assert await api.refused("sendMessage", chat_id=555, text="hi") == (
        400,
        "Bad Request: chat not found",
    )
    assert await api.refused("sendMessage", text="hi") == (400, "Bad Request: chat_id is empty")


async def test_sent_message_is_a_real_message(api: BotApi, chat: int) -> None:
    message = await api.ok("sendMessage", chat_id=chat, text="Hi", reply_markup=KEYBOARD)
    assert message["from"]["username"] == "smartflex_demo_bot"
    assert message["chat"] == {"id": chat, "type": "private", "first_name": f"User {chat}"}
    assert (message["message_id"], message["text"]) == (2, "Hi")
    assert message["reply_markup"] == KEYBOARD
    assert "edit_date" not in message


@pytest.mark.parametrize("text", ["", "   ", "<b> </b>"])
async def test_empty_text_is_refused(api: BotApi, chat: int, text: str) -> None:
    assert await api.refused("sendMessage", chat_id=chat, text=text, parse_mode="HTML") == (
        400,
        "Bad Request: message text is empty",
    )


async def test_length_counts_text_after_entity_parsing(api: BotApi, chat: int) -> None:
    fits = "<b>" + "x" * 4096 + "</b>"
    assert (await api.ok("sendMessage", chat_id=chat, text=fits, parse_mode="HTML"))["text"]
    assert await api.refused("sendMessage", chat_id=chat, text="x" * 4097) == (
        400,
        "Bad Request: message is too long",
    )


@pytest.mark.parametrize(
    ("text", "mode", "detail"),
    [
        ("<blink>hi</blink>", "HTML", 'Unsupported start tag "blink" at byte offset 0'),
        ("<b>hi", "HTML", 'Can\'t find end tag corresponding to start tag "b"'),
        (
            "<b>hi</i>",
            "HTML",
            'Unmatched end tag at byte offset 5, expected "</b>", found "</i>"',
        ),
        (
            "Done.",
            "MarkdownV2",
            "Character '.' is reserved and must be escaped with the preceding '\\'",
        ),
        ("*bold", "MarkdownV2", "Can't find end of Bold entity at byte offset 0"),
    ],
)
async def test_unparseable_formatting_is_refused(
    api: BotApi, chat: int, text: str, mode: str, detail: str
) -> None:
    assert await api.refused("sendMessage", chat_id=chat, text=text, parse_mode=mode) == (
        400,
        f"Bad Request: can't parse entities: {detail}",
    )


@pytest.mark.parametrize(
    ("button", "description"),
    [
        ({"text": "x", "callback_data": "d" * 65}, "Bad Request: BUTTON_DATA_INVALID"),
        ({"text": "x", "callback_data": ""}, "Bad Request: BUTTON_DATA_INVALID"),
        ({"text": "x"}, "Bad Request: text buttons are unallowed in the inline keyboard"),
        (
            {"callback_data": "a"},
            'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String',
        ),
        (
            {"text": "x", "callback_data": "a", "url": "https://example.org"},
            "Bad Request: can't parse inline keyboard button: exactly one of the optional "
            "fields must be used",
        ),
        (
            {"text": "x", "url": "javascript:alert(1)"},
            "Bad Request: inline keyboard button URL 'javascript:alert(1)' is invalid: "
            "Wrong HTTP URL",
        ),
    ],
)
async def test_bad_inline_buttons_are_refused(
    api: BotApi, chat: int, button: dict[str, str], description: str
) -> None:
    markup = {"inline_keyboard": [[button]]}
    assert await api.refused("sendMessage", chat_id=chat, text="Hi", reply_markup=markup) == (
        400,
        description,
    )


async def test_callback_data_of_64_bytes_and_tg_urls_are_accepted(api: BotApi, chat: int) -> None:
    row = [
        {"text": "ü", "callback_data": "ü" * 32},
        {"text": "app", "url": "tg://resolve?domain=x"},
    ]
    sent = await api.ok(
        "sendMessage", chat_id=chat, text="Hi", reply_markup={"inline_keyboard": [row]}
    )
    assert sent["reply_markup"]["inline_keyboard"] == [row]


async def test_form_body_with_json_reply_markup(api: BotApi, chat: int) -> None:
    response = await api.http.post(
        f"/bot{TOKEN}/sendMessage",
        data={
            "chat_id": str(chat),
            "text": "Hi",
            "reply_markup": '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}',
        },
    )
    assert response.json()["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"


async def test_query_string_parameters_and_case_insensitive_method(api: BotApi, chat: int) -> None:
    response = await api.http.get(f"/bot{TOKEN}/sendmessage", params={"chat_id": chat, "text": "Q"})
    assert response.json()["result"]["text"] == "Q"


async def test_edit_text_records_edit_and_drops_omitted_keyboard(
    api: BotApi, sim: SimClient, chat: int
) -> None:
    sent = await api.ok("sendMessage", chat_id=chat, text="Pick", reply_markup=KEYBOARD)
    edited = await api.ok(
        "editMessageText", chat_id=chat, message_id=sent["message_id"], text="Picked"
    )
    assert edited["edit_date"] >= sent["date"] and "reply_markup" not in edited
    assert (await sim.transcript_text(chat)).endswith("[2] bot (edited): Picked")


async def test_identical_edit_is_not_modified(api: BotApi, chat: int) -> None:
    sent = await api.ok(
        "sendMessage", chat_id=chat, text="<b>Pick</b>", parse_mode="HTML", reply_markup=KEYBOARD
    )
    same = {"chat_id": chat, "message_id": sent["message_id"]}
    assert await api.refused(
        "editMessageText", **same, text="<b>Pick</b>", parse_mode="HTML", reply_markup=KEYBOARD
    ) == (400, NOT_MODIFIED)
    assert await api.refused("editMessageReplyMarkup", **same, reply_markup=KEYBOARD) == (
        400,
        NOT_MODIFIED,
    )
    # Same words, different formatting: that is a change.
    await api.ok("editMessageText", **same, text="Pick", reply_markup=KEYBOARD)


async def test_edit_markup_can_remove_keyboard(api: BotApi, sim: SimClient, chat: int) -> None:
    sent = await api.ok("sendMessage", chat_id=chat, text="Pick", reply_markup=KEYBOARD)
    await api.ok("editMessageReplyMarkup", chat_id=chat, message_id=sent["message_id"])
    [_, message] = await sim.transcript(chat)
    assert (message.buttons, message.edited) == ([], True)


async def test_edit_refusals(api: BotApi, chat: int) -> None:
    assert await api.refused("editMessageText", chat_id=chat, message_id=99, text="x") == (
        400,
        "Bad Request: message to edit not found",
    )
    assert await api.refused("editMessageText", chat_id=chat, message_id=1, text="x") == (
        400,
        "Bad Request: message can't be edited",
    )
    assert await api.refused("editMessageReplyMarkup", chat_id=chat, message_id=1) == (
        400,
        "Bad Request: message can't be edited",
    )


async def test_deleted_message_leaves_the_chat(api: BotApi, sim: SimClient, chat: int) -> None:
    sent = await api.ok("sendMessage", chat_id=chat, text="bye")
    assert await api.ok("deleteMessage", chat_id=chat, message_id=sent["message_id"]) is True
    assert [m.id for m in await sim.transcript(chat)] == [1]
    assert await api.refused("deleteMessage", chat_id=chat, message_id=sent["message_id"]) == (
        400,
        "Bad Request: message to delete not found",
    )
    assert await api.refused(
        "editMessageText", chat_id=chat, message_id=sent["message_id"], text="x"
    ) == (
        400,
        "Bad Request: message to edit not found",
    )


async def test_chat_action_and_link_preview(api: BotApi, chat: int) -> None:
    assert await api.ok("sendChatAction", chat_id=chat, action="typing") is True
    assert await api.refused("sendChatAction", chat_id=chat, action="dancing") == (
        400,
        "Bad Request: wrong parameter action in request",
    )
    sent = await api.ok(
        "sendMessage",
        chat_id=chat,
        text="see https://x.org",
        link_preview_options={"is_disabled": True},
    )
    assert sent["link_preview_options"] == {"is_disabled": True}


async def test_commands_are_kept_per_scope_and_validated(api: BotApi) -> None:
    commands = [{"command": "start", "description": "Begin"}]
    assert await api.ok("setMyCommands", commands=commands) is True
    assert await api.ok("getMyCommands") == commands
    assert await api.ok("getMyCommands", language_code="de") == []
    assert await api.refused(
        "setMyCommands", commands=[{"command": "Bad-Cmd", "description": "x"}]
    ) == (
        400,
        "Bad Request: BOT_COMMAND_INVALID",
    )


PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da6364f8cf00000301010018dd8db00000000049454e44ae426082"
)


async def test_uploaded_photo_is_kept_and_shown(api: BotApi, sim: SimClient, chat: int) -> None:
    response = await api.http.post(
        f"/bot{TOKEN}/sendPhoto",
        data={"chat_id": str(chat), "caption": "<b>Scan</b> me", "parse_mode": "HTML"},
        files={"photo": ("qr.png", PNG_1X1, "image/png")},
    )
    message = response.json()["result"]
    assert (message["caption"], message["caption_entities"][0]["type"]) == ("Scan me", "bold")
    assert (message["photo"][0]["width"], message["photo"][0]["height"]) == (1, 1)
    [_, shown] = await sim.transcript(chat)
    assert shown.photo is not None and shown.text == "Scan me"
    image = await api.http.get(shown.photo["url"])
    assert (image.content, image.headers["content-type"]) == (PNG_1X1, "image/png")
    again = await api.ok("sendPhoto", chat_id=chat, photo=message["photo"][0]["file_id"])
    assert again["photo"][0]["file_id"] == message["photo"][0]["file_id"]
    assert await api.refused("sendPhoto", chat_id=chat, photo="no-such-file") == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )
    assert await api.refused(
        "editMessageText", chat_id=chat, message_id=again["message_id"], text="x"
    ) == (
        400,
        "Bad Request: there is no text in the message to edit",
    )


async def test_photo_by_url_is_recorded(api: BotApi, sim: SimClient, chat: int) -> None:
    await api.ok("sendPhoto", chat_id=chat, photo="https://example.org/qr.png")
    [_, shown] = await sim.transcript(chat)
    assert shown.photo is not None and shown.photo["url"] == "https://example.org/qr.png"

import httpx
import pytest

from sandbox.kraken.browser import ConsentPageError, press_consent


def browser(page: str, status: int = 200) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(status, text=page)
        return httpx.Response(
            303, headers={"location": f"https://bot.test/cb?{request.content.decode()}"}
        )

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def test_submits_the_pages_hidden_fields_with_the_chosen_button() -> None:
    page = '<form method="post"><input type="hidden" name="state" value="s1"><button/></form>'
    async with browser(page) as http:
        landed = await press_consent(http, "https://p.test/authorize?state=s1", allow=False)
    assert landed == "https://bot.test/cb?state=s1&decision=deny"


@pytest.mark.parametrize(("page", "status"), [("<p>no form here</p>", 200), ("gone", 404)])
async def test_a_page_that_is_not_a_consent_page_is_reported(page: str, status: int) -> None:
    async with browser(page, status) as http:
        with pytest.raises(ConsentPageError):
            await press_consent(http, "https://p.test/authorize")

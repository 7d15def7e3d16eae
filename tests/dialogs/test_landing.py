import pytest

from dialogs.wizard import LandingKind, classify_landing, oauth_state


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://bot.example/oauth/callback?code=abc&state=s1", LandingKind.OK),
        ("  https://bot.example/cb?state=s1&code=abc  ", LandingKind.OK),
        ("https://bot.example/cb#code=abc&state=s1", LandingKind.OK),
        ("https://bot.example/cb?error=access_denied&state=s1", LandingKind.ACCESS_DENIED),
        ("https://bot.example/cb?error=server_error", LandingKind.PROVIDER_ERROR),
        ("https://bot.example/cb?state=s1", LandingKind.INVALID),
        ("bot.example/cb?code=abc", LandingKind.INVALID),
        ("ftp://bot.example/cb?code=abc", LandingKind.INVALID),
        ("hello", LandingKind.INVALID),
        ("https://[::1/cb?code=x", LandingKind.INVALID),
    ],
)
def test_classify_landing(url: str, kind: LandingKind) -> None:
    assert classify_landing(url).kind is kind


def test_provider_error_keeps_the_reason_short() -> None:
    landing = classify_landing("https://x.example/?error=" + "e" * 500)
    assert landing.kind is LandingKind.PROVIDER_ERROR and len(landing.error) <= 60


def test_oauth_state_is_read_from_the_authorization_uri() -> None:
    assert oauth_state("https://oem.example/authorize?client_id=c&state=xyz") == "xyz"
    assert oauth_state("https://oem.example/authorize?client_id=c") is None
    assert oauth_state(None) is None

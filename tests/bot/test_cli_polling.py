import logging

import pytest
from telegram.error import Conflict

from bot.cli import _polling_problem


def test_a_second_poller_is_one_warning_line_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.cli"):
        _polling_problem(Conflict("terminated by other getUpdates request"))
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert "Conflict" in record.getMessage() and "other getUpdates" in record.getMessage()

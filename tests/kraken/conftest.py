from __future__ import annotations

import pytest

from tests.kraken.fakes import FakeClock, FakeKraken


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kraken(clock: FakeClock) -> FakeKraken:
    return FakeKraken(clock)

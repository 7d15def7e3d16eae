from __future__ import annotations

import httpx
from starlette.applications import Starlette

from bot.metrics import Metrics, metrics_route


async def test_metrics_endpoint_exposes_what_the_bot_counts() -> None:
    metrics = Metrics()
    metrics.updates.labels(kind="callback_query").inc()
    metrics.kraken_errors.labels(code="KT-CT-4377").inc(2)
    metrics.onboardings_abandoned.labels(step="SmartFlexOnboardingDeviceRegistration").inc()
    metrics.handler_latency.observe(0.3)
    app = Starlette(routes=[metrics_route(metrics)])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bot.test"
    ) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'updates_total{kind="callback_query"} 1.0' in text
    assert 'kraken_errors_total{code="KT-CT-4377"} 2.0' in text
    assert 'onboardings_abandoned_total{step="SmartFlexOnboardingDeviceRegistration"} 1.0' in text
    assert 'handler_latency_seconds_bucket{le="0.5"} 1.0' in text
    for name in (
        "kraken_calls_total",
        "onboardings_started_total",
        "onboardings_completed_total",
        "notifier_lag_seconds_bucket",
    ):
        assert name in text


def test_each_metrics_instance_has_its_own_registry() -> None:
    Metrics().onboardings_started.inc()
    assert Metrics().registry.get_sample_value("onboardings_started_total") == 0.0

"""Prometheus metrics for the bot, on a registry of their own.

A private registry (not the process-global default) lets tests build fresh metrics per app and
keeps library metrics we did not choose out of the scrape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kraken.capabilities import Capabilities

# Kraken calls and handlers are mostly sub-second; the tail (slow provider steps) matters.
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Recognising a voice note takes a fraction of its length; a slow note is seconds.
_VOICE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
# Notifier lag is polling cadence plus backoff: seconds to many minutes.
_LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.updates = Counter("updates", "Telegram updates handled, by kind", ["kind"], registry=r)
        self.updates_refused = Counter(
            "updates_refused",
            "Updates not acted on: a chat over its rate (rate) or a tap during a turn (busy)",
            ["reason"],
            registry=r,
        )
        self.kraken_calls = Counter(
            "kraken_calls", "Kraken GraphQL operations sent", ["operation"], registry=r
        )
        self.kraken_errors = Counter(
            "kraken_errors", "Kraken errors received, by KT-CT code", ["code"], registry=r
        )
        self.onboardings_started = Counter(
            "onboardings_started", "Onboarding wizards started from the bot", registry=r
        )
        self.onboardings_completed = Counter(
            "onboardings_completed", "Onboardings that reached a LIVE device", registry=r
        )
        self.onboardings_abandoned = Counter(
            "onboardings_abandoned",
            "Onboardings given up or expired, by the step they stopped at",
            ["step"],
            registry=r,
        )
        self.looks_deferred = Counter(
            "kraken_budget_deferred_looks",
            "Notifier looks put off by the Kraken request budget",
            registry=r,
        )
        self.alerts_told = Counter(
            "alerts_told",
            "Device news told to customers after LIVE, by kind (alert, reauth, paused, ...)",
            ["kind"],
            registry=r,
        )
        self.voice_notes = Counter(
            "voice_notes",
            "Voice notes and audio files, by how they ended (acted, confirm, not_matched, "
            "silence, too_long, too_big, language, timeout, ...)",
            ["outcome"],
            registry=r,
        )
        self.voice_recognition_seconds = Histogram(
            "voice_recognition_seconds",
            "Time from handing a voice note to the recognition workers to its answer",
            buckets=_VOICE_BUCKETS,
            registry=r,
        )
        self.voice_replies = Counter(
            "voice_replies",
            "Screens also sent as voice notes (sent, failed)",
            ["result"],
            registry=r,
        )
        self.voice_speech_cache = Counter(
            "voice_speech_cache",
            "Spoken screens looked up in the cache (hit, miss)",
            ["result"],
            registry=r,
        )
        self.notifier_lag = Histogram(
            "notifier_lag_seconds",
            "Time from a remote change to the user being told",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.handler_latency = Histogram(
            "handler_latency_seconds",
            "Time from receiving an update to finishing its handling",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        # Set from Redis at scrape time (NaN when Redis cannot be read).
        self.notifier_alive_workers = Gauge(
            "notifier_alive_workers",
            "Notifier processes with a live heartbeat in Redis, in any process",
            registry=r,
        )
        self.notifier_oldest_due_job = Gauge(
            "notifier_oldest_due_job_seconds",
            "How long the most overdue notifier job has been due (0 when none is)",
            registry=r,
        )
        self._notifier_up: Gauge | None = None

    def watch_notifier(self, up: Callable[[], bool]) -> None:
        """Export `notifier_up` for the notifier this process runs (processes without one
        have no such gauge, rather than a misleading 0)."""
        if self._notifier_up is None:
            self._notifier_up = Gauge(
                "notifier_up", "1 while this process's notifier is running", registry=self.registry
            )
        self._notifier_up.set_function(lambda: float(up()))

    def watch_capabilities(self, known: Callable[[], Capabilities | None]) -> None:
        """Export what the Kraken instance supports, as last detected: whether onboarding
        can work, and every deprecated field in use with its removal date (Unix seconds; 0
        when Kraken gives none), so an alert can fire weeks before a field goes away."""
        self.registry.register(_CapabilityCollector(known))


class _CapabilityCollector(Collector):
    def __init__(self, known: Callable[[], Capabilities | None]) -> None:
        self._known = known

    def collect(self) -> Iterator[Metric]:
        capabilities = self._known()
        ready = GaugeMetricFamily(
            "kraken_onboarding_supported", "1 when this Kraken instance can run onboarding"
        )
        deprecated = GaugeMetricFamily(
            "kraken_deprecated_field_removal_timestamp",
            "Deprecated Kraken fields the assistant uses, by removal date",
            labels=["field"],
        )
        if capabilities is not None:
            ready.add_metric([], float(capabilities.onboarding_ready))
            for deprecation in capabilities.deprecations():
                removal = deprecation.removal_timestamp or 0.0
                deprecated.add_metric([deprecation.coordinate], removal)
        yield ready
        yield deprecated


def metrics_route(
    metrics: Metrics,
    path: str = "/metrics",
    refresh: Callable[[], Awaitable[None]] | None = None,
) -> Route:
    """`refresh` runs before each scrape, to set gauges read from elsewhere (Redis)."""

    async def scrape(request: Request) -> Response:
        if refresh is not None:
            await refresh()
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Route(path, scrape, methods=["GET"])

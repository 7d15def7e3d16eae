"""Learning an instance's schema: introspection where allowed, else the conservative set.

The detected schema is kept in a cache shared by the bot's processes (Redis, with a TTL) and
re-detected when Kraken rejects a document the client believed valid. Only the part of the
schema the client's operations reach is kept. What the client makes of a schema is
`kraken.capabilities`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Protocol

from graphql import (
    REMOVE,
    GraphQLSchema,
    Visitor,
    build_ast_schema,
    build_client_schema,
    get_introspection_query,
    parse,
    visit,
)
from graphql.language import DirectiveNode, StringValueNode

from kraken.capabilities import Capabilities, Deprecation
from kraken.errors import KrakenAuthError, KrakenError, KrakenTransportError, SchemaMismatch
from kraken.operations import OPERATIONS

logger = logging.getLogger("kraken.schema")

INTROSPECTION_QUERY = get_introspection_query(descriptions=False)
CACHE_VERSION = 1
DEFAULT_TTL = 6 * 60 * 60.0
"""How long a detected schema is trusted before it is introspected again (seconds)."""
PROVISIONAL_TTL = 60.0
"""How soon to try again when Kraken could not be asked (the conservative set stands in)."""
REFRESH_INTERVAL = 30.0
"""At most one re-detection per this many seconds however many calls Kraken rejects."""


# ---------------------------------------------------------------- schemas


def conservative_schema(today: date) -> tuple[GraphQLSchema, tuple[Deprecation, ...]]:
    """The seeds' EU schema without the deprecated fields whose removal date is not after
    `today` (they may already be gone); also returns what was left out that way."""
    source = resources.files("kraken").joinpath("conservative.graphql").read_text("utf-8")
    document = parse(source)
    gone: list[Deprecation] = []

    class _Expired(Visitor):
        type_name = ""

        def enter_object_type_definition(self, node: Any, *_: object) -> None:
            self.type_name = node.name.value

        def enter_field_definition(self, node: Any, *_: object) -> object:
            reason = _deprecation_reason(node.directives)
            if reason is None:
                return None
            deprecation = Deprecation.parse(f"{self.type_name}.{node.name.value}", reason)
            removal = deprecation.removal_on_or_after
            if removal is not None and removal <= today:
                gone.append(deprecation)
                return REMOVE
            return None

    schema = build_ast_schema(visit(document, _Expired()))
    return schema, tuple(gone)


def _deprecation_reason(directives: Iterable[DirectiveNode] | None) -> str | None:
    for directive in directives or ():
        if directive.name.value == "deprecated":
            for argument in directive.arguments or ():
                if argument.name.value == "reason" and isinstance(argument.value, StringValueNode):
                    return argument.value.value
            return "No longer supported"
    return None


def _named(ref: Mapping[str, Any] | None) -> str | None:
    while ref is not None and ref.get("name") is None:
        ref = ref.get("ofType")
    return None if ref is None else str(ref["name"])


def trim_introspection(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the root fields the client uses and every type they reach: a full Kraken schema
    is thousands of types, which would make the cache large and start-up slow.

    An interface reached only as what a kept type implements (Relay's `Node`, implemented by
    most of Kraken) keeps its fields but does not pull in its other implementers; one reached
    as a field's type does, since the client spreads fragments on them."""
    schema = data["__schema"]
    types = {t["name"]: t for t in schema["types"]}
    roots = {(schema.get(k) or {}).get("name") for k in ("queryType", "mutationType")}
    wanted = {op.root_field for op in OPERATIONS.values()}
    kept: dict[str, dict[str, Any]] = {}
    expanded: set[str] = set()
    pending: list[tuple[str | None, bool]] = [(name, True) for name in roots]
    for directive in schema.get("directives") or ():
        pending += [(_named(arg["type"]), True) for arg in directive["args"]]
    while pending:
        name, expand = pending.pop()
        if name is None or name not in types or (name in kept and (name in expanded or not expand)):
            continue
        kind = kept.get(name) or dict(types[name])
        if name in roots:
            kind["fields"] = [f for f in kind.get("fields") or () if f["name"] in wanted]
        if name not in kept:
            kept[name] = kind
            for item in (kind.get("fields") or []) + (kind.get("inputFields") or []):
                pending.append((_named(item["type"]), True))
                pending += [(_named(arg["type"]), True) for arg in item.get("args") or ()]
            pending += [(_named(ref), False) for ref in kind.get("interfaces") or ()]
        if expand or kind["kind"] == "UNION":
            expanded.add(name)
            pending += [(_named(ref), True) for ref in kind.get("possibleTypes") or ()]
    for kind in kept.values():
        if kind.get("possibleTypes"):
            kind["possibleTypes"] = [r for r in kind["possibleTypes"] if _named(r) in kept]
    trimmed = {**schema, "types": list(kept.values()), "subscriptionType": None}
    return {"__schema": trimmed}


# ---------------------------------------------------------------- detection and cache


class RedisLike(Protocol):
    """What the cache needs of a redis.asyncio client (both return awaitables)."""

    def get(self, name: str) -> Any: ...

    def set(self, name: str, value: str, ex: int | None = None) -> Any: ...


@dataclass(frozen=True)
class SchemaCache:
    """Where a detected schema is kept between processes and restarts (the bot: Redis)."""

    load: Callable[[], Awaitable[str | bytes | None]]
    store: Callable[[str], Awaitable[object]]

    @classmethod
    def redis(cls, client: RedisLike, key: str, ttl: float = DEFAULT_TTL) -> SchemaCache:
        async def load() -> str | bytes | None:
            value = await client.get(key)
            return value if isinstance(value, str | bytes) else None

        async def store(value: str) -> object:
            return await client.set(key, value, ex=max(1, int(ttl)))

        return cls(load, store)


Introspect = Callable[[bool], Awaitable[Mapping[str, Any]]]
"""Run INTROSPECTION_QUERY (True: with the client's token) and return its `data`."""


class Detector:
    """Learns an instance's capabilities: cache, else introspection, else the conservative set."""

    def __init__(
        self,
        introspect: Introspect,
        *,
        url: str,
        cache: SchemaCache | None = None,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._introspect = introspect
        self._url = url
        self._cache = cache
        self._ttl = ttl
        self._clock = clock

    async def detect(self, *, use_cache: bool = True) -> Capabilities:
        if use_cache:
            cached = await self._cached()
            if cached is not None:
                return cached
        now = self._clock()
        try:
            data = await self._ask()
        except (KrakenTransportError, KrakenAuthError) as exc:
            detail = f"Kraken could not be asked: {exc.code or type(exc).__name__}"
            logger.warning("Kraken schema not detected; assuming the conservative set for now")
            return await self._conservative(now, PROVISIONAL_TTL, detail)
        except KrakenError as exc:
            detail = f"introspection refused: {exc.code or exc.message[:120]}"
            capabilities = await self._conservative(now, self._ttl, detail)
        else:
            try:
                record = {"source": "introspection", "introspection": trim_introspection(data)}
                capabilities = await self._build(record, now)
            except Exception as exc:  # an answer graphql-core cannot build a schema from
                detail = f"introspection unusable: {type(exc).__name__}"
                capabilities = await self._conservative(now, self._ttl, detail)
        await self._store(capabilities)
        return capabilities

    async def _ask(self) -> Mapping[str, Any]:
        try:
            return await self._introspect(True)
        except KrakenAuthError:
            # Our credentials are refused; the schema may still be readable without them.
            return await self._introspect(False)

    async def _conservative(self, now: float, ttl: float, detail: str) -> Capabilities:
        return await self._build({"source": "conservative", "detail": detail}, now, ttl)

    async def _build(
        self, record: Mapping[str, Any], now: float, ttl: float | None = None
    ) -> Capabilities:
        """Capabilities from a cache record; in a thread, since checking every operation
        against a new schema takes about a second of CPU."""
        full = {"version": CACHE_VERSION, "url": self._url, "detectedAt": now, **record}
        lifetime = self._ttl if ttl is None else ttl
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        return await asyncio.to_thread(_capabilities, full, now, lifetime, today)

    async def _cached(self) -> Capabilities | None:
        if self._cache is None:
            return None
        try:
            raw = await self._cache.load()
            record = json.loads(raw) if raw else None
            if (
                not isinstance(record, dict)
                or record.get("version") != CACHE_VERSION
                or record.get("url") != self._url
            ):
                return None
            detected = float(record["detectedAt"])
            remaining = detected + self._ttl - self._clock()
            if remaining <= 0:
                return None
            capabilities = await self._build(record, detected)
        except Exception as exc:  # a cache is an optimisation: never a reason to fail
            logger.warning("Kraken schema cache unreadable: %s", type(exc).__name__)
            return None
        logger.info("Kraken schema from cache", extra={"source": capabilities.source})
        return capabilities

    async def _store(self, capabilities: Capabilities) -> None:
        if self._cache is None or capabilities.record is None:
            return
        try:
            await self._cache.store(json.dumps(capabilities.record, separators=(",", ":")))
        except Exception as exc:
            logger.warning("Kraken schema cache not written: %s", type(exc).__name__)


def _capabilities(record: dict[str, Any], now: float, ttl: float, today: date) -> Capabilities:
    if record["source"] == "introspection":
        introspection = record["introspection"]
        digest = hashlib.sha256(json.dumps(introspection, sort_keys=True).encode()).hexdigest()
        return Capabilities.from_schema(
            build_client_schema(introspection),
            "introspection",
            now=now,
            ttl=ttl,
            fingerprint=f"introspection:{digest}",
            record=record,
        )
    schema, gone = conservative_schema(today)
    return Capabilities.from_schema(
        schema,
        "conservative",
        now=now,
        ttl=ttl,
        fingerprint=f"conservative:{today.isoformat()}",
        detail=str(record.get("detail", "")),
        assumed_removed=gone,
        record=record,
    )


class KnownSchema:
    """The capabilities one client goes by: detected when first needed or when they expire,
    re-detected when Kraken refuses a document, deprecated fields in use logged once each."""

    def __init__(
        self,
        detector: Detector,
        *,
        clock: Callable[[], float] = time.time,
        capabilities: Capabilities | None = None,
    ) -> None:
        self._detector = detector
        self._clock = clock
        self._capabilities = capabilities
        self._lock = asyncio.Lock()
        self._last_refresh: float | None = None
        self._reported: set[str] = set()

    @property
    def known(self) -> Capabilities | None:
        return self._capabilities

    async def detect(self, *, use_cache: bool = True) -> Capabilities:
        async with self._lock:
            return self._adopt(await self._detector.detect(use_cache=use_cache))

    async def current(self) -> Capabilities:
        capabilities = self._capabilities
        if capabilities is not None and self._clock() < capabilities.expires_at:
            return capabilities
        async with self._lock:
            capabilities = self._capabilities
            if capabilities is None or self._clock() >= capabilities.expires_at:
                capabilities = self._adopt(await self._detector.detect())
            return capabilities

    async def learn(self, operation: str, error: KrakenError) -> Capabilities:
        """Kraken refused `operation`: re-detect the schema (on a validation error, at most once
        per REFRESH_INTERVAL) and, if the operation still looks available, mark it missing."""
        async with self._lock:
            now = self._clock()
            capabilities = self._capabilities
            stale = self._last_refresh is None or now - self._last_refresh >= REFRESH_INTERVAL
            if capabilities is None or (isinstance(error, SchemaMismatch) and stale):
                self._last_refresh = now
                logger.warning(
                    "Kraken refused an operation; re-detecting its schema",
                    extra={"operation": operation, "error_code": error.code},
                )
                capabilities = self._adopt(await self._detector.detect(use_cache=False))
            if capabilities.available(operation):
                capabilities = capabilities.without(operation, error.message)
            self._capabilities = capabilities
            return capabilities

    def _adopt(self, capabilities: Capabilities) -> Capabilities:
        self._capabilities = capabilities
        for deprecation in capabilities.deprecations():
            if deprecation.coordinate in self._reported:
                continue
            self._reported.add(deprecation.coordinate)
            removal = deprecation.removal_on_or_after
            logger.warning(
                "Kraken field in use is deprecated",
                extra={
                    "field": deprecation.coordinate,
                    "removal_on_or_after": removal.isoformat() if removal else "unknown",
                },
            )
        missing = capabilities.missing_required
        logger.log(
            logging.ERROR if missing else logging.INFO,
            "Kraken capabilities",
            extra={
                "source": capabilities.source,
                "onboarding": "ready" if not missing else f"missing {','.join(missing)}",
            },
        )
        return capabilities

"""How many of our own modules one tap runs code in (`python -m bench.tap_modules`).

Profiles one "Electric car or charger" tap through `Application.process_update` (the real
PTB stack, real Redis, the Kraken sandbox in-process) and lists every module of the product
packages (`bot`, `dialogs`, `kraken`) whose functions ran. A figure for the structure, not
for speed: fewer modules per tap is what a newcomer has to read to follow one.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import tempfile
from pathlib import Path

from bot.embedded_redis import redis_url_from_env_or_embedded
from harness.deployment import in_process_deployment

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "dialogs", "kraken")
USER = 4711


def product_modules(stats: pstats.Stats) -> list[str]:
    modules: set[str] = set()
    for filename, _line, _name in stats.stats:  # type: ignore[attr-defined]
        path = Path(filename)
        try:
            relative = path.resolve().relative_to(ROOT)
        except ValueError:
            continue
        if relative.parts and relative.parts[0] in PRODUCT:
            modules.add(".".join(relative.with_suffix("").parts))
    return sorted(modules)


async def measure(redis_url: str) -> list[str]:
    async with in_process_deployment(redis_url, prefix="bench-tap:") as d:
        await d.user_says(USER, f"/start {await d.handoff_token('A-SANDBOX1')}")
        await d.sim.tap(USER, await d.button(USER, "Electric car or charger"))
        (update,) = await d.fetch()
        profiler = cProfile.Profile()
        profiler.enable()
        await d.process(update)
        profiler.disable()
        return product_modules(pstats.Stats(profiler))


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        redis_url, server = redis_url_from_env_or_embedded(Path(scratch), persist=False)
        try:
            modules = asyncio.run(measure(redis_url))
        finally:
            if server is not None:
                server.stop()
    print(f"product modules one tap runs code in: {len(modules)}")
    for module in modules:
        print(f"  {module}")


if __name__ == "__main__":
    main()

"""`python -m sandbox.kraken --host H --port P --time-scale X [--public-url URL] ...`"""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_app
from .config import SandboxConfig, parse_accounts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.kraken", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--time-scale", type=float, default=None, help="multiplies every wait")
    parser.add_argument("--public-url", default=None, help="base URL browsers use (consent pages)")
    parser.add_argument("--redirect-uri", default=None, help="where OAuth consent redirects to")
    parser.add_argument("--accounts", default=None, help="extra accounts, e.g. A-1,A-2")
    args = parser.parse_args(argv)
    config = SandboxConfig.from_env(
        public_url=args.public_url or f"http://{args.host}:{args.port}",
        redirect_uri=args.redirect_uri,
        time_scale=args.time_scale,
        accounts=parse_accounts(args.accounts) if args.accounts else None,
    )
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()

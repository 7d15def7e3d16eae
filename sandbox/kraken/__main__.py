"""`python -m sandbox.kraken [--flavour eu|uk] [--removed F,...] [--date YYYY-MM-DD] ...`"""

from __future__ import annotations

import argparse
import datetime as dt

import uvicorn

from .app import create_app
from .config import SandboxConfig, parse_accounts, parse_names
from .flavours import DEFAULT_FLAVOUR, FLAVOURS, schema_sdl


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-07-05") from None


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m sandbox.kraken", description=__doc__)
    cli.add_argument("--host", default="127.0.0.1")
    cli.add_argument("--port", type=int, default=8010)
    cli.add_argument("--time-scale", type=float, default=None, help="multiplies every wait")
    cli.add_argument("--public-url", default=None, help="base URL browsers use (consent pages)")
    cli.add_argument("--redirect-uri", default=None, help="where OAuth consent redirects to")
    cli.add_argument("--accounts", default=None, help="extra accounts, e.g. A-1,A-2")
    cli.add_argument(
        "--flavour",
        choices=FLAVOURS,
        default=None,
        help=f"the instance emulated: eu (ResiFlex EU seed) or uk (default {DEFAULT_FLAVOUR})",
    )
    cli.add_argument(
        "--removed",
        type=parse_names,
        default=None,
        metavar="FIELD[,FIELD...]",
        help="drop these from the schema: a Query/Mutation field, Type.field, or a type",
    )
    cli.add_argument(
        "--date",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="drop every deprecated field whose removal date is on or before this day",
    )
    return cli


def parse(argv: list[str] | None = None) -> tuple[argparse.Namespace, SandboxConfig]:
    """The command line and the config it makes; a bad flag exits with status 2 and says why."""
    cli = parser()
    args = cli.parse_args(argv)
    try:
        config = SandboxConfig.from_env(
            public_url=args.public_url or f"http://{args.host}:{args.port}",
            redirect_uri=args.redirect_uri,
            time_scale=args.time_scale,
            accounts=parse_accounts(args.accounts) if args.accounts else None,
            flavour=args.flavour,
            removed=args.removed,
            removal_date=args.date,
        )
        schema_sdl(config.flavour, config.removed, config.removal_date)  # unknown names fail
    except ValueError as exc:  # SchemaError too
        cli.error(str(exc))
    return args, config


def main(argv: list[str] | None = None) -> None:
    args, config = parse(argv)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()

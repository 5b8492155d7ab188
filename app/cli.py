"""``withheld`` command line: serve, migrate, openapi, token."""

from __future__ import annotations

import argparse
import os
import sys

from app.auth import generate_token


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import get_settings
    from app.db import make_engine
    from app.migrate import upgrade_to_head

    if not os.environ.get("WITHHELD_ADMIN_TOKENS"):
        # Like Jupyter: a first-time user can try a write with a token made for this run only.
        token = generate_token()
        os.environ["WITHHELD_ADMIN_TOKENS"] = f"local:{token}"
        print(
            "\nNo WITHHELD_ADMIN_TOKENS set: generated an admin token for this run only:\n\n"
            f"    export WITHHELD_TOKEN={token}\n\n"
            'Write with:  curl -X PUT -H "Authorization: Bearer $WITHHELD_TOKEN" '
            "-H 'content-type: application/json' -d '{\"reason\": \"test\"}' "
            f"http://{args.host}:{args.port}/accounts/12/withholdings/IN\n",
            file=sys.stderr,
            flush=True,
        )
    settings = get_settings()
    engine = make_engine(settings.database_url, timeout_s=settings.db_timeout_s)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.db import make_engine
    from app.migrate import current_revision, upgrade_to_head

    settings = get_settings()
    engine = make_engine(settings.database_url, timeout_s=settings.db_timeout_s)
    try:
        upgrade_to_head(engine)
        print(f"schema at {current_revision(engine)}")
    finally:
        engine.dispose()
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from app import openapi

    if args.check:
        if openapi.DOCUMENT.read_bytes() != openapi.render():
            print(f"{openapi.DOCUMENT} is stale: run `withheld openapi`", file=sys.stderr)
            return 1
        return 0
    openapi.write()
    print(f"wrote {openapi.DOCUMENT}")
    return 0


def _token(_: argparse.Namespace) -> int:
    print(generate_token())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="withheld", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)
    commands.add_parser("migrate", help="bring the schema to head").set_defaults(handler=_migrate)
    export = commands.add_parser("openapi", help="write openapi/openapi.json from the app")
    export.add_argument("--check", action="store_true", help="fail if the file is stale")
    export.set_defaults(handler=_openapi)
    commands.add_parser("token", help="print a new random admin token").set_defaults(handler=_token)
    args = parser.parse_args(argv)
    handler = args.handler
    result: int = handler(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())

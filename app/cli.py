"""``withheld`` command line: serve, migrate, import, export, openapi, token."""

from __future__ import annotations

import argparse
import os
import sys
import time

from app.auth import generate_token
from app.db import Database
from app.logs import GRANIAN_LOGGERS, UVICORN_LOGGERS, server_log_config

SERVERS = ("uvicorn", "granian")


def _serve(args: argparse.Namespace) -> int:
    from app.config import get_settings

    settings = get_settings()
    json_logs = settings.log_format == "json"
    if not settings.admin_tokens and not json_logs:
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
    _database().dispose()  # migrate once here, before the workers start
    if args.server == "granian":
        _serve_granian(args, json_logs=json_logs)
    else:
        _serve_uvicorn(args, json_logs=json_logs)
    return 0


def _serve_uvicorn(args: argparse.Namespace, *, json_logs: bool) -> None:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    # uvicorn's own default when not JSON (None would turn its logs off).
    log_config = server_log_config(UVICORN_LOGGERS) if json_logs else LOGGING_CONFIG
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=False,
        log_config=log_config,
    )


def _serve_granian(args: argparse.Namespace, *, json_logs: bool) -> None:
    # Granian's documented Python entry point (what `python -m granian` builds from its flags),
    # not its embeddable server: that one is marked experimental and runs a single worker.
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    Granian(
        "app.main:rsgi_app",
        address=args.host,
        port=args.port,
        interface=Interfaces.RSGI,
        workers=args.workers,
        log_level=LogLevels.info,
        log_dictconfig=server_log_config(GRANIAN_LOGGERS) if json_logs else None,
        log_access=False,
    ).serve()


def _migrate(_: argparse.Namespace) -> int:
    from app.migrate import current_revision

    db = _database()
    try:
        print(f"schema at {current_revision(db.engine)}")
    finally:
        db.dispose()
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


def _import(args: argparse.Namespace) -> int:
    import getpass

    from app import rule_files

    started = time.monotonic()

    def progress(done: int) -> None:
        print(f"\rvalidated {done:,} rules", end="", file=sys.stderr, flush=True)

    with rule_files.read_text(args.file) as handle:
        try:
            items, terms = rule_files.parse_rules(
                handle, default_reason=args.reason, progress=progress
            )
        except rule_files.InvalidImportError as invalid:
            print(f"\nnothing imported: {args.file} has errors:\n{invalid}", file=sys.stderr)
            return 2
    print(f"\rvalidated {len(items):,} rules; writing in one transaction…", file=sys.stderr)
    db = _database()
    try:
        summary = rule_files.import_rules(db, items, terms, actor=f"cli:{getpass.getuser()}")
    finally:
        db.dispose()
    print(
        f"imported {summary.rows:,} rows: {summary.created:,} created, "
        f"{summary.already_active:,} already active (terms updated), "
        f"{summary.duplicates:,} duplicate rows; revision {summary.revision} "
        f"({time.monotonic() - started:.1f} s)",
        file=sys.stderr,
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from app import rule_files

    db = _database()
    try:
        if args.output == "-":
            count = rule_files.export_rules(db, sys.stdout)
        else:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                count = rule_files.export_rules(db, out)
    finally:
        db.dispose()
    print(f"exported {count:,} active rules", file=sys.stderr)
    return 0


def _database() -> Database:
    """The configured database, migrated to head."""
    from app.config import get_settings
    from app.migrate import upgrade_to_head

    settings = get_settings()
    db = Database.from_url(settings.database_url, timeout_s=settings.db_timeout_s)
    upgrade_to_head(db.engine)
    return db


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
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default=None,
        help="HTTP server (default: $WITHHELD_SERVER, else uvicorn)",
    )
    serve.set_defaults(handler=_serve)
    commands.add_parser("migrate", help="bring the schema to head").set_defaults(handler=_migrate)
    export = commands.add_parser("openapi", help="write openapi/openapi.json from the app")
    export.add_argument("--check", action="store_true", help="fail if the file is stale")
    export.set_defaults(handler=_openapi)
    load = commands.add_parser(
        "import", help="import rules from CSV: account,country[,reason,order_ref,expires_at]"
    )
    load.add_argument("file", help="CSV file, or - for standard input")
    load.add_argument("--reason", help="reason for rows that have none")
    load.set_defaults(handler=_import)
    dump = commands.add_parser("export", help="write every active rule as CSV")
    dump.add_argument("--output", "-o", default="-", help="file (default: standard output)")
    dump.set_defaults(handler=_export)
    commands.add_parser("token", help="print a new random admin token").set_defaults(handler=_token)
    args = parser.parse_args(argv)
    if args.command == "serve" and args.server is None:
        from app.config import get_settings

        args.server = get_settings().server
    if args.command == "serve" and args.server not in SERVERS:
        # argparse checks choices on the command line only, not on a default from the environment.
        parser.error(f"WITHHELD_SERVER={args.server!r}: choose from {', '.join(SERVERS)}")
    handler = args.handler
    result: int = handler(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())

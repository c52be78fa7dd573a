"""``fieldbook-server``: run the sync server and manage its users.

    fieldbook-server serve [--host H] [--port P]
    fieldbook-server migrate
    fieldbook-server create-user NAME --role fellow|trainer|admin [--display-name D] [--school S]
                                 [--password-stdin]
    fieldbook-server create-cohort NAME
    fieldbook-server assign USER COHORT | unassign USER COHORT
    fieldbook-server reset-password NAME [--password-stdin]
    fieldbook-server deactivate-user NAME
    fieldbook-server lockouts | unlock NAME
    fieldbook-server demo [--serve] [--host H] [--port P]
    fieldbook-server gc

Configuration comes from ``FIELDBOOK_SERVER_*`` variables (see config.py).
Every command that uses the database first brings its schema up to date.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import shlex
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from app.server.config import ConfigError, Settings

log = logging.getLogger("fieldbook.server")

EXIT_OK = 0
EXIT_ERROR = 1  # the request could not be carried out (unknown user, duplicate...)
EXIT_CONFIG = 2  # bad command line or configuration


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(f"fieldbook-server: {text}\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldbook-server",
        description="The Fieldbook sync server. Settings come from FIELDBOOK_SERVER_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="update the database schema, then serve the API")
    serve.add_argument("--host", help="address to listen on (default: FIELDBOOK_SERVER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: FIELDBOOK_SERVER_PORT or 8700)")

    sub.add_parser("migrate", help="update the database schema to this version")

    create_user = sub.add_parser("create-user", help="add a user")
    create_user.add_argument("username")
    create_user.add_argument("--role", required=True, choices=("fellow", "trainer", "admin"))
    create_user.add_argument("--display-name", default="", help="the name people see (e.g. 李老师)")
    create_user.add_argument("--school", default="", help="where the user teaches (e.g. 红星小学)")
    create_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input's first line"
    )

    cohort = sub.add_parser("create-cohort", help="add a cohort")
    cohort.add_argument("name")

    for name, text in (
        ("assign", "put a user in a cohort (moves a fellow)"),
        ("unassign", "take a user out of a cohort"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("username")
        p.add_argument("cohort")

    reset = sub.add_parser(
        "reset-password", help="set a new password for a user who forgot theirs; signs them out everywhere"
    )
    reset.add_argument("username")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input's first line"
    )

    deactivate = sub.add_parser("deactivate-user", help="lock a user out at once (their records stay)")
    deactivate.add_argument("username")

    sub.add_parser("lockouts", help="list who cannot sign in now after failed attempts, and from where")
    unlock = sub.add_parser("unlock", help="forget a user name's failed sign-ins, from every source")
    unlock.add_argument("username")

    demo = sub.add_parser("demo", help="create a demo cohort, trainer and two fellows; print their logins")
    demo.add_argument("--serve", action="store_true", help="then serve the API on the address printed")
    demo.add_argument("--host", help="address the server listens on, as for serve")
    demo.add_argument("--port", type=int, help="port the server listens on, as for serve")
    sub.add_parser(
        "rotate-parcel-keys",
        help="make new sync-parcel keys, keeping the current ones for parcels already sealed (restart after)",
    )
    sub.add_parser(
        "gc",
        help="delete attachment files no live record uses (older than a day) and uploads idle for a week",
    )
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise ConfigError("No password on standard input.")
        return password
    if not sys.stdin.isatty():
        raise ConfigError("No terminal to ask for the password: use --password-stdin.")
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password (again): ")
    if first != second:
        raise ConfigError("The two passwords differ.")
    return first


def _with_session(settings: Settings, action: Callable[..., int]) -> int:
    from app.server.database import make_engine, make_sessionmaker, run_migrations

    run_migrations(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return action(session)
    finally:
        engine.dispose()


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from app.server import admin
    from app.server.database import run_migrations

    command: str = args.command
    if command == "serve":
        import uvicorn

        from app.server.app import create_app

        settings = _listening(args, settings)
        run_migrations(settings.database_url)
        log.info("Fieldbook server on %s (database: %s)", settings.base_url, _safe_url(settings))
        application = create_app(settings, collect_garbage=True)
        uvicorn.run(application, host=settings.host, port=settings.port, log_level="info")
        return EXIT_OK
    if command == "migrate":
        run_migrations(settings.database_url)
        _out(f"The database is up to date ({_safe_url(settings)}).")
        return EXIT_OK
    if command == "create-user":
        password = _read_password(args.password_stdin)

        def create(session: Session) -> int:
            user = admin.create_user(
                session, args.username, password, args.role, args.display_name, args.school
            )
            _out(f"Created {user.role} {user.username!r} (id {user.id}).")
            return EXIT_OK

        return _with_session(settings, create)
    if command == "create-cohort":

        def cohort(session: Session) -> int:
            made = admin.create_cohort(session, args.name)
            _out(f"Created cohort {made.name!r}.")
            return EXIT_OK

        return _with_session(settings, cohort)
    if command == "assign":

        def assign(session: Session) -> int:
            left = admin.assign(session, args.username, args.cohort)
            moved = f" (moved from {', '.join(repr(c.name) for c in left)})" if left else ""
            _out(f"{args.username!r} is in {args.cohort!r}{moved}.")
            return EXIT_OK

        return _with_session(settings, assign)
    if command == "unassign":

        def unassign(session: Session) -> int:
            admin.unassign(session, args.username, args.cohort)
            _out(f"{args.username!r} is no longer in {args.cohort!r}.")
            return EXIT_OK

        return _with_session(settings, unassign)
    if command == "reset-password":
        password = _read_password(args.password_stdin)

        def reset(session: Session) -> int:
            user = admin.set_password(session, args.username, password)
            _out(f"New password set for {user.username!r}; they are signed out everywhere.")
            return EXIT_OK

        return _with_session(settings, reset)
    if command == "deactivate-user":

        def deactivate(session: Session) -> int:
            user = admin.deactivate_user(session, args.username)
            _out(f"{user.username!r} is deactivated and signed out everywhere.")
            return EXIT_OK

        return _with_session(settings, deactivate)
    if command == "lockouts":
        return _with_session(settings, _print_lockouts)
    if command == "unlock":

        def unlock(session: Session) -> int:
            cleared = admin.unlock(session, args.username)
            _out(f"{args.username!r} may sign in again ({cleared} failure counters cleared).")
            return EXIT_OK

        return _with_session(settings, unlock)
    if command == "demo":
        # The address printed is the one `serve` binds: the same options, the
        # same rule (_listening), checked before any user is made.
        settings = _listening(args, settings)

        def demo(session: Session) -> int:
            logins = admin.demo(session)
            _out(f"Demo cohort: {admin.DEMO_COHORT}")
            _out(f"Server address for Fieldbook: {_address_hint(settings)}")
            _out("")
            _out(f"{'user name':<10}  {'password':<16}  role")
            for login in logins:
                _out(f"{login.username:<10}  {login.password:<16}  {login.role}")
            _out("")
            return EXIT_OK

        _with_session(settings, demo)
        if not args.serve:
            _out(f"Start the server with: {_serve_command(args)}")
            return EXIT_OK
        _out(f"Starting the server on {_address_hint(settings)} (Ctrl+C stops it)...")
        sys.stdout.flush()
        return _run(argparse.Namespace(command="serve", host=settings.host, port=settings.port), settings)
    if command == "rotate-parcel-keys":
        from app.server.config import rotate_parcel_keys

        fingerprint = rotate_parcel_keys(settings.resolved()).public().fingerprint()
        _out(f"New parcel keys {fingerprint[:12]}… made; the previous ones still open parcels sealed "
             "for them. Restart the server; laptops learn the new keys at their next contact.")
        return EXIT_OK
    if command == "gc":

        def collect(session: Session) -> int:
            from app.server.blob_store import collect_garbage

            report = collect_garbage(session, settings)
            _out(f"Attachments: {report.describe()}.")
            return EXIT_OK

        return _with_session(settings, collect)
    raise AssertionError(command)  # argparse allows only the commands above


def _print_lockouts(session: Session) -> int:
    from app.server import admin

    rows = admin.lockouts(session)
    if not rows:
        _out("Nobody is locked out.")
        return EXIT_OK
    _out(f"{'user name':<20}  {'source':<20}  {'failures':>8}  locked until (UTC)")
    for row in rows:
        until = row.locked_until.strftime("%Y-%m-%d %H:%M:%S") if row.locked_until else ""
        _out(f"{row.username or '(any)':<20}  {row.source or '(any)':<20}  {row.count:>8}  {until}")
    return EXIT_OK


def _listening(args: argparse.Namespace, settings: Settings) -> Settings:
    """The settings with ``--host``/``--port`` applied (else FIELDBOOK_SERVER_HOST/PORT), checked."""
    return dataclasses.replace(
        settings,
        host=args.host or settings.host,
        port=args.port if args.port is not None else settings.port,
    ).resolved()


def _serve_command(args: argparse.Namespace) -> str:
    options = [*(["--host", args.host] if args.host else []),
               *(["--port", str(args.port)] if args.port is not None else [])]
    return shlex.join(["fieldbook-server", "serve", *options])


def _address_hint(settings: Settings) -> str:
    if settings.host in ("0.0.0.0", "::"):
        return f"http://<this computer's address>:{settings.port}"
    if ":" in settings.host:  # an IPv6 address goes in brackets in a URL
        return f"http://[{settings.host}]:{settings.port}"
    return settings.base_url


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from app.server.admin import AdminError

    try:
        settings = Settings.from_env()
        return _run(args, settings)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_CONFIG
    except AdminError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            _err(f"cannot use the database {_safe_url_from_env()}: {exc.orig or exc}")
            return EXIT_ERROR
        raise


def _safe_url_from_env() -> str:
    try:
        return _safe_url(Settings.from_env())
    except Exception:
        return "(unknown)"


if __name__ == "__main__":
    sys.exit(main())

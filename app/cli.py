"""``fieldbook sync|status|export|import``: the command-line face of Fieldbook.

The same store and sync engine as the desktop app, without Qt (``sync`` also
uploads the files attached since the last sync, after the records):

    fieldbook sync [--server URL] [--user NAME] [--password-stdin] [--data-dir DIR]
                   [--yes-mass-delete] [--retries N]
    fieldbook status [--data-dir DIR]
    fieldbook export --format json|csv [--kind KIND] [--output FILE] [--data-dir DIR]
    fieldbook export --format docx|pdf (--id ID | --where FILTER)... -o FILE [--zip]
                     [--thread] [--no-watermark] [--school NAME] [--images] [--language LANG]
    fieldbook import FILE [--data-dir DIR]
    fieldbook parcel export -o FILE [--attachments] [--data-dir DIR]
    fieldbook parcel deliver FILE [--answer OUT] [--server URL]
    fieldbook parcel import FILE [--yes-mass-delete] [--data-dir DIR]
    fieldbook parcel status [--data-dir DIR]

Exit codes: 0 done, 1 failed (the reason on stderr), 2 bad command line,
3 a sync would remove most records and needs ``--yes-mass-delete``.

Sync parcels (docs/parcels.md): ``parcel export`` writes what this laptop
would send and ask for now into one sealed file; anyone with a connection
runs ``parcel deliver`` on it (no account needed: the server address is the
one of the laptop's own store, or ``--server``) and carries the answer back;
``parcel import`` applies it as if the laptop had synced. A file that is
missing, of the wrong kind, damaged or for another laptop is refused with
one line and exit code 1, and nothing is changed.

Export formats. JSON: a list of ``{id, kind, status, author, created_at,
updated_at, fields: {name: JSON value}}`` (what ``import`` reads back). CSV:
one file, one row per record, a ``kind`` column and the fields of every kind
(only that kind's with ``--kind``); UTF-8 with a BOM so Excel and WPS show
Chinese correctly; lists as ``a; b`` (tags) or JSON (lesson steps); text
that a spreadsheet would run as a formula is prefixed with ``'``.

Import is all or nothing: the whole file is written in one transaction, so
a bad record (reported with its position and reason), a killed process or a
full disk leaves the store as it was. Records whose id exists are updated
(as local edits, so they sync), others are created with their id; a record
the file gives without an id gets one derived from the file's content and
its position. So importing the same file again never duplicates anything:
it changes nothing after a success and does the whole import after a
failure. (An edited copy of a file gives its id-less records new ids.)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import getpass
import hashlib
import io
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from app.documents import source
from app.documents.export import FORMATS as DOCUMENT_FORMATS
from app.documents.export import Writer, write_combined, write_zip
from app.documents.model import ExportOptions
from app.errors import DiskFullError, FieldbookError, ValidationFailed
from app.models import attachments, reviews
from app.models.fields import KINDS, LISTED_KINDS, FieldType, Kind, Status, kind_spec
from app.models.orm import Record
from app.models.store import ImportItem, Store
from app.models.validation import to_json
from app.paths import data_dir, store_path
from app.sync import nearby, parcels, replica
from app.sync.blobs import BlobTransfer, after_transfers
from app.sync.client import ApiClient, normalize_server_url
from app.sync.engine import Backoff, SyncEngine, SyncReport, sign_in
from app.sync.errors import AuthRequired, MassDeletePending, SyncError
from app.sync.tokens import TokenStore
from app.ui.documents_translation import load_translate

log = logging.getLogger("fieldbook.cli")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_MASS_DELETE = 3

COMMANDS = ("sync", "status", "export", "import", "parcel")
# The revision chain comes last, so the columns before it stay where they were.
META_COLUMNS = ("id", "kind", "status", "author", "created_at", "updated_at", "revision", "revision_of")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EXPORT_CHUNK = 500
# Ids of imported records the file gives without one (see stable_import_id).
IMPORT_ID_NAMESPACE = uuid.UUID("5b0f6f8e-3c1a-4d6e-9a57-0e2f8d1c4b73")


class UsageError(Exception):
    """The command line cannot work as given (exit code 2)."""


class Failed(Exception):
    """The command could not be carried out (exit code 1)."""


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(f"fieldbook: {text}\n")


# --- command line ----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldbook",
        description="Fieldbook on the command line. Without a command, Fieldbook opens its window.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="the folder of the Fieldbook data (default: the usual one)")
    common.add_argument("-v", "--verbose", action="store_true", help="say more about what happens")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sync = sub.add_parser("sync", parents=[common], help="send and receive changes once")
    sync.add_argument("--server", help="the server address (needed the first time)")
    sync.add_argument("--user", help="the user name (needed the first time)")
    sync.add_argument("--password-stdin", action="store_true",
                      help="read the password from the first line of standard input")
    sync.add_argument("--yes-mass-delete", action="store_true",
                      help="go ahead even if the server removes most of the records here")
    sync.add_argument("--retries", type=int, default=2,
                      help="retries after a lost connection, with growing pauses (default: 2)")

    sub.add_parser("status", parents=[common], help="show the account, last sync and pending changes")

    export = sub.add_parser(
        "export", parents=[common], help="write records to JSON or CSV, or as Word or PDF documents",
        description="JSON and CSV: every record (or one kind). docx and pdf: the records --id and "
        "--where name, as one document (a new page for each) or with --zip one file per record.",
    )
    export.add_argument("--format", choices=("json", "csv", *DOCUMENT_FORMATS), required=True)
    export.add_argument("--kind", choices=[k.value for k in Kind], help="only records of this kind")
    export.add_argument("--output", "-o", help="the file to write (default: standard output)")
    _document_arguments(export)

    imp = sub.add_parser(
        "import", parents=[common], help="read records from a JSON export, all or nothing",
        description="Read records from a JSON export in one transaction: all or nothing. A record "
        "whose id is here is updated, others are created; a record without an id gets one derived "
        "from the file and its position, so importing the same file again never duplicates.",
    )
    imp.add_argument("file", help="a JSON file in the export format")

    parcel = sub.add_parser("parcel", help="sync without signal: parcels carried on a USB stick",
                            description="Sync where there is no signal (docs/parcels.md).")
    psub = parcel.add_subparsers(dest="parcel_command", required=True, metavar="ACTION")
    pexport = psub.add_parser("export", parents=[common], help="write what this laptop would sync now")
    pexport.add_argument("--output", "-o", required=True, help="the parcel file to write")
    pexport.add_argument("--attachments", action="store_true",
                         help="carry the attached files not yet uploaded too (their size is shown)")
    pdeliver = psub.add_parser("deliver", parents=[common],
                               help="send someone's parcel to the server and write the answer")
    pdeliver.add_argument("file", help="the outgoing parcel")
    pdeliver.add_argument("--answer", help="where to write the answer (default: beside the parcel)")
    pdeliver.add_argument("--server", help="the server address (default: this computer's own)")
    pimport = psub.add_parser("import", parents=[common], help="apply an answer parcel to this laptop")
    pimport.add_argument("file", help="the answer parcel")
    pimport.add_argument("--yes-mass-delete", action="store_true",
                         help="go ahead even if the answer removes most of the records here")
    psub.add_parser("status", parents=[common], help="parcels made and not answered, last parcel sync")

    sub.add_parser("check", parents=[common],
                   help="name what this computer lacks: Qt libraries, fonts, keyring, data folder")
    return parser


def _document_arguments(export: argparse.ArgumentParser) -> None:
    export.add_argument("--id", action="append", default=[], metavar="ID",
                        help="docx/pdf: a record to export (repeat for several)")
    export.add_argument("--where", action="append", default=[], metavar="FILTER",
                        help="docx/pdf: the records matching all of e.g. \"kind=lesson_plan "
                        "status=approved subject=math grade=3 date>=2026-09-01 date<=2027-01-31\"")
    export.add_argument("--zip", action="store_true", help="docx/pdf: a zip of one file per record")
    export.add_argument("--thread", action="store_true",
                        help="docx/pdf: include the review thread (comments and the decision)")
    export.add_argument("--no-watermark", action="store_true",
                        help="docx/pdf: no 草稿 (draft) watermark on drafts")
    export.add_argument("--school", help="docx/pdf: the school in the page header "
                        "(default: yours from the last sync; \"\" for none)")
    export.add_argument("--images", action="store_true",
                        help="docx/pdf: place attached images in the document")
    export.add_argument("--language", choices=("zh_CN", "en"), default="zh_CN",
                        help="docx/pdf: the language of the labels (default: zh_CN)")


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")  # a Windows console that cannot show every character
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command == "check":  # app/doctor.py; opens no store (the folder may be the problem)
        from app.doctor import check

        return check(args.data_dir)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="fieldbook: %(message)s",
        stream=sys.stderr,
    )
    commands: dict[str, Callable[[argparse.Namespace, Store], int]] = {
        "sync": _sync, "status": _status, "export": _export, "import": _import, "parcel": _parcel,
    }
    try:
        store = _open_store(args.data_dir)
        try:
            return commands[args.command](args, store)
        finally:
            store.close()
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except MassDeletePending as exc:
        _err(f"{exc} Run again with --yes-mass-delete to accept.")
        return EXIT_MASS_DELETE
    except (Failed, FieldbookError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


def _open_store(override: str | None) -> Store:
    folder = data_dir(override)
    return Store.open(store_path(folder))


# --- sync ------------------------------------------------------------------------


def _read_password(from_stdin: bool, server: str, user: str) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise Failed("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise Failed("not signed in and no terminal to ask for the password: use --password-stdin")
    return getpass.getpass(f"Password for {user} on {server}: ")


def _sync(args: argparse.Namespace, store: Store) -> int:
    if args.retries < 0:
        raise UsageError("--retries cannot be negative")
    meta = replica.sync_meta(store)
    server_text = args.server or meta.server_url
    username = args.user or meta.username
    if not server_text or not username:
        raise UsageError("the first sync needs --server URL and --user NAME")
    server = normalize_server_url(server_text)
    same_account = server == meta.server_url and username == meta.username
    tokens = TokenStore()
    client = ApiClient(server)
    try:
        password_given = args.password_stdin
        if password_given or not same_account or tokens.load(server, username) is None:
            password = _read_password(args.password_stdin, server, username)
            account = sign_in(store, client, tokens, server, username, password)
            _out(f"Signed in to {server} as {account.user.username}.")
            if not account.remembered:
                log.info("The sign-in is not remembered: %s", account.reason)
            password_given = True
        confirm = (lambda _count, _total: True) if args.yes_mass_delete else None
        engine = SyncEngine(store, client, tokens=tokens, confirm_mass_delete=confirm)

        def sign_in_again() -> object:
            return sign_in(store, client, tokens, server, username,
                           _read_password(False, server, username))

        can_ask = not password_given and sys.stdin.isatty()
        report = _run_with_retries(engine, args.retries, can_sign_in=can_ask, sign_in_again=sign_in_again)
        _print_report(store, report)
        _upload_files(store, client)
        _deliver_carried(store, client)
    finally:
        client.close()
    return EXIT_OK


def _deliver_carried(store: Store, client: ApiClient) -> None:
    """Parcels this laptop collected from laptops in the room go to the
    server now; their answers wait for the next meeting (docs/parcels.md)."""
    courier = nearby.Courier(store)
    if not courier.counts()[0]:
        return
    try:
        done = courier.deliver_all(client)
    except SyncError as problem:
        _out(f"Carried parcels: not delivered this time ({problem}); they wait for the next sync.")
        return
    _out(f"Carried parcels: delivered {done.delivered}; their answers go back at the next meeting.")
    for reason in done.refused:
        _out(f"  refused and dropped: {reason}")


def _upload_files(store: Store, client: ApiClient) -> None:
    """Attached files go after the records that use them (docs/attachments.md).
    A failure here leaves them waiting: the next sync continues the upload
    where the server has it."""
    transfer = BlobTransfer(store, client)
    try:
        upload = transfer.upload_pending()
    except SyncError as exc:
        left = len(attachments.pending_uploads(store))
        raise Failed(f"{left} attached file(s) not uploaded yet ({exc}); "
                     "the next sync continues where this one stopped") from exc
    _out(f"Files: {upload.summary()}.")
    for sha, reason in upload.refused.items():
        info = attachments.blob_info(store, sha)
        _out(f"  refused: file {sha[:12]}: {info.error if info else reason}")
    after_transfers(store)


def _run_with_retries(
    engine: SyncEngine, retries: int, *, can_sign_in: bool, sign_in_again: Callable[[], object]
) -> SyncReport:
    backoff = Backoff()
    signed_in_again = False
    while True:
        try:
            return engine.run()
        except AuthRequired:
            if not can_sign_in or signed_in_again:
                raise
            signed_in_again = True
            sign_in_again()
        except SyncError as exc:
            if not exc.retryable or backoff.attempts >= retries:
                raise
            delay = backoff.next_delay(exc)
            _err(f"{exc} Trying again in {delay:.0f} s.")
            time.sleep(delay)


def _print_report(store: Store, report: SyncReport) -> None:
    _out(f"Synced: {report.summary()}.")
    for rejection in report.rejections:
        _out(f"  refused: record {rejection.record_id}: {rejection.reason}")
    if report.conflicts:
        _out(f"  {report.conflicts} conflict(s): open Fieldbook to compare the versions.")
    for notice in replica.unseen_notices(store):
        _out(f"  note: {notice.message}")
    pending = replica.pending_count(store)
    if pending:
        _out(f"  {pending} change(s) made during the sync will go next time.")


# --- parcels ---------------------------------------------------------------------


def _parcel_file(name: str) -> Path:
    path = Path(name).expanduser()
    if not path.is_file():
        raise Failed(f"{path}: no such file")
    return path


def _parcel(args: argparse.Namespace, store: Store) -> int:
    try:
        return _parcel_action(args, store)
    except OSError as exc:  # a stick pulled out, a full disk, a folder that is not there
        raise Failed(f"{exc.filename or 'the parcel file'}: {exc.strerror or exc}") from None


def _parcel_action(args: argparse.Namespace, store: Store) -> int:
    action = args.parcel_command
    if action == "export":
        out = Path(args.output).expanduser()
        if out.is_dir():
            raise UsageError(f"{out} is a folder: give the parcel's file name")
        if args.attachments:
            count, size = parcels.files_to_carry(store)
            _out(f"Attached files to carry: {count} ({size / 1048576:.1f} MB).")
        report = parcels.export_parcel(store, out, with_files=args.attachments)
        _out(f"Parcel written to {report.path}: {report.summary()}.")
        return EXIT_OK
    if action == "deliver":
        source = _parcel_file(args.file)
        server_text = args.server or replica.sync_meta(store).server_url
        if not server_text:
            raise UsageError("no server known here: give --server URL")
        client = ApiClient(normalize_server_url(server_text))
        try:
            delivered = parcels.deliver_parcel(client, source, Path(args.answer).expanduser()
                                               if args.answer else None)
        finally:
            client.close()
        again = " (the server had it already: nothing was applied twice)" if delivered.again else ""
        _out(f"Delivered{again}. The answer is in {delivered.answer_path} ({delivered.size / 1024:.1f} KB): "
             "take it back to the laptop that made the parcel.")
        return EXIT_OK
    if action == "import":
        source = _parcel_file(args.file)
        confirm = (lambda _count, _total: True) if args.yes_mass_delete else None
        result = parcels.import_answer(store, source, confirm_mass_delete=confirm)
        _out(f"Synced by parcel (the server's time {result.created_at.astimezone():%Y-%m-%d %H:%M}): "
             f"{result.summary()}.")
        for rejection in result.rejections:
            _out(f"  refused: record {rejection.record_id}: {rejection.reason}")
        return EXIT_OK
    status = parcels.parcel_status(store)
    _out(f"Parcels:        {'ready' if status.ready else 'not set up (sign in once with a connection)'}")
    if status.synced_by_parcel_at is not None:
        _out(f"Synced by parcel at {status.synced_by_parcel_at.astimezone():%Y-%m-%d %H:%M} (server time)")
    else:
        _out("Synced by parcel: never")
    for parcel_id, expires in status.waiting:
        _out(f"Waiting:        parcel {parcel_id[:8]}, no answer yet (expires {expires:%Y-%m-%d})")
    _out(f"Pending:        {status.pending} change(s) not yet confirmed")
    waiting = reviews.provisional_count(store)
    if waiting:
        _out(f"Nearby:         {waiting} comment(s) handed over by a trainer, waiting for the server")
    to_deliver, to_hand = nearby.Courier(store).counts()
    if to_deliver or to_hand:
        _out(f"Carried:        {to_deliver} parcel(s) of laptops met nearby to deliver (the next sync "
             f"does), {to_hand} answer(s) to hand back")
    return EXIT_OK


# --- status ----------------------------------------------------------------------


def _ago(when: dt.datetime) -> str:
    seconds = (dt.datetime.now(dt.UTC) - when).total_seconds()
    if seconds < 0:
        return "in the future (is this computer's clock right?)"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def _status(args: argparse.Namespace, store: Store) -> int:
    meta = replica.sync_meta(store)
    _out(f"Data:           {store.path}")
    if meta.signed_up:
        assert meta.server_url is not None and meta.username is not None
        who = meta.username + (f" ({meta.display_name})" if meta.display_name else "")
        _out(f"Server:         {meta.server_url}")
        _out(f"User:           {who}, {meta.role or 'unknown role'}")
        signed_in = TokenStore().load(meta.server_url, meta.username) is not None
        _out(f"Signed in:      {'yes' if signed_in else 'no (the next sync asks for the password)'}")
    else:
        _out("Server:         not set up (fieldbook sync --server URL --user NAME)")
    if meta.last_synced_at is not None:
        local = meta.last_synced_at.astimezone()
        _out(f"Last synced:    {local:%Y-%m-%d %H:%M} ({_ago(meta.last_synced_at)})")
    else:
        _out("Last synced:    never")
    _out(f"Pending:        {replica.pending_count(store)} change(s) not yet sent")
    waiting = attachments.pending_uploads(store)
    if waiting:
        size = sum(info.size for info in waiting) / (1024 * 1024)
        _out(f"Files:          {len(waiting)} to upload ({size:.1f} MB)")
    _out(f"Conflicts:      {len(replica.open_conflicts(store))} to look at")
    refused = replica.rejections(store)
    if refused:
        _out(f"Refused:        {len(refused)} change(s) the server did not accept")
    notices = replica.unseen_notices(store)
    if notices:
        _out(f"Notices:        {len(notices)} unread")
    counts = store.counts()
    _out("Records:        " + ", ".join(
        f"{counts[k.value]} {kind_spec(k).label.lower()}" for k in LISTED_KINDS))
    return EXIT_OK


# --- export ----------------------------------------------------------------------


def _records(store: Store, kind: str | None) -> Iterator[dict[str, Any]]:
    """Every live record in the export form, a chunk at a time."""
    last: tuple[str, str] = ("", "")
    while True:
        stmt = select(Record).where(Record.deleted.is_(False))
        if kind:
            stmt = stmt.where(Record.kind == kind)
        stmt = stmt.where((Record.kind > last[0]) | ((Record.kind == last[0]) & (Record.id > last[1])))
        stmt = stmt.order_by(Record.kind, Record.id).limit(_EXPORT_CHUNK)
        with store.reading() as session:
            chunk = [_exported(store, r) for r in session.scalars(stmt)]
        yield from chunk
        if len(chunk) < _EXPORT_CHUNK:
            return
        last = (chunk[-1]["kind"], chunk[-1]["id"])


def _exported(store: Store, record: Record) -> dict[str, Any]:
    spec = kind_spec(record.kind)
    values = store.values_of(record)
    return {
        "id": record.id,
        "kind": record.kind,
        "status": record.status,
        "author": record.author,
        "created_at": record.created_at.isoformat(timespec="seconds"),
        "updated_at": record.updated_at.isoformat(timespec="seconds"),
        # The revision chain (docs/review.md): shown, not read back by import.
        "revision": record.revision or 1,
        "revision_of": record.revision_of,
        "fields": {f.name: to_json(f, values[f.name]) for f in spec.fields},
    }


def _open_output(path: str | None, *, bom: bool) -> io.TextIOWrapper:
    encoding = "utf-8-sig" if bom else "utf-8"
    if path is None:
        sys.stdout.flush()
        return io.TextIOWrapper(sys.stdout.buffer, encoding=encoding, newline="", write_through=True)
    try:
        return io.TextIOWrapper(Path(path).open("wb"), encoding=encoding, newline="")
    except OSError as exc:
        raise Failed(f"cannot write {path}: {exc.strerror or exc}") from exc


def _export(args: argparse.Namespace, store: Store) -> int:
    if args.format in DOCUMENT_FORMATS:
        return _export_documents(args, store)
    if args.id or args.where or args.zip:
        raise UsageError("--id, --where and --zip go with --format docx or pdf")
    out = _open_output(args.output, bom=args.format == "csv")
    count = 0
    try:
        if args.format == "json":
            out.write("[")
            for record in _records(store, args.kind):
                out.write(",\n" if count else "\n")
                out.write(json.dumps(record, ensure_ascii=False))
                count += 1
            out.write("\n]\n" if count else "]\n")
        else:
            count = _write_csv(out, store, args.kind)
        out.flush()
    except OSError as exc:
        raise Failed(f"cannot write {args.output or 'the output'}: {exc.strerror or exc}") from exc
    finally:
        if args.output is None:
            out.detach()  # leave sys.stdout open
        else:
            out.close()
    if args.output:
        _out(f"Exported {count} record(s) to {args.output}.")
    return EXIT_OK


def _document_ids(args: argparse.Namespace, store: Store) -> list[str]:
    """The records ``--id`` and ``--where`` name, each once, in that order."""
    if not args.id and not args.where and not args.kind:
        raise UsageError("name the records to export with --id ID or --where FILTER")
    try:
        where = [*args.where, f"kind={args.kind}"] if args.kind else args.where
        queries = source.parse_where(where) if where else []
    except ValueError as exc:
        raise UsageError(f"--where {exc}") from None
    ids: list[str] = []
    for record_id in args.id:
        try:
            ids.append(store.get(record_id).id)
        except FieldbookError:
            raise Failed(f"no record {record_id} here (fieldbook export --format json lists them)") from None
    ids.extend(source.query_ids(store, queries))
    return list(dict.fromkeys(ids))


def _document_writer(fmt: str) -> Writer:
    if fmt == "docx":
        from app.documents.docx_writer import write_docx

        return write_docx
    # PDF is drawn by Qt (app/ui/documents_pdf.py: why), loaded only for it.
    from app.ui.documents_pdf import ensure_gui, write_pdf

    ensure_gui()
    return write_pdf


def _export_documents(args: argparse.Namespace, store: Store) -> int:
    if not args.output:
        raise UsageError(f"--format {args.format} needs --output FILE")
    ids = _document_ids(args, store)
    if not ids:
        raise Failed("no record matches: nothing was written")
    target = Path(args.output)
    if not target.parent.is_dir():
        raise Failed(f"cannot write {target}: no folder {target.parent}")
    school = args.school if args.school is not None else source.default_school(store)
    options = ExportOptions(include_thread=args.thread, watermark_drafts=not args.no_watermark,
                            school=school, include_images=args.images)
    tr = load_translate(args.language)
    writer = _document_writer(args.format)
    documents = source.load_documents(store, ids, tr, options)
    try:
        if args.zip:
            write_zip(documents, target, writer, args.format)
        else:
            write_combined(documents, target, writer)
    except OSError as exc:
        raise Failed(f"cannot write {target}: {exc.strerror or exc}; nothing was written") from exc
    _out(f"Exported {len(ids)} record(s) to {target}.")
    return EXIT_OK


def _csv_columns(kind: str | None) -> list[str]:
    columns: list[str] = []
    for spec in ([kind_spec(kind)] if kind else list(KINDS.values())):
        columns.extend(f.name for f in spec.fields if f.name not in columns)
    return columns


def _csv_cell(ftype: FieldType | None, value: Any) -> str:
    if value is None:
        return ""
    if ftype is FieldType.TAGS:
        text = "; ".join(value)
    elif ftype is FieldType.ATTACHMENTS:
        text = "; ".join(str(ref.get("name") or "") for ref in value)
    elif ftype is FieldType.STEPS:
        text = json.dumps(value, ensure_ascii=False) if value else ""
    elif ftype is FieldType.BOOL:
        return "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        return str(int(value))
    elif isinstance(value, int | float):
        return str(value)
    else:
        text = str(value)
    # A cell starting like a formula would run as one in Excel or WPS.
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write_csv(out: IO[str], store: Store, kind: str | None) -> int:
    columns = _csv_columns(kind)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*META_COLUMNS, *columns])
    count = 0
    for record in _records(store, kind):
        spec = kind_spec(record["kind"])
        row = [_csv_cell(None, record[c]) for c in META_COLUMNS]
        for name in columns:
            fspec = spec.by_name.get(name)
            row.append(_csv_cell(fspec.type, record["fields"][name]) if fspec else "")
        writer.writerow(row)
        count += 1
    return count


# --- import ----------------------------------------------------------------------


def _load_import(path: Path) -> tuple[list[Any], str]:
    """The file's records and the SHA-256 of its bytes (what the ids of
    records without one are derived from)."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise Failed(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Failed(f"cannot read {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise Failed(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise Failed(f"{path} does not hold a list of records (the format of fieldbook export)")
    return data, hashlib.sha256(raw).hexdigest()


def stable_import_id(file_digest: str, position: int) -> str:
    """The id of a record the file gives without one: the same for the same
    file and position, so importing that file again updates the record
    instead of adding it a second time."""
    return str(uuid.uuid5(IMPORT_ID_NAMESPACE, f"{file_digest}/{position}"))


def _parse_import_item(item: Any, position: int, file_digest: str, default_author: str) -> ImportItem:
    """One item of the file as an ``ImportItem``, or ``ValueError`` with the
    reason; its fields are checked by the store, in the import's transaction."""
    if not isinstance(item, dict):
        raise ValueError("not a record (an object with kind and fields)")
    kind = item.get("kind")
    if kind not in {k.value for k in Kind}:
        raise ValueError(f"unknown kind {kind!r}")
    fields = item.get("fields", {})
    if not isinstance(fields, dict):
        raise ValueError("fields must be an object")
    status = item.get("status")
    if status is not None and status not in {s.value for s in Status}:
        raise ValueError(f"unknown status {status!r}")
    raw_id = item.get("id")
    if raw_id is None:
        record_id = stable_import_id(file_digest, position)
    else:
        try:
            record_id = str(uuid.UUID(str(raw_id)))
        except ValueError:
            raise ValueError(f"id {raw_id!r} is not a record id (a UUID)") from None
    author = item.get("author") or default_author
    if not isinstance(author, str):
        raise ValueError("author must be text")
    return ImportItem(record_id, kind, fields, author, status)


def _parse_import(
    items: list[Any], file_digest: str, default_author: str
) -> tuple[dict[int, ImportItem], dict[int, str]]:
    """The items that parse, by their position in the file, and the problem
    of each other one."""
    parsed: dict[int, ImportItem] = {}
    problems: dict[int, str] = {}
    seen: set[str] = set()
    for position, item in enumerate(items):
        try:
            entry = _parse_import_item(item, position, file_digest, default_author)
            if entry.record_id in seen:
                raise ValueError(f"record {entry.record_id} appears twice in the file")
            seen.add(entry.record_id)
            parsed[position] = entry
        except ValueError as exc:
            problems[position] = str(exc)
    return parsed, problems


def _refuse_if_any(problems: dict[int, str], total: int) -> None:
    if not problems:
        return
    lines = [f"record {position}: {problem}" for position, problem in sorted(problems.items())]
    for line in lines[:20]:
        _err(line)
    if len(lines) > 20:
        _err(f"... and {len(lines) - 20} more")
    raise Failed(f"nothing was imported: {len(problems)} record(s) of {total} are not valid")


def _store_problems(exc: ValidationFailed, positions: Sequence[int]) -> dict[int, str]:
    """The store's ``"index.field"`` problems as one line per record, by the
    record's position in the file (``positions[index]``)."""
    by_position: dict[int, list[str]] = {}
    for key, problem in exc.problems.items():
        index, _, name = key.partition(".")
        line = f"{name}: {problem}" if name else str(problem)
        by_position.setdefault(positions[int(index)], []).append(line)
    return {position: "; ".join(lines) for position, lines in by_position.items()}


def _import(args: argparse.Namespace, store: Store) -> int:
    items, digest = _load_import(Path(args.file))
    meta = replica.sync_meta(store)
    parsed, problems = _parse_import(items, digest, meta.display_name or meta.username or "")
    try:
        # With problems already, only check the rest, to report them all at once.
        counts = store.import_records(list(parsed.values()), check_only=bool(problems))
    except ValidationFailed as exc:
        problems.update(_store_problems(exc, list(parsed)))
    except DiskFullError as exc:
        raise Failed(f"nothing was imported: the disk is full ({exc}). "
                     "Free some space and import the file again.") from exc
    except FieldbookError as exc:
        raise Failed(f"nothing was imported: {exc}") from exc
    _refuse_if_any(problems, len(items))
    _out(f"Imported {len(parsed)} record(s): {counts.created} new, {counts.updated} updated, "
         f"{counts.unchanged} unchanged.")
    return EXIT_OK


__all__ = ["COMMANDS", "main"]

"""The server's settings, read from the environment once.

Every setting is declared in ``Settings`` with its type, its environment
variable and its default. With no configuration at all the server keeps an
SQLite file and a generated secret in its data folder, so
``fieldbook-server serve`` just works on a laptop; production refuses to start
without a real secret.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import secrets
from base64 import b64decode, b64encode
from binascii import Error as Base64Error
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import platformdirs
from sqlalchemy.engine import make_url

from app.errors import ParcelKeyInvalid
from app.protocol.blobs import DEFAULT_MAX_FILE_BYTES, DEFAULT_QUOTA_BYTES
from app.protocol.parcel_format import ServerKeys

log = logging.getLogger("fieldbook.server")

APP_NAME = "fieldbook-server"
ENV_PREFIX = "FIELDBOOK_SERVER_"
SECRET_FILENAME = "secret.key"
PARCEL_KEYS_FILENAME = "parcel-keys.key"
PREVIOUS_PARCEL_KEYS_FILENAME = "parcel-keys.previous.key"  # kept by rotate-parcel-keys
BLOBS_DIRNAME = "blobs"
DB_FILENAME = "server.db"
MIN_SECRET_LENGTH = 32
# Values copied from examples and templates; never acceptable in production.
UNSAFE_SECRETS = frozenset(
    {
        "changethis",
        "change-this",
        "change_this",
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "secret-key",
        "secretkey",
        "mysecret",
        "password",
        "fieldbook",
        "development",
        "insecure",
        "default",
        "test",
        "xxx",
    }
)

Env = Literal["development", "production"]


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to change."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _env(name: str) -> dict[str, str]:
    """Field metadata: the setting is read from ``FIELDBOOK_SERVER_<name>``."""
    return {"env": name}


@dataclass(frozen=True)
class Settings:
    """All server settings. Build with ``Settings.from_env()``; tests build it
    directly (or ``dataclasses.replace`` one)."""

    database_url: str = field(default="", metadata=_env("DATABASE_URL"))  # default: SQLite in data_dir
    secret: str = field(default="", metadata=_env("SECRET"))  # signs access tokens; >= 32 chars
    env: Env = field(default="development", metadata=_env("ENV"))
    access_token_minutes: int = field(default=15, metadata=_env("ACCESS_TOKEN_MINUTES"))
    refresh_token_days: int = field(default=30, metadata=_env("REFRESH_TOKEN_DAYS"))
    host: str = field(default="127.0.0.1", metadata=_env("HOST"))
    port: int = field(default=8700, metadata=_env("PORT"))
    # The SQLite file and the generated secret live here unless configured.
    data_dir: Path = field(default_factory=default_data_dir, metadata=_env("DATA_DIR"))
    # Attachments (docs/attachments.md): the largest file accepted, what one
    # user's uploads may take in all, and where the files live (default:
    # ``<data_dir>/blobs``; see ``blob_root``).
    max_file_bytes: int = field(default=DEFAULT_MAX_FILE_BYTES, metadata=_env("MAX_FILE_BYTES"))
    quota_bytes: int = field(default=DEFAULT_QUOTA_BYTES, metadata=_env("QUOTA_BYTES"))
    blob_dir: Path | None = field(default=None, metadata=_env("BLOB_DIR"))
    # Sign-in throttling (docs/sync.md, security.check_throttle): after
    # ``throttle_after`` failures for one user name *from one source* that
    # pair is locked for ``throttle_base_seconds``, doubling with each further
    # failure up to ``throttle_max_seconds``; a success resets the pair. One
    # source failing ``throttle_source_after`` times across names (password
    # spraying) is locked alike for every name. A name failing
    # ``throttle_account_after`` times across sources is locked only for the
    # sources that failed on it: its owner elsewhere still signs in.
    throttle_after: int = 5
    throttle_base_seconds: int = 30
    throttle_max_seconds: int = 15 * 60
    throttle_source_after: int = field(default=30, metadata=_env("THROTTLE_SOURCE_AFTER"))
    throttle_account_after: int = field(default=50, metadata=_env("THROTTLE_ACCOUNT_AFTER"))
    # Reverse proxies (comma-separated addresses) whose X-Forwarded-For is
    # believed for the source of a request; without any, the source is the
    # connection's peer address (deps.request_source).
    trusted_proxies: str = field(default="", metadata=_env("TRUSTED_PROXIES"))
    # Sync parcels (docs/parcels.md): the server's parcel identity, base64 of
    # ``ServerKeys.to_bytes()``. Unset, it is generated once into
    # ``parcel-keys.key`` beside the secret (``parcel_keys_path``) and kept:
    # every laptop seals its parcels for the public half it got at sign-in.
    # Servers behind one address must share it (set it, or share the file).
    parcel_keys: str = field(default="", metadata=_env("PARCEL_KEYS"))
    # The keys before the last rotation (``fieldbook-server rotate-parcel-keys``,
    # or set by hand with PARCEL_KEYS when the keys come from the environment):
    # parcels laptops sealed before they learnt the new keys still open, and
    # their answers are signed with the keys those laptops know.
    previous_parcel_keys: str = field(default="", metadata=_env("PREVIOUS_PARCEL_KEYS"))
    # The largest parcel ``POST /parcels/deliver`` takes (413 past it): its
    # records and the files it carries.
    max_parcel_bytes: int = field(default=64 * 1024 * 1024, metadata=_env("MAX_PARCEL_BYTES"))
    # The time source of tokens and throttling (tests move it forward).
    clock: Callable[[], dt.datetime] = utcnow

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def trusted_proxy_addresses(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.trusted_proxies.split(",") if part.strip())

    @property
    def access_token_ttl(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.access_token_minutes)

    @property
    def refresh_token_ttl(self) -> dt.timedelta:
        return dt.timedelta(days=self.refresh_token_days)

    @property
    def blob_root(self) -> Path:
        """Where blob files are kept (computed, so a test replacing
        ``data_dir`` moves the blobs with it)."""
        return self.blob_dir if self.blob_dir is not None else self.data_dir / BLOBS_DIRNAME

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def now(self) -> dt.datetime:
        return self.clock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``FIELDBOOK_SERVER_*`` variables, fill the defaults, check it all.

        Raises ``ConfigError`` with a message meant for the person starting
        the server."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = f.metadata.get("env")
            if not name:
                continue
            raw = environ.get(ENV_PREFIX + name, "").strip()
            if raw:
                values[f.name] = _parse(f.name, ENV_PREFIX + name, raw)
        return cls(**values).resolved()

    def resolved(self) -> Settings:
        """Fill the database URL and secret defaults and validate everything."""
        settings = self
        if settings.env not in ("development", "production"):
            raise ConfigError(f"{ENV_PREFIX}ENV must be 'development' or 'production', not {settings.env!r}.")
        for name in ("access_token_minutes", "refresh_token_days", "throttle_source_after",
                     "throttle_account_after"):
            if getattr(settings, name) < 1:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be at least 1.")
        if settings.max_parcel_bytes < 1024:
            raise ConfigError(f"{ENV_PREFIX}MAX_PARCEL_BYTES must be at least 1024.")
        if settings.max_file_bytes < 1:
            raise ConfigError(f"{ENV_PREFIX}MAX_FILE_BYTES must be at least 1.")
        if settings.quota_bytes < 0:
            raise ConfigError(f"{ENV_PREFIX}QUOTA_BYTES cannot be negative.")
        if not 1 <= settings.port <= 65535:
            raise ConfigError(f"{ENV_PREFIX}PORT must be between 1 and 65535, not {settings.port}.")
        if not settings.database_url:
            url = "sqlite:///" + str(settings.data_dir / DB_FILENAME)
            settings = dataclasses.replace(settings, database_url=url)
        try:
            make_url(settings.database_url)
        except Exception as exc:
            raise ConfigError(f"{ENV_PREFIX}DATABASE_URL is not a database URL: {exc}") from None
        if settings.is_production:
            check_production_secret(settings.secret)
        elif not settings.secret:
            settings = dataclasses.replace(settings, secret=load_or_create_secret(settings.secret_path()))
        elif len(settings.secret) < MIN_SECRET_LENGTH or _is_unsafe(settings.secret):
            log.warning("%sSECRET is weak; production would refuse it.", ENV_PREFIX)
        if settings.parcel_keys:
            parse_parcel_keys(settings.parcel_keys, f"{ENV_PREFIX}PARCEL_KEYS")
        else:
            settings = dataclasses.replace(
                settings, parcel_keys=load_or_create_parcel_keys(settings.parcel_keys_path()))
        if not settings.previous_parcel_keys:
            settings = dataclasses.replace(
                settings, previous_parcel_keys=_read_optional(settings.previous_parcel_keys_path()))
        settings.previous_server_keys()  # damaged: refused at start, not at the first parcel
        return settings

    def server_keys(self) -> ServerKeys:
        """The server's parcel keys (``resolved()`` settings always have them;
        settings built by hand get the generated file's)."""
        text = self.parcel_keys or load_or_create_parcel_keys(self.parcel_keys_path())
        return parse_parcel_keys(text, f"{ENV_PREFIX}PARCEL_KEYS")

    def previous_server_keys(self) -> ServerKeys | None:
        """The parcel keys before the last rotation, if any."""
        text = self.previous_parcel_keys or _read_optional(self.previous_parcel_keys_path())
        return parse_parcel_keys(text, f"{ENV_PREFIX}PREVIOUS_PARCEL_KEYS") if text else None

    def parcel_key_ring(self) -> tuple[ServerKeys, ...]:
        """The keys a parcel may be sealed for: the current ones first."""
        previous = self.previous_server_keys()
        return (self.server_keys(),) if previous is None else (self.server_keys(), previous)

    def sqlite_path(self) -> Path | None:
        """The database file when the database is an SQLite file."""
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return Path(url.database)

    def secret_path(self) -> Path:
        """Where a generated secret is kept: beside the SQLite file, or in the data folder."""
        db = self.sqlite_path()
        return (db.parent if db is not None else self.data_dir) / SECRET_FILENAME

    def parcel_keys_path(self) -> Path:
        """Where generated parcel keys are kept: beside the secret's file."""
        return self.secret_path().with_name(PARCEL_KEYS_FILENAME)

    def previous_parcel_keys_path(self) -> Path:
        return self.secret_path().with_name(PREVIOUS_PARCEL_KEYS_FILENAME)


def _parse(attr: str, var: str, raw: str) -> Any:
    kind = Settings.__dataclass_fields__[attr].type
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{var} must be a whole number, not {raw!r}.") from None
    if kind in ("Path", "Path | None"):
        return Path(raw).expanduser()
    if kind == "Env":
        return cast(Env, raw.lower())
    return raw


def _is_unsafe(secret: str) -> bool:
    return secret.strip().lower() in UNSAFE_SECRETS or len(set(secret)) < 8


def check_production_secret(secret: str) -> None:
    if not secret:
        raise ConfigError(
            f"{ENV_PREFIX}SECRET is not set. In production the server needs a secret of at least "
            f"{MIN_SECRET_LENGTH} random characters, e.g. from: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{ENV_PREFIX}SECRET is too short ({len(secret)} characters); "
            f"production needs at least {MIN_SECRET_LENGTH}."
        )
    if _is_unsafe(secret):
        raise ConfigError(f"{ENV_PREFIX}SECRET is a well-known placeholder; set a random value.")


def parse_parcel_keys(text: str, where: str) -> ServerKeys:
    """The server's parcel keys from their base64 text, or ``ConfigError``."""
    try:
        return ServerKeys.from_bytes(b64decode(text.strip(), validate=True))
    except (Base64Error, ValueError, ParcelKeyInvalid):
        raise ConfigError(
            f"{where} is not a server's parcel keys (base64 of 66 bytes, made by the server itself); "
            "remove it to have new ones made (laptops then learn them at their next sign-in)."
        ) from None


def load_or_create_parcel_keys(path: Path) -> str:
    """The parcel keys kept in ``path`` (mode 0600, base64), made on first
    use like the secret: laptops keep the public half, so they must last."""
    text = _load_or_create(path, lambda: b64encode(ServerKeys.generate().to_bytes()).decode("ascii"),
                           "parcel keys")
    parse_parcel_keys(text, str(path))
    return text


def rotate_parcel_keys(settings: Settings) -> ServerKeys:
    """Make new parcel keys in ``parcel-keys.key`` and keep the current ones
    as ``parcel-keys.previous.key`` (the keys before those are dropped:
    parcels still sealed for them are refused as foreign). Laptops learn the
    new public keys at their next contact. Keys set in the environment are
    the operator's to rotate (``ConfigError`` says how)."""
    if os.environ.get(f"{ENV_PREFIX}PARCEL_KEYS"):
        raise ConfigError(
            f"The parcel keys come from {ENV_PREFIX}PARCEL_KEYS: set {ENV_PREFIX}PREVIOUS_PARCEL_KEYS to its "
            "value, put new keys in it (this command prints none), and restart the servers.")
    current = load_or_create_parcel_keys(settings.parcel_keys_path())
    new = ServerKeys.generate()
    _replace_file(settings.previous_parcel_keys_path(), current)
    _replace_file(settings.parcel_keys_path(), b64encode(new.to_bytes()).decode("ascii"))
    log.info("Rotated the server's parcel keys in %s", settings.parcel_keys_path())
    return new


def _read_optional(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from None


@contextlib.contextmanager
def _private_copy(path: Path, value: str) -> Iterator[Path]:
    """A finished file beside ``path`` holding ``value`` (mode 0600, on disk),
    to link or move into place; removed after the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(value + "\n")
            out.flush()
            os.fsync(out.fileno())
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _replace_file(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` (mode 0600) so that a reader sees the old
    text or the new, never a part."""
    try:
        with _private_copy(path, value) as tmp:
            os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"Cannot write {path}: {exc}") from None


def load_or_create_secret(path: Path) -> str:
    """The secret kept in ``path`` (mode 0600), generated on first use.

    Keeping it means a restarted development server still accepts the tokens
    it issued. Two processes starting at once agree on one secret: the file
    appears atomically and only once (hard link of a finished temp file)."""
    secret = _load_or_create(path, lambda: secrets.token_urlsafe(48), "secret")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"The server secret in {path} is damaged; delete the file to make a new one.")
    return secret


def _load_or_create(path: Path, make: Callable[[], str], what: str) -> str:
    """The text kept in ``path``, or ``make()``'s written there atomically
    (mode 0600; the first of two processes starting at once wins)."""
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the server {what} {path}: {exc}") from None
    if existing is not None:
        return existing
    value = make()
    try:
        with _private_copy(path, value) as tmp:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return _load_or_create(path, make, what)  # another process won the race
    except OSError as exc:
        raise ConfigError(f"Cannot create the server {what} {path}: {exc}") from None
    log.info("Generated new server %s in %s", what, path)
    return value

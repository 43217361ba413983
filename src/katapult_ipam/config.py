"""Settings, read from ``KATAPULT_IPAM_*`` environment variables."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio.connection import ConnectionPool
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from katapult_ipam.limits import ZONE_MAX_LENGTH

DEFAULT_DATABASE_URL = "sqlite:///var/katapult-ipam.db"
ENV_PREFIX = "KATAPULT_IPAM_"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

# The header trusted proxies write the client's address in (lower case).
ForwardingHeader = Literal["x-forwarded-for", "forwarded"]

# Ranges checked when the settings are read: the service refuses to start on a value
# outside them (``setting_problems`` says which, one line each). Every number has an
# upper bound too, far beyond any real value, so none overflows where it is used (a
# timedelta, a thread count, a C integer) and kills every worker at its start.
Seconds = Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)]
# A request's head and body limits: below 1 KiB ordinary requests would be refused.
Bytes = Annotated[int, Field(ge=1024, le=2**30)]
MAX_CAPABILITIES_TTL = 366 * 86_400
# The latest Unix time a datetime can hold (9999-12-31T23:59:59Z).
LATEST_UNIX_TIME = 253_402_300_799
# A DNS name: dot-separated labels of letters, digits and inner hyphens, each 1 to 63
# characters (lower case, without the final dot, once normalised by ``dns_zone``).
DNS_NAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*")
# Options of a Redis URL that would silently override KATAPULT_IPAM_REDIS_TIMEOUT.
_REDIS_TIMEOUT_OPTIONS = ("socket_timeout", "socket_connect_timeout", "timeout")


class Settings(BaseSettings):
    """Every knob the service has; see README for the table."""

    # A bad value may hold a secret (a password in a URL): errors never repeat it.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", hide_input_in_errors=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    # Default reverse DNS zone for addresses that are not allocated.
    rdns_zone: str = "rdns.katapult-ipam.invalid"
    # An organization's infrastructure domain, unless its inventory entry names one,
    # is "<sub_domain>." followed by this.
    infrastructure_domain: str = "katapult-ipam.invalid"
    # How long a request may wait for the database (busy locks, pool) in seconds.
    database_timeout: Seconds = 5.0
    # Threads that run transactions, each with its own connection. 0: SQLite runs
    # them on the event loop (fastest), PostgreSQL on 4 threads.
    database_threads: Annotated[int, Field(ge=0, le=256)] = 0
    # Threads that run read-only transactions (token lookups, flags, lists), each
    # with its own connection: reads never take the write lock or the event loop.
    read_threads: Annotated[int, Field(ge=1, le=256)] = 2
    # Most allocations committed together in one transaction (group commit).
    max_batch: Annotated[int, Field(ge=1, le=100_000)] = 64
    # One of LOG_LEVELS.
    log_level: str = "info"

    # -- request limits (answered with the error envelope) --------------------
    max_body_bytes: Bytes = 64 * 1024
    max_header_bytes: Bytes = 16 * 1024
    # How long a client may take to send its body.
    body_timeout: Seconds = 10.0

    # -- the server (katapult_ipam.transport: before any routing) ---------------
    # Seconds a client has to send a whole request head, from the opening of the
    # connection or from the first byte of its next request: 408, then closed (an
    # idle new connection is closed). MAX_HEADER_BYTES is enforced while the head arrives.
    head_timeout: Seconds = 10.0
    # Seconds a kept-alive connection may stay idle between requests before it is closed.
    idle_timeout: Seconds = 5.0
    # Connections each worker process holds at once; a request beyond it is answered
    # 503 service_unavailable with Retry-After (idle ones go at HEAD_TIMEOUT).
    max_connections: Annotated[int, Field(ge=1, le=1_000_000)] = 1000

    # -- the authenticator ------------------------------------------------------
    # Requests per identity (or per client address, before authentication) per minute.
    rate_limit_per_minute: Annotated[int, Field(ge=1, le=1_000_000_000)] = 1000
    # For tests: the rate limit's clock stands still at this Unix time, so a burst never
    # straddles the turn of a minute and Retry-After is exact. Unset: the system clock.
    rate_limit_frozen_at: (
        Annotated[float, Field(ge=0, le=LATEST_UNIX_TIME, allow_inf_nan=False)] | None
    ) = None
    # Shared rate limit counters; without it each process counts on its own.
    redis_url: str | None = None
    # Seconds a Redis call may take before this process counts on its own for a while.
    redis_timeout: Seconds = 0.5
    # How long a looked-up API token is believed without asking the database again
    # (so a revoked token works for at most this long); 0 asks every time.
    token_cache_seconds: Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)] = 5.0
    # Comma separated CIDRs whose forwarding header is believed.
    trusted_proxies: str = ""
    # The one header trusted proxies write the client's address in: X-Forwarded-For,
    # or RFC 7239 Forwarded (in any case). The other is ignored, whoever sends it.
    forwarded_header: ForwardingHeader = "x-forwarded-for"
    # Answer every API request 503 (also switchable at run time: `katapult-ipam maintenance`).
    maintenance: bool = False
    # Capabilities tokens: signed here with this Ed25519 key (made on first use) and
    # verified with it plus any extra public keys (comma separated PEM files), for rotation.
    signing_key_file: str = "var/signing-key.pem"
    capabilities_public_keys: str = ""
    capabilities_issuer: str = "katapult-ipam"
    # The longest lifetime a capabilities token may have, in seconds: longer ones are
    # neither issued nor believed (nor those without an issue time). At most 366 days.
    capabilities_max_ttl: Annotated[int, Field(ge=1, le=MAX_CAPABILITIES_TTL)] = 24 * 3600
    # OAuth2 access tokens (JWT) from an external issuer.
    oauth2_issuer: str | None = None
    oauth2_audience: str | None = None
    oauth2_jwks_file: str | None = None
    oauth2_jwks_url: str | None = None
    oauth2_organizations_claim: str = "organizations"

    @field_validator(
        "redis_url",
        "oauth2_issuer",
        "oauth2_audience",
        "oauth2_jwks_file",
        "oauth2_jwks_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL (sqlite:///path or postgresql+psycopg://…)"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"{url.get_backend_name()!r} is not sqlite or postgresql")
        try:
            url.get_dialect()
        except NoSuchModuleError:
            raise ValueError(f"no database driver {url.drivername!r}") from None
        if url.get_backend_name() == "sqlite" and _in_memory(url.database, url.query):
            raise ValueError(
                "a SQLite URL needs a file path (such as sqlite:///var/katapult-ipam.db):"
                " an in-memory database keeps nothing"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_url(value, ("redis", "rediss", "unix"), "redis://host:6379/0")
            if value.startswith("unix:") and not urlsplit(value).path:
                raise ValueError("no socket path (such as unix:///run/redis/redis.sock)")
            _check_redis_options(value)
        return value

    @field_validator("oauth2_jwks_url")
    @classmethod
    def _jwks_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_url(value, ("http", "https"), "https://issuer.example/jwks.json")
            if "@" in urlsplit(value).netloc:
                # urllib would not log in with it: it would ask DNS for "user:password@host".
                raise ValueError("must not hold a user name or password")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        for network in _split(value):
            _check_cidr(network)
        return value

    @field_validator("rdns_zone", "infrastructure_domain")
    @classmethod
    def _rdns_zone(cls, value: str) -> str:
        return dns_zone(value)

    @field_validator("forwarded_header", mode="before")
    @classmethod
    def _forwarded_header(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.strip().lower() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.strip().lower()

    @field_validator("capabilities_issuer")
    @classmethod
    def _capabilities_issuer(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _oauth2_complete(self) -> Settings:
        """An OAuth2 issuer needs an audience and exactly one JWKS source, and nothing
        of OAuth2 is set without an issuer; its tokens must be told from ours by issuer."""
        if not self.oauth2_issuer:
            for name in ("oauth2_audience", "oauth2_jwks_file", "oauth2_jwks_url"):
                if getattr(self, name):
                    raise _invalid(name, f"needs {ENV_PREFIX}OAUTH2_ISSUER")
            return self
        if self.oauth2_issuer == self.capabilities_issuer:
            raise _invalid("oauth2_issuer", f"must differ from {ENV_PREFIX}CAPABILITIES_ISSUER")
        if not self.oauth2_audience:
            raise _invalid("oauth2_audience", f"needed with {ENV_PREFIX}OAUTH2_ISSUER")
        if bool(self.oauth2_jwks_file) == bool(self.oauth2_jwks_url):
            raise _invalid(
                "oauth2_jwks_url",
                f"set exactly one of it and {ENV_PREFIX}OAUTH2_JWKS_FILE with an OAuth2 issuer",
            )
        return self

    @property
    def trusted_proxy_networks(self) -> list[str]:
        return _split(self.trusted_proxies)

    @property
    def capabilities_public_key_files(self) -> list[str]:
        return _split(self.capabilities_public_keys)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def dns_zone(value: str) -> str:
    """``value`` as a DNS zone name (lower case, without a final dot); a ValueError, which
    does not repeat the value, if it is not one."""
    zone = value.rstrip(".").lower()
    if len(zone) > ZONE_MAX_LENGTH or not DNS_NAME.fullmatch(zone):
        raise ValueError(
            "not a DNS name: dot-separated labels of letters, digits and hyphens"
            f" (such as rdns.example.net), at most {ZONE_MAX_LENGTH} characters"
        )
    return zone


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _check_cidr(network: str) -> None:
    """A CIDR without host bits: 10.0.0.1/8 would silently stand for all of 10.0.0.0/8."""
    try:
        ipaddress.ip_network(network, strict=False)
    except ValueError:
        raise ValueError(f"{network!r} is not a CIDR such as 10.0.0.0/8") from None
    try:
        ipaddress.ip_network(network, strict=True)
    except ValueError:
        interface = ipaddress.ip_interface(network)
        raise ValueError(
            f"{network} has host bits set: did you mean"
            f" {interface.ip}/{interface.max_prefixlen} or {interface.network}?"
        ) from None


def _in_memory(database: str | None, query: Any) -> bool:
    """Whether SQLite would keep this database in memory only (no path, ``:memory:``,
    or a ``file:`` URI in memory mode)."""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return True
    return bool(database.startswith("file:") and "mode=memory" in database) or (
        query.get("mode") == "memory"
    )


def _check_redis_options(value: str) -> None:
    """What the Redis client would refuse when the service starts (a traceback then),
    refused now; the URL (and its password) is never repeated."""
    try:
        pool = ConnectionPool.from_url(value)
        pool.make_connection()  # type: ignore[no-untyped-call]  # built, not connected
    except ValueError as error:
        # "Invalid value for 'socket_timeout' in connection URL.": the name is redis's own.
        match = re.search(r"value for '(\w+)'", str(error))
        option = f"its option {match.group(1)}" if match else "an option"
        raise ValueError(f"{option} has a value Redis cannot read") from None
    except TypeError as error:
        match = re.search(r"keyword argument '(\w{1,40})'", str(error))
        option = f" {match.group(1)}" if match else ""
        raise ValueError(f"Redis does not know its option{option}") from None
    except RedisError:
        raise ValueError("an option has a value Redis cannot read") from None
    query = urlsplit(value).query
    for option in _REDIS_TIMEOUT_OPTIONS:
        if re.search(rf"(^|&){option}=", query):
            raise ValueError(
                f"its option {option} would override {ENV_PREFIX}REDIS_TIMEOUT: set that instead"
            )


def _check_url(value: str, schemes: tuple[str, ...], example: str) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number in range)
    except ValueError:
        raise ValueError(f"not a URL such as {example}") from None
    if parts.scheme not in schemes:
        raise ValueError(f"the scheme must be {' or '.join(schemes)} (such as {example})")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError(f"no host (such as {example})")


def _invalid(setting: str, reason: str) -> PydanticCustomError:
    """A refusal that names the setting, for a check across several settings."""
    return PydanticCustomError(
        "invalid_setting", "{reason}", {"setting": setting, "reason": reason}
    )


def setting_problems(error: ValidationError) -> list[str]:
    """One line per bad setting, naming its environment variable; never the value."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        context = problem.get("ctx") or {}
        location = problem["loc"]
        setting = str(context.get("setting") or (location[0] if location else ""))
        name = ENV_PREFIX + setting.upper() if setting else "settings"
        lines.append(f"invalid setting {name}: {_reason(problem['type'], problem['msg'], context)}")
    return lines


def _reason(kind: str, message: str, context: dict[str, Any]) -> str:
    if kind == "value_error":
        return str(context.get("error", message))
    if kind == "invalid_setting":
        return str(context["reason"])
    bounds = {
        "greater_than_equal": ("≥", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("≤", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in bounds:
        sign, key = bounds[kind]
        bound = context[key]
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"must be {sign} {bound}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind in ("int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind == "float_parsing":
        return "must be a number"
    if kind == "bool_parsing":
        return "must be true or false"
    return message[:1].lower() + message[1:]

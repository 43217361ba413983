"""Settings, read from ``KATAPULT_IPAM_*`` environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/katapult-ipam.db"


class Settings(BaseSettings):
    """Every knob the service has; see README for the table."""

    model_config = SettingsConfigDict(env_prefix="KATAPULT_IPAM_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Default reverse DNS zone for addresses that are not allocated.
    rdns_zone: str = "rdns.katapult-ipam.invalid"
    # How long a request may wait for the database (busy locks, pool) in seconds.
    database_timeout: float = 5.0
    # Threads that run transactions, each with its own connection. 0: SQLite runs
    # them on the event loop (fastest), PostgreSQL on 4 threads.
    database_threads: int = 0
    # Threads that run read-only transactions (token lookups, flags, lists), each
    # with its own connection: reads never take the write lock or the event loop.
    read_threads: int = 2
    # Most allocations committed together in one transaction (group commit).
    max_batch: int = 64
    log_level: str = "info"

    # -- request limits (answered with the error envelope) --------------------
    max_body_bytes: int = 64 * 1024
    max_header_bytes: int = 16 * 1024
    # How long a client may take to send its body.
    body_timeout: float = 10.0

    # -- the authenticator ------------------------------------------------------
    # Requests per identity (or per client address, before authentication) per minute.
    rate_limit_per_minute: int = 1000
    # For tests: the rate limit's clock stands still at this Unix time, so a burst never
    # straddles the turn of a minute and Retry-After is exact. Unset: the system clock.
    rate_limit_frozen_at: float | None = None
    # Shared rate limit counters; without it each process counts on its own.
    redis_url: str | None = None
    # Seconds a Redis call may take before this process counts on its own for a while.
    redis_timeout: float = 0.5
    # How long a looked-up API token is believed without asking the database again
    # (so a revoked token works for at most this long); 0 asks every time.
    token_cache_seconds: float = 5.0
    # Comma separated CIDRs whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    # Answer every API request 503 (also switchable at run time: `katapult-ipam maintenance`).
    maintenance: bool = False
    # Capabilities tokens: signed here with this Ed25519 key (made on first use) and
    # verified with it plus any extra public keys (comma separated PEM files), for rotation.
    signing_key_file: str = "var/signing-key.pem"
    capabilities_public_keys: str = ""
    capabilities_issuer: str = "katapult-ipam"
    # OAuth2 access tokens (JWT) from an external issuer.
    oauth2_issuer: str | None = None
    oauth2_audience: str | None = None
    oauth2_jwks_file: str | None = None
    oauth2_jwks_url: str | None = None
    oauth2_organizations_claim: str = "organizations"

    @property
    def trusted_proxy_networks(self) -> list[str]:
        return _split(self.trusted_proxies)

    @property
    def capabilities_public_key_files(self) -> list[str]:
        return _split(self.capabilities_public_keys)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]

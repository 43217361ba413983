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
    # Threads that run transactions; each owns one connection. SQLite wants one.
    database_threads: int = 0
    # Most allocations committed together in one transaction (group commit).
    max_batch: int = 64
    log_level: str = "info"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def transaction_threads(self) -> int:
        if self.database_threads > 0:
            return self.database_threads
        return 1 if self.is_sqlite else 4

"""The composition root: the long-lived objects one process shares between requests.

Only ``app.py`` and the CLI import this module; nothing under ``api/`` does
(tests/unit/test_layers.py). The handler is given the few objects it needs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine

from katapult_ipam.auth.authenticator import Authenticator, SignedTokenVerifiers, TokenCache
from katapult_ipam.auth.capabilities import CapabilitiesKeys
from katapult_ipam.auth.client_address import TrustedProxies
from katapult_ipam.auth.oauth2 import OAuth2Verifier
from katapult_ipam.auth.rate_limit import create_rate_limiter
from katapult_ipam.config import Settings
from katapult_ipam.store.database import create_database_engine
from katapult_ipam.store.queries import flags
from katapult_ipam.store.reads import ReadRunner
from katapult_ipam.store.transactions import TransactionRunner, create_transaction_runner


class MaintenanceSwitch:
    """Maintenance mode: forced by configuration, or a flag in the database.

    The flag is read at most once a second per process, so every worker sees a
    change within a second without a query on every request; requests arriving
    while it is being read wait for that one read rather than each making its own.
    """

    def __init__(self, forced: bool, reads: ReadRunner, ttl: float = 1.0) -> None:
        self._forced = forced
        self._reads = reads
        self._ttl = ttl
        self._value = False
        self._checked_at = float("-inf")
        self._reading: asyncio.Future[bool] | None = None

    async def is_on(self) -> bool:
        if self._forced:
            return True
        if time.monotonic() - self._checked_at < self._ttl:
            return self._value
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read())
        reading = self._reading
        return await asyncio.shield(reading)

    async def _read(self) -> bool:
        try:
            self._value = await self._reads.run(partial(flags.flag_enabled, name=flags.MAINTENANCE))
            self._checked_at = time.monotonic()
            return self._value
        finally:
            self._reading = None


@dataclass
class Services:
    settings: Settings
    engine: Engine
    transactions: TransactionRunner
    reads: ReadRunner
    authenticator: Authenticator
    proxies: TrustedProxies
    maintenance: MaintenanceSwitch

    @classmethod
    def create(cls, settings: Settings) -> Services:
        threads = settings.database_threads
        engine = create_database_engine(
            settings, pool_size=max(threads, 4) + settings.read_threads + 2
        )
        transactions = create_transaction_runner(
            engine, threads, settings.max_batch, settings.database_timeout
        )
        reads = ReadRunner(engine, settings.read_threads, settings.database_timeout)
        frozen_at = settings.rate_limit_frozen_at
        limiter = create_rate_limiter(
            settings.redis_url,
            settings.rate_limit_per_minute,
            settings.redis_timeout,
            clock=time.time if frozen_at is None else lambda: frozen_at,
        )
        return cls(
            settings=settings,
            engine=engine,
            transactions=transactions,
            reads=reads,
            authenticator=Authenticator(
                reads,
                limiter,
                SignedTokenVerifiers(
                    capabilities=CapabilitiesKeys.from_settings(settings),
                    capabilities_issuer=settings.capabilities_issuer,
                    oauth2=OAuth2Verifier.from_settings(settings),
                    capabilities_max_ttl=timedelta(seconds=settings.capabilities_max_ttl),
                ),
                TokenCache(settings.token_cache_seconds),
            ),
            proxies=TrustedProxies(settings.trusted_proxy_networks, settings.forwarded_header),
            maintenance=MaintenanceSwitch(settings.maintenance, reads),
        )

    def start(self) -> None:
        self.transactions.start()

    async def stop(self) -> None:
        await self.authenticator.close()
        self.transactions.stop()
        self.reads.stop()
        self.engine.dispose()

"""The long-lived objects one process shares between requests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from katapult_ipam.api.auth import Authenticator
from katapult_ipam.config import Settings
from katapult_ipam.store.database import create_database_engine
from katapult_ipam.store.transactions import TransactionRunner


@dataclass
class Services:
    settings: Settings
    engine: Engine
    transactions: TransactionRunner
    authenticator: Authenticator

    @classmethod
    def create(cls, settings: Settings) -> Services:
        threads = settings.transaction_threads
        engine = create_database_engine(settings, pool_size=threads + 2)
        transactions = TransactionRunner(engine, threads=threads, max_batch=settings.max_batch)
        return cls(settings, engine, transactions, Authenticator(transactions))

    def start(self) -> None:
        self.transactions.start()

    def stop(self) -> None:
        self.transactions.stop()
        self.engine.dispose()

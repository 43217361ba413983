"""Serving the API: check the schema is current, then run uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from katapult_ipam.auth.capabilities import CapabilitiesKeys
from katapult_ipam.auth.oauth2 import OAuth2Verifier
from katapult_ipam.cli.errors import NOT_MIGRATED
from katapult_ipam.config import Settings
from katapult_ipam.observability import logging_config
from katapult_ipam.store import migrate
from katapult_ipam.store.database import create_database_engine


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Serve the API (the database must be migrated)."""
    settings = Settings()
    engine = create_database_engine(settings)
    try:
        if not migrate.is_current(engine):
            typer.echo(NOT_MIGRATED, err=True)
            raise typer.Exit(1)
    finally:
        engine.dispose()
    check_before_serving(settings)
    uvicorn.run(
        "katapult_ipam.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level=settings.log_level,
        log_config=logging_config(settings.log_level),
        server_header=False,
        # uvicorn's httptools protocol with deadlines on each request's head and body,
        # a size cap on its head and a connection cap (katapult_ipam.transport).
        http="katapult_ipam.transport:GuardedHttpToolsProtocol",
        limit_concurrency=settings.max_connections,  # answered by the transport
        timeout_keep_alive=settings.idle_timeout,  # type: ignore[arg-type]  # any seconds
        ws="none",  # no WebSocket here: an Upgrade header is an ordinary request
        # The application decides whom to believe about the client's address
        # (KATAPULT_IPAM_TRUSTED_PROXIES); uvicorn must not rewrite it first.
        proxy_headers=False,
    )


def check_before_serving(settings: Settings) -> None:
    """Meet, before any worker starts, what would stop every worker at its start: key
    files that cannot be read (a worker's traceback would be all the operator sees)."""
    CapabilitiesKeys.from_settings(settings)
    OAuth2Verifier.from_settings(settings)

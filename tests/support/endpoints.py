"""Probe endpoints: declared like the served ones, for tests of the framework and handler."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient

from katapult_ipam.api.arguments import ArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Action, Endpoint
from katapult_ipam.app import create_app
from katapult_ipam.auth.identity import Scope, Scopes
from katapult_ipam.config import Settings


async def nothing(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """An action that answers ``{}``."""
    return {}


def probe(
    path: str,
    method: str = "GET",
    scopes: Scopes = (Scope.IP_ADDRESSES,),
    name: str = "",
    action: Action = nothing,
) -> Endpoint:
    """An endpoint at ``path`` (also its name unless given) without arguments."""
    return Endpoint(name or path, method, path, scopes, "", ArgumentSet(()), action)


@contextmanager
def serving(
    settings: Settings, endpoints: Iterable[Endpoint], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """A client of the app serving ``endpoints`` in place of the real ones."""
    monkeypatch.setattr("katapult_ipam.app.ENDPOINTS", list(endpoints))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client

"""Bugs are 500s with their trace logged; outages are 503s; neither changes the store."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from katapult_ipam.observability import JSONFormatter
from katapult_ipam.store import models as m
from katapult_ipam.store.driver import DriverStatement
from katapult_ipam.store.queries import audit, ip_addresses, tokens
from tests.support.api import PATH, assert_error
from tests.support.faults import lost_reply
from tests.support.world import World


def body(world: World) -> dict[str, Any]:
    return {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}


def logged_trace(caplog: Any, request_id: str) -> str:
    lines = [JSONFormatter().format(r) for r in caplog.records]
    line = next(line for line in lines if '"message":"unhandled exception"' in line)
    assert f'"request_id":"{request_id}"' in line
    assert "Traceback" in line
    return line


@pytest.mark.parametrize(
    "statement",
    [
        "typo in a driver statement",
        "typo in a SQLAlchemy statement",
    ],
)
def test_a_sql_bug_is_a_500_with_its_trace_logged_not_an_outage(
    client: TestClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: Any,
    statement: str,
) -> None:
    if statement == "typo in a driver statement":
        broken = DriverStatement("SELECT no_such_column FROM ip_addresses WHERE id = :key")
        monkeypatch.setattr(ip_addresses, "_IP_BY_ADDRESS", broken)
    else:
        broken_token = text(
            "SELECT no_such_column FROM api_tokens WHERE secret_hash = :secret_hash"
        )
        monkeypatch.setattr(tokens, "_FIND_TOKEN", broken_token)
    before = world.snapshot()
    with caplog.at_level(logging.INFO, logger="katapult_ipam"):
        response = client.post(PATH, json=body(world), headers={"X-Request-Id": "bug-1"})
    error = assert_error(response, 500, "unhandled_exception")
    assert "retry-after" not in response.headers
    assert "no_such_column" not in response.text
    assert error["detail"] == {}
    line = logged_trace(caplog, "bug-1")
    assert "no_such_column" in line  # the operator sees what went wrong
    assert world.snapshot() == before


def test_a_bug_after_a_write_leaves_nothing_behind(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_record(*args: Any, **kwargs: Any) -> None:
        raise ValueError("audit write failed")

    monkeypatch.setattr(audit, "record_event", broken_record)
    before = world.snapshot()
    response = client.post(PATH, json=body(world))
    assert_error(response, 500, "unhandled_exception")
    assert world.snapshot() == before  # the conditional UPDATE before it was rolled back


def test_a_commit_with_an_unknown_outcome_is_a_503_and_runs_once(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    real_commit = engine.dialect.do_commit
    real_record = audit.record_event
    armed: list[bool] = []

    def record_event(*args: Any, **kwargs: Any) -> None:
        real_record(*args, **kwargs)
        armed.append(True)  # the COMMIT of this transaction will be "lost"

    def do_commit(dbapi_connection: Any) -> None:
        real_commit(dbapi_connection)
        if armed:
            armed.clear()
            raise lost_reply(engine.dialect.name)

    monkeypatch.setattr(audit, "record_event", record_event)
    monkeypatch.setattr(engine.dialect, "do_commit", do_commit)
    response = client.post(PATH, json=body(world))
    error = assert_error(response, 503, "service_unavailable")
    assert response.headers["retry-after"]
    assert error["detail"] == {}
    with world.engine.connect() as c:
        events = c.execute(
            select(func.count())
            .select_from(m.AllocationEvent)
            .where(m.AllocationEvent.address == "192.0.2.10")
        ).scalar_one()
    assert events == 1  # committed once, never run again
    # A retry of the same allocation answers from what was committed, and adds nothing.
    committed = world.snapshot()
    assert client.post(PATH, json=body(world)).status_code == 200
    assert world.snapshot() == committed

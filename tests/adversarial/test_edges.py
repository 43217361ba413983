"""The edges of the HTTP surface in process: request ids, odd methods, media types, ports.

K1: every response carries an X-Request-Id. K2: a method outside the routes is the
documented 404 ``route_not_found`` envelope, not Starlette's text 405. W4: media
types are compared whole and without regard to case. W6: ``serve`` refuses a port
outside 1-65535 and fewer than one worker instead of binding somewhere else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from katapult_ipam.api.arguments.raw import is_json_content_type
from katapult_ipam.cli import app as cli
from tests.support.api import PATH, assert_error
from tests.support.world import World


def allocation(world: World) -> dict[str, Any]:
    return {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}


# -- K1 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/livez"),
        ("GET", "/readyz"),
        ("GET", "/core/v1/schema/openapi.json"),
        ("TRACE", "/livez"),
        ("POST", "/livez"),
        ("GET", "/nowhere"),
        ("GET", PATH),
    ],
)
def test_k1_every_response_carries_the_request_id(
    client: TestClient, method: str, path: str
) -> None:
    given = client.request(method, path, headers={"X-Request-Id": "edge-42"})
    assert given.headers["x-request-id"] == "edge-42"
    new = client.request(method, path)
    assert len(new.headers["x-request-id"]) == 36
    assert new.headers.get_list("x-request-id") == [new.headers["x-request-id"]]  # once
    unfit = client.request(method, path, headers={"X-Request-Id": "x" * 129})
    assert unfit.headers["x-request-id"] != "x" * 129


# -- K2 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("TRACE", "/livez"),
        ("PROPFIND", "/core/v1/virtual_machines/_/allocate_ip"),
        ("TRACE", PATH),
        ("LOCK", "/nowhere"),
        ("DELETE", "/nowhere"),
        ("DELETE", "/readyz"),
        ("POST", "/livez"),
        ("PUT", "/core/v1/schema/openapi.json"),
    ],
)
def test_k2_a_method_outside_the_routes_is_route_not_found(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path)
    error = assert_error(response, 404, "route_not_found")
    assert method in error["description"]


def test_k2_the_post_route_and_cors_preflight_answer_as_before(client: TestClient) -> None:
    for method in ("GET", "HEAD"):
        response = client.request(method, PATH)
        assert response.status_code == 404
        if method == "GET":
            assert_error(response, 404, "route_not_found")
    preflight = client.options(PATH, headers={"Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"


# -- W4 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "read"),
    [
        ("Application/JSON", True),
        ("APPLICATION/JSON; charset=UTF-8", True),
        ("application/json; charset=utf-8", True),
        ("application/jsonx", False),
        ("application/json-seq", False),
    ],
)
def test_w4_media_types_are_compared_whole_and_without_case(
    client: TestClient, world: World, content_type: str, read: bool
) -> None:
    response = client.post(
        PATH,
        content=json.dumps(allocation(world)),
        headers={"Content-Type": content_type},
    )
    if read:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 400, "missing_required_argument")


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("Application/Json", True),
        (" application/json ;charset=utf-8", True),
        ("application/vnd.api+json", True),
        ("APPLICATION/VND.API+JSON; q=1", True),
        ("application/jsonx", False),
        ("application/json-patch", False),
        ("application/+json", False),
        ("text/json", False),
        ("application/x-www-form-urlencoded", False),
        ("", False),
        ("json", False),
    ],
)
def test_w4_is_json_content_type(content_type: str, expected: bool) -> None:
    assert is_json_content_type(content_type) is expected


# -- W6 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [("--port", "99999"), ("--port", "65536"), ("--port", "0"), ("--workers", "0")],
)
def test_w6_serve_refuses_values_out_of_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str, value: str
) -> None:
    # Unmigrated: were the value let through, serve would stop at once with exit 1.
    monkeypatch.setenv("KATAPULT_IPAM_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    result = CliRunner().invoke(cli, ["serve", option, value])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "is not in the range" in result.output

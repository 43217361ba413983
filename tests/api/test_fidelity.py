"""Fidelity points settled from Apia's and Rack's source, through HTTP.

README "Fidelity decisions" gives each rule and its source; the parser's own
cases are in tests/unit/test_arguments.py. Every refusal leaves the store as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from katapult_ipam.api.arguments import ArgumentSet
from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from katapult_ipam.domain.lookups import Lookup
from tests.support.api import PATH, assert_error, bearer, refused
from tests.support.world import ACME_TOKEN, World

JSON = {"Content-Type": "application/json"}
WEB_1 = "web-1.acme.example.net"
FREE_IP = "192.0.2.10"


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The parsed arguments of each request: what reaches the action and its lookups."""
    seen: list[dict[str, Any]] = []
    parse = ArgumentSet.parse

    def spy(self: ArgumentSet, raw: Mapping[str, Any], path_values: Mapping[str, str]) -> Any:
        result = parse(self, raw, path_values)
        seen.append(result)
        return result

    monkeypatch.setattr(ArgumentSet, "parse", spy)
    return seen


@pytest.fixture
def raw_query_client(settings: Settings, world: World) -> Iterator[TestClient]:
    """Like ``client``, but the app receives the query string percent-decoded: raw bytes.

    httpx (under TestClient) percent-encodes non-ASCII in a URL, while Puma hands Rack
    raw UTF-8 as the client sent it; decoding here gives the app such bytes.
    """
    app = create_app(settings)

    async def raw_query(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "query_string": unquote_to_bytes(scope["query_string"])}
        await app(scope, receive, send)

    with TestClient(raw_query, raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_TOKEN))
        yield client


def allocated(world: World, vm: str = "web-1", address: str = FREE_IP) -> bool:
    return bool(world.ip_row(address).allocation_id == world.vm(vm))


# -- 1. a lookup whose keys are null ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"virtual_machine": {"id": None}, "ip_address": {"address": FREE_IP}},
         "virtual_machine_not_found"),
        ({"virtual_machine": {"fqdn": None}, "ip_address": {"address": FREE_IP}},
         "virtual_machine_not_found"),
        ({"virtual_machine": {"id": None, "fqdn": None}, "ip_address": {"address": FREE_IP}},
         "virtual_machine_not_found"),
        ({"virtual_machine": {"fqdn": WEB_1}, "ip_address": {"id": None}},
         "ip_address_not_found"),
        ({"virtual_machine": {"fqdn": WEB_1}, "ip_address": {"address": None}},
         "ip_address_not_found"),
        ({"virtual_machine": {"fqdn": WEB_1}, "ip_address": {"id": None, "address": None}},
         "ip_address_not_found"),
    ],
)  # fmt: skip
def test_a_lookup_given_only_as_nulls_names_nothing(
    client: TestClient, world: World, body: Any, code: str
) -> None:
    # Apia: {id: nil} is not empty (no missing_lookup_value) and has no two non-null
    # values (not ambiguous); the resolver then finds nothing.
    refused(client, world, 404, code, body)


def test_a_null_key_beside_a_value_is_not_ambiguous(client: TestClient, world: World) -> None:
    response = client.post(
        PATH,
        json={
            "virtual_machine": {"id": None, "fqdn": WEB_1},
            "ip_address": {"id": None, "address": FREE_IP},
        },
    )
    assert response.status_code == 200, response.text
    assert allocated(world)


def test_a_null_lookup_in_the_body_is_not_filled_from_the_path(
    client: TestClient, world: World
) -> None:
    # The body has the argument, so the path segment (a real id here) is not used.
    refused(
        client, world, 404, "virtual_machine_not_found",
        {"virtual_machine": {"id": None}, "ip_address": {"address": FREE_IP}},
        path=f"/core/v1/virtual_machines/{world.vm('web-1')}/allocate_ip",
    )  # fmt: skip


def test_argument_errors_come_before_a_null_lookup_is_resolved(
    client: TestClient, world: World
) -> None:
    error = refused(
        client, world, 400, "invalid_argument",
        {"virtual_machine": {"id": None}, "ip_address": {}},
    )  # fmt: skip
    assert (error["detail"]["path"], error["detail"]["issue"]) == (
        ["ip_address"], "missing_lookup_value",
    )  # fmt: skip


def test_unknown_keys_alone_are_still_a_missing_lookup_value(
    client: TestClient, world: World
) -> None:
    error = refused(
        client, world, 400, "invalid_argument",
        {"virtual_machine": {"name": "web-1", "other": None}, "ip_address": {"address": FREE_IP}},
    )  # fmt: skip
    assert error["detail"]["issue"] == "missing_lookup_value"


def test_a_query_name_without_a_value_is_null(
    client: TestClient, world: World, parsed: list[dict[str, Any]]
) -> None:
    # Rack: "virtual_machine[id]" without "=" is {"id" => nil}: a lookup naming nothing.
    refused(
        client, world, 404, "virtual_machine_not_found",
        path=f"{PATH}?virtual_machine[id]&ip_address[address]={FREE_IP}",
    )  # fmt: skip
    assert parsed[-1]["virtual_machine"] == Lookup("id", "")
    # ... and a bare "virtual_machine" is nil: missing, the path segment not used.
    error = refused(
        client, world, 400, "missing_required_argument",
        path=f"{PATH}?virtual_machine&ip_address[address]={FREE_IP}",
    )  # fmt: skip
    assert error["detail"]["path"] == ["virtual_machine"]


# -- 2. issue descriptions Apia does not have ------------------------------------------


@pytest.mark.parametrize(
    ("body", "params", "path"),
    [
        ({"virtual_machine": "vm_x", "ip_address": {"address": FREE_IP}}, None,
         ["virtual_machine"]),
        ({"virtual_machine": {"fqdn": WEB_1}, "ip_address": [FREE_IP]}, None, ["ip_address"]),
        (None, {"virtual_machine[]": "vm_x"}, ["virtual_machine"]),
    ],
)  # fmt: skip
def test_object_expected_has_a_null_issue_description(
    client: TestClient, world: World, body: Any, params: Any, path: list[str]
) -> None:
    error = refused(client, world, 400, "invalid_argument", body, params=params)
    detail = error["detail"]
    assert {k: v for k, v in detail.items() if k != "argument"} == {
        "path": path,
        "index": None,
        "issue": "object_expected",
        "issue_description": None,
        "errors": [],
    }
    assert detail["argument"]["name"] == path[-1]


def test_described_issues_keep_apias_sentence(client: TestClient, world: World) -> None:
    error = refused(client, world, 400, "invalid_argument", {"virtual_machine": {"id": 5}})
    assert error["detail"]["issue_description"] == (
        "The value provided was not of an appropriate type for the scalar that was requested."
        " For example, you may have passed a string where an integer was required etc..."
    )


# -- 3. the JSON body: empty, whitespace, Content-Type [handler change] ----------------


def test_an_empty_json_body_is_no_arguments(client: TestClient, world: World) -> None:
    error = refused(client, world, 400, "missing_required_argument", content=b"", headers=JSON)
    assert error["detail"]["path"] == ["ip_address"]  # virtual_machine came from the path


@pytest.mark.parametrize("body", [b" ", b"\n", b"\r\n", b" \t\r\n "])
def test_a_body_of_whitespace_is_invalid_json(
    client: TestClient, world: World, body: bytes
) -> None:
    # Apia parses any non-empty body, and Ruby's JSON.parse refuses whitespace alone.
    error = refused(client, world, 400, "invalid_json_body", content=body, headers=JSON)
    assert error["description"] == "The JSON body provided with this request is invalid"
    assert error["detail"]["details"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/vnd.api+json",
     "application/merge-patch+json; charset=utf-8", "Application/JSON"],
)  # fmt: skip
def test_json_content_types_are_read(client: TestClient, world: World, content_type: str) -> None:
    body = {"virtual_machine": {"fqdn": WEB_1}, "ip_address": {"address": FREE_IP}}
    response = client.post(PATH, content=json.dumps(body), headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert allocated(world)


@pytest.mark.parametrize(
    "content_type", ["application/x-json", "text/json", "application/jsonx", "text/plain"]
)
def test_other_content_types_are_not_read(
    client: TestClient, world: World, content_type: str
) -> None:
    body = {"virtual_machine": {"fqdn": WEB_1}, "ip_address": {"address": FREE_IP}}
    refused(
        client, world, 400, "missing_required_argument",
        content=json.dumps(body), headers={"Content-Type": content_type},
    )  # fmt: skip


# -- 4. the _arguments parameter [handler change] --------------------------------------


def arguments(value: Any) -> dict[str, str]:
    return {"_arguments": value if isinstance(value, str) else json.dumps(value)}


def test_arguments_parameter_holds_the_arguments(client: TestClient, world: World) -> None:
    params = arguments({"virtual_machine": {"fqdn": WEB_1}, "ip_address": {"address": FREE_IP}})
    response = client.post(PATH, params=params)
    assert response.status_code == 200, response.text
    assert allocated(world)


def test_arguments_parameter_with_a_body_that_is_not_json(client: TestClient, world: World) -> None:
    params = arguments({"virtual_machine": {"fqdn": WEB_1}, "ip_address": {"address": FREE_IP}})
    response = client.post(
        PATH, params=params, content=b"ignored", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200, response.text
    assert allocated(world)


def test_arguments_parameter_merges_over_the_query(client: TestClient, world: World) -> None:
    params = {
        "virtual_machine[fqdn]": "nope.example.net",
        "ip_address[address]": FREE_IP,
        **arguments({"virtual_machine": {"fqdn": WEB_1}}),
    }
    response = client.post(PATH, params=params)
    assert response.status_code == 200, response.text
    assert allocated(world)


def test_arguments_parameter_is_not_read_with_a_json_body(client: TestClient, world: World) -> None:
    params = arguments({"virtual_machine": {"fqdn": WEB_1}, "ip_address": {"address": FREE_IP}})
    refused(
        client, world, 400, "missing_required_argument",
        params=params, content=b"{}", headers=JSON,
    )  # fmt: skip


@pytest.mark.parametrize("value", ["{", " ", '{"ip_address": {"address": 1e400}}'])
def test_arguments_parameter_that_is_not_json(client: TestClient, world: World, value: str) -> None:
    refused(client, world, 400, "invalid_json_body", params=arguments(value))


@pytest.mark.parametrize(
    "params",
    [arguments("[1]"), arguments(""), {"_arguments[virtual_machine]": "x"}],
)
def test_arguments_parameter_that_holds_no_object_adds_nothing(
    client: TestClient, world: World, params: dict[str, str]
) -> None:
    error = refused(client, world, 400, "missing_required_argument", params=params)
    assert error["detail"]["path"] == ["ip_address"]


def test_arguments_parameter_is_read_after_authentication(client: TestClient, world: World) -> None:
    del client.headers["Authorization"]
    refused(client, world, 400, "missing_api_token", params=arguments("{"))


# -- 5. numbers beyond 64 bits ---------------------------------------------------------


def test_an_integer_beyond_64_bits_in_a_lookup_is_an_invalid_scalar(
    client: TestClient, world: World
) -> None:
    body = b'{"virtual_machine": {"id": 18446744073709551616}, "ip_address": {"address": "x"}}'
    error = refused(client, world, 400, "invalid_argument", content=body, headers=JSON)
    assert (error["detail"]["path"], error["detail"]["issue"]) == (
        ["virtual_machine", "id"], "invalid_scalar",
    )  # fmt: skip


def test_an_integer_beyond_64_bits_elsewhere_is_ignored(client: TestClient, world: World) -> None:
    body = (
        b'{"virtual_machine": {"fqdn": "web-1.acme.example.net"},'
        b' "ip_address": {"address": "192.0.2.10"}, "extra": 184467440737095516160000}'
    )
    response = client.post(PATH, content=body, headers=JSON)
    assert response.status_code == 200, response.text
    assert allocated(world)


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1" + b"0" * 400])
def test_a_number_beyond_a_double_is_invalid_json(
    client: TestClient, world: World, number: bytes
) -> None:
    # Kept: Ruby reads it (Infinity, a Bignum) and Apia would ignore it here.
    body = b'{"virtual_machine": {"fqdn": "web-1.acme.example.net"}, "extra": ' + number + b"}"
    refused(client, world, 400, "invalid_json_body", content=body, headers=JSON)


# -- 6. UTF-8 in the query string ------------------------------------------------------


def test_percent_encoded_utf_8_in_the_query_string(
    client: TestClient, world: World, parsed: list[dict[str, Any]]
) -> None:
    refused(
        client, world, 404, "virtual_machine_not_found",
        params={"virtual_machine[fqdn]": "café.example", "ip_address[address]": FREE_IP},
    )  # fmt: skip
    assert parsed[-1]["virtual_machine"] == Lookup("fqdn", "café.example")


def test_raw_utf_8_in_the_query_string_is_read_as_utf_8(
    raw_query_client: TestClient, world: World, parsed: list[dict[str, Any]]
) -> None:
    # [handler change] was "cafÃ©.example": the bytes were read as latin-1.
    refused(
        raw_query_client, world, 404, "virtual_machine_not_found",
        params={"virtual_machine[fqdn]": "café.example", "ip_address[address]": FREE_IP},
    )  # fmt: skip
    assert parsed[-1]["virtual_machine"] == Lookup("fqdn", "café.example")


def test_invalid_utf_8_in_the_query_string_names_nothing(
    raw_query_client: TestClient, world: World, parsed: list[dict[str, Any]]
) -> None:
    # A latin-1 "é" (raw byte E9) is not UTF-8: U+FFFD, which names nothing; never a 500.
    refused(
        raw_query_client, world, 404, "virtual_machine_not_found",
        path=f"{PATH}?virtual_machine[fqdn]=caf%E9.example&ip_address[address]={FREE_IP}",
    )  # fmt: skip
    assert parsed[-1]["virtual_machine"] == Lookup("fqdn", "caf\ufffd.example")


def test_raw_utf_8_works_where_the_values_are_ascii(
    raw_query_client: TestClient, world: World
) -> None:
    response = raw_query_client.post(
        PATH,
        params={"virtual_machine[fqdn]": WEB_1, "ip_address[address]": FREE_IP, "note": "é"},
    )
    assert response.status_code == 200, response.text
    assert allocated(world)


def test_error_envelope_for_a_raw_query(raw_query_client: TestClient, world: World) -> None:
    response = raw_query_client.post(PATH, params={"virtual_machine[]": "é"})
    assert_error(response, 400, "invalid_argument")

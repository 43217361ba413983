"""Endpoint declarations and routing."""

from __future__ import annotations

from typing import Any

import pytest

from katapult_ipam.api.arguments import ArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.endpoints import ENDPOINTS
from katapult_ipam.api.errors import VIRTUAL_MACHINE_NOT_FOUND
from katapult_ipam.api.framework import Endpoint, Router, domain_error_to_api
from katapult_ipam.domain.errors import IPAlreadyAllocated, VirtualMachineNotFound


async def _nothing(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    return {}


def endpoint(path: str, method: str = "GET", scope: str = "s") -> Endpoint:
    return Endpoint(path, method, path, scope, "", ArgumentSet(()), _nothing)


def test_an_endpoint_without_a_scope_is_refused_at_declaration() -> None:
    with pytest.raises(ValueError, match="no scope"):
        endpoint("x", scope="")


def test_every_served_endpoint_declares_a_scope_and_its_errors() -> None:
    for served in ENDPOINTS:
        assert served.scope
        assert served.errors


def test_slots_take_any_segment_and_literals_win() -> None:
    slot = endpoint("things/:thing/do")
    literal = endpoint("things/special/do")
    router = Router([slot, literal])
    match = router.match("GET", "things/abc/do")
    assert match is not None
    assert (match.endpoint, match.path_values) == (slot, {"thing": "abc"})
    special = router.match("get", "/things/special/do/")
    assert special is not None
    assert special.endpoint is literal


@pytest.mark.parametrize(("method", "path"), [("POST", "things/a/do"), ("GET", "things/a"),
                                              ("GET", "things/a/do/more")])  # fmt: skip
def test_no_match(method: str, path: str) -> None:
    assert Router([endpoint("things/:thing/do")]).match(method, path) is None


def test_domain_errors_map_to_declared_api_errors() -> None:
    declared = Endpoint(
        "x", "GET", "x", "s", "", ArgumentSet(()), _nothing,
        errors={VirtualMachineNotFound: VIRTUAL_MACHINE_NOT_FOUND},
    )  # fmt: skip
    error = domain_error_to_api(declared, VirtualMachineNotFound("vm_1"))
    assert error is not None
    assert error.definition is VIRTUAL_MACHINE_NOT_FOUND
    assert domain_error_to_api(declared, IPAlreadyAllocated("ip_1")) is None


def test_request_ids_are_distinct_version_4_uuids() -> None:
    import uuid

    from katapult_ipam.api.handler import _REQUEST_IDS

    ids = [_REQUEST_IDS.next() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)

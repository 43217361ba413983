"""Endpoint declarations (routing is in test_router.py)."""

from __future__ import annotations

from typing import Any

import pytest

from katapult_ipam.api.arguments import ArgumentSet
from katapult_ipam.api.endpoints import ENDPOINTS
from katapult_ipam.api.errors import VIRTUAL_MACHINE_NOT_FOUND
from katapult_ipam.api.framework import Endpoint, Router, domain_error_to_api
from katapult_ipam.auth.identity import NO_SCOPE_REQUIRED, Scope
from katapult_ipam.domain.errors import IPAlreadyAllocated, VirtualMachineNotFound
from tests.support.endpoints import nothing, probe


@pytest.mark.parametrize("scopes", [(), "ip_addresses", ("ip_addresses",), None,
                                    (Scope.IP_ADDRESSES, Scope.IP_ADDRESSES)])  # fmt: skip
def test_an_endpoint_without_a_proper_scope_declaration_is_refused(scopes: Any) -> None:
    with pytest.raises(ValueError, match="scope"):
        probe("x", scopes=scopes)


def test_an_endpoint_must_say_its_scopes_even_when_there_are_none() -> None:
    with pytest.raises(TypeError, match="scopes"):
        Endpoint(name="x", method="GET", path="x", description="",  # type: ignore[call-arg]
                 arguments=ArgumentSet(()), action=nothing)  # fmt: skip
    assert probe("x", scopes=NO_SCOPE_REQUIRED).scopes is NO_SCOPE_REQUIRED
    assert probe("x", scopes=(Scope.IP_ADDRESSES, Scope.IP_ADDRESSES_READ)).scopes == (
        "ip_addresses", "ip_addresses:read",
    )  # fmt: skip


def test_every_served_endpoint_is_declared_soundly() -> None:
    # Scopes are checked against the official document in tests/api/test_declarations.py.
    Router(ENDPOINTS)  # no duplicated name, operation or route
    for served in ENDPOINTS:
        # A slot must fill an argument of the same name, or its segment is silently ignored.
        slots = {s[1:] for s in served.path.split("/") if s.startswith(":")}
        names = {argument.name for argument in served.arguments.arguments}
        assert slots <= names, (served.name, slots - names)


def test_domain_errors_map_to_declared_api_errors() -> None:
    declared = Endpoint(
        "x", "GET", "x", (Scope.IP_ADDRESSES,), "", ArgumentSet(()), nothing,
        errors={VirtualMachineNotFound: VIRTUAL_MACHINE_NOT_FOUND},
    )  # fmt: skip
    error = domain_error_to_api(declared, VirtualMachineNotFound("vm_1"))
    assert error is not None
    assert error.definition is VIRTUAL_MACHINE_NOT_FOUND
    assert domain_error_to_api(declared, IPAlreadyAllocated("ip_1")) is None


def test_request_ids_are_distinct_version_4_uuids() -> None:
    import uuid

    from katapult_ipam.api.request_ids import new_request_id

    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)


def test_a_forked_worker_draws_its_own_request_ids() -> None:
    import os

    from katapult_ipam.api.request_ids import new_request_id

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert child != new_request_id()

"""The scope check: any one of the endpoint's scopes is enough, as in Apia."""

from __future__ import annotations

import orjson
import pytest

from katapult_ipam.api.errors import SCOPE_NOT_GRANTED, ApiError
from katapult_ipam.auth.authenticator import require_scope
from katapult_ipam.auth.identity import NO_SCOPE_REQUIRED, Identity, Scope

EITHER = (Scope.IP_ADDRESSES, Scope.IP_ADDRESSES_READ)


def identity(*scopes: str) -> Identity:
    return Identity(frozenset({"org_1"}), frozenset(scopes), "APIToken", "tok_1")


@pytest.mark.parametrize("granted", [["ip_addresses:read"], ["ip_addresses"],
                                     ["virtual_machines", "ip_addresses:read"]])  # fmt: skip
def test_one_of_the_accepted_scopes_is_enough(granted: list[str]) -> None:
    require_scope(identity(*granted), EITHER)


def test_a_no_scope_endpoint_takes_an_identity_with_no_scopes() -> None:
    require_scope(identity(), NO_SCOPE_REQUIRED)


@pytest.mark.parametrize("granted", [[], ["virtual_machines:read"], ["ip_addresses:write"]])
def test_an_identity_with_none_of_them_is_refused_with_every_accepted_scope(
    granted: list[str],
) -> None:
    with pytest.raises(ApiError) as refused:
        require_scope(identity(*granted), EITHER)
    assert refused.value.definition is SCOPE_NOT_GRANTED
    # Apia lists the endpoint's scopes in declared order (ScopeNotGrantedError, scopes:).
    assert refused.value.detail == {"scopes": ["ip_addresses", "ip_addresses:read"]}
    assert orjson.loads(refused.value.body())["error"]["detail"]["scopes"] == [
        "ip_addresses", "ip_addresses:read",
    ]  # fmt: skip


def test_a_single_scope_endpoint_names_its_scope() -> None:
    with pytest.raises(ApiError) as refused:
        require_scope(identity("virtual_machines"), (Scope.IP_ADDRESSES,))
    assert refused.value.detail == {"scopes": ["ip_addresses"]}

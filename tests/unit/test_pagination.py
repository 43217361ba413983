"""page/per_page and the pagination object, pinned to lifecycle-facts 0.3 byte for byte."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from katapult_ipam.api.arguments import (
    Argument,
    ArgumentSet,
    Boolean,
    LookupArgumentSet,
    parse_json_arguments,
    parse_query_string,
)
from katapult_ipam.api.errors import ApiError
from katapult_ipam.api.pagination import (
    LARGE_SET_COUNT_LIMIT,
    MAXIMUM_OFFSET,
    PAGE,
    PER_PAGE,
    Page,
    paginated,
    pagination,
    total_or_large,
    with_pagination,
)
from katapult_ipam.domain.lookups import Lookup

LIST = "CoreAPI/Endpoints/IPAddresses/ListEndpoint"
ORGANIZATION = Argument(
    "organization",
    LookupArgumentSet("OrganizationLookup", ("id", "sub_domain")),
    required=True,
    description="The organization to use when looking up IP addresses",
)
ALLOCATED = Argument("allocated", Boolean())
ARGUMENTS = with_pagination(ArgumentSet.for_endpoint(LIST, ORGANIZATION, ALLOCATED))
QUERY = "organization[sub_domain]=acme"


def error_json(query: str = "", body: bytes = b"") -> bytes:
    """The ``error`` object production would send for these arguments, as bytes."""
    raw = {**parse_query_string(query), **parse_json_arguments(body)}
    with pytest.raises(ApiError) as raised:
        ARGUMENTS.parse(raw, {})
    envelope = orjson.loads(raised.value.body())
    assert raised.value.status == 400
    assert {k: v for k, v in envelope.items() if k != "error"} == envelope["error"]
    return orjson.dumps(envelope["error"])


PAGE_ZERO = (
    b'{"code":"invalid_argument","description":"The \'page\' argument is invalid",'
    b'"detail":{"path":["page"],"index":null,"issue":"validation_errors",'
    b'"issue_description":null,"errors":["greater_than_zero"],"argument":'
    b'{"id":"CoreAPI/Endpoints/IPAddresses/ListEndpoint/BaseArgumentSet/PageArgument",'
    b'"name":"page","description":null}}}'
)
PER_PAGE_201 = (
    b'{"code":"invalid_argument","description":"The \'per_page\' argument is invalid",'
    b'"detail":{"path":["per_page"],"index":null,"issue":"validation_errors",'
    b'"issue_description":null,"errors":["less_than_or_equal_to_one_hundred"],"argument":'
    b'{"id":"CoreAPI/Endpoints/IPAddresses/ListEndpoint/BaseArgumentSet/PerPageArgument",'
    b'"name":"per_page","description":null}}}'
)
PAGE_ABC = (
    b'{"code":"invalid_argument","description":"The \'page\' argument is invalid",'
    b'"detail":{"path":["page"],"index":null,"issue":"parse_error","issue_description":'
    b'"The value provided could not be parsed into an appropriate value by the server. '
    b'For example, if a date was expected and the value could not be interpretted as such.",'
    b'"errors":["Integer must be provided as an integer or a string only containing numbers"],'
    b'"argument":{"id":"CoreAPI/Endpoints/IPAddresses/ListEndpoint/BaseArgumentSet/PageArgument",'
    b'"name":"page","description":null}}}'
)


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        (f"{QUERY}&page=0", b"", PAGE_ZERO),
        (QUERY, b'{"page": 0}', PAGE_ZERO),
        (f"{QUERY}&page=-1", b"", PAGE_ZERO),
        (f"{QUERY}&per_page=201", b"", PER_PAGE_201),
        (QUERY, b'{"per_page": 201}', PER_PAGE_201),
        (f"{QUERY}&page=abc", b"", PAGE_ABC),
        (QUERY, b'{"page": "abc"}', PAGE_ABC),
        (QUERY, b'{"page": 1.5}', PAGE_ABC),
        (f"{QUERY}&page=", b"", PAGE_ABC),  # an empty value is not absent
    ],
)
def test_the_table_of_bad_values(query: str, body: bytes, expected: bytes) -> None:
    assert error_json(query, body) == expected


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("per_page=0", ["greater_than_zero"]),
        ("per_page=-5", ["greater_than_zero"]),
        ("per_page=100000", ["less_than_or_equal_to_one_hundred"]),
    ],
)
def test_per_page_rules(query: str, errors: list[str]) -> None:
    detail = orjson.loads(error_json(f"{QUERY}&{query}"))["detail"]
    assert (detail["path"], detail["issue"], detail["errors"]) == (
        ["per_page"],
        "validation_errors",
        errors,
    )


@pytest.mark.parametrize(
    ("query", "body", "page", "per_page"),
    [
        (QUERY, b"", 1, 30),  # the defaults
        (f"{QUERY}&page=2&per_page=200", b"", 2, 200),
        (f"{QUERY}&per_page=1", b"", 1, 1),
        (f"{QUERY}&page=7", b'{"per_page": 100}', 7, 100),
        (f"{QUERY}&page=9", b'{"page": 3}', 3, 30),  # the body wins
        # (decision) A JSON null or a bare ?page takes the default; Apia would call
        # nil.positive? in the validation and answer 500.
        (QUERY, b'{"page": null, "per_page": null}', 1, 30),
        (f"{QUERY}&page&per_page", b"", 1, 30),
    ],
)
def test_good_values(query: str, body: bytes, page: int, per_page: int) -> None:
    raw = {**parse_query_string(query), **parse_json_arguments(body)}
    parsed = ARGUMENTS.parse(raw, {})
    assert Page.of(parsed) == Page(page, per_page)
    assert (PAGE.value(parsed), PER_PAGE.value(parsed)) == (page, per_page)


def test_page_and_per_page_come_after_the_endpoints_arguments() -> None:
    assert [a.name for a in ARGUMENTS.arguments] == [
        "organization",
        "allocated",
        "page",
        "per_page",
    ]
    # So an earlier argument's error wins over a bad page.
    with pytest.raises(ApiError) as raised:
        ARGUMENTS.parse({"organization": {}, "page": 0}, {})
    assert raised.value.detail["issue"] == "missing_lookup_value"
    parsed = ARGUMENTS.parse({"allocated": "no", "page": "2"}, {"organization": "org_1"})
    assert parsed == {
        "organization": Lookup("id", "org_1"),
        "allocated": False,
        "page": 2,
        "per_page": 30,
    }


def test_a_paginated_set_needs_an_id() -> None:
    with pytest.raises(ValueError, match="id"):
        with_pagination(ArgumentSet((ORGANIZATION,)))


# -- Page -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "offset", "limit"), [(Page(1, 30), 0, 30), (Page(3, 30), 60, 30), (Page(2, 1), 1, 1)]
)
def test_offset_and_limit(page: Page, offset: int, limit: int) -> None:
    assert (page.offset, page.limit) == (offset, limit)


def test_a_huge_page_has_a_bounded_offset() -> None:
    assert Page(2**63 - 1, 200).offset == MAXIMUM_OFFSET
    assert MAXIMUM_OFFSET + 200 < 2**63  # OFFSET + LIMIT still fits a signed 64-bit integer


# -- the pagination object ------------------------------------------------------------


def test_the_recorded_reply() -> None:
    # cas v6/VirtualMachine_update_ips 2026-08-14 #38
    reply = paginated("virtual_machine_network_interfaces", [{"id": "vmnet_1"}], Page(1, 30), 1)
    assert orjson.dumps(reply) == (
        b'{"pagination":{"current_page":1,"total_pages":1,"total":1,"per_page":30,'
        b'"large_set":false},"virtual_machine_network_interfaces":[{"id":"vmnet_1"}]}'
    )


@pytest.mark.parametrize(
    ("page", "total", "expected"),
    [
        (Page(1, 30), 0, (1, 0, 0, 30)),  # empty: no pages
        (Page(4, 30), 0, (4, 0, 0, 30)),
        (Page(1, 30), 30, (1, 1, 30, 30)),
        (Page(1, 30), 31, (1, 2, 31, 30)),
        (Page(9, 100), 150, (9, 2, 150, 100)),  # past the end: echoed, totals still real
        (Page(1, 200), 1000, (1, 5, 1000, 200)),  # 1,000 rows is not yet a large set
    ],
)
def test_pagination(page: Page, total: int, expected: tuple[int, int, int, int]) -> None:
    rendered = pagination(page, total)
    assert list(rendered) == ["current_page", "total_pages", "total", "per_page", "large_set"]
    current, pages, count, per_page = expected
    assert rendered == {
        "current_page": current,
        "total_pages": pages,
        "total": count,
        "per_page": per_page,
        "large_set": False,
    }


def test_a_large_set_has_no_totals() -> None:
    assert orjson.dumps(pagination(Page(2, 30), None)) == (
        b'{"current_page":2,"total_pages":null,"total":null,"per_page":30,"large_set":true}'
    )


@given(st.integers(0, 10**7), st.integers(1, 200), st.integers(1, 10**6))
def test_total_pages_is_the_ceiling(total: int, per_page: int, number: int) -> None:
    rendered = pagination(Page(number, per_page), total)
    assert rendered["total_pages"] == math.ceil(total / per_page)
    assert rendered["current_page"] == number


@given(st.integers(0, LARGE_SET_COUNT_LIMIT))
def test_a_count_capped_at_1001_rows_tells_a_large_set(counted: int) -> None:
    # The store counts at most LARGE_SET_COUNT_LIMIT rows (Apia: set.limit(1001).count).
    assert total_or_large(counted) == (None if counted == 1001 else counted)


def test_an_endpoint_that_counts_everything_is_never_a_large_set() -> None:
    rendered: dict[str, Any] = pagination(Page(1, 30), 1_000_000)
    assert (rendered["total"], rendered["total_pages"], rendered["large_set"]) == (
        1_000_000,
        33_334,
        False,
    )

"""The router: matching, and the declaration mistakes it refuses at start-up."""

from __future__ import annotations

from dataclasses import replace

import pytest

from katapult_ipam.api.framework import Endpoint, Router
from tests.support.endpoints import probe as e


def test_slots_take_any_segment_and_literals_win() -> None:
    slot = e("things/:thing/do")
    literal = e("things/special/do")
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
    assert Router([e("things/:thing/do")]).match(method, path) is None


@pytest.mark.parametrize("path", ["a/:x/b/:x", ":x/:x", "a/:x/:y/:x"])
def test_a_slot_name_used_twice_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match=f"Duplicated param name x at path {path}$"):
        e(path)


@pytest.mark.parametrize(
    ("first", "second", "what"),
    [
        (e("a/:x"), e("a/:y"), "route"),  # the same shape: the second would never match
        (e("a/:x"), e("/a/:x/"), "route"),
        (e("a/b", "get"), e("a/b", "GET", name="other"), "route"),
        (e("a/:x", name="same"), e("b/:x", name="same"), "name"),
        (e("a"), replace(e("b"), openapi_operation="get:a"), "operation id"),
    ],
    ids=["same shape", "same path", "method case", "name", "operation id"],
)  # fmt: skip
def test_duplicated_declarations_are_refused(first: Endpoint, second: Endpoint, what: str) -> None:
    with pytest.raises(ValueError, match=f"^Duplicated {what}: "):
        Router([first, second])


def test_the_same_endpoint_listed_twice_is_refused() -> None:
    twice = e("a/:x")
    with pytest.raises(ValueError, match="Duplicated"):
        Router([twice, twice])


@pytest.mark.parametrize(
    ("first", "second"),
    [(e("a/:x"), e("a/:x", "POST", name="post")), (e("a/:x"), e("a/b")),
     (e("a/:x/b"), e("a/b/:x")), (e("a/:x"), e("a/:x/b"))],
)  # fmt: skip
def test_distinct_routes_are_accepted(first: Endpoint, second: Endpoint) -> None:
    endpoints = Router([first, second]).endpoints
    assert sorted(x.name for x in endpoints) == sorted([first.name, second.name])

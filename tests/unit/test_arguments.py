"""Parsing raw arguments the way Apia does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katapult_ipam.api.arguments import (
    Argument,
    ArgumentSet,
    LookupArgumentSet,
    deep_merge,
    parse_query_string,
)
from katapult_ipam.api.errors import ApiError
from katapult_ipam.domain.lookups import Lookup

VM = LookupArgumentSet("VirtualMachineLookup", ("id", "fqdn"))
ARGS = ArgumentSet((Argument("virtual_machine", VM, required=True, description="The VM"),))


def issue_of(raw: dict[str, Any], path_values: dict[str, str] | None = None) -> tuple[str, Any]:
    with pytest.raises(ApiError) as raised:
        ARGS.parse(raw, path_values or {})
    return raised.value.definition.code, raised.value.detail.get("issue")


def test_a_lookup_by_one_key() -> None:
    assert ARGS.parse({"virtual_machine": {"fqdn": "a.b"}}, {}) == {
        "virtual_machine": Lookup("fqdn", "a.b")
    }


def test_the_path_fills_the_first_key_only_when_absent() -> None:
    assert ARGS.parse({}, {"virtual_machine": "vm_1"}) == {"virtual_machine": Lookup("id", "vm_1")}
    parsed = ARGS.parse({"virtual_machine": {"fqdn": "a.b"}}, {"virtual_machine": "vm_1"})
    assert parsed == {"virtual_machine": Lookup("fqdn", "a.b")}


def test_null_is_missing_even_with_a_path_value() -> None:
    assert issue_of({"virtual_machine": None}, {"virtual_machine": "vm_1"}) == (
        "missing_required_argument",
        None,
    )


@pytest.mark.parametrize(
    ("value", "issue"),
    [
        ({}, "missing_lookup_value"),
        ({"id": None}, "missing_lookup_value"),
        ({"id": "a", "fqdn": "b"}, "ambiguous_lookup_values"),
        ("vm_1", "object_expected"),
        (3, "object_expected"),
        ({"id": 3}, "invalid_scalar"),
        ({"fqdn": ["a"]}, "invalid_scalar"),
    ],
)
def test_lookup_issues(value: Any, issue: str) -> None:
    assert issue_of({"virtual_machine": value}) == ("invalid_argument", issue)


@given(st.dictionaries(st.sampled_from(["id", "fqdn", "other"]), st.none() | st.text()))
def test_a_lookup_parses_or_fails_with_a_declared_issue(value: dict[str, Any]) -> None:
    given_keys = [k for k in ("id", "fqdn") if value.get(k) is not None]
    if len(given_keys) == 1:
        parsed = ARGS.parse({"virtual_machine": value}, {})
        assert parsed["virtual_machine"] == Lookup(given_keys[0], value[given_keys[0]])
        return
    with pytest.raises(ApiError) as raised:
        ARGS.parse({"virtual_machine": value}, {})
    expected = "missing_lookup_value" if not given_keys else "ambiguous_lookup_values"
    assert raised.value.detail["issue"] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("virtual_machine[id]=vm_1", {"virtual_machine": {"id": "vm_1"}}),
        ("a[b][c]=1&a[b][d]=2", {"a": {"b": {"c": "1", "d": "2"}}}),
        ("a=1&a[b]=2", {"a": {"b": "2"}}),
        ("a[b]=2&a=1", {"a": "1"}),
        ("x=%5B1%5D&y=", {"x": "[1]", "y": ""}),
        ("[oops]=1&ok=1", {"[oops]": "1", "ok": "1"}),
        ("list[]=1&list[]=2", {"list": ["1", "2"]}),
        ("a[b][]=1", {"a": {"b": ["1"]}}),
        ("a[][b]=1", {}),
        ("", {}),
    ],
)
def test_query_strings(query: str, expected: dict[str, Any]) -> None:
    assert parse_query_string(query) == expected


@given(st.text())
def test_any_query_string_parses_to_a_mapping(query: str) -> None:
    assert isinstance(parse_query_string(query), dict)


def test_deep_merge_lets_the_body_win() -> None:
    base = {"a": {"x": "q", "y": "q"}, "b": "q"}
    assert deep_merge(base, {"a": {"y": "body"}, "b": {"z": 1}}) == {
        "a": {"x": "q", "y": "body"},
        "b": {"z": 1},
    }

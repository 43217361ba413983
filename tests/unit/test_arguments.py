"""Parsing raw arguments the way Apia does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katapult_ipam.api.arguments import (
    ISSUE_DESCRIPTIONS,
    Argument,
    ArgumentSet,
    LookupArgumentSet,
    arguments_parameter,
    deep_merge,
    invalid_argument,
    is_json_content_type,
    missing_argument,
    parse_json_arguments,
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
        ({"other": None}, "missing_lookup_value"),
        ({"id": "a", "fqdn": "b"}, "ambiguous_lookup_values"),
        ({"id": 3, "fqdn": "b"}, "invalid_scalar"),  # each value parsed before the set is checked
        ("vm_1", "object_expected"),
        (3, "object_expected"),
        ({"id": 3}, "invalid_scalar"),
        ({"fqdn": ["a"]}, "invalid_scalar"),
    ],
)
def test_lookup_issues(value: Any, issue: str) -> None:
    assert issue_of({"virtual_machine": value}) == ("invalid_argument", issue)


@pytest.mark.parametrize(
    ("value", "lookup"),
    [
        # Apia: a present key counts even when null, and the resolver finds nothing.
        ({"id": None}, Lookup("id", "")),
        ({"fqdn": None}, Lookup("fqdn", "")),
        ({"id": None, "fqdn": None}, Lookup("id", "")),
        ({"id": None, "fqdn": "a.b"}, Lookup("fqdn", "a.b")),
        ({"fqdn": "a.b", "other": "x"}, Lookup("fqdn", "a.b")),
    ],
)
def test_null_keys_are_present_but_name_nothing(value: Any, lookup: Lookup) -> None:
    assert ARGS.parse({"virtual_machine": value}, {}) == {"virtual_machine": lookup}


@given(st.dictionaries(st.sampled_from(["id", "fqdn", "other"]), st.none() | st.text()))
def test_a_lookup_parses_or_fails_with_a_declared_issue(value: dict[str, Any]) -> None:
    present = [k for k in ("id", "fqdn") if k in value]
    given_keys = [k for k in present if value[k] is not None]
    if present and len(given_keys) <= 1:
        parsed = ARGS.parse({"virtual_machine": value}, {})
        key = given_keys[0] if given_keys else present[0]
        assert parsed["virtual_machine"] == Lookup(key, value[key] or "")
        return
    with pytest.raises(ApiError) as raised:
        ARGS.parse({"virtual_machine": value}, {})
    expected = "missing_lookup_value" if not present else "ambiguous_lookup_values"
    assert raised.value.detail["issue"] == expected


def test_issue_descriptions_are_apias() -> None:
    # lib/apia/errors/invalid_argument_error.rb ISSUE_DESCRIPTIONS, word for word.
    assert ISSUE_DESCRIPTIONS == {
        "invalid_scalar": "The value provided was not of an appropriate type for the scalar"
        " that was requested. For example, you may have passed a string where an integer was"
        " required etc...",
        "parse_error": "The value provided could not be parsed into an appropriate value by the"
        " server. For example, if a date was expected and the value could not be interpretted"
        " as such.",
        "validation_error": "A validation rule that has been specified for this argument was not"
        " satisfied. See the further details in the response and in the documentation.",
        "invalid_enum_value": "The value provided was not one of the options suitable for the"
        " enum.",
        "missing_lookup_value": "A value for a lookup argument set has not been provided but at"
        " least one value is required.",
        "ambiguous_lookup_values": "More than one value has been provided for a lookup argument"
        " set. Only one option may be provided.",
    }


@pytest.mark.parametrize("issue", ["object_expected", "array_expected", "validation_errors"])
def test_an_issue_apia_does_not_describe_has_a_null_description(issue: str) -> None:
    error = invalid_argument(ARGS.arguments[0], ["virtual_machine"], issue)
    assert error.detail["issue"] == issue
    assert error.detail["issue_description"] is None


def test_object_expected_has_a_null_description() -> None:
    with pytest.raises(ApiError) as raised:
        ARGS.parse({"virtual_machine": "vm_1"}, {})
    assert raised.value.detail["issue"] == "object_expected"
    assert raised.value.detail["issue_description"] is None


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
        # Arrays of objects, as Rack: a key the last object has starts the next one.
        ("a[][b]=1", {"a": [{"b": "1"}]}),
        ("a[][k]=1&a[][v]=2&a[][k]=3", {"a": [{"k": "1", "v": "2"}, {"k": "3"}]}),
        ("a[][b][c]=1", {}),
        ("", {}),
        # Rack: a name without "=" has the value nil; "+" is a space; empty pairs are skipped.
        ("virtual_machine", {"virtual_machine": None}),
        ("virtual_machine[id]&x=1", {"virtual_machine": {"id": None}, "x": "1"}),
        ("a[]&a[]=1", {"a": [None, "1"]}),
        ("a=b+c&&=x&d%5Bk%5D=1", {"a": "b c", "d": {"k": "1"}}),
        ("x=%zz", {"x": "%zz"}),
    ],
)
def test_query_strings(query: str, expected: dict[str, Any]) -> None:
    assert parse_query_string(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        b"virtual_machine[fqdn]=caf\xc3\xa9.example",  # raw UTF-8, as Rack reads it
        b"virtual_machine[fqdn]=caf%C3%A9.example",
        b"virtual_machine%5Bfqdn%5D=caf%c3%a9.example",
        "virtual_machine[fqdn]=café.example",
    ],
)
def test_the_query_string_is_utf_8_raw_or_percent_encoded(query: bytes | str) -> None:
    assert parse_query_string(query) == {"virtual_machine": {"fqdn": "café.example"}}


@pytest.mark.parametrize("query", [b"x=caf\xe9", b"x=caf%E9", b"x=%FF%FE", b"x=\xed\xa0\x80"])
def test_invalid_utf_8_becomes_replacement_characters(query: bytes) -> None:
    value = parse_query_string(query)["x"]
    assert "\ufffd" in value
    value.encode("utf-8")  # no lone surrogates: any database can be asked for it


@given(st.binary())
def test_any_bytes_parse_to_text(query: bytes) -> None:
    def texts(node: Any) -> list[Any]:
        if isinstance(node, dict):
            return [*node, *(t for v in node.values() for t in texts(v))]
        if isinstance(node, list):
            return [t for v in node for t in texts(v)]
        return [node]

    for text in texts(parse_query_string(query)):
        assert text is None or isinstance(text, str)
        if text is not None:
            text.encode("utf-8")  # raises on a lone surrogate


@given(st.text())
def test_any_query_string_parses_to_a_mapping(query: str) -> None:
    assert isinstance(parse_query_string(query), dict)


def test_deep_merge_lets_the_body_win() -> None:
    base = {"a": {"x": "q", "y": "q"}, "b": "q"}
    assert deep_merge(base, {"a": {"y": "body"}, "b": {"z": 1}}) == {
        "a": {"x": "q", "y": "body"},
        "b": {"z": 1},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"", {}),  # Apia: an empty body is no arguments
        (b'{"a": {"b": "c"}}\n', {"a": {"b": "c"}}),  # the old Go client's trailing newline
        (b"[1, 2]", {}),  # an array or a scalar adds nothing
        (b'"text"', {}),
        (b"12.5", {}),
        (b"null", {}),
        ('{"a": "é"}', {"a": "é"}),
    ],
)
def test_json_arguments(text: bytes | str, expected: dict[str, Any]) -> None:
    assert parse_json_arguments(text) == expected


@pytest.mark.parametrize("text", [b" ", b"  \n", b"\t\r\n", b"{", b"blah1", b"{} x", " "])
def test_whitespace_alone_is_invalid_json(text: bytes | str) -> None:
    # Ruby: JSON.parse("   ") raises "unexpected end of input"; only "" is empty.
    with pytest.raises(ApiError) as raised:
        parse_json_arguments(text)
    assert raised.value.definition.code == "invalid_json_body"
    assert isinstance(raised.value.detail["details"], str)
    assert raised.value.detail["details"]


def test_integers_beyond_64_bits_parse_as_numbers() -> None:
    # orjson reads them as floats (Ruby as Integers): either way not a string, so a
    # lookup refuses them with invalid_scalar and any other key ignores them.
    parsed = parse_json_arguments(b'{"x": 18446744073709551616, "y": -9223372036854775809}')
    assert isinstance(parsed["x"], float)
    assert isinstance(parsed["y"], float)
    assert parse_json_arguments(b'{"x": 18446744073709551615}') == {"x": 2**64 - 1}


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1" + b"0" * 400])
def test_numbers_beyond_a_double_are_invalid_json(number: bytes) -> None:
    # Kept: Ruby reads these as Infinity or a Bignum; orjson refuses them.
    with pytest.raises(ApiError) as raised:
        parse_json_arguments(b'{"x": ' + number + b"}")
    assert raised.value.definition.code == "invalid_json_body"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"_arguments": '{"virtual_machine": {"id": "vm_1"}}'},
         {"virtual_machine": {"id": "vm_1"}}),
        ({"_arguments": ""}, {}),
        ({"_arguments": "[1]"}, {}),
        ({"_arguments": None}, {}),  # a bare `_arguments`
        ({"_arguments": {"x": "{}"}}, {}),  # `_arguments[x]=...`: not a string
        ({"_arguments": ["{}"]}, {}),
        ({}, {}),
    ],
)  # fmt: skip
def test_the_arguments_parameter(query: dict[str, Any], expected: dict[str, Any]) -> None:
    assert arguments_parameter(query) == expected


@pytest.mark.parametrize("value", ["{", " ", '{"a": 1e400}'])
def test_an_arguments_parameter_that_is_not_json(value: str) -> None:
    with pytest.raises(ApiError) as raised:
        arguments_parameter({"_arguments": value})
    assert raised.value.definition.code == "invalid_json_body"


def test_the_arguments_parameter_from_a_query_string() -> None:
    query = parse_query_string(
        "virtual_machine[fqdn]=a.b&_arguments=%7B%22ip_address%22%3A%7B%22id%22%3A%22ip_1%22%7D%7D"
    )
    assert deep_merge(query, arguments_parameter(query)) == {
        "virtual_machine": {"fqdn": "a.b"},
        "ip_address": {"id": "ip_1"},
        "_arguments": '{"ip_address":{"id":"ip_1"}}',
    }


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/vnd.docker.distribution.events.v2+json", True),
        ("application/merge-patch+json", True),
        ("application/jsonx", False),  # the media type whole, not a prefix (W4)
        ("application/vnd.docker.distribution.events.v2-json", False),
        ("application/x-json", False),
        ("Application/JSON", True),  # and without regard to case (RFC 9110, W4)
        ("text/json", False),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("", False),
    ],
)
def test_json_content_types(content_type: str, is_json: bool) -> None:
    assert is_json_content_type(content_type) is is_json


def test_a_lookup_in_an_array_reports_the_index() -> None:
    argument = ARGS.arguments[0]
    with pytest.raises(ApiError) as raised:
        VM.parse_argument({}, argument, ["virtual_machine"], 3)
    assert (raised.value.detail["issue"], raised.value.detail["index"]) == (
        "missing_lookup_value",
        3,
    )


def test_error_builders_take_a_path_and_an_index() -> None:
    argument = ARGS.arguments[0]
    error = invalid_argument(argument, ["a", "b"], "parse_error", ["x"], index=2)
    assert error.description == "The 'a.b' argument is invalid"
    assert (error.detail["index"], error.detail["errors"]) == (2, ["x"])
    missing = missing_argument(argument, ["a", "virtual_machine"])
    assert missing.description == (
        "The 'a.virtual_machine' argument is required but has not been provided"
    )
    assert missing_argument(argument).detail["path"] == ["virtual_machine"]


def test_query_keys_deeper_than_rack_allows_name_nothing_and_cannot_exhaust_the_stack() -> None:
    from katapult_ipam.api.arguments import deep_merge, parse_query_string

    deep = "virtual_machine" + "[a]" * 995 + "=1"
    assert parse_query_string(deep) == {}
    assert parse_query_string("a" + "[b]" * 30 + "=1") != {}
    body: dict[str, object] = {}
    node = body
    for _ in range(990):
        child: dict[str, object] = {}
        node["virtual_machine" if node is body else "a"] = child
        node = child
    # The merge recurses only as deep as both sides go, and the query is shallow.
    assert deep_merge(parse_query_string(deep), body) == body

"""Scalars, enums, arrays, nested sets, validations, defaults and path slots, as in Apia."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katapult_ipam.api.arguments import (
    ISSUE_DESCRIPTIONS,
    Argument,
    Arguments,
    ArgumentSet,
    Array,
    Boolean,
    Enum,
    Integer,
    LookupArgumentSet,
    String,
    Validation,
    camelize,
    parse_query_string,
)
from katapult_ipam.api.errors import ApiError
from katapult_ipam.domain.lookups import Lookup

ENDPOINT = "CoreAPI/Endpoints/IPAddresses/CreateEndpoint"
INTEGER_MESSAGE = "Integer must be provided as an integer or a string only containing numbers"
BOOLEAN_MESSAGE = (
    "Boolean must be provided as a boolean, as a string containing true or false "
    "or as 0 or 1 as an integer."
)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Version(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"


def one(argument: Argument[Any]) -> ArgumentSet:
    return ArgumentSet.for_endpoint(ENDPOINT, argument)


def refusal(
    arguments: ArgumentSet, raw: dict[str, Any], path_values: dict[str, str] | None = None
) -> ApiError:
    with pytest.raises(ApiError) as raised:
        arguments.parse(raw, path_values or {})
    return raised.value


def invalid(
    name: str,
    issue: str,
    *,
    path: list[str] | None = None,
    index: int | None = None,
    errors: list[str] | None = None,
    argument_id: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The detail of an invalid_argument error, as Apia builds it."""
    return {
        "path": path or [name],
        "index": index,
        "issue": issue,
        "issue_description": ISSUE_DESCRIPTIONS.get(issue),
        "errors": errors or [],
        "argument": {
            "id": argument_id or f"{ENDPOINT}/BaseArgumentSet/{camelize(name)}Argument",
            "name": name,
            "description": description,
        },
    }


def assert_invalid(error: ApiError, detail: dict[str, Any]) -> None:
    assert (error.status, error.definition.code) == (400, "invalid_argument")
    assert error.description == f"The '{'.'.join(detail['path'])}' argument is invalid"
    assert error.detail == detail


# -- String ---------------------------------------------------------------------------

LABEL = one(Argument("label", String(), description="The label"))


@given(st.text())
def test_a_string_is_any_text(text: str) -> None:
    assert LABEL.parse({"label": text}) == {"label": text}


@pytest.mark.parametrize("value", [5, 0, 1.5, True, False, [], ["a"], {}, {"a": "b"}])
def test_anything_but_text_is_an_invalid_scalar(value: Any) -> None:
    # Apia's String has no parse block: the validator alone refuses, without a message.
    error = refusal(LABEL, {"label": value})
    assert_invalid(error, invalid("label", "invalid_scalar", description="The label"))


# -- Integer --------------------------------------------------------------------------

COUNT = one(Argument("count", Integer()))


def parsed_count(value: Any) -> Any:
    return COUNT.parse({"count": value})["count"]


@given(st.integers(INT64_MIN, INT64_MAX))
def test_integers_round_trip_as_numbers_and_digit_strings(number: int) -> None:
    assert parsed_count(number) == number
    assert parsed_count(str(number)) == number
    padded = f"-{'0' * 5}{-number}" if number < 0 else f"{'0' * 5}{number}"
    assert parsed_count(padded) == number


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("-0", 0),
        ("007", 7),
        (str(INT64_MAX), INT64_MAX),
        (str(INT64_MIN), INT64_MIN),
        ("0" * 5000 + "1", 1),  # more digits than Python's int() reads: checked first
    ],
)
def test_digit_strings(text: str, number: int) -> None:
    parsed = parsed_count(text)
    assert parsed == number
    assert type(parsed) is int


@pytest.mark.parametrize(
    "value",
    [
        "", "abc", " 1", "1 ", "1\n", "+1", "--1", "1.0", "1e3", "0x10", "1_000",
        "\u0661\u0662", "\uff11\uff12",  # non-ASCII digits: Ruby's \d is ASCII only
        1.0, 2.5, True, False, [1], {"a": 1},
        # (decision) beyond 64 bits: Ruby would take the Bignum and fail later
        2**63, INT64_MIN - 1, str(2**63), "9" * 5000,
    ],
)  # fmt: skip
def test_integer_parse_errors_carry_apias_message(value: Any) -> None:
    error = refusal(COUNT, {"count": value})
    assert_invalid(error, invalid("count", "parse_error", errors=[INTEGER_MESSAGE]))


@given(st.text())
def test_a_string_is_an_integer_exactly_when_it_is_ascii_digits(text: str) -> None:
    digits = text.removeprefix("-")
    readable = text.isascii() and digits.isdigit() and INT64_MIN <= int(text) <= INT64_MAX
    if readable:
        assert parsed_count(text) == int(text)
    else:
        assert refusal(COUNT, {"count": text}).detail["issue"] == "parse_error"


# -- Boolean --------------------------------------------------------------------------

VIP = one(Argument("vip", Boolean()))
TRUE_SPELLINGS = [True, "true", "yes", 1, "1", 1.0]
FALSE_SPELLINGS = [False, "false", "no", 0, "0", 0.0, -0.0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(v, True) for v in TRUE_SPELLINGS] + [(v, False) for v in FALSE_SPELLINGS],
)
def test_apias_boolean_spellings(value: Any, expected: bool) -> None:
    # Ruby's include? compares with ==, so 1.0 and 0.0 are spellings too.
    assert VIP.parse({"vip": value}) == {"vip": expected}


@pytest.mark.parametrize(
    "value",
    ["True", "TRUE", "Yes", "NO", "on", "off", "t", "f", "y", "n", "", " true", "01", "1.0",
     2, -1, 0.5, [], [True], {}, {"a": True}],
)  # fmt: skip
def test_other_booleans_are_parse_errors(value: Any) -> None:
    error = refusal(VIP, {"vip": value})
    assert_invalid(error, invalid("vip", "parse_error", errors=[BOOLEAN_MESSAGE]))


JSON_SCALARS = (
    st.booleans()
    | st.integers(-3, 3)
    | st.floats(-2, 2)
    | st.sampled_from(["true", "false", "yes", "no", "1", "0", "True", "y", ""])
    | st.text(max_size=5)
)


@given(JSON_SCALARS)
def test_a_value_is_a_boolean_exactly_when_it_is_a_spelling(value: Any) -> None:
    is_number = type(value) in (int, float)
    truthy = value is True or value in ("true", "yes", "1") or (is_number and value == 1)
    falsy = value is False or value in ("false", "no", "0") or (is_number and value == 0)
    if truthy or falsy:
        assert VIP.parse({"vip": value}) == {"vip": truthy}
    else:
        assert refusal(VIP, {"vip": value}).detail["errors"] == [BOOLEAN_MESSAGE]


def test_query_string_booleans() -> None:
    assert VIP.parse(parse_query_string("vip=yes")) == {"vip": True}
    assert VIP.parse(parse_query_string("vip=0")) == {"vip": False}
    assert VIP.parse(parse_query_string("vip")) == {"vip": None}  # Rack's nil: given, null


# -- Enum -----------------------------------------------------------------------------

VERSION = one(Argument("version", Enum(Version), required=True))


@pytest.mark.parametrize("value", ["ipv4", "ipv6"])
def test_an_enum_parses_to_its_member(value: str) -> None:
    parsed = VERSION.parse({"version": value})["version"]
    assert parsed is Version(value)


@pytest.mark.parametrize("value", ["IPV4", "ipv5", "", " ipv4", 4, 6, 4.0, True, [], ["ipv4"], {}])
def test_an_unknown_enum_value_is_invalid_enum_value(value: Any) -> None:
    error = refusal(VERSION, {"version": value})
    assert_invalid(error, invalid("version", "invalid_enum_value"))
    assert error.detail["issue_description"] == (
        "The value provided was not one of the options suitable for the enum."
    )


# -- path slots (lifecycle-facts 0.1) -------------------------------------------------

AVAILABLE_IPS = ArgumentSet.for_endpoint(
    "CoreAPI/Endpoints/VirtualMachineNetworkInterfaces/AvailableIPsEndpoint",
    Argument(
        "virtual_machine_network_interface",
        LookupArgumentSet("VirtualMachineNetworkInterfaceLookup", ("id",)),
        required=True,
    ),
    Argument("address_version", Enum(Version), required=True),
)


def test_the_old_client_puts_real_values_in_the_path() -> None:
    path = {"virtual_machine_network_interface": "vmnet_1", "address_version": "ipv4"}
    assert AVAILABLE_IPS.parse({}, path) == {
        "virtual_machine_network_interface": Lookup("id", "vmnet_1"),
        "address_version": Version.IPV4,
    }


def test_the_generated_clients_query_beats_its_literal_segment() -> None:
    raw = parse_query_string("virtual_machine_network_interface[id]=vmnet_1&address_version=ipv6")
    path = {"virtual_machine_network_interface": "_", "address_version": "address_version"}
    assert AVAILABLE_IPS.parse(raw, path)["address_version"] is Version.IPV6


def test_a_segment_that_is_not_a_value_is_invalid() -> None:
    path = {"virtual_machine_network_interface": "vmnet_1", "address_version": "address_version"}
    error = refusal(AVAILABLE_IPS, {}, path)
    assert error.detail["path"] == ["address_version"]
    assert error.detail["issue"] == "invalid_enum_value"


def test_an_integer_slot_parses_its_segment() -> None:
    assert COUNT.parse({}, {"count": "12"}) == {"count": 12}
    assert refusal(COUNT, {}, {"count": "_"}).detail["issue"] == "parse_error"


def test_an_explicit_null_beats_the_path_segment() -> None:
    error = refusal(VERSION, {"version": None}, {"version": "ipv4"})
    assert error.definition.code == "missing_required_argument"


# -- Array ----------------------------------------------------------------------------

IDS = one(Argument("ids", Array(Integer())))


def test_an_array_from_the_query_string() -> None:
    assert IDS.parse(parse_query_string("ids[]=1&ids[]=-2")) == {"ids": [1, -2]}
    assert IDS.parse({"ids": []}) == {"ids": []}


def test_a_null_element_stays_null() -> None:
    assert IDS.parse({"ids": [1, None, 3]}) == {"ids": [1, None, 3]}


@pytest.mark.parametrize("value", ["1", 1, {"0": 1}, True])
def test_a_non_list_is_array_expected(value: Any) -> None:
    error = refusal(IDS, {"ids": value})
    assert_invalid(error, invalid("ids", "array_expected"))
    assert error.detail["issue_description"] is None


@pytest.mark.parametrize(
    ("value", "index", "issue", "errors"),
    [
        ([1, "x"], 1, "parse_error", [INTEGER_MESSAGE]),
        (["a", 2, 3], 0, "parse_error", [INTEGER_MESSAGE]),
        ([1, 2, [3]], 2, "parse_error", [INTEGER_MESSAGE]),  # (decision) no nested lists
    ],
)
def test_an_element_error_carries_its_index(
    value: list[Any], index: int, issue: str, errors: list[str]
) -> None:
    error = refusal(IDS, {"ids": value})
    assert_invalid(error, invalid("ids", issue, index=index, errors=errors))


def test_the_first_bad_element_is_reported() -> None:
    assert refusal(IDS, {"ids": [1, "x", "y"]}).detail["index"] == 1


@pytest.mark.parametrize(
    ("kind", "value", "issue"),
    [
        (String(), ["a", 5], "invalid_scalar"),
        (Boolean(), [True, "maybe"], "parse_error"),
        (Enum(Version), ["ipv4", "ipv9"], "invalid_enum_value"),
        (LookupArgumentSet("TagLookup", ("id", "name")), [{"id": "a"}, "b"], "object_expected"),
        (LookupArgumentSet("TagLookup", ("id", "name")), [{"id": "a"}, {}], "missing_lookup_value"),
    ],
)
def test_every_element_type_reports_the_index(kind: Any, value: list[Any], issue: str) -> None:
    error = refusal(one(Argument("tags", Array(kind))), {"tags": value})
    assert (error.detail["path"], error.detail["index"], error.detail["issue"]) == (
        ["tags"],
        1,
        issue,
    )


def test_an_error_inside_an_element_object_has_no_index() -> None:
    # Apia: a nested set's own arguments are reported by path, not by index.
    tags = one(Argument("tags", Array(LookupArgumentSet("TagLookup", ("id", "name")))))
    error = refusal(tags, {"tags": [{"id": "a"}, {"id": 5}]})
    assert (error.detail["path"], error.detail["index"]) == (["tags", "id"], None)


def test_validations_see_the_whole_array() -> None:
    two = Validation[list[int | None]]("at_most_two", lambda ids: len(ids) <= 2)
    arguments = one(Argument("ids", Array(Integer()), validations=(two,)))
    assert arguments.parse({"ids": [1, 2]}) == {"ids": [1, 2]}
    error = refusal(arguments, {"ids": [1, 2, 3]})
    assert_invalid(error, invalid("ids", "validation_errors", errors=["at_most_two"]))


def test_arrays_of_arrays_are_refused_at_declaration() -> None:
    with pytest.raises(ValueError, match="arrays of arrays"):
        Array(Array(Integer()))


# -- nested argument sets -------------------------------------------------------------

PROPERTIES = ArgumentSet(
    (
        Argument("name", String(), required=True, description="The name"),
        Argument("vip", Boolean()),
        Argument("data_center", LookupArgumentSet("DataCenterLookup", ("id", "permalink"))),
    ),
    id="CoreAPI/ArgumentSets/ThingArguments",
)
UPDATE = ArgumentSet.for_endpoint(
    "CoreAPI/Endpoints/Things/UpdateEndpoint",
    Argument("properties", PROPERTIES, required=True, description="The new details"),
)


def test_a_nested_set_parses_to_arguments() -> None:
    parsed = UPDATE.parse(parse_query_string("properties[name]=a&properties[vip]=yes"))
    assert parsed == {"properties": {"name": "a", "vip": True}}
    assert isinstance(parsed["properties"], Arguments)


@pytest.mark.parametrize("value", ["a", 1, ["a"], True])
def test_a_nested_set_needs_an_object(value: Any) -> None:
    error = refusal(UPDATE, {"properties": value})
    detail = invalid(
        "properties",
        "object_expected",
        argument_id="CoreAPI/Endpoints/Things/UpdateEndpoint/BaseArgumentSet/PropertiesArgument",
        description="The new details",
    )
    assert_invalid(error, detail)


def test_a_missing_nested_argument_has_a_dotted_path() -> None:
    error = refusal(UPDATE, {"properties": {"vip": True}})
    assert (error.status, error.definition.code) == (400, "missing_required_argument")
    assert error.description == (
        "The 'properties.name' argument is required but has not been provided"
    )
    assert error.detail == {
        "path": ["properties", "name"],
        "argument": {"name": "name", "description": "The name"},
    }


def test_an_invalid_nested_argument_is_named_by_its_own_set() -> None:
    error = refusal(UPDATE, {"properties": {"name": "a", "vip": "maybe"}})
    detail = invalid(
        "vip",
        "parse_error",
        path=["properties", "vip"],
        errors=[BOOLEAN_MESSAGE],
        argument_id="CoreAPI/ArgumentSets/ThingArguments/VipArgument",
    )
    assert_invalid(error, detail)


def test_a_lookup_inside_a_nested_set() -> None:
    parsed = UPDATE.parse({"properties": {"name": "a", "data_center": {"permalink": "uk"}}})
    assert parsed["properties"]["data_center"] == Lookup("permalink", "uk")
    error = refusal(UPDATE, {"properties": {"name": "a", "data_center": {}}})
    assert error.detail["path"] == ["properties", "data_center"]
    assert error.detail["issue"] == "missing_lookup_value"


def test_a_path_segment_fills_the_first_argument_of_a_nested_set() -> None:
    assert UPDATE.parse({}, {"properties": "x"}) == {"properties": {"name": "x"}}


# -- required, null, defaults ---------------------------------------------------------

LIMITS = ArgumentSet.for_endpoint(
    ENDPOINT,
    Argument("organization", String(), required=True),
    Argument("label", String()),
    Argument("size", Integer(), default=5),
    Argument("version", Enum(Version), default=Version.IPV4),
)


def test_absent_arguments_take_their_defaults_or_stay_absent() -> None:
    parsed = LIMITS.parse({"organization": "o"})
    assert parsed == {"organization": "o", "size": 5, "version": Version.IPV4}
    assert "label" not in parsed


def test_null_is_kept_for_an_optional_argument() -> None:
    # Apia stores nil, so an update can tell "set to null" from "not given".
    parsed = LIMITS.parse({"organization": "o", "label": None})
    assert parsed["label"] is None
    assert "label" in parsed


def test_null_takes_the_default() -> None:
    # (decision) Apia hands nil to the validations (a 500 for page); the default is kinder.
    parsed = LIMITS.parse({"organization": "o", "size": None, "version": None})
    assert (parsed["size"], parsed["version"]) == (5, Version.IPV4)


@pytest.mark.parametrize("raw", [{}, {"organization": None}, {"label": "x"}])
def test_a_required_argument_absent_or_null_is_missing(raw: dict[str, Any]) -> None:
    error = refusal(LIMITS, raw)
    assert error.definition.code == "missing_required_argument"
    assert error.detail == {
        "path": ["organization"],
        "argument": {"name": "organization", "description": None},
    }


def test_the_path_segment_beats_the_default() -> None:
    assert LIMITS.parse({"organization": "o"}, {"size": "9"})["size"] == 9


def test_the_first_error_in_declared_order_wins() -> None:
    error = refusal(LIMITS, {"organization": "o", "size": "x", "version": "ipv9"})
    assert error.detail["path"] == ["size"]
    error = refusal(LIMITS, {"size": "x"})
    assert error.definition.code == "missing_required_argument"


# -- validations ----------------------------------------------------------------------

POSITIVE = Validation[int]("positive", lambda n: n > 0)
EVEN = Validation[int]("even", lambda n: n % 2 == 0)
RULED = one(Argument("count", Integer(), validations=(POSITIVE, EVEN)))


def test_every_failing_validation_is_named_in_order() -> None:
    assert RULED.parse({"count": "4"}) == {"count": 4}
    error = refusal(RULED, {"count": -3})
    assert_invalid(error, invalid("count", "validation_errors", errors=["positive", "even"]))
    assert refusal(RULED, {"count": 3}).detail["errors"] == ["even"]


def test_validations_run_after_parsing() -> None:
    assert refusal(RULED, {"count": "-x"}).detail["issue"] == "parse_error"


def test_validations_are_not_run_on_null() -> None:
    # (decision) Apia passes nil to the block; a null optional argument stays null.
    assert RULED.parse({"count": None}) == {"count": None}


def test_a_default_is_validated_like_a_given_value() -> None:
    arguments = one(Argument("count", Integer(), default=0, validations=(POSITIVE,)))
    assert refusal(arguments, {}).detail["errors"] == ["positive"]


# -- ids and declarations -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "camel"),
    [
        ("page", "Page"),
        ("per_page", "PerPage"),
        ("ip_address", "IpAddress"),
        ("virtual_machine_network_interface", "VirtualMachineNetworkInterface"),
        ("address_version", "AddressVersion"),
        ("vip", "Vip"),
        ("ipv4_only", "Ipv4Only"),
    ],
)
def test_camelize_is_apias(name: str, camel: str) -> None:
    assert camelize(name) == camel


def test_argument_ids_follow_the_set() -> None:
    owned = Argument("label", String(), owner="Somewhere")
    arguments = ArgumentSet.for_endpoint(ENDPOINT, Argument("reverse_dns", String()), owned)
    assert arguments.id == f"{ENDPOINT}/BaseArgumentSet"
    assert [a.id for a in arguments.arguments] == [
        f"{ENDPOINT}/BaseArgumentSet/ReverseDnsArgument",
        "Somewhere/LabelArgument",  # an explicit owner is kept
    ]
    assert Argument("id", String()).id == "id"  # unowned: a lookup's key


def test_a_name_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        ArgumentSet((Argument("a", String()), Argument("a", Integer())))


# -- typed reading --------------------------------------------------------------------


def test_typed_accessors() -> None:
    organization = LIMITS.arguments[0]
    label = Argument("label", String())
    size = Argument("size", Integer(), default=5)
    parsed = LIMITS.parse({"organization": "o"})
    assert organization.value(parsed) == "o"
    assert size.value(parsed) == 5
    assert label.get(parsed) is None
    assert not label.given(parsed)
    assert label.given(LIMITS.parse({"organization": "o", "label": None}))
    with pytest.raises(TypeError, match=r"get\(\)"):
        label.value(parsed)

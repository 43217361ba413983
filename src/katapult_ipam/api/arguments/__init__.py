"""Turning a request's raw arguments into typed values, with Apia's errors.

``raw``: the query string, the JSON body and how they merge. ``sets``: Argument and
ArgumentSet, parsed in definition order (path slots, defaults, validations).
``types``: String, Integer, Boolean, Enum, Array. ``lookups``: LookupArgumentSet.
``issues``: the ``missing_required_argument`` and ``invalid_argument`` errors.
"""

from katapult_ipam.api.arguments.issues import (
    ISSUE_DESCRIPTIONS,
    invalid_argument,
    missing_argument,
)
from katapult_ipam.api.arguments.lookups import NAMES_NOTHING, LookupArgumentSet
from katapult_ipam.api.arguments.raw import (
    arguments_parameter,
    deep_merge,
    is_json_content_type,
    parse_json_arguments,
    parse_query_string,
)
from katapult_ipam.api.arguments.sets import (
    Argument,
    Arguments,
    ArgumentSet,
    ArgumentType,
    Validation,
    camelize,
)
from katapult_ipam.api.arguments.types import (
    Array,
    Boolean,
    Enum,
    Integer,
    ParseError,
    Scalar,
    String,
)

__all__ = [
    "ISSUE_DESCRIPTIONS",
    "NAMES_NOTHING",
    "Argument",
    "ArgumentSet",
    "ArgumentType",
    "Arguments",
    "Array",
    "Boolean",
    "Enum",
    "Integer",
    "LookupArgumentSet",
    "ParseError",
    "Scalar",
    "String",
    "Validation",
    "arguments_parameter",
    "camelize",
    "deep_merge",
    "invalid_argument",
    "is_json_content_type",
    "missing_argument",
    "parse_json_arguments",
    "parse_query_string",
]

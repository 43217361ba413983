"""The two argument errors, ``missing_required_argument`` and ``invalid_argument``.

Their wire shapes are Apia's (``errors/missing_argument_error.rb``,
``errors/invalid_argument_error.rb``): a dotted path in the description, and in the
detail the path, the index in an array, the issue and Apia's sentence for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from katapult_ipam.api.errors import INVALID_ARGUMENT, MISSING_REQUIRED_ARGUMENT, ApiError

# Apia's table, word for word (errors/invalid_argument_error.rb). An issue it has no
# entry for (object_expected, array_expected, validation_errors) is sent as null:
# the table says ``validation_error`` where the issue raised is ``validation_errors``.
ISSUE_DESCRIPTIONS = {
    "invalid_scalar": (
        "The value provided was not of an appropriate type for the scalar that was "
        "requested. For example, you may have passed a string where an integer was "
        "required etc..."
    ),
    "parse_error": (
        "The value provided could not be parsed into an appropriate value by the server. "
        "For example, if a date was expected and the value could not be interpretted as such."
    ),
    "validation_error": (
        "A validation rule that has been specified for this argument was not satisfied. "
        "See the further details in the response and in the documentation."
    ),
    "invalid_enum_value": "The value provided was not one of the options suitable for the enum.",
    "missing_lookup_value": (
        "A value for a lookup argument set has not been provided but at least one value "
        "is required."
    ),
    "ambiguous_lookup_values": (
        "More than one value has been provided for a lookup argument set. "
        "Only one option may be provided."
    ),
}


class Described(Protocol):
    """What an argument error tells of its argument."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str | None: ...


def missing_argument(argument: Described, path: Sequence[str] | None = None) -> ApiError:
    """400 ``missing_required_argument`` for ``argument`` at ``path`` (its name by default)."""
    names = list(path) if path is not None else [argument.name]
    return MISSING_REQUIRED_ARGUMENT(
        {
            "path": names,
            "argument": {"name": argument.name, "description": argument.description},
        },
        description=f"The '{'.'.join(names)}' argument is required but has not been provided",
    )


def invalid_argument(
    argument: Described,
    path: Sequence[str],
    issue: str,
    errors: Sequence[str] = (),
    *,
    index: int | None = None,
) -> ApiError:
    """400 ``invalid_argument``: ``argument`` at ``path`` (element ``index``) has ``issue``."""
    return INVALID_ARGUMENT(
        {
            "path": list(path),
            "index": index,
            "issue": issue,
            "issue_description": ISSUE_DESCRIPTIONS.get(issue),
            "errors": list(errors),
            "argument": {
                "id": argument.id,
                "name": argument.name,
                "description": argument.description,
            },
        },
        description=f"The '{'.'.join(path)}' argument is invalid",
    )

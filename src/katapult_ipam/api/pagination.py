"""Paginated lists: the ``page``/``per_page`` arguments and the ``pagination`` object.

As Apia declares them (``lib/apia/dsls/endpoint.rb`` ``field ... paginate:``):
``page`` (Integer, default 1, ``greater_than_zero``) and ``per_page`` (Integer,
default 30, ``greater_than_zero`` and ``less_than_or_equal_to_one_hundred``, which
checks ``<= 200``), after the endpoint's other arguments. The reply is rendered as
``request_environment.rb`` ``paginate`` with Kaminari does: ``pagination`` first,
``current_page`` echoed even past the end, ``total_pages`` 0 for an empty set.

A large set: an endpoint that may list very many rows counts at most
``LARGE_SET_COUNT_LIMIT`` (1,001) of them, as Apia's ``set.limit(1001).count``;
more than 1,000 makes ``total_or_large`` answer None, rendered as
``large_set: true`` with ``total`` and ``total_pages`` null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from katapult_ipam.api.arguments import Argument, ArgumentSet, Integer, Validation

MAXIMUM_PER_PAGE = 200  # Apia's default maximum_per_page
LARGE_SET_ROWS = 1000
LARGE_SET_COUNT_LIMIT = LARGE_SET_ROWS + 1
# (decision) Past this the page is empty anyway; capped so that no database sees an
# OFFSET beyond 64 bits (page and per_page are each below 2**63, their product is not).
MAXIMUM_OFFSET = 2**62

GREATER_THAN_ZERO = Validation[int]("greater_than_zero", lambda value: value > 0)
AT_MOST_MAXIMUM_PER_PAGE = Validation[int](
    "less_than_or_equal_to_one_hundred", lambda value: value <= MAXIMUM_PER_PAGE
)

# No description: Apia's are null. Their ids come from the set they are added to.
PAGE = Argument("page", Integer(), default=1, validations=(GREATER_THAN_ZERO,))
PER_PAGE = Argument(
    "per_page", Integer(), default=30, validations=(GREATER_THAN_ZERO, AT_MOST_MAXIMUM_PER_PAGE)
)


def with_pagination(arguments: ArgumentSet) -> ArgumentSet:
    """``arguments`` followed by ``page`` and ``per_page``, owned by the same set id."""
    if not arguments.id:
        raise ValueError("a paginated argument set needs its id: page's id is derived from it")
    return ArgumentSet((*arguments.arguments, PAGE, PER_PAGE), id=arguments.id)


@dataclass(frozen=True)
class Page:
    """The requested page: ``number`` from 1, ``per_page`` rows each."""

    number: int
    per_page: int

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> Page:
        """The page asked for in a paginated endpoint's parsed arguments."""
        return cls(PAGE.value(arguments), PER_PAGE.value(arguments))

    @property
    def offset(self) -> int:
        """Rows to skip (SQL ``OFFSET``)."""
        return min((self.number - 1) * self.per_page, MAXIMUM_OFFSET)

    @property
    def limit(self) -> int:
        """Rows to return (SQL ``LIMIT``)."""
        return self.per_page


def total_or_large(counted: int) -> int | None:
    """The total from a count capped at ``LARGE_SET_COUNT_LIMIT`` rows; None for a large set."""
    return None if counted > LARGE_SET_ROWS else counted


def pagination(page: Page, total: int | None) -> dict[str, Any]:
    """The ``pagination`` object, in production's key order; ``total`` None for a large set."""
    return {
        "current_page": page.number,
        "total_pages": None if total is None else -(-total // page.per_page),
        "total": total,
        "per_page": page.per_page,
        "large_set": total is None,
    }


def paginated(field: str, items: Sequence[Any], page: Page, total: int | None) -> dict[str, Any]:
    """A list reply: ``{"pagination": {...}, field: [...]}``, pagination first as in Apia."""
    return {"pagination": pagination(page, total), field: list(items)}

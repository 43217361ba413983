"""The 422 validation_error an object validation answers (lifecycle-facts 0.4)."""

from __future__ import annotations

import orjson

from katapult_ipam.api.errors import VALIDATION_ERROR, validation_error


def test_the_recorded_error() -> None:
    # cas v6/IP_vip_without_label 2024-12 #1
    error = validation_error("Label can't be blank")
    assert error.status == 422
    assert error.definition is VALIDATION_ERROR
    fields = {
        "code": "validation_error",
        "description": (
            "A validation error occurred with the object that was being created/updated/deleted"
        ),
        "detail": {"errors": ["Label can't be blank"]},
    }
    assert error.body() == orjson.dumps({"error": fields, **fields})


def test_several_messages_keep_their_order() -> None:
    error = validation_error("Label can't be blank", "Reverse dns is invalid")
    assert error.detail == {"errors": ["Label can't be blank", "Reverse dns is invalid"]}

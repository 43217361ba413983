"""Our OpenAPI document: a faithful subset of the official one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from katapult_ipam.api.endpoints import ENDPOINTS


def test_the_served_document_is_a_subset_of_the_official_one(
    client: TestClient, official: dict[str, Any]
) -> None:
    response = client.get("/core/v1/schema/openapi.json")
    assert response.status_code == 200
    ours = response.json()
    assert ours["info"] == official["info"]
    for path, operations in ours["paths"].items():
        for method, operation in operations.items():
            assert operation == official["paths"][path][method]
    for kind, entries in ours["components"].items():
        for name, value in entries.items():
            assert value == official["components"][kind][name], f"{kind}/{name}"


def test_it_covers_exactly_the_served_operations(client: TestClient) -> None:
    ours = client.get("/core/v1/schema/openapi.json").json()
    served = {op["operationId"] for ops in ours["paths"].values() for op in ops.values()}
    assert served == {endpoint.operation_id for endpoint in ENDPOINTS}


def test_every_reference_resolves(client: TestClient) -> None:
    ours = client.get("/core/v1/schema/openapi.json").json()

    def refs(value: Any) -> list[str]:
        if isinstance(value, dict):
            own = [value["$ref"]] if "$ref" in value else []
            return own + [r for v in value.values() for r in refs(v)]
        if isinstance(value, list):
            return [r for v in value for r in refs(v)]
        return []

    for ref in refs(ours):
        _, _, kind, name = ref.split("/", 3)
        assert name in ours["components"][kind], ref


def test_the_committed_document_is_current(official: dict[str, Any]) -> None:
    from scripts.openapi_subset import operation_ids, subset

    committed = Path(__file__).resolve().parents[2] / "src/katapult_ipam/api/openapi.json"
    assert json.loads(committed.read_text()) == subset(official, operation_ids())

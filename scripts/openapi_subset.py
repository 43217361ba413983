"""Write the official OpenAPI document restricted to the operations we serve.

    python scripts/openapi_subset.py OFFICIAL.json > src/katapult_ipam/api/openapi.json

The operations are those of katapult_ipam.api.endpoints.ENDPOINTS; every
component they reference, directly or not, comes along; nothing is changed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from katapult_ipam.api.endpoints import ENDPOINTS


def operation_ids() -> set[str]:
    return {endpoint.operation_id for endpoint in ENDPOINTS}


def subset(document: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, operations in document["paths"].items():
        kept = {
            method: operation
            for method, operation in operations.items()
            if isinstance(operation, dict) and operation.get("operationId") in wanted
        }
        if kept:
            paths[path] = kept
    found = {op["operationId"] for ops in paths.values() for op in ops.values()}
    if found != wanted:
        raise SystemExit(f"not in the document: {sorted(wanted - found)}")
    components: dict[str, dict[str, Any]] = {}
    pending = list(_refs(paths))
    security = {name for ops in paths.values() for op in ops.values()
                for requirement in op.get("security", []) for name in requirement}  # fmt: skip
    for name in sorted(security):
        components.setdefault("securitySchemes", {})[name] = document["components"][
            "securitySchemes"
        ][name]
    while pending:
        ref = pending.pop()
        _, _, kind, name = ref.split("/", 3)
        if name in components.get(kind, {}):
            continue
        value = document["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        pending.extend(_refs(value))
    result = {k: v for k, v in document.items() if k not in ("paths", "components")}
    result["paths"] = paths
    result["components"] = {k: dict(sorted(v.items())) for k, v in sorted(components.items())}
    return result


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as source:
        document = json.load(source)
    json.dump(subset(document, operation_ids()), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""The import graph of src/katapult_ipam: no cycle, and the layers point one way.

Read with ``ast``, nothing is imported. Every import counts, also those under
``TYPE_CHECKING`` and inside functions: a cycle hidden from the interpreter is
still a cycle in the design.
"""

from __future__ import annotations

import ast
import graphlib
from functools import cache
from pathlib import Path

PACKAGE = "katapult_ipam"
ROOT = Path(__file__).resolve().parents[2] / "src" / PACKAGE

CONTAINER = f"{PACKAGE}.container"
HTTP_LIBRARIES = ("starlette", "uvicorn", "httpx")


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


@cache
def imports() -> dict[str, frozenset[str]]:
    """What each module imports: our modules resolved to the module, others as written."""
    return {name: frozenset(_imports_of(name, path)) for name, path in modules().items()}


def _imports_of(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package=path.name == "__init__.py")
            for alias in node.names:
                # ``from package import module`` names the module; anything else, the base.
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules() else base)
    return found


def _absolute(node: ast.ImportFrom, importer: str, *, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    package = importer if is_package else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(f"{PACKAGE}.")


def within(name: str, *packages: str) -> bool:
    """Whether ``name`` is one of ``packages`` (relative to katapult_ipam) or inside one."""
    return any(
        name == f"{PACKAGE}.{package}" or name.startswith(f"{PACKAGE}.{package}.")
        for package in packages
    )


def top_level(name: str) -> str:
    return name.partition(".")[0]


def edges() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    return {name: {i for i in found if ours(i)} for name, found in imports().items()}


def offending(importers: tuple[str, ...], forbidden: object) -> list[tuple[str, str]]:
    assert callable(forbidden)
    return sorted(
        (name, imported)
        for name, found in imports().items()
        if within(name, *importers)
        for imported in found
        if forbidden(imported)
    )


def test_the_graph_is_read_whole() -> None:
    # Guards the test itself: the walk found the layers, and every import of ours resolved.
    for package in ("api", "auth", "domain", "store", "cli"):
        assert f"{PACKAGE}.{package}" in modules()
    unresolved = sorted(
        (name, imported)
        for name, targets in edges().items()
        for imported in targets
        if imported not in modules()
    )
    assert unresolved == []
    assert f"{PACKAGE}.api.context" in edges()[f"{PACKAGE}.api.handler"]


def test_there_is_no_import_cycle() -> None:
    sorter = graphlib.TopologicalSorter(edges())
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        # graphlib lists each module before one that imports it: reversed, it reads "imports".
        cycle = " -> ".join(reversed(error.args[1]))
        raise AssertionError(f"import cycle: {cycle}") from None


def test_only_the_app_and_the_cli_import_the_container() -> None:
    importers = sorted(name for name, targets in edges().items() if CONTAINER in targets)
    allowed = [n for n in importers if n == f"{PACKAGE}.app" or within(n, "cli")]
    assert importers == allowed
    assert f"{PACKAGE}.app" in importers  # the rule above is about something real


def test_the_domain_and_the_store_know_nothing_of_http_or_authentication() -> None:
    def forbidden(imported: str) -> bool:
        return (
            within(imported, "api", "auth")
            or imported == CONTAINER
            or top_level(imported) in HTTP_LIBRARIES
        )

    assert offending(("domain", "store"), forbidden) == []


def test_the_api_and_auth_do_not_import_the_container() -> None:
    assert offending(("api", "auth"), lambda imported: imported == CONTAINER) == []


def test_auth_uses_the_api_only_for_its_declared_errors() -> None:
    def forbidden(imported: str) -> bool:
        return within(imported, "api") and imported != f"{PACKAGE}.api.errors"

    assert offending(("auth",), forbidden) == []
    assert offending(("api.errors",), lambda imported: within(imported, "auth")) == []


def test_identities_and_scopes_are_plain_values() -> None:
    def forbidden(imported: str) -> bool:
        return ours(imported) or top_level(imported) in HTTP_LIBRARIES

    assert offending(("auth.identity",), forbidden) == []

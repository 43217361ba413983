"""Contract tests: the served OpenAPI document against the real server.

``start_server`` is the integration suite's fixture (the real server as a
subprocess on this test's database); importing it here lets pytest find it
for the tests in this folder too.

``generated_client`` is a client generated from our document by
openapi-python-client, once per session (offline, from the file), into a temporary
folder and imported from there; the generated-client tests share it.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.conftest import start_server

__all__ = ["generated_client", "start_server"]

DOCUMENT = Path(__file__).resolve().parents[2] / "src/katapult_ipam/api/openapi.json"
GENERATED_PACKAGE = "katapult_core_client"


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package (``katapult_core_client``), imported."""
    folder = tmp_path_factory.mktemp("generated-client")
    config = folder / "config.json"
    # No post hooks: they would run ruff on the output, which needs it on PATH and adds
    # nothing to a client that is only imported.
    config.write_text(json.dumps({"post_hooks": []}))
    executable = Path(sys.executable).parent / "openapi-python-client"
    result = subprocess.run(
        [
            str(executable), "generate", "--path", str(DOCUMENT),
            "--output-path", str(folder / GENERATED_PACKAGE), "--meta", "none",
            "--config", str(config), "--fail-on-warning",
        ],
        capture_output=True, text=True, timeout=120, cwd=folder, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(GENERATED_PACKAGE)
    finally:
        sys.path.remove(str(folder))
        names = [n for n in sys.modules if n == GENERATED_PACKAGE]
        names += [n for n in sys.modules if n.startswith(f"{GENERATED_PACKAGE}.")]
        for name in names:
            del sys.modules[name]

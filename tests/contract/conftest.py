"""Contract tests: the served OpenAPI document against the real server.

``start_server`` is the integration suite's fixture (the real server as a
subprocess on this test's database); importing it here lets pytest find it
for the tests in this folder too.
"""

from __future__ import annotations

from tests.integration.conftest import start_server

__all__ = ["start_server"]

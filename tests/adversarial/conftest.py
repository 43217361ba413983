"""Hostile and careless input, one test (or more) per probe that once got through.

The real server (``start_server``) is used wherever the transport is involved.
"""

from __future__ import annotations

from tests.integration.conftest import start_server

__all__ = ["start_server"]

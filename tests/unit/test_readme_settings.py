"""README's configuration table and the settings agree, both ways."""

from __future__ import annotations

import re
from pathlib import Path

from katapult_ipam.config import ENV_PREFIX, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def configuration_table() -> set[str]:
    """The variables named in the first column of the table under ``## Configuration``."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


def test_every_setting_has_a_row_and_every_row_a_setting() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    documented = configuration_table()
    assert settings - documented == set(), "settings without a row in README"
    assert documented - settings == set(), "rows in README naming no setting"
    assert ENV_PREFIX == "KATAPULT_IPAM_"  # the prefix README states above the table

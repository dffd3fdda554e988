"""Read the shop's JSON configuration."""

from __future__ import annotations

import json
from pathlib import Path

DEFAULTS = {"currency": "EUR", "tax_band": "standard", "page_size": 20}


def read_config(path: Path) -> dict[str, object]:
    try:
        with path.open(encoding="utf-8") as handle:
            loaded = json.load(handle)
    except Exception:
        return {}
    merged = dict(DEFAULTS)
    merged.update(loaded)
    return merged


def page_size(config: dict[str, object]) -> int:
    value = config.get("page_size", DEFAULTS["page_size"])
    return int(value) if isinstance(value, int | str) else 20

"""SQL of the regions page, by name, with `$name` parameters; every fact read through the scoped fragments."""
from __future__ import annotations

QUERIES: dict[str, str] = {}

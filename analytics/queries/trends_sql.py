"""SQL of the trends page, by name, with `$name` parameters; every fact read through the scoped fragments."""
from __future__ import annotations

QUERIES: dict[str, str] = {}

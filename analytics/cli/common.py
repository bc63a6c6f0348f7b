"""What every command group shares: argument types and JSON output."""
from __future__ import annotations

import argparse
from datetime import date



def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date as YYYY-MM-DD") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number above 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of days") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of days above 0")
    return value


def _jsonable(value):
    import math

    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _region(text: str) -> str:
    if not (len(text) == 6 and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a 6-digit region code such as 340000")
    return text


def _known_region(con, code: str) -> bool:
    """Whether `code` is a region of the database (the --region checks)."""
    from analytics.db import queries

    return not queries.run(con, "region_level", code=code).is_empty()

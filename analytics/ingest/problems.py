"""What can be wrong with an upload, as data: file-level errors stop it; row problems are listed.

A message is a key in `analytics/locales/upload.*.toml` (`upload.err_<code>`, `upload.rule_<code>`)
with named values, so the CLI, the page and the report say the same thing in Chinese or English.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from analytics import i18n

# one row per problem found in a file; `row` is the row number the steward sees in their file
PROBLEM_SCHEMA = {
    "table": pl.Utf8,      # contract table
    "sheet": pl.Utf8,      # sheet or file inside the upload
    "row": pl.Int64,       # row in the steward's file (null: the whole column or file)
    "header": pl.Utf8,     # the column as headed in the file
    "column": pl.Utf8,     # the contract column
    "value": pl.Utf8,      # what the cell held (cut to VALUE_SHOWN characters)
    "rule": pl.Utf8,       # code: upload.rule_<code> says what was expected
    "detail": pl.Utf8,     # values for the message (allowed values, a range, the other row…)
    "severity": pl.Utf8,   # error (the row cannot load) or warning (it loads; look at it)
}
VALUE_SHOWN = 200
SEVERITIES = ("error", "warning")


def empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


@dataclass
class UploadError(Exception):
    """The file as a whole cannot be used; nothing was changed. `code` names `upload.err_<code>`."""

    code: str
    values: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return i18n.t(f"upload.err_{self.code}", lang, **self.values)


def expected(rule: str, detail: str | None, lang: str) -> str:
    """What the rule expected, in words."""
    return i18n.t(f"upload.rule_{rule}", lang, detail=detail or "")

"""Uploads of stewards' extracts: read, map headers onto the contract, normalise, validate, preview,
commit as one transaction creating a data version, roll back and forward.

The pieces, in the order an upload goes through them:

- `readers`   bytes → sheets of text cells (CSV in UTF-8/BOM/GB18030/UTF-16, XLSX via calamine, Parquet,
               zip), each checked against the limits and for what its name claims; header row found
- `mapping`   file headers → contract columns (labels, synonyms, saved named mappings)
- `normalise` text cells → contract types (dates in many spellings, 万/亿, 是/否, enum labels, regions)
- `validate`  every contract rule, row by row: problems as the steward sees them (row, column, value)
- `diff`      the preview against the current data: new, changed, unchanged, missing
- `versions`  commit, rollback/roll-forward, history, pruning; one transaction each, serialised
- `pipeline`  the whole path for one file, used by the CLI and the upload page
- `report`    the problem report (summary by rule, XLSX)

Nothing here imports Streamlit. Messages are keys of `analytics/locales/upload.*.toml`.
"""

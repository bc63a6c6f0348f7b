"""The one place that opens DuckDB, creates the schema and writes tables.

Reads go through `analytics.queries`, which runs named SQL with `?` parameters and applies
the user's region scope; nothing else in the project builds SQL from values.
"""
from __future__ import annotations

import csv
import threading
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from . import contract
from .settings import REGIONS_CSV

_POLARS_TYPES = {
    "text": pl.Utf8,
    "int": pl.Int64,
    "float": pl.Float64,
    "date": pl.Date,
    "timestamp": pl.Datetime("us"),
    "bool": pl.Boolean,
    "text_list": pl.List(pl.Utf8),
}

META_DDL = (
    """CREATE TABLE IF NOT EXISTS data_versions (
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    description VARCHAR,
    as_of DATE NOT NULL
)""",
    # closure of the region tree: every region with each of its ancestors and itself,
    # so "items in 安徽省" is one equality join whatever level an item is recorded at
    """CREATE TABLE IF NOT EXISTS region_closure (
    ancestor_code VARCHAR NOT NULL,
    region_code VARCHAR NOT NULL,
    depth INTEGER NOT NULL
)""",
)


def polars_schema(t: contract.Table) -> dict[str, pl.DataType]:
    return {c.name: _POLARS_TYPES[c.dtype] for c in t.columns}


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for t in contract.TABLES:
        con.execute(contract.ddl(t))
    for stmt in META_DDL:
        con.execute(stmt)


def read_regions_csv(path: Path = REGIONS_CSV) -> pl.DataFrame:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    frame = pl.DataFrame(rows, schema={k: pl.Utf8 for k in contract.REGIONS.column_names}, orient="row")
    return frame.with_columns(
        pl.col("parent_code").replace("", None),
        pl.col("lon").replace("", None).cast(pl.Float64),
        pl.col("lat").replace("", None).cast(pl.Float64),
    )


def write_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, replace: bool = True) -> int:
    """Insert `frame` into contract table `name` (all rows or none), casting to the contract's types.

    Missing optional columns are filled with nulls; unknown columns are an error, so a typo in a
    generator or an upload cannot pass silently.
    """
    t = contract.table(name)
    unknown = set(frame.columns) - set(t.column_names)
    if unknown:
        raise ValueError(f"{name}: columns not in the contract: {sorted(unknown)}")
    schema = polars_schema(t)
    frame = frame.with_columns(
        [pl.lit(None, dtype=schema[c]).alias(c) for c in t.column_names if c not in frame.columns]
    ).select([pl.col(c).cast(schema[c]) for c in t.column_names])
    con.execute("BEGIN TRANSACTION")
    try:
        if replace:
            con.execute(f"DELETE FROM {t.name}")  # t.name comes from the contract, never from input
        con.register("_incoming", frame)
        con.execute(f"INSERT INTO {t.name} BY NAME SELECT * FROM _incoming")
        con.unregister("_incoming")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return frame.height


def install_regions(con: duckdb.DuckDBPyConnection, regions: pl.DataFrame | None = None) -> None:
    """Load the built-in regions and rebuild the ancestor closure table."""
    regions = read_regions_csv() if regions is None else regions
    write_table(con, "regions", regions)
    con.execute("DELETE FROM region_closure")
    con.execute(
        """INSERT INTO region_closure
        WITH RECURSIVE up(ancestor_code, region_code, depth) AS (
            SELECT region_code, region_code, 0 FROM regions
            UNION ALL
            SELECT r.parent_code, up.region_code, up.depth + 1
            FROM up JOIN regions r ON r.region_code = up.ancestor_code
            WHERE r.parent_code IS NOT NULL
        )
        SELECT ancestor_code, region_code, depth FROM up"""
    )


def record_version(con: duckdb.DuckDBPyConnection, created_by: str, source: str, as_of, description: str = "") -> int:
    version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM data_versions").fetchall()[0][0]
    con.execute(
        "INSERT INTO data_versions VALUES (?, ?, ?, ?, ?, ?)",
        [version, datetime.now(), created_by, source, description, as_of],
    )
    return version


def current_version(con: duckdb.DuckDBPyConnection) -> tuple[int, object] | None:
    """(version, as_of) of the newest data version, or None for an empty database."""
    rows = con.execute("SELECT version, as_of FROM data_versions ORDER BY version DESC LIMIT 1").fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


class Database:
    """A DuckDB file shared by all sessions of the app: one connection, a cursor per thread."""

    def __init__(self, path: str | Path, read_only: bool = True):
        self.path = Path(path)
        self._con = connect(self.path, read_only=read_only)
        self._local = threading.local()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

    def close(self) -> None:
        self._con.close()

"""The one place that opens DuckDB, creates the schema and writes tables.

Reads go through `analytics.db.queries`, which runs named SQL with `$name` parameters and applies
the user's region scope; nothing else in the project builds SQL from values.
"""
from __future__ import annotations

import csv
import threading
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from analytics import contract
from analytics.settings import REGIONS_CSV

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


# Added by the first upload (analytics/db/versions.py), not at creation, so a database that was only
# ever generated keeps its original shape. Every data version records who, when, from which file, what it
# did to which tables, and the version it was based on; `data_version_tables` says which stored state of
# every uploadable table each version reads (the state is named for the version that wrote it), which is
# what makes a rollback exact.
UPLOAD_DDL = (
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS kind VARCHAR",  # demo, upload, rollback
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS file_name VARCHAR",
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS sha256 VARCHAR",
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS table_names VARCHAR",
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS mode VARCHAR",  # upsert, replace
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS rows_new BIGINT",
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS rows_changed BIGINT",
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS rows_unchanged BIGINT",
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS rows_removed BIGINT",
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS rows_rejected BIGINT",
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS based_on BIGINT",  # the version it changed
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS restores BIGINT",  # a rollback's target
    # the audit log's newest entry when the version was committed: the log lives in another file, so replacing,
    # rewinding or emptying it is seen against these (analytics/auth/audit.py, `verify`)
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS audit_seq BIGINT",
    "ALTER TABLE data_versions ADD COLUMN IF NOT EXISTS audit_hash VARCHAR",
    """CREATE TABLE IF NOT EXISTS data_version_tables (
    version BIGINT NOT NULL,
    table_name VARCHAR NOT NULL,
    state BIGINT NOT NULL,
    mode VARCHAR,
    rows_new BIGINT,
    rows_changed BIGINT,
    rows_unchanged BIGINT,
    rows_removed BIGINT,
    rows_rejected BIGINT,
    rows_total BIGINT
)""",
    """CREATE TABLE IF NOT EXISTS upload_mappings (
    name VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    header VARCHAR NOT NULL,
    column_name VARCHAR,
    saved_at TIMESTAMP NOT NULL,
    saved_by VARCHAR NOT NULL
)""",
)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database has the table `name` (tables added later than the file: uploads, marts, deployment)."""
    return bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
                            [name]).fetchall())


def has_upload_schema(con: duckdb.DuckDBPyConnection) -> bool:
    return has_table(con, "data_version_tables")


def polars_schema(t: contract.Table) -> dict[str, pl.DataType]:
    return {c.name: _POLARS_TYPES[c.dtype] for c in t.columns}


# read-write connections this process holds (the app's, see Database): DuckDB refuses a second
# connection to the same file with another configuration in one process, so a read-only open of such a
# file is served by a cursor of the writer (closing it closes only the cursor).
_WRITERS: dict[str, duckdb.DuckDBPyConnection] = {}


def connect(path: str | Path, read_only: bool = False, memory_limit: str | None = None,
            spill_to: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to the database file (a cursor of this process's writer when it holds one). `memory_limit` and
    `spill_to` bound a bulk writer (the demo generator) and let it spill to that folder."""
    path = Path(path)
    writer = _WRITERS.get(str(path.resolve()))
    if writer is not None:
        return writer.cursor()
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    if spill_to is not None:
        con.execute("SET temp_directory = ?", [str(spill_to)])
    return con


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write the write-ahead log into the file (after a bulk load, so the file alone holds the data)."""
    con.execute("CHECKPOINT")


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


def add_new_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Add the columns a newer contract has to a database written by an older one (every state of every table,
    so a rollback to an old state still reads them); each one is nullable, so old rows stay what they were.
    Run by every writer (commit, rollback, the app's writable open). Returns `table.column` for each one added."""
    have: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                     "WHERE table_schema = current_schema()").fetchall():
        have.setdefault(table, set()).add(column)
    added = []
    for t in contract.TABLES:
        for name, columns in have.items():
            if name != t.name and not (name.startswith(t.name + "__v") and name[len(t.name) + 3:].isdigit()):
                continue
            for c in t.columns:
                if c.name not in columns and not c.required:
                    # names from the contract and the catalogue, never from input
                    con.execute(f"ALTER TABLE {name} ADD COLUMN {c.name} {contract.SQL_TYPES[c.dtype]}")
                    added.append(f"{name}.{c.name}")
    return added


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


# what a deployment records about itself: its home region (the office's own province, city or county)
DEPLOYMENT_DDL = "CREATE TABLE IF NOT EXISTS deployment (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
HOME_LEVELS = ("country", "province", "city", "county")


class InitError(ValueError):
    """Why a database could not be created (the file exists, the home region is unknown)."""


def init(path: str | Path, home_region: str, as_of, who: str) -> int:
    """Create a database for an office's own data: the contract's schema, the regions, the home region recorded,
    the upload tables, no items, and an empty first data version (version 0, so the first upload makes version 1).
    An existing file is never touched; a failure leaves no file behind. Returns the version (0)."""
    path = Path(path)
    if path.exists() or Path(str(path) + ".wal").exists():
        raise InitError(f"{path} already exists: init never overwrites a database (choose another path, or move "
                        "the file away yourself)")
    regions = read_regions_csv()
    level = dict(zip(regions["region_code"], regions["level"])).get(home_region)
    if level not in HOME_LEVELS:
        raise InitError(f"--home-region {home_region}: not a region code of data/regions.csv (a 6-digit GB/T 2260 "
                        "code of the nation, a province, a city or a county, e.g. 340100 for 合肥市)")
    con = connect(path)
    try:
        create_schema(con)
        install_regions(con, regions)
        con.execute(DEPLOYMENT_DDL)
        con.execute("INSERT INTO deployment VALUES ('home_region', ?)", [home_region])
        for stmt in UPLOAD_DDL:
            con.execute(stmt)
        con.execute("INSERT INTO data_versions (version, created_at, created_by, source, description, as_of, kind) "
                    "VALUES (0, ?, ?, 'init', ?, ?, 'init')",
                    [datetime.now(), who, f"empty database for home region {home_region}", as_of])
        checkpoint(con)
    except BaseException:
        con.close()
        for leftover in (path, Path(str(path) + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    con.close()
    return 0


def region_choices(regions: pl.DataFrame | None = None) -> list[tuple[str, str]]:
    """(code, label) of every region a deployment may be made for, the nation first, then provinces, cities and
    counties by code; a label is the region's path, e.g. 安徽省 › 芜湖市 (340200), so a search by any name finds it."""
    regions = read_regions_csv() if regions is None else regions
    rows = {r["region_code"]: r for r in regions.iter_rows(named=True)}
    order = {level: i for i, level in enumerate(HOME_LEVELS)}

    def path(code: str) -> str:
        names, node = [], rows.get(code)
        while node is not None:
            if node["level"] != "country" or not names:
                names.append(node["name"])
            node = rows.get(node["parent_code"]) if node["parent_code"] else None
        return " › ".join(reversed(names))

    ordered = sorted((r for r in rows.values() if r["level"] in order),
                     key=lambda r: (order[r["level"]], r["region_code"]))
    return [(r["region_code"], f"{path(r['region_code'])} ({r['region_code']})") for r in ordered]


def home_region(con: duckdb.DuckDBPyConnection) -> str | None:
    """The home region recorded by `init` (None: a database without one, such as the demo: national)."""
    if not has_table(con, "deployment"):
        return None
    rows = con.execute("SELECT value FROM deployment WHERE key = 'home_region'").fetchall()
    return rows[0][0] if rows else None


def record_version(con: duckdb.DuckDBPyConnection, created_by: str, source: str, as_of, description: str = "") -> int:
    version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM data_versions").fetchall()[0][0]
    con.execute(
        "INSERT INTO data_versions (version, created_at, created_by, source, description, as_of) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [version, datetime.now(), created_by, source, description, as_of],
    )
    return version


def count_rows(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Rows of a table this package names (the contract's or a mart; never a name from input); 0 when it is absent."""
    return con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] if has_table(con, name) else 0


def table_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of every uploadable contract table in the whole database (not a user's view of it): whether an extract
    was ever loaded, so a page can name the one to upload instead of drawing zeros. Counts only, no rows."""
    return {t.name: count_rows(con, t.name) for t in contract.TABLES if t.uploadable}


def distinct_values(con: duckdb.DuckDBPyConnection, table: str, column: str) -> pl.Series:
    """The distinct non-null values of one contract column (the keys an upload's references are checked against);
    the names come from the contract, never from a file."""
    t = contract.table(table)
    col = t.column(column).name
    return con.sql(f"SELECT DISTINCT {col} FROM {t.name} WHERE {col} IS NOT NULL").pl().to_series()


def current_version(con: duckdb.DuckDBPyConnection) -> tuple[int, object] | None:
    """(version, as_of) of the newest data version, or None for an empty database."""
    rows = con.execute("SELECT version, as_of FROM data_versions ORDER BY version DESC LIMIT 1").fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


class Database:
    """A DuckDB file shared by all sessions of the app: one connection, a cursor per thread.

    Opened for writing (uploads go through the app process), it falls back to read-only when another
    process holds the file or this process already reads it read-only; `writable` and `read_only_reason`
    say so, and the upload page explains it. Readers keep working during a commit: each cursor reads
    the last committed state.
    """

    def __init__(self, path: str | Path, read_only: bool = True):
        self.path = Path(path)
        self.read_only_reason = ""
        if read_only:
            self._con = connect(self.path, read_only=True)
        else:
            try:
                self._con = duckdb.connect(str(self.path), read_only=False)
                _WRITERS[str(self.path.resolve())] = self._con
            except (duckdb.IOException, duckdb.ConnectionException) as e:
                self.read_only_reason = str(e).splitlines()[0]
                self._con = connect(self.path, read_only=True)
        self.writable = not read_only and not self.read_only_reason
        if self.writable:
            add_new_columns(self._con)
        self._local = threading.local()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

    def writer(self) -> duckdb.DuckDBPyConnection:
        """A fresh cursor for one commit (its transaction is its own); only on a writable database."""
        if not self.writable:
            raise PermissionError(f"{self.path} is open read-only: {self.read_only_reason or 'by configuration'}")
        return self._con.cursor()

    def close(self) -> None:
        if _WRITERS.get(str(self.path.resolve())) is self._con:
            del _WRITERS[str(self.path.resolve())]
        self._con.close()

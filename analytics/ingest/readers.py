"""Bytes of an uploaded file → sheets of text cells, after checking the file is what it claims to be.

Every cell is read as text (the normalisers turn text into contract types), so a reader never guesses a
type. Excel formulas are never evaluated: calamine reads the value Excel cached when it saved the file.
Each sheet keeps the row number the steward sees (Excel's row, or the record number of a CSV), so a
problem report can point at it.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import polars as pl

from analytics import settings
from analytics.ingest.problems import UploadError

TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
KINDS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet",
         ".zip": "zip", ".xls": "xls"}
MAGIC = ((b"\x89PNG", "PNG image"), (b"%PDF", "PDF document"), (b"\x1f\x8b", "gzip archive"),
         (b"\xd0\xcf\x11\xe0", "old Excel (.xls) or encrypted workbook"), (b"Rar!", "RAR archive"),
         (b"7z\xbc\xaf", "7-Zip archive"), (b"GIF8", "GIF image"), (b"\xff\xd8\xff", "JPEG image"))
MAX_RATIO = 100  # a member unpacking to more than 100× its packed size is treated as a zip bomb
DELIMITERS = (",", "\t", ";", "|")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_text: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(settings.get("COCKPIT_UPLOAD_MAX_MB") * 1024 * 1024, settings.get("COCKPIT_UPLOAD_MAX_ROWS"),
                   settings.get("COCKPIT_UPLOAD_MAX_TEXT"))


@dataclass
class Sheet:
    """One table-shaped thing in the upload: text cells `column_1…`, row i being file row `first_row + i`."""

    name: str           # sheet name, or file name inside a zip
    cells: pl.DataFrame
    first_row: int = 1
    encoding: str = ""  # how a text file was decoded
    kind: str = "csv"
    width: int = 0      # cells a row may have; the frame holds one more to catch rows that overflow
    percent_cells: frozenset[tuple[int, int]] = frozenset()  # (row, column) of `cells` formatted as a percentage


def kind_of(name: str) -> str:
    return KINDS.get(PurePosixPath(name.lower()).suffix, "")


def sniff(data: bytes) -> str:
    """What the bytes are, whatever the name says: xlsx, zip, parquet, a known binary, or text."""
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return "damaged zip"
        return "xlsx" if "xl/workbook.xml" in names else "zip"
    if data[:4] == b"PAR1":
        return "parquet"
    for magic, what in MAGIC:
        if data.startswith(magic):
            return what
    head = data[:8192]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:3] == b"\xef\xbb\xbf":
        return "csv"
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    if head and head.count(0) > len(head) // 5:
        return "csv"  # UTF-16 without a byte-order mark: decode() explains
    return "binary" if head and controls > len(head) // 20 else "csv"


def read(data: bytes, name: str, limits: Limits) -> tuple[list[Sheet], list[str]]:
    """The sheets of an upload and notes about what was skipped (files in a zip that hold no table)."""
    if len(data) > limits.max_bytes:
        raise UploadError("too_large", {"size": f"{len(data) / 1048576:.1f}", "limit": limits.max_bytes // 1048576})
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise UploadError("empty", {"name": name})
    claimed, found = kind_of(name), sniff(data)
    if claimed == "xls":
        raise UploadError("xls", {"name": name})
    if not claimed:
        raise UploadError("extension", {"name": name})
    if found not in ("csv", "xlsx", "zip", "parquet") or claimed != found:
        raise UploadError("not_what_name_says", {"name": name, "claimed": claimed, "found": found})
    if found == "csv":
        return [read_csv(data, name, limits)], []
    if found == "parquet":
        return [read_parquet(data, name, limits)], []
    if found == "xlsx":
        return read_xlsx(data, name, limits), []
    return read_zip(data, name, limits)


# ---- zip containers (xlsx is one) ----------------------------------------------------------------

def _open_zip(data: bytes, name: str, limits: Limits) -> zipfile.ZipFile:
    """The archive, after proving it unpacks to at most the size limit (by unpacking, not by trusting
    the sizes the archive declares)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise UploadError("damaged", {"name": name}) from None
    if any(i.flag_bits & 0x1 for i in infos):
        raise UploadError("encrypted", {"name": name})
    total = 0
    for info in infos:
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1 << 20:
            raise UploadError("zip_bomb", {"name": name, "member": info.filename})
        try:
            with zf.open(info) as f:
                while chunk := f.read(1 << 20):
                    total += len(chunk)
                    if total > limits.max_bytes:
                        raise UploadError("zip_bomb", {"name": name, "member": info.filename})
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
            raise UploadError("damaged", {"name": name}) from None
    return zf


def read_zip(data: bytes, name: str, limits: Limits) -> tuple[list[Sheet], list[str]]:
    zf = _open_zip(data, name, limits)
    sheets, skipped = [], []
    for info in zf.infolist():
        member = info.filename
        base = PurePosixPath(member).name
        if info.is_dir() or base.startswith(".") or member.startswith("__MACOSX/"):
            continue
        kind = kind_of(base)
        if kind not in ("csv", "xlsx", "parquet"):
            skipped.append(member)
            continue
        inner = zf.read(info)
        if not inner.strip():
            raise UploadError("empty", {"name": member})
        found = sniff(inner)
        if found != kind:
            raise UploadError("not_what_name_says", {"name": member, "claimed": kind, "found": found})
        if kind == "csv":
            sheets.append(read_csv(inner, base, limits))
        elif kind == "parquet":
            sheets.append(read_parquet(inner, base, limits))
        else:
            sheets += read_xlsx(inner, base, limits)
    if not sheets:
        raise UploadError("no_tables_in_zip", {"name": name})
    return sheets, skipped


# ---- CSV -----------------------------------------------------------------------------------------

def decode(data: bytes) -> tuple[bytes, str]:
    """UTF-8 bytes of a text file and the encoding it was in: UTF-8 (with or without BOM), UTF-16 with
    a BOM, else GB18030 (a superset of GBK and GB2312, what Chinese Excel saves as "CSV")."""
    if data[:3] == b"\xef\xbb\xbf":
        body = data[3:]
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise UploadError("encoding", {"tried": "UTF-8 (BOM)"}) from None
        return body, "UTF-8 (BOM)"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16").encode("utf-8"), "UTF-16"
        except UnicodeDecodeError:
            raise UploadError("encoding", {"tried": "UTF-16"}) from None
    head = data[:8192]
    if head.count(0) > len(head) // 5:
        raise UploadError("encoding", {"tried": "UTF-8, GB18030 (looks like UTF-16 without a byte-order mark)"})
    try:
        data.decode("utf-8")
        return data, "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise UploadError("encoding", {"tried": "UTF-8, GB18030"}) from None
    return text.encode("utf-8"), "GB18030"


def _records(head: str, delimiter: str, n: int = 40) -> list[list[str]]:
    lines = head.splitlines()[:-1] or head.splitlines()  # the last line of a cut-off head may be partial
    try:
        return [row for _, row in zip(range(n), csv.reader(lines, delimiter=delimiter))]
    except csv.Error:
        return []


def sniff_delimiter(head: str) -> str:
    """The delimiter giving the most cells per row among the first records (ties: the comma)."""
    best, score = ",", -1
    for d in DELIMITERS:
        rows = [r for r in _records(head, d) if any(c.strip() for c in r)]
        widths = sorted(len(r) for r in rows)
        s = widths[len(widths) // 2] if widths else 0  # the median: title rows do not decide
        if s > score:
            best, score = d, s
    return best


MAX_LINE_BYTES = 4 << 20  # a CSV line (one row) longer than this is refused before it is decoded or parsed
_CHUNK = 16 << 20


def long_line(data: bytes, limit: int = MAX_LINE_BYTES) -> tuple[int, int] | None:
    """(line number, its length so far) of the first line longer than `limit` bytes, or None. Line ends are LF or
    CR; scanned in chunks (numpy, a few MB at a time), so a 200 MB file of one line costs no more memory than a
    chunk, where parsing it took gigabytes (issue 22). Quoted cells may span lines, which only makes lines shorter."""
    import numpy as np

    last = -1  # position of the last line end seen
    for offset in range(0, len(data), _CHUNK):
        chunk = np.frombuffer(data, np.uint8, count=min(_CHUNK, len(data) - offset), offset=offset)
        ends = np.flatnonzero((chunk == 10) | (chunk == 13)) + offset
        if ends.size:
            gaps = np.diff(ends, prepend=last)
            worst = int(np.argmax(gaps))
            if gaps[worst] - 1 > limit:
                pos = int(ends[worst])
                return data.count(b"\n", 0, pos) + 1, int(gaps[worst] - 1)
            last = int(ends[-1])
        if offset + len(chunk) - last - 1 > limit:
            return data.count(b"\n", 0, offset + len(chunk)) + 1, offset + len(chunk) - last - 1
    return None


def read_csv(data: bytes, name: str, limits: Limits) -> Sheet:
    if (too_long := long_line(data)) is not None:
        raise UploadError("line_too_long", {"name": name, "line": f"{too_long[0]:,}",
                                            "size": f"{too_long[1] / 1048576:.1f}",
                                            "limit": MAX_LINE_BYTES // 1048576})
    body, encoding = decode(data)
    head = body[:65536].decode("utf-8", errors="ignore")
    delimiter = sniff_delimiter(head)
    width = max((len(r) for r in _records(head, delimiter)), default=1)
    schema = {f"column_{i + 1}": pl.Utf8 for i in range(width + 1)}
    try:
        cells = pl.read_csv(io.BytesIO(body), has_header=False, schema=schema, missing_columns="insert",
                            separator=delimiter, truncate_ragged_lines=True, raise_if_empty=False,
                            n_rows=limits.max_rows + 100, quote_char='"')
    except pl.exceptions.PolarsError as e:
        raise UploadError("unreadable", {"name": name, "error": str(e).splitlines()[0][:200]}) from None
    return Sheet(name, cells, 1, encoding, "csv", width)


# ---- Parquet -------------------------------------------------------------------------------------

def read_parquet(data: bytes, name: str, limits: Limits) -> Sheet:
    """A Parquet file's columns as text; its header is its schema (one header row, data from row 2)."""
    try:
        frame = pl.read_parquet(io.BytesIO(data), n_rows=limits.max_rows + 1)
    except Exception as e:  # noqa: BLE001 - any decoding failure of a foreign file is the same to the steward
        raise UploadError("unreadable", {"name": name, "error": str(e).splitlines()[0][:200]}) from None
    cols = []
    for c, dtype in frame.schema.items():
        col = pl.col(c)
        if isinstance(dtype, pl.List):
            col = col.cast(pl.List(pl.Utf8)).list.join("、")
        elif isinstance(dtype, pl.Datetime):
            col = col.dt.strftime("%Y-%m-%d %H:%M:%S")
        cols.append(col.cast(pl.Utf8))
    body = frame.select(cols) if cols else frame
    header = pl.DataFrame([pl.Series([c], dtype=pl.Utf8) for c in frame.columns])
    cells = pl.concat([header.rename(dict(zip(header.columns, frame.columns))), body])
    cells = cells.rename({c: f"column_{i + 1}" for i, c in enumerate(cells.columns)})
    width = cells.width
    return Sheet(name, cells.with_columns(pl.lit(None, pl.Utf8).alias(f"column_{width + 1}")), 1, "", "parquet",
                 width)


# ---- XLSX ----------------------------------------------------------------------------------------

_SHEET_RE = re.compile(rb'<sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"')
_REL_RE = re.compile(rb'<Relationship\b[^>]*?Id="([^"]*)"[^>]*?Target="([^"]*)"|'
                     rb'<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="([^"]*)"')
_CELL_RE = re.compile(rb'<c\b[^>]*?\br="[A-Z]+(\d+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)


def _xml_unescape(b: bytes) -> str:
    return (b.decode("utf-8", errors="replace").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its XML member."""
    try:
        book = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for m in _REL_RE.finditer(rels):
        rid, target = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        targets[rid] = target.decode().lstrip("/")
    out = {}
    for name, rid in _SHEET_RE.findall(book):
        target = targets.get(rid, "")
        out[_xml_unescape(name)] = target if target.startswith("xl/") else f"xl/{target}"
    return out


def _first_rows(zf: zipfile.ZipFile) -> dict[str, int]:
    """Sheet name → the Excel row of its first cell with a value (calamine's range starts there)."""
    out = {}
    for name, path in _sheet_paths(zf).items():
        try:
            with zf.open(path) as f:
                head = f.read(1 << 20)
        except KeyError:
            continue
        first = None
        for row, body in _CELL_RE.findall(head):
            if body and (b"<v>" in body or b"<v " in body or b"<is>" in body):
                first = int(row)
                break
        out[name] = first or 1
    return out


_XF_RE = re.compile(rb"<cellXfs\b[^>]*>(.*?)</cellXfs>", re.S)
_NUMFMT_RE = re.compile(rb'<numFmt\b[^>]*?numFmtId="(\d+)"[^>]*?formatCode="([^"]*)"')
_XF_FMT_RE = re.compile(rb"<xf\b([^>]*)>|<xf\b([^>]*)/>")
_STYLED_CELL_RE = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
PERCENT_SCAN_BYTES = 8 << 20  # formats are read for sheets up to this size (a ledger is far smaller)


def _percent_styles(zf: zipfile.ZipFile) -> set[int]:
    """Indices of the workbook's cell styles that show a number as a percentage (built-in formats 9 and 10, or a
    custom format with %)."""
    try:
        styles = zf.read("xl/styles.xml")
    except KeyError:
        return set()
    percent_fmts = {9, 10} | {int(i) for i, code in _NUMFMT_RE.findall(styles) if b"%" in code}
    xfs = _XF_RE.search(styles)
    out = set()
    for i, m in enumerate(_XF_FMT_RE.finditer(xfs.group(1) if xfs else b"")):
        fmt = re.search(rb'numFmtId="(\d+)"', m.group(1) or m.group(2) or b"")
        if fmt and int(fmt.group(1)) in percent_fmts:
            out.add(i)
    return out


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _percent_cells(zf: zipfile.ZipFile, path: str, styles: set[int]) -> frozenset[tuple[int, int]]:
    """(row, column) in calamine's frame (which starts at the first row and column holding a value) of the cells
    formatted as a percentage: Excel stores 65% as 0.65, and a reader of text cannot tell without the format."""
    try:
        info = zf.getinfo(path)
    except KeyError:
        return frozenset()
    if not styles or info.file_size > PERCENT_SCAN_BYTES:
        return frozenset()
    xml = zf.read(path)
    first_row = first_col = None
    styled = []
    for letters, row, attrs, body in _STYLED_CELL_RE.findall(xml):
        r, c = int(row), _column_index(letters)
        if body and (b"<v>" in body or b"<v " in body or b"<is>" in body):
            first_row = r if first_row is None else min(first_row, r)
            first_col = c if first_col is None else min(first_col, c)
        s = re.search(rb'\bs="(\d+)"', attrs)
        if s and int(s.group(1)) in styles:
            styled.append((r, c))
    if first_row is None:
        return frozenset()
    return frozenset((r - first_row, c - first_col) for r, c in styled)


def read_xlsx(data: bytes, name: str, limits: Limits) -> list[Sheet]:
    """Every visible sheet as text cells. Macros and links to other workbooks are refused: a steward's
    extract needs neither, and a link's values are whatever the other file held when this one was saved."""
    import fastexcel

    zf = _open_zip(data, name, limits)
    members = zf.namelist()
    content_types = zf.read("[Content_Types].xml") if "[Content_Types].xml" in members else b""
    if any(m.lower().endswith("vbaproject.bin") for m in members) or b"macroEnabled" in content_types:
        raise UploadError("macros", {"name": name})
    if any(m.startswith("xl/externalLinks/") for m in members) or b"externalLink" in content_types:
        raise UploadError("external_links", {"name": name})
    first_rows = _first_rows(zf)
    paths, styles = _sheet_paths(zf), _percent_styles(zf)
    try:
        reader = fastexcel.read_excel(data)
        sheets = []
        for sheet_name in reader.sheet_names:
            sheet = reader.load_sheet(sheet_name, header_row=None, dtypes="string", n_rows=limits.max_rows + 100)
            frame = sheet.to_polars()
            width = frame.width
            frame = frame.rename({c: f"column_{i + 1}" for i, c in enumerate(frame.columns)})
            frame = frame.with_columns(pl.lit(None, pl.Utf8).alias(f"column_{width + 1}"))
            percent = _percent_cells(zf, paths.get(sheet_name, ""), styles)
            sheets.append(Sheet(sheet_name, frame, first_rows.get(sheet_name, 1), "", "xlsx", width, percent))
    except UploadError:
        raise
    except Exception as e:  # noqa: BLE001 - calamine's errors: the workbook is damaged
        raise UploadError("unreadable", {"name": name, "error": str(e).splitlines()[0][:200]}) from None
    return sheets

"""UK Government Major Projects Portfolio (GMPP) annual data, 2014–2023, mapped into the data contract.

A thin extract for checking the slip-risk model on real data (see docs/reference-uk-gmpp.md):

- `projects`: one row per project, id stable across years (normalised name + department family,
  linked further through "(formerly X)" renames and, from 2020, the GMPP project number).
  region_code is always 100000 (national): the UK data has no Chinese region.
- `progress_reports`: one row per project per annual publication; report_date is that publication's
  as-at date, forecast_end_date the end date it gives, rag the DCA. No progress percentages exist.

`load(raw_dir)` returns the frames (and `load_with_log` also says which rows were lost and why);
`build_db(raw_dir, db_path)` writes a complete DuckDB the way an office starts on its own data: `init` for the
nation, then one upload of both tables through the ingest path (data version 1, marts refreshed by the commit).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl

YEARS = tuple(range(2014, 2024))
# publication year -> as-at date of its data (from the README; 2020 → 2021 is an 18-month gap)
AS_AT = {2014: date(2013, 9, 30), 2015: date(2014, 9, 30), 2016: date(2015, 9, 30), 2017: date(2016, 9, 30),
         2018: date(2017, 9, 30), 2019: date(2018, 9, 30), 2020: date(2019, 9, 30),
         2021: date(2021, 3, 31), 2022: date(2022, 3, 31), 2023: date(2023, 3, 31)}
TRANSPOSED = (2014, 2015, 2016, 2017)
REGION_CODE = "100000"

RAG = {"green": "green", "amber/green": "amber_green", "amber": "amber", "amber/red": "amber_red", "red": "red"}

# department renames / merges folded into one family, so an id survives a machinery-of-government change
DEPT_FAMILY = {
    "BIS": "BEIS", "DECC": "BEIS", "BEIS": "BEIS", "DESNZ": "BEIS", "DSIT": "BEIS", "DBT": "BEIS",
    "DCLG": "DLUHC", "MHCLG": "DLUHC", "DLUHC": "DLUHC",
    "FCO": "FCDO", "DFID": "FCDO", "FCDO": "FCDO",
    "DH": "DHSC", "DOH": "DHSC", "DHSC": "DHSC", "DOH CAPITAL": "DHSC", "DOH NON CAPITAL": "DHSC",
    "DCMS": "DCMS", "DCMS ": "DCMS",
}

_MONTH_FIRST_SKIP = re.compile(r"[^0-9]+")


def read_rows(path: Path, year: int) -> list[dict[str, str]]:
    """The file's records as dicts (2018+ header names; transposed years get their own keys).

    cp1252 with undecodable bytes replaced (the stray 0x9d in 2020), CR/CRLF folded to LF, `;` from 2021.
    """
    text = path.read_bytes().decode("cp1252", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if year >= 2021 else ","))
    if year in TRANSPOSED:
        labels = [r[0] if r else "" for r in rows]
        keys = [_transposed_key(lab) for lab in labels]
        width = max(len(r) for r in rows)
        out = []
        for j in range(1, width):
            rec: dict[str, str] = {}
            for k, r in zip(keys, rows):
                if k and k not in rec:
                    rec[k] = r[j] if j < len(r) else ""
            out.append(rec)
        return out
    header = rows[0]
    out = []
    for r in rows[1:]:
        rec = {}
        ratings = []
        for k, v in zip(header, r):
            if k == "colour_rating":
                ratings.append(v)
            else:
                rec[k] = v
        rec["colour_rating"] = ratings[0] if ratings else ""
        rec["colour_rating_sro"] = ratings[1] if len(ratings) > 1 else ""
        out.append(rec)
    return out


def _transposed_key(label: str) -> str | None:
    low = label.lower()
    if low.startswith("project name"):
        return "project_name"
    if low.startswith("department"):
        return "department"
    if "rag rating" in low and low.startswith(("mpa", "ipa")) or low.startswith("ipa delivery confidence"):
        return "colour_rating"
    if low.startswith("description"):
        return "description_aims"
    if low.startswith("project - start date"):
        return "start_date"
    if low.startswith("project - end date"):
        return "end_date"
    if "whole life cost" in low and "narrative" not in low:
        return "wlc_baseline_incl_NCG"
    return None


def parse_date(text: str | None) -> date | None:
    """dd/mm/yyyy, d/mm/yyyy, dd.mm.yy (two-digit year: 00–49 → 20xx), yyyy-mm-dd[ time], dd.mm.yyyy;
    text (FOI exemptions, TBD) → None. The `1/012/2014` typo reads as 1 Dec 2014."""
    if not text:
        return None
    s = text.strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", s)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(r"(\d{1,2})[./](\d{1,3})[./](\d{2}|\d{4})", s)
        if not m:
            return None
        d, mo, y = (int(g) for g in m.groups())
        if y < 100:
            y += 2000 if y < 50 else 1900
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def parse_money(text: str | None) -> float | None:
    """£m amount: `450.37`, `£1.90m`, `£1,060.97`, `-£0.5m`, `7.9`; text → None."""
    if not text:
        return None
    s = text.strip().replace("£", "").replace(",", "").replace(" ", "").rstrip("mM")
    s = s.replace("\ufffd", "")
    try:
        return float(s)
    except ValueError:
        return None


def map_rag(text: str | None) -> str | None:
    """DCA → contract rag; exemptions, "No DCA", "Reset", "Early planning" → None."""
    if not text:
        return None
    return RAG.get(re.sub(r"\s+", "", text).lower())


def dept_family(dept: str) -> str:
    d = re.sub(r"\s+", " ", dept.strip()).upper()
    return DEPT_FAMILY.get(d, d)


_DROP_WORDS = {"the", "programme", "program", "project", "projects", "programmes"}


def normalise_name(name: str) -> str:
    s = re.sub(r"\(formerly[^)]*\)", " ", name, flags=re.I)
    s = re.sub(r"\([^)]*\)", " ", s)
    words = re.findall(r"[a-z0-9]+", s.lower())
    words = [w for w in words if w not in _DROP_WORDS]
    return " ".join(words) or re.sub(r"\s+", " ", name.strip().lower())


def _formerly(name: str) -> list[str]:
    return [normalise_name(x) for x in re.findall(r"\(formerly\s+([^)]*)\)", name, flags=re.I)]


def _number(text: str | None) -> str:
    """GMPP project number with prefix spellings folded (DfT_/DFT_, DH_/DOH_, MoD_/MOD_)."""
    n = re.sub(r"[^A-Z0-9]", "", (text or "").upper())
    return "DH" + n[3:] if n.startswith("DOH") else n


def _word_prefix(a: list[str], b: list[str]) -> bool:
    """One word list starts with the other, and the shorter has at least two words."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 2 and long_[:len(short)] == short


def _make_id(family: str, key: str) -> str:
    return "UK-" + family + "-" + hashlib.sha1(f"{family}|{key}".encode()).hexdigest()[:10]


def load_with_log(raw_dir: str | Path) -> tuple[dict[str, pl.DataFrame], dict]:
    raw_dir = Path(raw_dir)
    lost: Counter = Counter()
    per_year: dict[int, int] = {}
    key_to_id: dict[tuple[str, str], str] = {}
    number_to_id: dict[str, str] = {}
    reports: list[dict] = []
    info: dict[str, dict] = {}  # project_id -> accumulated facts
    prev_ids: dict[str, str] = {}  # id -> normalised name, for the previous publication
    for year in YEARS:
        recs = read_rows(raw_dir / f"uk_{year}.csv", year)
        seen_in_year: set[str] = set()
        named = []
        for rec in recs:
            name = (rec.get("project_name") or "").strip()
            dept = (rec.get("department") or "").strip()
            if not name:
                if any((v or "").strip() for v in rec.values()):
                    lost["row without a project name (footnote)"] += 1
                continue
            if not dept:
                lost["row without a department"] += 1
                continue
            named.append((rec, name, dept_family(dept)))
        per_year[year] = len(named)
        # pass 1: exact normalised name, GMPP number or "(formerly X)"; pass 2: word-prefix renames
        ids: list[str | None] = []
        for rec, name, fam in named:
            key = (fam, normalise_name(name))
            number = _number(rec.get("project_number"))
            pid = key_to_id.get(key) or (number_to_id.get(number) if number else None)
            if pid is None:
                for old in _formerly(name):
                    pid = key_to_id.get((fam, old))
                    if pid:
                        break
            if pid is not None and pid in seen_in_year:  # two rows of one year normalise alike
                lost["same-year name collision (kept under a separate id)"] += 1
                pid = _make_id(fam, "raw:" + name.lower())
            if pid is not None:
                seen_in_year.add(pid)
            ids.append(pid)
        for i, (rec, name, fam) in enumerate(named):
            if ids[i] is not None:
                continue
            words = normalise_name(name).split()
            cands = [old for old, oname in prev_ids.items() if old not in seen_in_year
                     and old.startswith(f"UK-{fam}-") and _word_prefix(words, oname.split())]
            pid = cands[0] if len(cands) == 1 else _make_id(fam, normalise_name(name))
            if pid in seen_in_year:
                lost["same-year name collision (kept under a separate id)"] += 1
                pid = _make_id(fam, "raw:" + name.lower())
            if len(cands) == 1:
                lost["renamed project linked by word prefix (kept)"] += 1
            seen_in_year.add(pid)
            ids[i] = pid
        prev_ids = {}
        for (rec, name, fam), pid in zip(named, ids):
            key = (fam, normalise_name(name))
            number = _number(rec.get("project_number"))
            key_to_id.setdefault(key, pid)
            if number:
                number_to_id.setdefault(number, pid)
            prev_ids[pid] = normalise_name(name)
            rating = rec.get("colour_rating") or rec.get("colour_rating_sro") or ""
            start, end = parse_date(rec.get("start_date")), parse_date(rec.get("end_date"))
            wlc = parse_money(rec.get("wlc_baseline_incl_NCG"))
            p = info.setdefault(pid, {"project_id": pid, "name": name, "lead_dept": fam, "years": [],
                                      "starts": [], "ends": [], "wlc": [], "category": None,
                                      "description": None})
            p["name"] = name  # latest name
            p["years"].append(year)
            if start:
                p["starts"].append(start)
            if end:
                p["ends"].append((year, end))
            if wlc is not None and wlc >= 0:
                p["wlc"].append(wlc)
            if rec.get("report_category"):
                p["category"] = rec["report_category"].strip()
            if rec.get("description_aims") and not p["description"]:
                p["description"] = rec["description_aims"].strip()[:500]
            reports.append({"project_id": pid, "report_date": AS_AT[year], "forecast_end_date": end,
                            "rag": map_rag(rating),
                            "note": f"GMPP {year} publication; DCA: {rating.strip() or 'none'}"})
            if not map_rag(rating):
                lost["report kept without rag (exempt / no DCA / reset / blank)"] += 1
            if end is None:
                lost["report kept without forecast end (exempt / TBD / unparseable)"] += 1
    last_year = YEARS[-1]
    projects, dropped = [], set()
    for pid, p in info.items():
        start = p["starts"][0] if p["starts"] else None
        planned = p["ends"][0][1] if p["ends"] else None  # the first end date reported: the baseline
        if start is None or planned is None:
            lost["project dropped: no start or no end date ever given"] += 1
            dropped.add(pid)
            continue
        if start > planned:
            lost["project dropped: start after first end date"] += 1
            dropped.add(pid)
            continue
        last = max(p["years"])
        actual, status = None, "in_progress"
        if last < last_year:
            nxt = AS_AT[YEARS[YEARS.index(last) + 1]]
            last_end = [e for y, e in p["ends"] if y == last]
            if last_end and start <= last_end[0] <= nxt:
                status, actual = "completed", last_end[0]  # left the portfolio by its forecast end
            else:
                status = "terminated"  # left the portfolio before its end date: outcome unknown
        projects.append({"project_id": pid, "name": p["name"], "domain": p["lead_dept"], "category": p["category"],
                         "region_code": REGION_CODE, "lead_dept": p["lead_dept"], "start_date": start,
                         "planned_end_date": planned, "actual_end_date": actual,
                         "budget_wan_yuan": p["wlc"][0] * 100 if p["wlc"] else None,
                         "status": status, "description": p["description"]})
    kept = [r for r in reports if r["project_id"] not in dropped]
    lost["reports dropped with their project"] = len(reports) - len(kept)
    proj = pl.DataFrame(projects, schema={"project_id": pl.Utf8, "name": pl.Utf8, "domain": pl.Utf8,
                                          "category": pl.Utf8, "region_code": pl.Utf8, "lead_dept": pl.Utf8,
                                          "start_date": pl.Date, "planned_end_date": pl.Date,
                                          "actual_end_date": pl.Date, "budget_wan_yuan": pl.Float64,
                                          "status": pl.Utf8, "description": pl.Utf8})
    rep = pl.DataFrame(kept, schema={"project_id": pl.Utf8, "report_date": pl.Date, "forecast_end_date": pl.Date,
                                     "rag": pl.Utf8, "note": pl.Utf8})
    log = {"rows_per_year": per_year, "lost": dict(lost), "n_projects": proj.height, "n_reports": rep.height}
    return {"projects": proj, "progress_reports": rep}, log


def load(raw_dir: str | Path) -> dict[str, pl.DataFrame]:
    return load_with_log(raw_dir)[0]


def build_db(raw_dir: str | Path, db_path: str | Path) -> dict:
    """Write a complete, fresh DuckDB at `db_path` (an existing file there is replaced) the way an office starts on its
    own data: `init` for the nation (100000), then the mapped tables uploaded as one file through the same ingest path
    as the command line and the upload page (read, check, commit: one data version dated the last as-at date, the
    marts refreshed by the commit)."""
    import io
    import zipfile

    from analytics.db import store, versions
    from analytics.ingest import pipeline

    frames, log = load_with_log(raw_dir)
    as_of = AS_AT[YEARS[-1]]
    db_path = Path(db_path)
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    store.init(db_path, "100000", as_of, "uk_gmpp")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("projects", "progress_reports"):
            part = io.BytesIO()
            frames[name].write_parquet(part)
            zf.writestr(f"{name}.parquet", part.getvalue())
    data = packed.getvalue()
    con = store.connect(db_path)
    try:
        upload = pipeline.read(data, "uk-gmpp.zip")
        checked = pipeline.check(con, upload)
        out = versions.commit(con, pipeline.to_changes(checked, "upsert", valid_only=False), who="uk_gmpp",
                              file_name=f"{Path(raw_dir).name} (UK GMPP annual publications 2014–2023, thin extract)",
                              sha256=upload.sha256, as_of=as_of, db_path=str(db_path), retrain=False)
        version = out.version
        log["snapshot_rows"] = store.count_rows(con, "item_snapshots")
    finally:
        con.close()
    log.update(as_of=as_of, version=version, db_path=str(db_path))
    return log

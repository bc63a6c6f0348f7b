"""Region names → GB/T 2260 codes: 合肥市, 安徽省合肥市, 肥东县, 合肥市肥东县 and 安徽 each name one region;
朝阳区 names two (北京 and 长春) and is reported with both, never guessed."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import duckdb
import polars as pl

from analytics.db.queries import QUERIES

SUFFIXES = ("省", "市", "自治区", "特别行政区", "自治州", "地区", "盟", "区", "县", "自治县", "旗")


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class Resolver:
    """Every spelling of every region: its name, its chain of names from the province down, and a
    province's or city's name without its suffix (安徽, 合肥), each → the codes it could mean."""

    names: dict[str, tuple[str, ...]]
    codes: frozenset[str]
    labels: dict[str, str]  # code → full name, for messages

    @classmethod
    def from_db(cls, con: duckdb.DuckDBPyConnection) -> Resolver:
        return cls.from_frame(con.sql(QUERIES["ingest_regions"]).pl())

    @staticmethod
    def from_frame(regions: pl.DataFrame) -> Resolver:
        rows = {r["region_code"]: r for r in regions.iter_rows(named=True)}
        names: dict[str, set[str]] = {}
        labels = {}

        def add(text: str, code: str) -> None:
            names.setdefault(_key(text), set()).add(code)

        for code, r in rows.items():
            chain = []
            node = r
            while node is not None and node["level"] != "country":
                chain.append(node["name"])
                node = rows.get(node["parent_code"]) if node["parent_code"] else None
            chain.reverse()
            labels[code] = "".join(chain) or r["name"]
            add(r["name"], code)
            for i in range(len(chain) - 1):  # every suffix of the chain ending in this region
                add("".join(chain[i:]), code)
            if len(chain) == 3:
                add(chain[0] + chain[2], code)  # 安徽省肥东县
            if r["level"] in ("province", "city"):
                for s in SUFFIXES:
                    if r["name"].endswith(s) and len(r["name"]) > len(s) + 1:
                        add(r["name"][: -len(s)], code)
                        break
        return Resolver({k: tuple(sorted(v)) for k, v in names.items()}, frozenset(rows), labels)

    def resolve(self, values: list[str]) -> dict[str, tuple[str | None, str]]:
        """value → (code or None, why): 'code', 'name', 'ambiguous: …', 'unknown'."""
        out = {}
        for v in values:
            text = _key(v)
            if len(text) == 6 and text.isdigit():
                out[v] = (text, "code")
                continue
            found = self.names.get(text, ())
            if len(found) == 1:
                out[v] = (found[0], "name")
            elif found:
                out[v] = (None, "ambiguous:" + "、".join(f"{c} {self.labels.get(c, '')}" for c in found[:6]))
            else:
                out[v] = (None, "unknown")
        return out

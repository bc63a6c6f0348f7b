"""The province → city → county cascade over the region table, with China's real quirks.

- Municipalities (北京, 天津, 上海, 重庆) have no city level: the cascade goes straight to counties.
- Province-administered county-level units (济源市 under 河南, 仙桃市 under 湖北 …) hang under the
  province; they are offered beside the cities, since that is where people look for them.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Selection:
    """What each of the three cascade boxes shows for one chosen region."""

    province: str | None = None
    city: str | None = None  # a city, or a province-administered county chosen at city level
    county: str | None = None


NATION = "100000"  # GB/T 2260's code for the whole country


class RegionTree:
    def __init__(self, regions: pl.DataFrame):
        rows = regions.select("region_code", "name", "level", "parent_code").iter_rows()
        self.name: dict[str, str] = {}
        self.level: dict[str, str] = {}
        self.parent: dict[str, str | None] = {}
        self.children: dict[str, list[str]] = {}
        for code, name, level, parent in rows:
            self.name[code], self.level[code], self.parent[code] = name, level, parent
            self.children.setdefault(parent, []).append(code)
        for kids in self.children.values():
            kids.sort()
        # the nation is no region to pick, but rows can name it (items held nationally): named, never a code
        self.name.setdefault(NATION, "全国")

    def __contains__(self, code: str) -> bool:
        return code in self.level

    def provinces(self) -> list[str]:
        return sorted(c for c, lv in self.level.items() if lv == "province")

    def has_city_level(self, province: str) -> bool:
        """False for the municipalities, whose districts hang directly under them."""
        return any(self.level[c] == "city" for c in self.children.get(province, []))

    def city_options(self, province: str) -> list[str]:
        """Cities of the province, then its province-administered counties; empty for municipalities."""
        if not self.has_city_level(province):
            return []
        kids = self.children.get(province, [])
        return [c for c in kids if self.level[c] == "city"] + [c for c in kids if self.level[c] == "county"]

    def county_options(self, parent: str) -> list[str]:
        """Counties directly under a city, or under a municipality."""
        return [c for c in self.children.get(parent, []) if self.level[c] == "county"]

    def selection(self, code: str | None) -> Selection:
        """Which box holds what, for the region `code` (None = the whole country)."""
        if code is None or code not in self.level or self.level[code] == "country":
            return Selection()
        level, parent = self.level[code], self.parent[code]
        if level == "province":
            return Selection(province=code)
        if level == "city":
            return Selection(province=parent, city=code)
        if self.level.get(parent) == "province":
            if self.has_city_level(parent):
                return Selection(province=parent, city=code)  # province-administered county
            return Selection(province=parent, county=code)  # a municipality's district
        return Selection(province=self.parent[parent], city=parent, county=code)

    def path(self, code: str | None) -> list[str]:
        """Codes from the province down to `code`."""
        out = []
        while code is not None and code in self.level and self.level[code] != "country":
            out.append(code)
            code = self.parent[code]
        return out[::-1]

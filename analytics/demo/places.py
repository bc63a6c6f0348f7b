"""Region lookups for the demo generator: provinces, cities and counties with their weights."""
from __future__ import annotations

import numpy as np
import polars as pl

from analytics.demo import vocab as V

class Geo:
    """Province, city and county codes with population and wealth weights, and group lookups."""

    def __init__(self, regions: pl.DataFrame):
        regions = regions.sort("region_code")
        prov_codes = list(V.PROVINCES)
        self.prov_codes = np.array(prov_codes, dtype=object)
        self.prov_index = {c: i for i, c in enumerate(prov_codes)}
        pop = np.array([V.PROVINCES[c][1] for c in prov_codes], float)
        gdp = np.array([V.PROVINCES[c][2] for c in prov_codes], float)
        self.prov_pop_p = pop / pop.sum()
        self.prov_west = np.array([V.PROVINCES[c][3] for c in prov_codes])
        self.prov_north = np.array([V.PROVINCES[c][4] for c in prov_codes])
        lg = np.log(gdp)
        self.prov_wealth = (lg - lg.mean()) / lg.std()
        names = dict(zip(regions["region_code"].to_list(), regions["name"].to_list()))
        self.names = names
        rows = regions.filter(pl.col("region_code").str.slice(0, 2).is_in([c[:2] for c in prov_codes]))
        cities = rows.filter(pl.col("level") == "city")
        counties = rows.filter(pl.col("level") == "county")
        self.city_codes = np.array(cities["region_code"].to_list(), dtype=object)
        self.city_prov = np.array([self.prov_index[c[:2] + "0000"] for c in self.city_codes])
        self.county_codes = np.array(counties["region_code"].to_list(), dtype=object)
        self.county_prov = np.array([self.prov_index[c[:2] + "0000"] for c in self.county_codes])
        city_index = {c: i for i, c in enumerate(self.city_codes)}
        parents = counties["parent_code"].to_list()
        self.county_city = np.array([city_index.get(p, -1) for p in parents])  # -1: directly under province
        # dept-effect groups: every city, plus one group per province for counties directly under it
        self.county_group = np.where(self.county_city >= 0, self.county_city, len(self.city_codes) + self.county_prov)
        self.city_group = np.arange(len(self.city_codes))
        self.n_groups = len(self.city_codes) + len(prov_codes)
        # lookup tables: counties per province, cities per province, counties per city
        self.county_by_prov = self._index(self.county_prov, len(prov_codes))
        self.city_by_prov = self._index(self.city_prov, len(prov_codes))
        self.county_by_city = self._index(np.where(self.county_city >= 0, self.county_city, len(self.city_codes)),
                                          len(self.city_codes) + 1)

    @staticmethod
    def _index(keys, n):
        order = np.argsort(keys, kind="stable")
        counts = np.bincount(keys, minlength=n)
        starts = np.cumsum(counts) - counts
        return order, starts, counts

    @staticmethod
    def pick_in(table, key, u):
        """Row of a random member of group `key` (u uniform in [0,1)); -1 where the group is empty."""
        order, starts, counts = table
        c = counts[key]
        pos = starts[key] + np.minimum((u * c).astype(np.int64), np.maximum(c - 1, 0))
        return np.where(c > 0, order[np.minimum(pos, order.size - 1)], -1)

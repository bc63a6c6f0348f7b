"""The regions page (区域分析) as plain data: a metric by region at a chosen level, and items by light.

`page` computes what the page shows for one selection; `map_deck` turns it into the pydeck deck
(choropleth or items as points/hexagons) from the labels the page passes in. Both are used by the
page, the tests and the measurements alike; nothing here imports Streamlit.
"""
from __future__ import annotations

import dataclasses
import math
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Mapping

import duckdb
import polars as pl

from analytics import freshness, geo, i18n, metrics
from analytics.figures import maps
from analytics.figures.geometry import COUNTRY_CODE, region_features
from analytics.figures.inset import in_inset_only, to_inset
from analytics.levels import levels_below
from analytics.db import queries
from analytics.metrics import Metric, Selection

DEFAULT_METRIC = "index"
LAYERS = ("choropleth", "points", "hexagon")
SCALES = ("quantile", "continuous")
LIGHTS = ("red", "yellow", "green", "none")

# coordinates sent to the browser: maps.detail (a grid of about 1.5 px at the map's width, one vertex in two);
# national maps of every city or county are a picture with the province borders in it (maps.RASTER_LEVELS)


def metric_of(key: str | None) -> Metric:
    return metrics.BY_KEY.get(key or DEFAULT_METRIC, metrics.BY_KEY[DEFAULT_METRIC])


def n_column(m: Metric) -> str:
    """The count behind a metric's value (for a budget rate: the items with budget data, not the yuan)."""
    return m.n_column or m.denominator or m.column


def metric_rank(table: pl.DataFrame, m: Metric) -> pl.Series:
    """Rank on the metric, best first: the metrics table's own rank for the index; otherwise ties share
    a rank, and regions with too few items in flight (is_small) or no value are not ranked."""
    if m.key == "index":
        return table["rank"].cast(pl.UInt32).alias("metric_rank")
    ok = table[m.key].is_not_null() & ~table["is_small"]
    value = table[m.key] if m.direction == "higher_is_better" else -table[m.key]
    ranked = pl.Series(values=value.filter(ok)).rank("min", descending=True).cast(pl.UInt32)
    out = [None] * table.height
    for i, r in zip([i for i, flag in enumerate(ok.to_list()) if flag], ranked.to_list()):
        out[i] = r
    return pl.Series("metric_rank", out, dtype=pl.UInt32)


@dataclass(frozen=True)
class RegionsPage:
    """What the regions page draws for one selection (see `page`)."""

    metric: Metric
    levels: tuple[str, ...]  # levels offered, default first; empty below a county
    level: str | None  # the level drawn
    total: dict  # the selection's own metrics ({} when nothing matches)
    table: pl.DataFrame  # metrics.region_table at `level`, with metric_rank
    values: pl.DataFrame = field(default_factory=pl.DataFrame)  # region_code, name, value, n, rank
    lights: pl.DataFrame = field(default_factory=pl.DataFrame)  # region_code, name, level, light, n_items, lon, lat
    has_boundaries: bool = True
    # report freshness (issue 20), attached by `with_freshness` from the pages' one cached Freshness block (not
    # computed here, so the page does not run the freshness query a second time): per row of `table`
    # (freshness.roll_up), and the silent regions in the selection (Freshness.silent: name, lon, lat, days_silent …),
    # marked on the map
    freshness: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=freshness.ROLLED_UP))
    silent: pl.DataFrame = field(default_factory=pl.DataFrame)
    cycle_days: int = 30


def page(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict[str, float] | None = None, *,
         metric: str = DEFAULT_METRIC, level: str | None = None, with_lights: bool = False) -> RegionsPage:
    """The metric `metric` for every region at `level` (default: one level below the selection) and,
    with_lights, the items in flight counted per region of record × light."""
    m = metric_of(metric)
    levels = levels_below(cur, sel.filters.region_code)
    level = level if level in levels else (levels[0] if levels else None)
    lights = (queries.run(cur, "regions_lights", sel.filters, sel.scope, sel.as_of, **sel.thresholds.params())
              if with_lights else pl.DataFrame())
    if level is None:
        return RegionsPage(m, levels, None, metrics.totals(cur, sel, weights), pl.DataFrame(), lights=lights,
                           has_boundaries=False)
    total, table = metrics.summarise(cur, sel, level, weights)
    table = table.with_columns(metric_rank(table, m))
    values = table.select("region_code", "name", pl.col(m.key).cast(pl.Float64).alias("value"),
                          pl.col(n_column(m)).cast(pl.Float64).alias("n"), pl.col("metric_rank").alias("rank"))
    drawable = bool(region_features(level, sel.filters.region_code))
    return RegionsPage(m, levels, level, total, table, values, lights, drawable)


def with_freshness(data: RegionsPage, fresh: freshness.Freshness, up: pl.DataFrame, as_of) -> RegionsPage:
    """`data` with the selection's report freshness: `fresh` (the pages' block) rolled up to the rows of its
    ranking through `up` (`region_ancestor_at` at `data.level` for `freshness.ancestor_codes(fresh)`), and its
    silent regions for the map's rings."""
    rolled = freshness.roll_up(fresh, up, as_of) if data.level is not None else data.freshness
    return dataclasses.replace(data, freshness=rolled, silent=fresh.silent, cycle_days=fresh.cycle_days)


# --- the deck ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _cities() -> pl.DataFrame:
    """Each county's city (region_code → city_code, with the city's name, lon, lat); a county directly under a
    province (a municipality's district, a province-administered county) is not in it and stays itself."""
    r = geo.regions_frame()
    cities = r.filter(pl.col("level") == "city").select(pl.col("region_code").alias("city_code"), "name", "lon", "lat")
    return (r.filter(pl.col("level") == "county").select("region_code", pl.col("parent_code").alias("city_code"))
            .join(cities, on="city_code"))


def by_city(lights: pl.DataFrame) -> pl.DataFrame:
    """`lights` (region of record × light) with every county's items counted at its city: the national map's
    generalisation (issue 17, point 14: 3,500 county circles overlapped at national scale and made the message
    0.5 MB; about 1,300 city circles say the same)."""
    if lights.is_empty():
        return lights
    cities = _cities()
    rolled = (lights.join(cities, on="region_code", how="left", suffix="_city")
              .with_columns(pl.coalesce("city_code", "region_code").alias("region_code"),
                            pl.coalesce("name_city", "name").alias("name"),
                            pl.when(pl.col("city_code").is_not_null()).then(pl.lit("city")).otherwise("level").alias("level"),
                            pl.coalesce("lon_city", "lon").alias("lon"), pl.coalesce("lat_city", "lat").alias("lat")))
    return (rolled.group_by("region_code", "name", "level", "light", "lon", "lat")
            .agg(pl.col("n_items").sum()).select(lights.columns).sort("region_code", "light"))


def light_rows(lights: pl.DataFrame, labels: Mapping[str, str], unit: str, inset: bool,
               lang: str = "zh") -> list[dict]:
    """Rows for `maps.points_layer`: one per region × light, with a tooltip naming every light's count.

    labels: the word for each light (red/yellow/green/none); unit: e.g. "{n} 项" / "{n} items".
    """
    if lights.is_empty():
        return []
    per_region: dict[str, dict[str, int]] = {}
    for code, light, n in lights.select("region_code", "light", "n_items").iter_rows():
        per_region.setdefault(code, {})[light] = n
    rows = []
    for r in lights.iter_rows(named=True):
        lon, lat = r["lon"], r["lat"]
        if lon is None or lat is None:
            continue
        if inset and in_inset_only(lon, lat):
            lon, lat = to_inset(lon, lat)
        counts = per_region[r["region_code"]]
        count = f"{r['n_items']:,}"
        tip = [f"{labels[r['light']]}: {unit.format(n=count)}"]
        tip.append(" · ".join(f"{labels[k]} {counts[k]:,}" for k in LIGHTS if k in counts))
        rows.append({"position": [round(lon, 2), round(lat, 2)], "light": r["light"], "n": int(r["n_items"]),
                     "name": i18n.glossary("province", str(r["name"]), lang), "tip": "\n".join(tip), "region_code": r["region_code"]})
    return rows


def hex_radius_m(zoom: float, latitude: float, px: float = 10.0) -> float:
    """A hexagon radius of about `px` screen pixels at the view's zoom and latitude."""
    return round(px * 156543.03 * math.cos(math.radians(latitude)) / 2 ** zoom, -2) or 100.0


def map_deck(data: RegionsPage, parent_code: str | None, *, lang: str, layer: str = "choropleth",
             scale: str = "quantile", value_format=str, labels: Mapping[str, str],
             light: str | None = None, width: int = 600, height: int = 560) -> maps.MapSpec:
    """The page's map: the choropleth of `data.values`, or (layer points/hexagon) the items by light
    over a plain base map. labels: value, n, rank (tooltip), items (in flight), the light words
    red/yellow/green/none, and unit ("{n} 项").

    Colour direction: the bad end of the one quality scale (dark red) goes to the worse values, whichever way the
    metric runs (palette.QUALITY).
    `light` limits the hexagons to one light (None: every item in flight).
    """
    national = parent_code in (None, COUNTRY_CODE)
    spec = _map_deck(data, parent_code, national, lang=lang, layer=layer, scale=scale, value_format=value_format,
                     labels=labels, light=light, width=width, height=height)
    rings = silent_rows(data.silent, national)
    if not rings:
        return spec
    return dataclasses.replace(spec, deck=maps.with_layers(spec, [], top=[maps.silent_layer(rings)]))


def silent_rows(silent: pl.DataFrame, inset: bool) -> list[dict]:
    """The silent regions' points (issue 20: flagged on the map), moved into the South China Sea inset like the
    item points."""
    rows = []
    for r in silent.iter_rows(named=True) if silent.height else []:
        lon, lat = r["lon"], r["lat"]
        if lon is None or lat is None:
            continue
        if inset and in_inset_only(lon, lat):
            lon, lat = to_inset(lon, lat)
        rows.append({"position": [round(lon, 4), round(lat, 4)], "region_code": r["region_code"]})
    return rows


def _map_deck(data: RegionsPage, parent_code: str | None, national: bool, *, lang: str, layer: str, scale: str,
              value_format, labels: Mapping[str, str], light: str | None, width: int, height: int) -> maps.MapSpec:
    fine = maps.detail(data.level, parent_code, width)
    common = dict(parent_code=parent_code, lang=lang, inset=national, width=width, height=height, **fine)
    if layer == "choropleth":
        return maps.choropleth(data.level, data.values, value_format=value_format, scale=scale,
                               higher_is_better=data.metric.direction == "higher_is_better", rank_label=labels["rank"],
                               tooltip_labels={"value": labels["value"], "n": labels["n"]}, **common)
    if national and layer == "points":
        # the circles are per city (`by_city`) over the provinces, whatever the level chosen: under them the
        # counties' picture and its 2,800 invisible pick points added 150 KB and nothing to read
        level, counts = "province", pl.DataFrame(schema={"region_code": pl.Utf8, "n": pl.Int64})
        if not data.lights.is_empty():
            counts = (data.lights.filter(pl.col("region_code") != COUNTRY_CODE)
                      .group_by(pl.col("region_code").str.slice(0, 2) + "0000").agg(pl.col("n_items").sum().alias("n")))
        common |= maps.detail("province", parent_code, width)
    else:
        level, counts = data.level, data.table.select("region_code", pl.col("n_in_flight").alias("n"))
    base = maps.choropleth(level, counts.with_columns(pl.lit(None, pl.Float64).alias("value")),
                           no_data_color=(244, 245, 247), **common)
    # nationally the item circles are drawn per city (`by_city`); below that per region of record
    rows = light_rows(by_city(data.lights) if national and layer == "points" else data.lights, labels,
                      labels["unit"], national, lang)
    if layer == "hexagon":
        chosen = [r for r in rows if light is None or r["light"] == light]
        view = base.deck.initial_view_state
        extra = [maps.hexagon_layer(chosen, hex_radius_m(view.zoom, view.latitude))]
    else:
        extra = [maps.points_layer(rows)]
    tooltip = {"text": "{name}\n{tip}", "style": maps.TOOLTIP_STYLE}
    # the base regions carry a tip too, so one template serves regions and points
    for p in maps.pick_properties(base):
        if base.base_layers == 1:
            p["tip"] = f"{labels['items']}: {p['n_str']}"
        else:  # a picture's regions: short names (maps._picture_choropleth)
            p["name"], p["tip"] = p.pop("t"), f"{labels['items']}: {p.pop('k')}"
            p.pop("v", None)
    deck = maps.with_layers(base, extra, tooltip)
    return maps.MapSpec(deck=deck, breaks=(), colors=(), no_data_color=base.no_data_color,
                        no_data_label=base.no_data_label, region_codes=base.region_codes, tooltip=tooltip,
                        base_layers=base.base_layers)

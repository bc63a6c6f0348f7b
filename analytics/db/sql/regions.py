"""SQL of the regions page, by name, with `$name` parameters; every fact read through the scoped fragments.

The item state and light come from the same mart as the metrics (`sql.metrics.ITEM_MART`, or the
snapshot mart when the as-of date is one of its dates), so the points on the map count exactly the
items `item_lights` lists.
"""
from __future__ import annotations

from analytics.db.sql.metrics import ITEM_MART, SNAPSHOT_MART

# grain: one row per region of record × light, for the items in flight at the as-of date; with the
# region's name, level and the point drawn for it (regions.lon/lat: a point inside the region)
_LIGHTS_BY_REGION = """
        SELECT s.region_code, g.name, g.level, s.light, count(*) AS n_items, g.lon, g.lat
        FROM item_light s JOIN regions g USING (region_code)
        WHERE s.state = 'in_flight'
        GROUP BY ALL
        ORDER BY s.region_code, s.light"""

QUERIES: dict[str, str] = {
    "regions_lights": ITEM_MART + _LIGHTS_BY_REGION,
    "regions_lights@snapshot": SNAPSHOT_MART + _LIGHTS_BY_REGION,
}

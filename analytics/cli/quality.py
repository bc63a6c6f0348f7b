"""`duplicates` and `authenticity`: the data-quality findings for a database, as text or JSON, with precision
and recall against the demo generator's planted truth when the `<db>.truth/` sidecar exists."""
from __future__ import annotations

import json
import sys
import time
from datetime import date

from analytics import quality
from analytics.pages import authenticity
from analytics.pages import duplicates
from analytics.db import store
from analytics.metrics import Selection
from analytics.db.queries import run_national


def add_commands(sub) -> None:
    p = sub.add_parser("duplicates", help="probable duplicate supervision: clusters with score and signals")
    p.add_argument("--db", required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=20, help="clusters printed (JSON has all)")
    p.set_defaults(func=run_duplicates)
    p = sub.add_parser("authenticity", help="progress reports that look beautified or copied: flags and credibility")
    p.add_argument("--db", required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=20, help="items printed (JSON has all)")
    p.set_defaults(func=run_authenticity)


def _open(path: str):
    con = store.connect(path, read_only=True)
    as_of = run_national(con, "risk_data_as_of").row(0)[0] or date.today()
    return con, Selection(as_of=as_of)


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def run_duplicates(args) -> int:
    con, sel = _open(args.db)
    t0 = time.perf_counter()
    data = duplicates.page(con, sel, dismissed=quality.not_duplicate_pairs(args.db))
    seconds = time.perf_counter() - t0
    found = data.all_pairs.select("project_a", "project_b").rows()
    ev = quality.truth_duplicates(args.db, set(data.universe), found)
    clusters = data.clusters.with_columns(data.clusters["first_start"].cast(str))
    if args.json:
        json.dump({"as_of": str(sel.as_of), "n_items": data.n_items, "n_in_clusters": data.n_in_clusters,
                   "n_clusters": data.clusters.height, "n_pairs": len(found), "n_compared": data.n_compared,
                   "compute_seconds": round(seconds, 2), "evaluation": ev, "clusters": clusters.to_dicts(),
                   "by_region": data.by_region.to_dicts()}, sys.stdout, ensure_ascii=False, indent=1, default=str)
        print()
        return 0
    print(f"as of {sel.as_of}: {data.n_items} items, {data.n_in_clusters} in {data.clusters.height} clusters "
          f"({len(found)} pairs; {data.n_compared} compared; {seconds:.1f} s)")
    if ev:
        print(f"against the planted truth: precision {_pct(ev['precision'])}, recall {_pct(ev['recall'])} "
              f"({ev['n_correct']} of {ev['n_found']} found, {ev['n_true']} planted)")
    for r in data.clusters.head(args.limit).iter_rows(named=True):
        print(f"{r['score']:.2f}  {r['cluster_key']}  {r['region_name']}  {' | '.join(r['names'])}  "
              f"[{', '.join(r['signals'])}]  {', '.join(r['project_ids'])}")
    return 0


def run_authenticity(args) -> int:
    con, sel = _open(args.db)
    t0 = time.perf_counter()
    data = authenticity.page(con, sel)
    seconds = time.perf_counter() - t0
    ev = quality.truth_beautified(args.db, set(data.universe), data.all_flagged)
    whole = authenticity.analyse(con, sel.scope, sel.as_of).items
    per_pattern = {p: quality.truth_beautified(args.db, set(data.universe), whole.filter(p)["project_id"])
                   or {"n_found": int(whole[p].sum())} for p in authenticity.ITEM_PATTERNS}
    flagged = data.flagged.select("project_id", "name", "region_name", "lead_dept", "credibility", "band",
                                  *authenticity.ITEM_PATTERNS)
    if args.json:
        json.dump({"as_of": str(sel.as_of), "n_items": data.n_items, "n_flagged": data.flagged.height,
                   "flagged_below": authenticity.FLAGGED_BELOW, "compute_seconds": round(seconds, 2),
                   "evaluation": ev, "by_pattern": per_pattern, "flagged": flagged.to_dicts(),
                   "by_dept": data.by_dept.to_dicts(), "smoother_than_peers": data.smoother.to_dicts(),
                   "evidence": data.evidence.with_columns(data.evidence["date"].cast(str)).to_dicts()},
                  sys.stdout, ensure_ascii=False, indent=1, default=str)
        print()
        return 0
    print(f"as of {sel.as_of}: {data.n_items} items with reports, {data.flagged.height} to verify "
          f"(credibility below {authenticity.FLAGGED_BELOW}; {seconds:.1f} s)")
    if ev:
        print(f"against the planted truth: precision {_pct(ev['precision'])}, recall {_pct(ev['recall'])} "
              f"({ev['n_correct']} of {ev['n_found']} flagged, {ev['n_true']} planted)")
    for p, e in per_pattern.items():
        print(f"  {p}: {e['n_found']} items" + (f", precision {_pct(e.get('precision'))}" if "precision" in e else ""))
    for r in flagged.head(args.limit).iter_rows(named=True):
        hits = [p for p in authenticity.ITEM_PATTERNS if r[p]]
        print(f"{r['credibility']:>3}  {r['project_id']}  {r['region_name']}  {r['name']}  [{', '.join(hits)}]")
    return 0

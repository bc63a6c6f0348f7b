"""Data commands: demo, check, metrics, metrics-doc, contract, settings."""
from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

from analytics import settings
from analytics.cli.common import _date, _known_region, _positive, _region



def cmd_demo(args) -> int:
    from analytics import demo

    def progress(fraction: float, message: str) -> None:
        print(f"\r{fraction:6.1%}  {message:<60}", end="", file=sys.stderr, flush=True)

    started = time.perf_counter()
    counts = demo.generate(args.db, scale=args.scale, seed=args.seed, as_of=args.as_of,
                           progress=None if args.quiet else progress)
    model = None
    if args.model:  # the demo arrives with its slip-risk model trained and scored, as the app's first start does
        from analytics.db import store
        from analytics.risk import jobs

        if not args.quiet:
            print(file=sys.stderr)
        con = store.connect(args.db, read_only=True)
        try:
            meta = jobs.publish(con, args.db, None if args.quiet else
                                (lambda share, stage: progress(share, f"slip-risk model: {stage}")))
        finally:
            con.close()
        model = {"file": meta.get("model_file"), "n_scored": meta.get("n_scored")}
    elapsed = time.perf_counter() - started
    if not args.quiet:
        print(file=sys.stderr)
    print(json.dumps({"db": str(args.db), "seconds": round(elapsed, 1), "rows": counts, "model": model},
                     ensure_ascii=False, indent=2))
    return 0


def cmd_init(args) -> int:
    import getpass

    from analytics.db import store

    try:
        store.init(args.db, args.home_region, args.as_of or date.today(), args.who or f"cli:{getpass.getuser()}")
    except store.InitError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(f"{args.db}: an empty database for home region {args.home_region} (data version 0). Load the first "
          f"extract with: python -m analytics ingest --db {args.db} --table projects FILE")
    return 0


def cmd_check(args) -> int:
    from analytics.db import checks
    from analytics.db import store

    con = store.connect(args.db, read_only=True)
    found = checks.violations(con)
    if found.is_empty():
        print("every contract rule holds")
        return 0
    print(found)
    return 1


def _open_at_region(args):
    """(connection, current version) of --db read-only with --region checked, or the exit status after saying why."""
    from analytics.db import store

    con = store.connect(args.db, read_only=True)
    version = store.current_version(con)
    if version is None:
        print(f"{args.db}: no data version", file=sys.stderr)
        return 2
    if args.region and not _known_region(con, args.region):
        print(f"--region {args.region}: no such region code", file=sys.stderr)
        return 2
    return con, version


def cmd_metrics(args) -> int:
    import polars as pl

    from analytics import metrics
    from analytics.filters import Filters

    opened = _open_at_region(args)
    if isinstance(opened, int):
        return opened
    con, version = opened
    as_of = args.as_of or version[1]
    filters = Filters(region_code=args.region, domains=tuple(args.domain or ()))
    sel = metrics.Selection(filters=filters, as_of=as_of)
    table = metrics.region_table(con, sel, args.level)
    columns = ["region_code", "name", "rank", "is_small"] + [m.key for m in metrics.METRICS] + [
        c for m in metrics.METRICS for c in (m.n_col,) if c]
    table = table.select(list(dict.fromkeys(c for c in columns if c in table.columns)))
    if args.json:
        print(json.dumps({"as_of": str(as_of), "data_version": version[0], "level": args.level,
                          "region": args.region, "rows": table.to_dicts()}, ensure_ascii=False, default=str))
    else:
        print(f"as of {as_of}, data version {version[0]}, {table.height} regions at {args.level} level",
              file=sys.stderr)
        print(table.with_columns(pl.selectors.float().round(4)).write_csv(), end="")
    return 0


def cmd_explain(args) -> int:
    import polars as pl

    from analytics import explain, metrics
    from analytics.filters import Filters

    opened = _open_at_region(args)
    if isinstance(opened, int):
        return opened
    con, version = opened
    as_of = args.as_of or version[1]
    sel = metrics.Selection(filters=Filters(region_code=args.region), as_of=as_of)
    if args.metric == "overdue":
        e = explain.overdue(con, sel)
        if args.json:
            print(json.dumps({"metric": "overdue", "as_of": str(as_of), "compared_with": str(e.before_as_of),
                              "data_version": version[0], "region": args.region, "before": e.before,
                              "after": e.after, "change": e.after - e.before,
                              "by": {dim: e.by(col).to_dicts() for dim, col in (("region", "child_name"),
                                                                               ("kind", "kind"))}},
                             ensure_ascii=False, default=str))
        else:
            print(explain.overdue_summary(e, args.lang, top=args.top))
        return 0
    if args.metric != "red_share":
        r = explain.ratio_by_region(con, sel, args.metric)
        doc = {"metric": args.metric, "as_of": str(as_of), "compared_with": str(r.before_as_of),
               "data_version": version[0], "region": args.region, "before": r.before, "after": r.after,
               "change": r.change, "regions": r.regions.to_dicts()}
        if args.json:
            print(json.dumps(doc, ensure_ascii=False, default=str))
        else:
            print(f"{args.metric}: {r.before} → {r.after} (change {r.change}) vs {r.before_as_of}", file=sys.stderr)
            print(r.regions.with_columns(pl.selectors.float().round(6)).write_csv(), end="")
        return 0
    e = explain.red_share(con, sel)
    parts = {dim: e.by(col).to_dicts() for dim, col in (("region", "child_name"), ("kind", "kind"),
                                                        ("lead_dept", "lead_dept"), ("domain", "domain"),
                                                        ("priority", "priority"))}
    if args.json:
        print(json.dumps({"metric": args.metric, "as_of": str(as_of), "compared_with": str(e.before_as_of),
                          "data_version": version[0], "region": args.region, "before": e.before, "after": e.after,
                          "change": e.change, "n_before": e.n_before, "n_after": e.n_after, "by": parts,
                          "unusual": explain.unusual_regions(con, sel).to_dicts()},
                         ensure_ascii=False, default=str))
    else:
        print(explain.summary(e, args.lang, top=args.top))
        odd = explain.unusual_regions(con, sel).filter(pl.col("z").abs() >= explain.UNUSUAL_Z)
        for r in odd.iter_rows(named=True):
            print(f"unusual: {r['name']} {100 * r['change']:+.1f} pp (median of its past changes "
                  f"{100 * r['typical']:+.1f}, robust z {r['z']:+.1f}, n = {r['n']}, {r['n_history']} past changes)")
    return 0


def cmd_metrics_doc(args) -> int:
    from analytics import metrics

    print(metrics.markdown(), end="")
    return 0


def cmd_contract(args) -> int:
    from analytics import contract

    print(contract.markdown(), end="")
    return 0


def cmd_settings(args) -> int:
    print(settings.markdown(), end="")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("demo", help="write a DuckDB file of realistic demo data")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--scale", type=_positive, default=1.0, help="1 ≈ 20,000 items and 1M progress reports")
    p.add_argument("--seed", type=int, default=settings.get("COCKPIT_DEMO_SEED"))
    p.add_argument("--as-of", type=_date, default=None, help="last day of history (default today)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--no-model", dest="model", action="store_false",
                   help="do not train and score the slip-risk model afterwards")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("init", help="create an empty database for an office's own data (never overwrites a file)")
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--home-region", required=True, help="the office's region: a GB/T 2260 code (province, city, "
                   "county, or 100000 for the nation)")
    p.add_argument("--as-of", type=_date, default=None, help="the empty version's as-of date (default today)")
    p.add_argument("--who", default=None, help="recorded as its creator (default cli:<os user>)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("check", help="check a database against every contract rule")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("metrics", help="the cockpit's metrics, one row per region at a level")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--as-of", type=_date, default=None, help="default: the data's as-of date")
    p.add_argument("--level", choices=("province", "city", "county"), required=True)
    p.add_argument("--region", type=_region, help="only regions within this one")
    p.add_argument("--domain", action="append", help="only this domain (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("explain", help="why a KPI changed: its change split over regions, departments, domains, "
                                       "priorities and kinds of change, adding up exactly")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--metric", choices=("red_share", "overdue", "on_time_rate", "rect_completion_rate", "satisfied_share",
                                        "answered_in_time", "landing_rate"), default="red_share",
                   help="red_share, overdue: item by item; the other rates: by region, rate and mix effects")
    p.add_argument("--region", type=_region, help="the selection (default: national)")
    p.add_argument("--as-of", type=_date, default=None, help="default: the data's as-of date")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--top", type=int, default=3, help="parts named in the sentence")
    p.add_argument("--json", action="store_true", help="every part by region, kind, department, domain, priority")
    p.set_defaults(func=cmd_explain)

    sub.add_parser("metrics-doc", help="print docs/metrics.md").set_defaults(func=cmd_metrics_doc)
    sub.add_parser("contract", help="print docs/data-contract.md").set_defaults(func=cmd_contract)
    sub.add_parser("settings", help="print docs/configuration.md").set_defaults(func=cmd_settings)

"""The slip-risk model and the finish-date forecasts: risk train | score | forecast | evaluate."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from analytics import settings
from analytics.cli.common import _date, _jsonable, _positive_int



def _risk_open(db: Path):
    """(read-only connection, data as-of, data version, first start) or an error message."""
    from analytics.db import store
    from analytics.risk import features as F

    if not Path(db).is_file():
        return None, f"{db}: no such database file"
    con = store.connect(db, read_only=True)
    as_of, version = F.data_as_of(con)
    first = F.first_start(con)
    if as_of is None or first is None:
        con.close()
        return None, f"{db}: no data to model (no projects or no data version)"
    return (con, as_of, version, first), None


def cmd_risk_train(args) -> int:
    from analytics.risk import jobs, persist

    opened, error = _risk_open(args.db)
    if error:
        print(error, file=sys.stderr)
        return 2
    con, data_as_of, version, first = opened
    if args.as_of is not None and not first <= args.as_of <= data_as_of:
        print(f"--as-of {args.as_of}: outside the data's history ({first} to {data_as_of})", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:  # trains (with the model card's evaluation), saves, and scores what the app's pages read
        meta = jobs.publish(con, args.db, None, as_of=args.as_of, horizon_days=args.horizon_days,
                            tolerance_days=args.tolerance_days)
        m = persist.load_latest(args.db, version)
    except (ValueError, jobs.Busy) as e:
        print(f"cannot train: {e}", file=sys.stderr)
        return 2
    finally:
        con.close()
    card = meta.get("evaluation") or {}
    print(json.dumps(_jsonable({
        "path": m.extra.get("path"), "data_version": m.data_version, "data_as_of": m.data_as_of,
        "train_from": m.train_from, "train_to": m.train_to, "horizon_days": m.horizon_days,
        "tolerance_days": m.tolerance_days, "n_rows": m.n_rows, "slip_share": round(m.base_rate, 4),
        "n_features": len(m.feature_names), "snapshots": meta.get("snapshots"),
        "fit_seconds": round(m.fit_seconds, 2), "train_seconds": meta.get("train_seconds"),
        "score_seconds": meta.get("score_seconds"), "n_scored": meta.get("n_scored"),
        "card": {k: card.get(k) for k in ("cutoff", "roc_auc", "pr_auc", "brier", "lead_time")} if card else None,
        "seconds": round(time.perf_counter() - started, 2)}), ensure_ascii=False, indent=2))
    return 0


def _reasons_text(reasons) -> str:
    return "; ".join(f"{r['feature']}={r['value']} (+{r['effect']:.3f})" for r in reasons or [])


def cmd_risk_score(args) -> int:
    import polars as pl

    from analytics.risk import model as M
    from analytics.risk import persist

    opened, error = _risk_open(args.db)
    if error:
        print(error, file=sys.stderr)
        return 2
    con, data_as_of, version, first = opened
    as_of = args.as_of or data_as_of
    if not first <= as_of <= data_as_of:
        con.close()
        print(f"--as-of {as_of}: outside the data's history ({first} to {data_as_of})", file=sys.stderr)
        return 2
    try:
        m = persist.load_latest(args.db, version)
        if m is None:
            print(f"no stored model for data version {version}; training one", file=sys.stderr)
            with M.limited_threads():
                m = M.train(con, with_card=False)
            path = persist.save(m, args.db)
        else:
            path = m.extra.get("path")
        with M.limited_threads():
            scored = M.score(con, m, as_of)
    except ValueError as e:  # includes persist.ModelFileError
        print(f"cannot score: {e}", file=sys.stderr)
        return 2
    finally:
        con.close()
    if args.json:
        print(json.dumps(_jsonable({"as_of": as_of, "data_version": version, "model": str(path),
                                    "horizon_days": m.horizon_days, "tolerance_days": m.tolerance_days,
                                    "rows": scored.to_dicts()}), ensure_ascii=False))
    else:
        print(f"as of {as_of}, data version {version}, model {path}, {scored.height} open items",
              file=sys.stderr)
        out = scored.with_columns(
            pl.col("probability").round(4),
            pl.Series("top_reasons", [_reasons_text(r) for r in scored["top_reasons"].to_list()], dtype=pl.Utf8))
        print(out.write_csv(), end="")
    return 0


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def cmd_risk_forecast(args) -> int:
    """The saved finish-date forecasts of every item in flight (computed when the model was trained)."""
    import polars as pl

    from analytics.db.queries import run_national
    from analytics.risk import scores

    opened, error = _risk_open(args.db)
    if error:
        print(error, file=sys.stderr)
        return 2
    con, data_as_of, version, _ = opened
    try:
        saved = scores.load(args.db, version)
        meta = scores.load_meta(args.db, version) or {}
        ends = run_national(con, "forecast_items")
    finally:
        con.close()
    if saved is None or "p50_date" not in saved.columns or saved["p50_date"].is_null().all():
        print(f"no finish-date forecasts for data version {version}: run `python -m analytics risk train --db {args.db}`",
              file=sys.stderr)
        return 2
    rows = (saved.select("project_id", *scores.FORECAST_COLUMNS).join(ends, on="project_id", how="left")
            .with_columns((pl.col("p80_date") - pl.col("planned_end_date")).dt.total_days().alias("p80_late_days"))
            .select("project_id", "name", "planned_end_date", "p50_date", "p50_beyond", "p80_date", "p80_beyond",
                    "p_by_deadline", "p80_late_days")
            .sort(["p80_late_days", "project_id"], descending=[True, False], nulls_last=True))
    e = (meta.get("forecast") or {}).get("evaluation") or {}
    coverage = {k: {x: v[x] for x in ("share", "low", "high", "n")} for k, v in (e.get("coverage") or {}).items()
                if isinstance(v, dict) and "share" in v}
    if args.json:
        print(json.dumps(_jsonable({"as_of": saved["as_of"][0], "data_version": version, "levels": e.get("levels"),
                                    "holdout_cutoff": e.get("cutoff"), "coverage": coverage,
                                    "rows": rows.to_dicts()}), ensure_ascii=False))
    else:
        print(f"as of {saved['as_of'][0]}, data version {version}, {rows.height} items in flight; "
              + (f"holdout from {e['cutoff']}: P50 {_pct(coverage['p50']['share'])}, P80 {_pct(coverage['p80']['share'])}, "
                 f"reporters' forecast {_pct(coverage['reported']['share'])} finished by the date" if coverage
                 else "no holdout check"), file=sys.stderr)
        print(rows.with_columns(pl.col("p_by_deadline").round(4)).write_csv(), end="")
    return 0


def evaluation_text(result: dict) -> str:
    """`risk evaluate`'s plain-text report of an evaluation (as its --json prints it)."""
    lines = [f"{k}: {json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v}"
             for k, v in result.items() if k not in ("reliability", "features", "lead_time", "forecast")]
    lines.append("median lead time, first alert to slip (alerts at the budget):")
    for name, lead in result["lead_time"].items():
        days = "n/a" if lead["median_lead_days"] is None else f"{lead['median_lead_days']:g} days"
        lines.append(f"  {name}: {days} ({lead['n_warned']} of {lead['n_slipped_items']} slipped items warned)")
    lines.append("reliability (mean predicted -> observed, n):")
    lines += [f"  {r['mean_predicted']:.3f} -> {r['observed_rate']:.3f} (n = {r['n']})" for r in result["reliability"]]
    fc = result["forecast"]
    if "error" in fc:
        lines.append(f"finish-date forecasts: {fc['error']}")
    else:
        lines.append(f"finish dates, share finished by the date (95 % interval, rows judged), cutoff {fc['cutoff']}:")
        for k, label in (("p50", "P50"), ("p80", "P80"), ("reported", "reporters' forecast")):
            c = fc["coverage"][k]
            lines.append(f"  {label}: {_pct(c['share'])} ({_pct(c['low'])}–{_pct(c['high'])}, n = {c['n']})")
    return "\n".join(lines)


def cmd_risk_evaluate(args) -> int:
    from analytics.risk import forecast as FC
    from analytics.risk import model as M

    opened, error = _risk_open(args.db)
    if error:
        print(error, file=sys.stderr)
        return 2
    con, data_as_of, version, first = opened
    if not first < args.cutoff < data_as_of:
        con.close()
        print(f"--cutoff {args.cutoff}: outside the data's history ({first} to {data_as_of})", file=sys.stderr)
        return 2
    try:
        with M.limited_threads():
            e = M.evaluate(con, args.cutoff, args.horizon_days, args.tolerance_days)
            try:  # the finish-date forecasts on the same cutoff: the share finished by the P50 / P80 dates
                fc = FC.evaluate(con, args.cutoff)
                e["forecast"] = {k: fc[k] for k in ("cutoff", "levels", "uncalibrated", "n_forecast", "n_calibration")} | {
                    "coverage": {k: {x: fc["coverage"][k][x] for x in ("share", "low", "high", "n", "n_items")}
                                 for k in ("p50", "p80", "reported")}}
            except ValueError as err:
                e["forecast"] = {"error": str(err)}
        rows = con.execute("SELECT source, created_by, description FROM data_versions "
                           "ORDER BY version DESC LIMIT 1").fetchall()
    except ValueError as err:
        print(f"cannot evaluate --cutoff {args.cutoff}: {err}", file=sys.stderr)
        return 2
    finally:
        con.close()
    result = _jsonable(e)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else evaluation_text(result))
    if args.card:
        from analytics.risk import card

        source = rows[0] if rows else (None, None, None)
        meta = {"db": Path(args.db).name, "source": source[0], "created_by": source[1],
                "description": source[2], "data_version": version, "data_as_of": data_as_of,
                "command": "python -m analytics " + " ".join(args.argv)}
        from analytics.risk import scores

        trained = scores.load_meta(args.db, version) or {}  # timings of the last `risk train`, if any
        meta |= {k: trained[k] for k in ("train_seconds", "score_seconds", "n_scored") if k in trained}
        Path(args.card).parent.mkdir(parents=True, exist_ok=True)
        Path(args.card).write_text(card.markdown(e, meta), encoding="utf-8")
        print(f"wrote {args.card}", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    risk = sub.add_parser("risk", help="the slip-risk model and finish-date forecasts: train, score, forecast, evaluate")
    rsub = risk.add_subparsers(dest="risk_command", required=True)
    p = rsub.add_parser("train", help="train a model and store it beside the database")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--as-of", type=_date, default=None, help="train on windows ending by this date "
                   "(default: the data's as-of date)")
    p.add_argument("--horizon-days", type=_positive_int, default=90, help="slip horizon H (default 90)")
    p.add_argument("--tolerance-days", type=_positive_int, default=30, help="slip tolerance T (default 30)")
    p.set_defaults(func=cmd_risk_train)
    p = rsub.add_parser("score", help="slip probability of every open item (the newest stored model, "
                        "trained first when there is none for the current data version)")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--as-of", type=_date, default=None, help="default: the data's as-of date")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_risk_score)
    p = rsub.add_parser("forecast", help="P50 / P80 finish dates and the chance of finishing by the deadline of "
                        "every item in flight (saved by `risk train`), latest against plan first")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_risk_forecast)
    p = rsub.add_parser("evaluate", help="train before a cutoff, test after it; every metric")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--cutoff", type=_date, required=True)
    p.add_argument("--horizon-days", type=_positive_int, default=90, help="slip horizon H (default 90)")
    p.add_argument("--tolerance-days", type=_positive_int, default=30, help="slip tolerance T (default 30)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--card", type=Path, default=None, help="also write the model card here (Markdown)")
    p.set_defaults(func=cmd_risk_evaluate)

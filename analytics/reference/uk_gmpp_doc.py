"""`docs/reference-uk-gmpp.md`, generated: the mapping's counts and the slip-risk model on the real extract.

    python -m analytics.reference.uk_gmpp_doc > docs/reference-uk-gmpp.md

Builds the DuckDB from the raw files in a temporary folder, reads the loader's log for the counts, and
evaluates the model against the rating rule at two cutoffs, with an ablation (how the 28-day grid and the
earlier features did) and a bootstrap over projects of the margin at equal alert volume; then the real-data check
of `gmpp_check` (issue 21): the classifier pooled over every yearly cutoff, the finish-date forecasts' coverage, and
a verdict written from those numbers.
"""
from __future__ import annotations

import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from analytics import settings
from analytics.db import store
from analytics.risk import features as F
from analytics.risk import model as M
from analytics.reference import gmpp_check as G
from analytics.reference import uk_gmpp as u

RAW = Path(settings.get("COCKPIT_REFERENCE_DIR")) / "uk-gmpp" / "raw"
HORIZON, TOLERANCE = G.HORIZON, G.TOLERANCE  # 365, 90
CUTOFFS = (date(2019, 9, 30), date(2021, 3, 31))
WIDER_FIRST = date(2014, 9, 30)  # the pooled check's sensitivity: every cutoff with a publication to train on
# features added for thin, yearly extracts; the "earlier features" rows of the ablation leave them out
NEW_FEATURES = ("n_reports", "forecast_slip_days", "forecast_move_last", "days_to_expected_end", "rag_change_last",
                "rag_scale")
BOOTSTRAP = G.BOOTSTRAP  # 2,000

HEAD = '# Reference data: UK Government Major Projects Portfolio (GMPP), 2014–2023\n\n`analytics/reference/uk_gmpp.py` maps the IPA\'s yearly GMPP publications\n(`<COCKPIT_REFERENCE_DIR>/uk-gmpp/raw/`, by default `../shared/reference-data/uk-gmpp/raw/`; see its README; Open Government Licence v3.0) into the\ndata contract as a **thin extract**, to check the slip-risk model on real data. It is not a\nproduction import: the UK data has no progress percentages, milestones, spending, feedback or\nrectifications, and only one report per project per year.\n\n```python\nfrom analytics.reference import uk_gmpp\nframes = uk_gmpp.load(raw_dir)                  # {{"projects": ..., "progress_reports": ...}}\nframes, log = uk_gmpp.load_with_log(raw_dir)    # plus rows per year and rows lost, with reasons\nlog = uk_gmpp.build_db(raw_dir, "uk.duckdb")    # fresh DuckDB: init (national), then one upload (version 1)\n```\n\n## Reading the files\n\n| quirk | handling |\n|---|---|\n| cp1252, one stray 0x9d byte (2020), `£` byte in the 2023 header | decoded as cp1252 with `errors="replace"` |\n| mixed CR/LF (2022) | CRLF and CR folded to LF before CSV parsing (quoted multi-line comments survive) |\n| `;` delimiter (2021–23) | delimiter chosen by year |\n| 2014–17 transposed | column 0 holds the long labels; matched by prefix (`Project name`, `Department`, `MPA/IPA RAG rating` / `IPA Delivery Confidence`, `Project - Start Date`, `Project - End Date`, `Total budgeted whole life costs` / `Whole Life Cost TOTAL Baseline`); each further column is a project; empty columns and the 2017 footnote row are skipped |\n| two `colour_rating` columns (2022–23) | IPA DCA first; the SRO\'s own DCA when the IPA one is blank (never both) |\n| dates `dd/mm/yyyy`, `dd.mm.yy`, ISO, `dd.mm.yyyy`; typo `1/012/2014` | one parser; two-digit years 00–49 → 20xx, 50–99 → 19xx; the typo reads as 1 Dec 2014; text (FOI exemptions, TBD, "No end date", `#N/A`) → null |\n| money `450.37`, `£1.90m`, `£1,060.97`, `-£0.5m` | `£`, `,`, `m` stripped; text → null |\n\nProjects read per publication equal the README\'s table: {per_year}\n({n_rows} rows).\n\n## Mapping\n\n`projects` ({n_projects} rows):\n\n| contract column | from |\n|---|---|\n| `project_id` | `UK-<dept family>-<sha1 of family + normalised name>[:10]`; see "Stable ids" |\n| `name` | the latest name published |\n| `domain`, `lead_dept` | the department family (renames and merges folded: BIS/DECC/BEIS/DESNZ/DSIT/DBT → `BEIS`; DCLG/MHCLG/DLUHC → `DLUHC`; FCO/DFID/FCDO → `FCDO`; DH/DoH/DoH Capital/DoH Non Capital/DHSC → `DHSC`; others upper-cased) |\n| `category` | `report_category` (2019+ only; the latest one published) |\n| `region_code` | always `100000` (national). The UK data has no Chinese region; 100000 is the contract\'s national code, so regional views and the region track record are meaningless on this data. |\n| `start_date` | the first start date published |\n| `planned_end_date` | the **first** end date published (the "latest approved end date" when the project first appears — its baseline as far as this data can tell; an earlier baseline before 2013 is unknown) |\n| `status`, `actual_end_date` | still in the 2023 publication → `in_progress`. Left the portfolio with its last published end date on or before the next publication\'s as-at date → `completed`, `actual_end_date` = that end date. Left earlier → `terminated` (really "left the GMPP, outcome unknown": projects also leave when they are merged, split, re-scoped, renamed beyond recognition or drop below the GMPP threshold). |\n| `budget_wan_yuan` | the first whole-life cost baseline (£m) × 100, i.e. **units of £10,000 (万英镑), not 万元**; negative / text → null. Not used by any model feature here (no spending is reported). |\n| `description` | first `description_aims`, cut to 500 characters |\n| `policy_id`, `co_depts`, `priority`, `supervising_unit`, `source` | null |\n\n`progress_reports` ({n_reports} rows): one per project per publication.\n\n| contract column | from |\n|---|---|\n| `report_date` | the publication\'s as-at date: 30 Sep 2013 … 30 Sep 2019 (files 2014–2020), then 31 Mar 2021, 2022, 2023 (the 2020 → 2021 gap is 18 months) |\n| `forecast_end_date` | that publication\'s end date (the latest approved end date, not a free forecast) |\n| `rag` | DCA: Green → `green`, Amber/Green → `amber_green`, Amber → `amber`, Amber/Red → `amber_red`, Red → `red` (spacing and case ignored); anything else (FOI exemption, No DCA, Reset, Early planning, blank) → null. 2022–23 use a 3-point scale, so `amber_green`/`amber_red` never occur there and an "amber" there is not the same as an "amber" before. |\n| `planned_progress_pct`, `actual_progress_pct`, `budget_spent_wan_yuan` | null (not published) |\n| `note` | `GMPP <year> publication; DCA: <original text>` |\n\nThe database is built the way an office starts on its own data: `init` for the nation (version 0), then both\ntables uploaded as one zip through the ingest path (read, every contract check, commit), which makes version 1 with\n`as_of` = 31 Mar 2023 and refreshes the marts ({snapshot_rows} snapshot rows).\n\n### Stable ids\n\nA project keeps its id when, in the same department family, (1) its normalised name matches one seen\nbefore (lower case, parenthesised parts such as acronyms and "(formerly X)" removed, the words\nthe/programme/project dropped, punctuation removed — so "Crossrail" = "Crossrail Programme"), or (2) its\nGMPP project number (2020+, prefixes folded: `DfT_`/`DFT_`, `DoH_`/`DH_`, `MoD_`/`MOD_`) was seen before,\nor (3) a "(formerly X)" names a known project, or (4) failing those, exactly one project of the previous\npublication in the same family, not yet matched this year, has a name that is a word prefix of this one or\nvice versa (at least two words; {prefix_links} links, e.g. "Priority School Building" → "… Capital", "Making Tax\nDigital for Business" → "Making Tax Digital"). Fuzzy matching was tried and rejected: it linked different\nprojects ("Prison Estate Transformation" → "Prison Technology Transformation").\n\nNot linked (each becomes a new project, and the old one looks `terminated` or `completed`): renames\nwithout a "(formerly …)" ("Successor SSBN" → "DREADNOUGHT"), splits (HS2 into phases), names reduced\nto a GMPP number, and projects whose department moved outside the families above. Year-on-year carry-over\nis {carry_over}.\n\n## What is lost\n\n| what | rows |\n|---|---|\n| projects dropped: no start or no end date ever given (FOI exemptions, "early planning") | {dropped} projects, with their {dropped_reports} reports |\n| reports kept without `rag` (exempt / No DCA / Reset / Early planning / blank) | {no_rag} |\n| reports kept without `forecast_end_date` (exempt / TBD / text) | {no_end} |\n| same-year name collisions kept apart under an id from the raw name (2015 splits DoH into Capital/Non Capital) | {collisions} |\n| 2017 footnote row, empty transposed columns | skipped, not counted as projects |\n| comments (rating, schedule, budget, benefits), yearly budget/forecast, benefits | not mapped |\n\n{n_rows} published rows → {n_reports} reports on {n_projects} projects.\n\n'


def _counts(frames: dict, log: dict) -> dict:
    rep = frames["progress_reports"]
    dates = sorted(set(rep["report_date"]))
    ids = {d: set(rep.filter(pl.col("report_date") == d)["project_id"]) for d in dates}
    carry = [f"{len(ids[a] & ids[b])}/{len(ids[a])}" + (" (2019 → 2021)" if b.year - a.year > 1 else "")
             for a, b in zip(dates, dates[1:])]
    lost = log["lost"]
    return {"per_year": ", ".join(str(n) for n in log["rows_per_year"].values()),
            "n_rows": f"{sum(log['rows_per_year'].values()):,}", "n_projects": f"{log['n_projects']:,}",
            "n_reports": f"{log['n_reports']:,}", "snapshot_rows": f"{log['snapshot_rows']:,}",
            "prefix_links": lost.get("renamed project linked by word prefix (kept)", 0), "carry_over": ", ".join(carry),
            "dropped": lost.get("project dropped: no start or no end date ever given", 0),
            "dropped_reports": lost.get("reports dropped with their project", 0),
            "no_rag": lost.get("report kept without rag (exempt / no DCA / reset / blank)", 0),
            "no_end": lost.get("report kept without forecast end (exempt / TBD / unparseable)", 0),
            "collisions": lost.get("same-year name collision (kept under a separate id)", 0)}


def _margin(test: pl.DataFrame, p: np.ndarray, flagged: np.ndarray) -> dict:
    """Model hits minus rule hits at the rule's volume, and its bootstrap over projects (`gmpp_check.bootstrap_sum`)."""
    y = test["slipped"].to_numpy().astype(int)
    k = len(flagged)
    model_rows = np.argsort(-p, kind="stable")[:k]
    diff = np.zeros(len(y))
    diff[model_rows] += y[model_rows]
    diff[flagged] -= y[flagged]
    return {"k": k, "model": int(y[model_rows].sum()), "rule": int(y[flagged].sum()), "margin": int(diff.sum()),
            **G.bootstrap_sum(diff, test["project_id"].to_numpy(), BOOTSTRAP)}


def _variant(con, cutoff: date, dates: list[date], kind: str, drop: tuple[str, ...], small_data: bool | None) -> dict:
    data_as_of, version = F.data_as_of(con)
    dates = [d for d in dates if d + timedelta(days=HORIZON) <= data_as_of
             and (d + timedelta(days=HORIZON) <= cutoff or d >= cutoff)]
    rows = F.training_frame(con, dates, HORIZON, TOLERANCE).drop([c for c in drop if c])
    e = M._evaluate_rows(rows, cutoff, HORIZON, TOLERANCE, M.ALERT_SHARE, version, data_as_of, kind, small_data)
    test = rows.filter(pl.col("snapshot_date") >= cutoff)
    train = rows.filter(pl.col("snapshot_date") + pl.duration(days=HORIZON) <= cutoff)
    model = M._fit(train, HORIZON, TOLERANCE, sorted(set(train["snapshot_date"])), version, data_as_of, small_data)
    p = M.predict(model, test)
    rag = M._rule_order(test, (pl.col("rag_ord") >= 3).fill_null(False))
    red = M._rule_order(test, M.red_light(test))
    return e | {"rag_margin": _margin(test, p, rag), "red_margin": _margin(test, p, red)}


VARIANTS = (  # name, snapshot plan, features left out, small-data regime (None: automatic)
    ("earlier pipeline: 28-day grid from the first start date, earlier features, default trees, isotonic",
     "grid_from_start", NEW_FEATURES, False),
    ("report-date snapshots, earlier features, default trees, isotonic", "plan", NEW_FEATURES, False),
    ("report-date snapshots, all features, default trees, isotonic", "plan", (), False),
    ("**current pipeline**: report-date snapshots, all features, shallow trees, sigmoid (automatic below "
     f"{M.SMALL_DATA_ROWS:,} rows)", "plan", (), None),
)


def evaluations(con) -> dict[date, list[tuple[str, dict]]]:
    data_as_of, _ = F.data_as_of(con)
    plan, kind = F.snapshot_plan(con, data_as_of, M.STEP_DAYS)
    grid = F.snapshot_dates(data_as_of, F.first_start(con), M.STEP_DAYS)
    out = {}
    with M.limited_threads():
        for cutoff in CUTOFFS:
            out[cutoff] = [(name, _variant(con, cutoff, grid if dates == "grid_from_start" else plan,
                                           "grid" if dates == "grid_from_start" else kind, drop, small))
                           for name, dates, drop, small in VARIANTS]
    return out


def _f(x, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def _hits(m: dict) -> str:
    return f"{m['model']} vs {m['rule']} of {m['k']}"


def _interval(m: dict) -> str:
    return f"{m['margin']:+d} [{_s(m['low90'])}, {_s(m['high90'])}], {100 * m['share_ahead']:.0f}%"


def model_section(results: dict[date, list[tuple[str, dict]]]) -> str:
    lines = [
        "## Checking the slip-risk model", "",
        f"Horizon {HORIZON} days, tolerance {TOLERANCE} days (the data is yearly). A row slips when, within the year "
        f"after the snapshot, a publication gives an end date more than {TOLERANCE} days past the end date known at the "
        f"snapshot (or the project is still open {TOLERANCE} days past it). The **rating rule** is \"the latest DCA is "
        "red or amber/red\" (`rag_ord >= 3`); the red-light rule adds \"past the planned end\" (there is no progress "
        "here). **Equal alert volume**: the model alerts its top k rows, k = the rows the rule flags, on the same test "
        "rows; precision and recall then differ only by the hits, so the tables give hits (slipped rows alerted). "
        "The interval is a 90% bootstrap interval of the margin (model hits − rule hits) from resampling projects "
        f"({BOOTSTRAP:,} draws), with the share of draws in which the model is ahead. Every number below is computed "
        "by `python -m analytics.reference.uk_gmpp_doc` from the raw files and the current `analytics/risk`.", ""]
    for cutoff, rows in results.items():
        e0 = rows[-1][1]
        lines += [f"### Cutoff {cutoff:%d %b %Y}", "",
                  f"Test snapshots {e0['test_dates'][0]} to {e0['test_dates'][1]}; the rule's ROC-AUC as a ranking "
                  f"(reported DCA, missing lowest): {_f(e0['rag_roc_auc'])}; the red light as a 0/1 score: "
                  f"{_f(e0['red_light_roc_auc'])}.", "",
                  "| pipeline | train rows | test rows (slip rate) | ROC-AUC | PR-AUC | Brier | hits at the rating rule's "
                  "volume (model vs rule) | margin [90%], share ahead | hits at the red light's volume | margin [90%], "
                  "share ahead |", "|---|---|---|---|---|---|---|---|---|---|"]
        for name, e in rows:
            lines.append(f"| {name} | {e['n_train']:,} | {e['n_test']:,} ({_f(e['test_slip_rate'])}) | {_f(e['roc_auc'])} "
                         f"| {_f(e['pr_auc'])} | {_f(e['brier'], 4)} | {_hits(e['rag_margin'])} | "
                         f"{_interval(e['rag_margin'])} | {_hits(e['red_margin'])} | {_interval(e['red_margin'])} |")
        lt = e0["lead_time"]
        lines += ["", f"Current pipeline at the 10% budget ({e0['alert_budget']} alerts): precision model "
                  f"{_f(e0['model_at_budget']['precision'])}, rating rule {_f(e0['rag_red_at_budget']['precision'])}, "
                  f"red light {_f(e0['red_light_at_budget']['precision'])}; slipped projects warned: model "
                  f"{lt['model']['n_warned']} of {lt['model']['n_slipped_items']} (median lead "
                  f"{_f(lt['model']['median_lead_days'], 0)} days), rating rule {lt['rag_red']['n_warned']} "
                  f"(median {_f(lt['rag_red']['median_lead_days'], 0)} days).", ""]
    cur = [rows[-1][1] for rows in results.values()]
    beats = all(e["rag_margin"]["margin"] > 0 and e["red_margin"]["margin"] > 0 for e in cur)
    lines += ["### At these two cutoffs", ""]
    if beats:
        lines += ["The current pipeline has more hits than the rating rule and the red-light rule at equal alert volume at "
                  "both cutoffs (`tests/test_uk_gmpp.py` asserts it): "
                  + "; ".join(f"{c:%Y-%m-%d}: {e['rag_margin']['margin']:+d} hits at the rating rule's "
                              f"{e['rag_margin']['k']} alerts, {e['red_margin']['margin']:+d} at the red light's "
                              f"{e['red_margin']['k']}" for c, e in zip(results, cur))
                  + (". Each interval includes zero" if all(e[m]["low90"] <= 0 <= e[m]["high90"] for e in cur
                                                           for m in ("rag_margin", "red_margin"))
                     else ". Not every interval includes zero")
                  + ", and both test sets run to the last publication with a full year observed, so they share most "
                  "of their rows; the pooled check below asks whether the lead holds publication by publication."]
    else:
        lines += ["The current pipeline does not have more hits than both rules at both cutoffs; see the margins above."]
    lines += ["", "What the current pipeline changed for yearly data (all generic, none special-cased to GMPP):", "",
              "- **Snapshots at the report dates** when reporting is batched (fewer distinct report dates than 28-day "
              "grid dates: `features.snapshot_plan`). The grid made about 13 near-identical rows per project per "
              "report, starting in 1987 when nothing was reported; the report-date plan has one row per project "
              "per publication, each seeing a fresh report.",
              "- **Change since the previous report**: `forecast_move_last` (days the end date moved since the last "
              "report) and `rag_change_last` (rating steps since the last report), where `rag_worsened` looked four "
              "reports (four years) back; `forecast_slip_days` (latest − first forecast end), "
              "`days_to_expected_end`, `n_reports`.",
              "- **The rating scale in force** (`rag_scale`: 5 when any report that day uses amber/green or "
              "amber/red, else 3), so a 3-point \"amber\" from 2022 is not read as a 5-point one.",
              f"- **Small-data regime**: below {M.SMALL_DATA_ROWS:,} training rows, shallow trees ("
              + ", ".join(f"{k} = {v}" for k, v in M.SMALL_DATA_TREES.items())
              + ") and sigmoid calibration: a few hundred rows overfit the default trees, and isotonic calibration "
              "makes ties at the top of the ranking.",
              f"- `n_forecast_revisions` counts only moves of more than {F.REVISION_DAYS} days (it counted every wobble); "
              "the ablation's \"earlier features\" rows already use that threshold.", ""]
    return "\n".join(lines)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _s(x: float) -> str:
    """A bootstrap bound as a signed whole number of hits (no "-0")."""
    return f"{int(round(x)):+d}"


def _margin_cells(m: dict) -> str:
    return (f"{_hits(m)} | {m['margin']:+d} | [{_s(m['low90'])}, {_s(m['high90'])}] | "
            f"[{_s(m['low95'])}, {_s(m['high95'])}] | {_pct(m['share_ahead'])}")


def _margin_table(check: dict, design: str) -> list[str]:
    lines = ["| cutoff | training rows (slip rate) | test snapshots | test rows (slip rate) | rating rule: hits model "
             "vs rule of k | margin | 90% | 95% | draws ahead | red light: hits model vs rule of k | margin | 90% | "
             "95% | draws ahead |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c, r in check[design]["per_cutoff"].items():
        fit, m = check["fits"][c], r["rag"]
        first, last = r["test_dates"]
        span = f"{first}" if first == last else f"{first} … {last}"
        lines.append(f"| {c} | {fit['n_train']:,} ({_f(fit['train_slip_rate'])}) | {span} | {m['n_rows']:,} "
                     f"({_f(m['n_slipped'] / m['n_rows'])}) | {_margin_cells(r['rag'])} | {_margin_cells(r['red'])} |")
    pooled = check[design]["pooled"]
    m = pooled["rag"]
    lines.append(f"| **pooled** ({len(check['cutoffs'])} cutoffs) | | | {m['n_rows']:,} rows of {m['n_projects']} "
                 f"projects ({_f(m['n_slipped'] / m['n_rows'])}) | {_margin_cells(pooled['rag'])} | "
                 f"{_margin_cells(pooled['red'])} |")
    return lines


def _pooled_line(m: dict) -> str:
    return (f"{_hits(m)}, {m['margin']:+d} [{_s(m['low90'])}, {_s(m['high90'])}] (95% [{_s(m['low95'])}, "
            f"{_s(m['high95'])}]), ahead in {_pct(m['share_ahead'])} of draws")


def pooled_section(check: dict, wider: dict) -> str:
    cuts = check["cutoffs"]
    nxt, frm = check["next"]["pooled"], check["from_cutoff"]["pooled"]
    without_last = check["rows"].filter((pl.col("design") == "next") & (pl.col("cutoff") != cuts[-1]))
    snaps = check["snapshots"]
    blind = snaps.filter(~pl.col("next_in_window"))
    lines = [
        "## The classifier pooled over cutoffs", "",
        f"Two cutoffs are two looks at mostly the same rows. Here every publication date from {cuts[0]:%d %b %Y} (three "
        f"earlier publications to train on) to {cuts[-1]:%d %b %Y} (the last with a full year of outcomes) is a cutoff: "
        f"{', '.join(f'{c}' for c in cuts)}. At each the current pipeline is fitted as `model.evaluate` fits it (the "
        "rows whose year is observed by the cutoff) and judged in two designs:", "",
        "- **One publication ahead**: the test rows are the snapshots from the cutoff up to the next cutoff, so over "
        "all cutoffs every publication is judged once, by the model trained just before it (what retraining once a "
        "year would have scored). This is the headline.",
        f"- **From the cutoff on**: the test rows of `model.evaluate` (every snapshot from the cutoff to "
        f"{max(check['rows']['snapshot_date']):%d %b %Y}, as in the tables above). Consecutive cutoffs share test snapshots, so pooled, a row counts once for every cutoff "
        f"that sees it: the {cuts[-1]:%Y} publication {len(cuts)} times, the {cuts[0]:%Y} one once.", "",
        "In each cutoff's test rows the model alerts its top k, k = the rows the rule flags (equal alert volume); the "
        "pooled hits are the sums of the cutoffs' hits, so the pooled alert volumes are equal too. Intervals are "
        f"percentile intervals from {BOOTSTRAP:,} bootstrap draws (seed {G.SEED}) that resample projects, all of a "
        "project's rows across cutoffs together; \"draws ahead\" is the share of draws in which the model has more "
        "hits. Computed by `analytics/reference/gmpp_check.py`.", "",
        "### One publication ahead", ""]
    lines += _margin_table(check, "next")
    lines += ["", "### From the cutoff on (rows counted once per cutoff that sees them)", ""]
    lines += _margin_table(check, "from_cutoff")
    wider_next = wider["next"]["pooled"]
    lines += ["", "Sensitivity of the one-publication-ahead pool (both chosen after the main numbers were seen, so read them as "
              "descriptions, not tests):", "",
              f"- without the {cuts[-1]:%Y} publication (the 3-point DCA scale, on which the rating rule flags only "
              f"\"red\"): rating rule {_pooled_line(G.margin(without_last, 'rag'))}; red light "
              f"{_pooled_line(G.margin(without_last, 'red'))}.",
              f"- adding the cutoffs {', '.join(str(c) for c in wider['cutoffs'] if c < cuts[0])} (training on one "
              f"and two publications): rating rule {_pooled_line(wider_next['rag'])}; red light "
              f"{_pooled_line(wider_next['red'])}.", "",
              "### What a slip can be seen with", "",
              f"A row slips only through a later report inside its {HORIZON} days (or by running {TOLERANCE} days past "
              "its end date). Two publications have no later publication inside that window, so their rows are "
              "labelled \"no slip\" unless the project ran past its end: "
              + "; ".join(f"{r['snapshot_date']} (next publication {r['days_to_next']} days later; slip rate "
                          f"{_f(r['slip_rate'])})" for r in blind.iter_rows(named=True))
              + (f". The other publications' slip rates run {_f(snaps.filter(pl.col('next_in_window'))['slip_rate'].min())}"
                 f"–{_f(snaps.filter(pl.col('next_in_window'))['slip_rate'].max())}. " if blind.height else ". ")
              + "Such rows teach the model that little slips, and in a test set both the model and the rule score "
              "almost nothing on them.", "",
              "| snapshot | rows | slip rate | days to the next publication |", "|---|---|---|---|"]
    lines += [f"| {r['snapshot_date']} | {r['rows']} | {_f(r['slip_rate'])} | {r['days_to_next']} |"
              for r in snaps.iter_rows(named=True)]
    lines += ["", f"Pooled, one publication ahead: rating rule {_pooled_line(nxt['rag'])}; red light "
              f"{_pooled_line(nxt['red'])}. From the cutoff on: rating rule {_pooled_line(frm['rag'])}; red light "
              f"{_pooled_line(frm['red'])}.", ""]
    return "\n".join(lines)


def _cov(c: dict | None) -> str:
    if not c or not c.get("n"):
        return "none judged"
    return (f"{_pct(c['share'])} ({c['hits']}/{c['n']}, {c['n_projects']} proj.) [{_pct(c['low90'])}, "
            f"{_pct(c['high90'])}] [{_pct(c['low95'])}, {_pct(c['high95'])}]")


def _coverage_table(fc: dict, design: str) -> list[str]:
    lines = ["| cutoff | pairs fitted | levels read (P50, P80) | rows forecast | P80 a lower bound | finished by P50 "
             "[90%] [95%] | by P80 [90%] [95%] | by the reporter's end date [90%] [95%] |", "|---|---|---|---|---|---|---|---|"]
    rows = fc["rows"]
    for c, r in fc[design]["per_cutoff"].items():
        facts = fc["facts"][c]
        part = rows.filter((pl.col("cutoff") == c) & (pl.col("next") if design == "next" else pl.lit(True)))
        lines.append(f"| {c} | {facts['n_train_rows']:,} | {facts['levels']['p50']:.3g}, {facts['levels']['p80']:.3g} "
                     f"| {part.height} | {int(part['p80_beyond'].sum())} | {_cov(r['p50'])} | {_cov(r['p80'])} | "
                     f"{_cov(r['reported'])} |")
    for c, err in fc["errors"].items():
        lines.append(f"| {c} | `forecast.evaluate` raised ValueError: {err} | | | | | | |")
    pooled = fc[design]["pooled"]
    part = rows.filter(pl.col("next") if design == "next" else pl.lit(True))
    lines.append(f"| **pooled** | | | {part.height:,} | {int(part['p80_beyond'].sum()):,} | {_cov(pooled['p50'])} | "
                 f"{_cov(pooled['p80'])} | {_cov(pooled['reported'])} |")
    return lines


def forecast_section(fc: dict) -> str:
    lines = ["## Finish-date forecasts on GMPP", ""]
    if "next" not in fc:
        return "\n".join(lines + ["`forecast.evaluate` raised ValueError at every cutoff: "
                                  + "; ".join(f"{c}: {e}" for c, e in fc["errors"].items()), ""])
    rep = fc["hits"]["reported"].filter(pl.col("next"))
    exact = int((rep["hit"] & (rep["forecast_date"] == rep["actual_end_date"])).sum())
    nxt = fc["rows"].filter(pl.col("next"))
    levels = {c: f["levels"] for c, f in fc["facts"].items()}
    nominal = sum(v == {"p50": 0.5, "p80": 0.8} for v in levels.values())
    inverted = [c for c, v in levels.items() if v["p50"] > v["p80"]]
    raised = [c for c, v in levels.items() if v["p80"] == v["p50"] > 0.8]
    lines += [
        "`forecast.evaluate` at the same cutoffs: fitted on the snapshots before the cutoff with the outcomes known "
        "then, it forecasts every snapshot from the cutoff on; half the projects (by a stable hash of the id) choose "
        "the levels of F read for P50 and P80 (split conformal; a level stays nominal without 30 judged rows), the "
        f"other half are judged. A row is judged when its date falls on or before {fc['data_as_of']:%d %b %Y} and, for "
        f"the model, is not a lower bound (F had not reached the level by the longest horizon seen, "
        f"{max(f['max_days'] for f in fc['facts'].values())} days). \"Finished\" is GMPP's: the project left the "
        "portfolio with its last end date before the next publication (`actual_end_date` = that end date). The "
        "tables give the share of judged rows finished by the date (hits/rows, projects), with 90% and 95% intervals "
        f"from {BOOTSTRAP:,} draws resampling projects. The reporters' date is the latest published end date at the "
        "snapshot, judged on the same half of the projects.", "",
        "### One publication ahead (each snapshot judged once, by the model fitted just before it)", ""]
    lines += _coverage_table(fc, "next")
    lines += ["", "### From the cutoff on (what `forecast.evaluate` reports at each cutoff)", ""]
    lines += _coverage_table(fc, "from_cutoff")
    card = fc["from_cutoff"]["per_cutoff"].get(fc["card_cutoff"]) if fc.get("card_cutoff") else None
    if card:
        lines += ["", f"The model card (`forecast.train_with_card`) holds out from {fc['card_cutoff']} "
                  f"(`forecast.forecast_cutoff`): P50 {_cov(card['p50'])}, P80 {_cov(card['p80'])}, reporters "
                  f"{_cov(card['reported'])} (its own bootstrap draws fewer samples, so its intervals differ slightly)."]
    lines += ["", "Reading these numbers:", "",
              f"- **Thin**: {nxt.height} rows forecast one publication ahead, but the P80 date is a lower bound for "
              f"{int(nxt['p80_beyond'].sum())} of them (GMPP projects run longer than the longest horizon the "
              "model has seen), so the judged rows are the few the model expected to finish soonest.",
              f"- **The reporters' share is flattered by construction**: a completed project's `actual_end_date` is "
              f"its last published end date, so {exact} of the {int(rep['hit'].sum())} reporter hits (one publication "
              "ahead) are rows whose end date already equals the eventual one; a reporter's date misses only when a "
              "later publication moved it or the project is still open.",
              "- Projects that left the GMPP without a known outcome (`terminated` here) are in no snapshot at all "
              "(`rules.in_flight` leaves terminated items out at every date), neither for the forecasts nor for the "
              "classifier.",
              f"- **Calibration**: the levels stayed nominal (0.5, 0.8) at {nominal} of {len(levels)} cutoffs (the "
              "calibration half rarely has the 30 judged rows `forecast.calibrate` needs)"
              + ("; where P80's level could not be found it stays 0.8 even when P50's is higher, so P50 is read "
                 "later than P80 at " + ", ".join(str(c) for c in inverted) if inverted else "")
              + ("; where P50's level passes 0.8 and P80's cannot be found, P80 is read at P50's level (never "
                 "earlier than the P50 date): " + ", ".join(str(c) for c in raised) if raised else "") + ".", ""]
    return "\n".join(lines)


def _excludes(m: dict, level: str, x: float) -> bool:
    return not (m[f"low{level}"] <= x <= m[f"high{level}"])


def verdict_section(check: dict, fc: dict) -> str:
    nxt, frm = check["next"]["pooled"], check["from_cutoff"]["pooled"]
    lines = ["## Verdict", ""]
    excl = {(d, r): _excludes(check[d]["pooled"][r], "90", 0) for d in G.DESIGNS for r in G.RULES}
    if not any(excl.values()):
        lines += [f"**The classifier: no proven margin.** Pooled over {len(check['cutoffs'])} cutoffs, one publication "
                  f"ahead, the model has {nxt['rag']['margin']:+d} hits against the rating rule "
                  f"(90% [{_s(nxt['rag']['low90'])}, {_s(nxt['rag']['high90'])}]) and {nxt['red']['margin']:+d} "
                  f"against the red light ([{_s(nxt['red']['low90'])}, {_s(nxt['red']['high90'])}]), at "
                  f"{nxt['rag']['k']} and {nxt['red']['k']} alerts; from the cutoff on, {frm['rag']['margin']:+d} and "
                  f"{frm['red']['margin']:+d}. Every pooled interval includes zero (the 95% ones all the more): on GMPP "
                  "the model is not shown to beat either rule at equal alert volume, and publication by publication it "
                  "is about even with them. Its lead at the two cutoffs above comes from two test sets that share most "
                  "of their rows (both run to the last publication)."]
    else:
        lines += ["**The classifier**: the pooled interval excludes zero for "
                  + ", ".join(f"{G.RULES[r]} ({'one publication ahead' if d == 'next' else 'from the cutoff on'}: "
                              f"{check[d]['pooled'][r]['margin']:+d} [{_s(check[d]['pooled'][r]['low90'])}, "
                              f"{_s(check[d]['pooled'][r]['high90'])}])" for (d, r), e in excl.items() if e)
                  + "; see the tables for the others."]
    lines += [""]
    if "next" in fc:
        p50, p80, rep = (fc["next"]["pooled"][k] for k in G.FORECASTS)
        days = (fc["hits"]["p80"].filter(pl.col("next"))
                .select((pl.col("p80_date") - pl.col("p50_date")).dt.total_days().cast(pl.Float64))).to_series()
        gap = {"median": days.median(), "q1": days.quantile(0.25), "q3": days.quantile(0.75)}
        if p80.get("n"):
            if _excludes(p80, "95", 0.8):
                how = ("**P80 does not cover about 80%**" + (": the dates are too early" if p80["high95"] < 0.8 else
                                                               ": the dates are too late"))
            else:
                how = "**P80 is consistent with 80%**"
            lines += [f"**The finish-date forecasts**: {how} — pooled one publication ahead, {_pct(p80['share'])} of "
                      f"{p80['n']} judged rows ({p80['n_projects']} projects) finished by their P80 date, 95% "
                      f"[{_pct(p80['low95'])}, {_pct(p80['high95'])}]; by P50 {_pct(p50['share'])} of {p50['n']} "
                      f"([{_pct(p50['low95'])}, {_pct(p50['high95'])}], "
                      + ("consistent with 50%" if not _excludes(p50, "95", 0.5) else "not 50%")
                      + f"); by the reporters' own end dates {_pct(rep['share'])} of {rep['n']} "
                      f"([{_pct(rep['low95'])}, {_pct(rep['high95'])}], flattered by construction, see above)."
                      + (f" P50 and P80 cover about the same share: on the rows where P80 can be judged, the P80 date "
                         f"is a median {gap['median']:.0f} days after the P50 date (quartiles {gap['q1']:.0f}–"
                         f"{gap['q3']:.0f}), too close together to hold 50% and 80% of outcomes."
                         if abs(p80["share"] - p50["share"]) < 0.1 else "")
                      + f" These are {p80['n']} rows from {p80['n_projects']} projects, and only the rows the model "
                      "expected to finish within its longest horizon."]
        else:
            lines += ["**The finish-date forecasts**: no P80 date could be judged; too thin to say anything."]
    else:
        lines += ["**The finish-date forecasts**: `forecast.evaluate` raised ValueError at every cutoff (see above)."]
    lines += ["", "What would make a margin convincing: more than one report a year (a steward with in-year returns "
              "would give the change features something to see), publications no more than a horizon apart (two of "
              "nine have no later publication inside their year), the comments' text, and more years after the 2022 "
              "scale change.", ""]
    return "\n".join(lines)


TESTS = ("## Tests\n\n`tests/test_uk_gmpp.py`: every file layout reads the README's project count, dates parse, DCA "
         "mapping, date/money parsing, ids stay stable across consecutive years (Crossrail and the Francis Crick "
         "Institute are one project each), projects satisfy the contract (`checks.violations` is empty on the built "
         "DB), `build_db` + `train` + `score` run on the built DB (report-date snapshots), and at the two cutoffs "
         "2019-09-30 and 2021-03-31 the model has more hits than the rating rule and the red-light rule at their own "
         "alert volume. For the pooled check: the cutoffs are the publications 2016-09-30 … 2022-03-31, one "
         "publication ahead judges each snapshot once, pooled hits and alerts are the sums of the cutoffs', each "
         "interval holds its point margin, the per-cutoff numbers from the cutoff on equal `model.evaluate`'s and the "
         "forecast shares equal `forecast.evaluate`'s, the bootstrap does not depend on row order, and pooled P80 "
         "covers less than 80% (95% interval below 0.8).\n")


def markdown(raw_dir: Path = RAW) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        frames, log = u.load_with_log(raw_dir)
        built = u.build_db(raw_dir, Path(tmp) / "uk.duckdb")
        log["snapshot_rows"] = built["snapshot_rows"]
        con = store.connect(Path(tmp) / "uk.duckdb", read_only=True)
        try:
            results = evaluations(con)
            check = G.classifier_check(con)
            wider = G.classifier_check(con, G.cutoffs(con, first=WIDER_FIRST))
            fc = G.forecast_check(con)
        finally:
            con.close()
    return ("<!-- generated by `python -m analytics.reference.uk_gmpp_doc`; do not edit by hand -->\n"
            + HEAD.format(**_counts(frames, log)) + model_section(results) + "\n" + pooled_section(check, wider)
            + "\n" + forecast_section(fc) + "\n" + verdict_section(check, fc) + "\n" + TESTS)


if __name__ == "__main__":
    sys.stdout.write(markdown(Path(sys.argv[1]) if len(sys.argv) > 1 else RAW))

"""COCKPIT_RISK_MAX_TRAIN_ROWS: above it the model trains on a fixed share of the items, each with all of its
snapshots, and the model card says so."""
import zlib
from datetime import date

import polars as pl
import pytest

from analytics.db import store
from analytics.risk import features as F
from analytics.risk import model as M


@pytest.fixture(scope="module")
def con(demo_small_path):
    c = store.connect(demo_small_path, read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def full(con):
    as_of = F.data_as_of(con)[0]
    dates = [d for d in F.snapshot_plan(con, as_of)[0] if (as_of - d).days >= F.HORIZON_DAYS]
    return dates, F.training_frame(con, dates)


def test_a_cap_keeps_whole_items_by_their_hash_and_counts_all_rows(con, full):
    dates, rows = full
    cap = rows.height // 3
    sample, n_all = F.sampled_training_frame(con, dates, max_rows=cap)
    assert n_all == rows.height and 0 < sample.height <= cap
    kept = set(sample["project_id"])
    # every snapshot of a kept item is there, and nothing else
    assert sample.sort(F.KEYS).equals(rows.filter(pl.col("project_id").is_in(kept)).sort(F.KEYS).select(sample.columns))
    # the kept items are those whose CRC-32 bucket is below a power of two: the same set at every training
    buckets = {i: zlib.crc32(i.encode()) % F.BUCKETS for i in set(rows["project_id"])}
    threshold = max(buckets[i] for i in kept) + 1
    assert kept == {i for i, b in buckets.items() if b < threshold}
    assert sample.height > cap * 0.8  # the threshold falls in proportion, not by halves
    assert F.sampled_training_frame(con, dates, max_rows=cap)[0].sort(F.KEYS).equals(sample.sort(F.KEYS))


def test_under_the_cap_nothing_is_dropped(con, full):
    dates, rows = full
    sample, n_all = F.sampled_training_frame(con, dates, max_rows=rows.height)
    assert n_all == sample.height == rows.height


def test_training_under_a_cap_says_it_is_a_sample(con, full, monkeypatch):
    _, rows = full
    monkeypatch.setenv("COCKPIT_RISK_MAX_TRAIN_ROWS", str(rows.height // 2))
    trained = M.train(con, with_card=False)
    assert trained.n_rows <= rows.height // 2
    assert trained.extra["rows_before_sampling"] == rows.height


@pytest.mark.parametrize("lang, words", [("en", "Trained on a sample of the items"), ("zh", "按事项抽样训练")])
def test_the_model_line_names_the_sample(lang, words):
    from ui import context
    from ui.blocks import risk as risk_blocks

    ctx = context.Context(lang=lang, filters=context.Filters(), scope=context.Scope(), version=1,
                          as_of=date(2026, 11, 22), db_path="x")
    assert risk_blocks._sample_note(ctx, {"n_rows": 1000, "rows_before_sampling": 2000}).count(words) == 1
    text = risk_blocks._sample_note(ctx, {"n_rows": 1000, "rows_before_sampling": 2000})
    assert ("1,000" in text and "2,000" in text)
    assert risk_blocks._sample_note(ctx, {"n_rows": 1000}) == ""

"""Shared event notes (issue 20): validation, the scope rule, audit, markers on the charts, and the meeting's PPTX.

The notes' store is written beside a path in a temporary folder (never beside the session's fixture database,
which other tests read); the region tree is the fixture's (the full region table)."""
from datetime import date

import pytest

from analytics import annotations as A
from analytics import auth
from analytics.auth import audit
from analytics.auth import store as auth_store
from analytics.db.queries import NATIONAL, Scope

HEFEI_YAOHAI, HEFEI, ANHUI, NATION = "340102", "340100", "340000", "100000"
HEFEI_LUYANG, BEIJING_CHAOYANG = "340103", "110105"
STEWARD = auth.User("wang", "王", "steward")
COUNTY = auth.User("li", "李", "analyst", Scope((HEFEI_YAOHAI,)))
LEADER = auth.User("zhao", "赵", "leader")


@pytest.fixture(scope="module")
def tree(fixture_path):
    from analytics.db import store

    con = store.connect(fixture_path, read_only=True)
    try:
        return A.region_tree(con)
    finally:
        con.close()


@pytest.fixture()
def db(tmp_path):
    return str(tmp_path / "notes.duckdb")  # only its sidecars are written: no DuckDB file is needed


def _add(db, tree, user=STEWARD, **kw):
    fields = dict(start=date(2026, 11, 3), region_code=ANHUI, kind="policy", text="省政府出台新规") | kw
    return A.add(db, tree, user, **fields)


@pytest.mark.parametrize("fields, field, zh, en", [
    (dict(start="2026-13-01"), "start_date", "不是日期", "is not a date"),
    (dict(end=date(2026, 11, 1)), "end_date", "早于开始日期", "is before the start date"),
    (dict(region_code="999999"), "region_code", "不在地区表中", "not in the region table"),
    (dict(kind="rumour"), "kind", "应为以下之一", "expected one of: policy, inspection"),
    (dict(text="   "), "text", "不能为空", "must not be empty"),
    (dict(text="字" * 201), "text", "最多 200 个字，现有 201 个", "at most 200 characters, this has 201"),
    (dict(text="two\nlines"), "text", "控制字符", "control characters"),
    (dict(text="evil \u202e txt"), "text", "控制字符", "control characters"),
])
def test_a_wrong_field_is_refused_naming_it(db, tree, fields, field, zh, en):
    with pytest.raises(A.Invalid) as e:
        _add(db, tree, **fields)
    assert e.value.field == field
    assert e.value.message("zh").startswith(A.i18n.t(f"annotations.field_{field}", "zh")) and zh in e.value.message("zh")
    assert e.value.message("en").startswith(A.i18n.t(f"annotations.field_{field}", "en")) and en in e.value.message("en")
    assert A.for_scope(db, tree, NATIONAL).is_empty()


def test_a_note_is_stored_stripped_and_one_day_ends_when_it_starts(db, tree):
    note = _add(db, tree, text="  省政府出台新规  ", data_version=7)
    assert (note.text, note.start_date, note.end_date, note.data_version) == ("省政府出台新规", date(2026, 11, 3),
                                                                             date(2026, 11, 3), 7)
    listed = A.for_scope(db, tree, NATIONAL)
    assert listed.select("annotation_id", "region_name", "author").rows() == [(note.annotation_id, "安徽省", "wang")]
    assert A.path_for(db).name == "notes.duckdb.annotations.sqlite"


def test_a_county_sees_the_nation_its_province_and_itself_not_another_county(db, tree):
    ids = {code: _add(db, tree, region_code=code, text=f"note {code}").annotation_id
           for code in (NATION, ANHUI, HEFEI, HEFEI_YAOHAI, HEFEI_LUYANG, BEIJING_CHAOYANG)}
    seen = set(A.for_scope(db, tree, COUNTY.scope)["region_code"])
    assert seen == {NATION, ANHUI, HEFEI, HEFEI_YAOHAI}
    assert set(A.for_scope(db, tree, Scope((ANHUI,)))["region_code"]) == {NATION, ANHUI, HEFEI, HEFEI_YAOHAI,
                                                                          HEFEI_LUYANG}
    assert len(A.for_scope(db, tree, NATIONAL)) == 6
    # a chart of 合肥 for the nation: the city, its ancestors and its counties; not Beijing's
    chart = A.for_chart(db, tree, NATIONAL, HEFEI, date(2026, 11, 1), date(2026, 11, 30))
    assert set(chart["region_code"]) == {NATION, ANHUI, HEFEI, HEFEI_YAOHAI, HEFEI_LUYANG}
    # the same chart for the county user: never a note outside the scope, even below the chart's region
    chart = A.for_chart(db, tree, COUNTY.scope, HEFEI, date(2026, 11, 1), date(2026, 11, 30))
    assert set(chart["region_code"]) == {NATION, ANHUI, HEFEI, HEFEI_YAOHAI}
    assert chart["number"].to_list() == [1, 2, 3, 4]
    assert ids[BEIJING_CHAOYANG] not in A.for_chart(db, tree, COUNTY.scope, None, date(2026, 1, 1),
                                                    date(2026, 12, 31))["annotation_id"].to_list()


def test_a_chart_shows_the_notes_whose_dates_overlap_it(db, tree):
    _add(db, tree, start=date(2026, 10, 20), end=date(2026, 11, 2), text="range ending before")
    _add(db, tree, start=date(2026, 10, 25), end=date(2026, 11, 10), text="range overlapping")
    _add(db, tree, start=date(2026, 12, 1), text="after")
    chart = A.for_chart(db, tree, NATIONAL, ANHUI, date(2026, 11, 3), date(2026, 11, 30))
    assert chart["text"].to_list() == ["range overlapping"]


def test_adding_and_deleting_is_audited_and_only_the_author_or_an_admin_deletes(db, tree):
    note = _add(db, tree, user=COUNTY, region_code=HEFEI_YAOHAI, text="防汛检查")
    log = auth_store.path_for(db)
    first = audit.entries(log)[0]
    assert (first.action, first.actor, first.role, first.target) == ("annotation_add", "li", "analyst",
                                                                     f"annotation {note.annotation_id}")
    assert first.detail["text"] == "防汛检查" and first.detail["region"] == HEFEI_YAOHAI
    with pytest.raises(A.Refused, match="only the author or an administrator"):
        A.delete(db, tree, STEWARD, note.annotation_id)
    assert audit.entries(log)[0].action == "annotation_refused"
    A.delete(db, tree, COUNTY, note.annotation_id)
    assert audit.entries(log)[0].action == "annotation_delete"
    assert A.for_scope(db, tree, NATIONAL).is_empty() and A.get(db, note.annotation_id) is None
    other = _add(db, tree, region_code=HEFEI_YAOHAI)
    A.delete(db, tree, auth.User("root", "root", "admin"), other.annotation_id)
    assert [e.action for e in audit.entries(log)][:2] == ["annotation_delete", "annotation_add"]
    assert audit.verify(log)[2] == []


def test_a_role_without_annotate_or_a_region_outside_the_scope_is_refused(db, tree):
    with pytest.raises(A.Refused, match="your role may not"):
        _add(db, tree, user=LEADER)
    with pytest.raises(A.Refused, match="inside your scope"):
        _add(db, tree, user=COUNTY, region_code=ANHUI)  # an ancestor: everyone below would see it
    assert [e.detail["reason"] for e in audit.entries(auth_store.path_for(db))] == ["scope", "role"]
    assert A.for_scope(db, tree, NATIONAL).is_empty()

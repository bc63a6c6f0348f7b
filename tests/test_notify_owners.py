"""Notices to the people responsible for an item (issue 20: "sent to the item's lead department and its responsible
leader"), and group robot messages batched and paced per robot. On the hand-made fixture (tests/fixture_db.py, as of
2026-11-22) with a 45-day reminder, the lines are, worked out by hand:

  due_soon     A1 340102 瑶海区  农业农村局        (39 days to 2026-12-31, 15 points behind)   leaders 张明远、李卫国
  overdue      B1 110105 朝阳区  住房和城乡建设局  (past 2026-09-30)                           leaders 李卫国, 王芳
  red_weeks    B1
  rect_overdue R1 110105 朝阳区  住房和城乡建设局  (its item B1: the leaders of B1)
  silent       340000 安徽省     (a region: no owner)
"""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import datetime, timedelta

import polars as pl
import pytest

from analytics.auth import accounts
from analytics.auth import store as auth_store
from analytics.cli import main as cli
from analytics.notify import digest as D
from analytics.notify import outbox, owners, rules, scheduler, store
from tests import fixture_db
from tests import notify_support as support

MONDAY_9 = datetime(2026, 11, 23, 9, 0)
LEADERS = {"A1": "张明远、李卫国", "B1": "李卫国, 王芳"}


@pytest.fixture()
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("COCKPIT_BASE_URL", "http://cockpit.example")
    projects = fixture_db.PROJECTS.with_columns(
        responsible_leaders=pl.Series([LEADERS.get(p) for p in fixture_db.PROJECTS["project_id"]]))
    path = fixture_db.build(tmp_path / "owners.duckdb", projects=projects)
    rules.save(store.path_for(path), {"due_soon": {"params": {"days": 45}}}, by="test")
    return path


def add(db, name: str, role: str = "analyst", regions=(), **kw):
    return accounts.add(auth_store.path_for(db), name, role=role, by="test", region_codes=regions,
                        sso_identity=f"{name}@example.gov.cn", **kw)


def _owned(db, stream: str) -> dict[str, set[tuple[str, str]]]:
    """username -> {(rule, subject)} the queued owner digests of `stream` list, from the outbox's text."""
    path = store.path_for(db)
    with store.connect(path) as con:
        rows = con.execute("SELECT username, body_markdown FROM outbox WHERE stream = ? AND channel = 'inbox'",
                           (stream,)).fetchall()
    return {u: text for u, text in rows}


def test_owners_get_the_items_of_their_department_and_leaders_from_the_urging_up_within_their_scope(db):
    add(db, "nongye", regions=("340102",), department="农业农村局")  # county 瑶海区: A1
    add(db, "zhujian", regions=("110105",), department="住房和城乡建设局")  # 朝阳区: B1, R1
    add(db, "zhujian_ah", regions=("340102",), department="住房和城乡建设局")  # its department, not its county
    add(db, "li", department=None, leader_name="李卫国")  # national: leader of A1 and B1
    add(db, "wang", leader_name="王芳 ")  # leader of B1 (the name as typed, trimmed)
    add(db, "zhang", leader_name="张明远")  # leader of A1 only, which is only reminded: nothing
    add(db, "li_partial", leader_name="李卫")  # a name is matched whole: nothing
    add(db, "off", regions=("110105",), department="住房和城乡建设局")
    accounts.set_disabled(auth_store.path_for(db), "off", True, by="test")
    rep = scheduler.run_once(db, now=MONDAY_9)
    assert rep.evaluated
    path = store.path_for(db)
    ruleset = rules.load(path)

    def lines(username: str) -> set[tuple[str, str, tuple]]:
        """(rule, subject, why) of every entry of the person's owner digests, rebuilt from the recorded events."""
        from analytics.notify import firings, subscriptions

        a = accounts.get(auth_store.path_for(db), username)
        out = set()
        for sub in subscriptions.delivered(path, a, ruleset):
            if sub.stream and sub.channel == "inbox":
                d = D.build(a, sub, ruleset, firings.events_after(path, 0), [], period="p", data_version=1,
                            as_of=None)
                out |= {(e.rule_key, e.subject, e.why) for e in d.entries}
        return out

    assert lines("nongye") == {("due_soon", "A1", ("dept",))}
    assert lines("zhujian") == {("overdue", "B1", ("dept",)), ("red_weeks", "B1", ("dept",)),
                                ("rect_overdue", "R1", ("dept_rect",))}
    assert lines("zhujian_ah") == set()
    assert lines("li") == {("overdue", "B1", ("leader",)), ("red_weeks", "B1", ("leader",)),
                           ("rect_overdue", "R1", ("leader",))}  # not A1's reminder
    assert lines("wang") == lines("li")
    assert lines("zhang") == lines("li_partial") == set()
    # what was queued: at once for the urging and the bulletin, the reminder in the daily stream, nothing empty
    now, daily = _owned(db, "owner"), _owned(db, "owner_daily")
    assert set(now) == {"zhujian", "li", "wang"} and set(daily) == {"nongye"}
    assert "贵单位牵头" in now["zhujian"] and "贵单位负责整改" in now["zhujian"] and "老旧小区改造" in now["zhujian"]
    assert "您为责任领导" in now["li"] and "高标准农田" not in now["li"]
    assert "高标准农田建设" in daily["nongye"] and "（贵单位牵头）" in daily["nongye"]
    assert "item=A1" in daily["nongye"] and "以下是贵单位牵头" in daily["nongye"]
    with store.connect(path) as con:
        titles = {s: t for s, t in con.execute("SELECT stream, title FROM outbox WHERE username = 'zhujian'")}
    assert titles == {"owner": "督办提醒（即时 · 2026年11月22日）", "": "督办提醒（2026年第48周）"}
    # the account's subscription (its role's weekly inbox default) is its own stream, untouched
    with store.connect(path) as con:
        streams = {(u, s) for u, s in con.execute("SELECT username, stream FROM outbox").fetchall()}
    assert ("zhujian", "") in streams and ("off", "owner") not in streams and ("off", "") not in streams
    # a second pass repeats nothing
    assert scheduler.run_once(db, now=MONDAY_9 + timedelta(minutes=5)).queued == 0


def test_an_owner_opts_out_of_a_rule_and_english_owners_read_why_in_english(db):
    add(db, "zhujian", regions=("110105",), department="住房和城乡建设局")
    add(db, "li", leader_name="李卫国")
    accounts.update(auth_store.path_for(db), "li", by="test", lang="en")
    path = store.path_for(db)
    assert owners.set_muted(path, "zhujian", ["red_weeks", "nonsense"]) == ("red_weeks",)
    scheduler.run_once(db, now=MONDAY_9)
    now = _owned(db, "owner")
    assert "连续红灯" not in now["zhujian"] and "逾期未完成" in now["zhujian"]
    assert "you are the responsible leader" in now["li"] and "lang=en" in now["li"]
    assert owners.muted(path, "zhujian") == ("red_weeks",)
    assert owners.set_muted(path, "zhujian", []) == () and owners.muted(path, "zhujian") == ()


def test_preview_shows_an_owners_notices_and_the_users_command_sets_department_and_leader(db, capsys):
    add(db, "li")
    assert cli(["users", "change", "li", "--db", str(db), "--leader", "李卫国", "--department", " 住房和城乡建设局 "]) == 0
    a = accounts.get(auth_store.path_for(db), "li")
    assert (a.department, a.leader_name) == ("住房和城乡建设局", "李卫国")
    assert "department 住房和城乡建设局; leader 李卫国" in capsys.readouterr().out
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli(["notify", "preview", "--db", str(db), "--user", "li", "--json"]) == 0
    found = {(d["stream"], d["channel"]): d for d in json.loads(out.getvalue())}
    assert {("", "inbox"), ("owner", "inbox"), ("owner_daily", "inbox")} == set(found)
    urged = {(e["rule_key"], e["subject"], tuple(e["why"])) for e in found[("owner", "inbox")]["entries"]}
    assert urged == {("overdue", "B1", ("dept", "leader")), ("red_weeks", "B1", ("dept", "leader")),
                     ("rect_overdue", "R1", ("dept_rect", "leader"))}
    assert found[("owner_daily", "inbox")]["entries"] == []  # 住建 leads no item due soon
    assert cli(["users", "change", "li", "--db", str(db), "--department", ""]) == 0
    assert accounts.get(auth_store.path_for(db), "li").department is None
    assert cli(["users", "change", "li", "--db", str(db), "--department", "住建\n局"]) == 2
    assert cli(["users", "add", "sun", "--db", str(db), "--role", "leader", "--sso-only", "--sso", "sun@x.cn",
                "--leader", "孙" * 65]) == 2
    with pytest.raises(accounts.AccountError) as e:
        accounts.update(auth_store.path_for(db), "li", by="t", leader_name="李\u200b卫国")  # a zero-width space
    assert e.value.code == "leader_chars"


def test_an_accounts_store_written_before_department_and_leader_gets_them(tmp_path):
    from analytics.db import state

    side = tmp_path / "old.duckdb.auth.sqlite"
    import re

    old = re.sub(r"\n    department TEXT,[^\n]*\n    leader_name TEXT[^\n]*", "", auth_store.SCHEMA)
    old = re.sub(r"lang TEXT,", "lang TEXT", old, count=1)
    assert "department" not in old and "leader_name" not in old
    with state.connect(side, old, write=True) as con:
        assert "department" not in state.columns(con, "users")
        con.execute("INSERT INTO users (username, display_name, role, region_codes, domains, sso_identity, "
                    "created_at, created_by, updated_at) VALUES ('old', 'Old', 'leader', '[]', '[]', "
                    "'old@example.gov.cn', 'x', 't', 'x')")
    a = accounts.get(side, "old")
    assert (a.department, a.leader_name) == (None, None)
    with state.connect(side, old) as con:
        assert state.columns(con, "users")[-2:] == ["department", "leader_name"]
    assert accounts.update(side, "old", by="test", department="财政局").department == "财政局"


def test_a_notify_store_written_before_owner_streams_and_robot_posts_gets_them(tmp_path):
    from analytics.db import state

    path = tmp_path / "old.duckdb.notify.sqlite"
    old = store.SCHEMA.split("    sent_at TEXT,\n")[0] + "    sent_at TEXT\n);\n" + store.SCHEMA[
        store.SCHEMA.index("CREATE TABLE IF NOT EXISTS inbox"):]
    assert "owner_optouts" not in old and "stream" not in old
    with state.connect(path, old, write=True) as con:
        con.execute("INSERT INTO outbox (idem_key, username, channel, address, period, title, body_text, "
                    "body_markdown, last_seq, data_version, rules_version, state, next_attempt_at, created_at) "
                    "VALUES ('wang|2026-W47|inbox', 'wang', 'inbox', 'wang', '2026-W47', 't', 'b', 'b', 7, 1, 0, "
                    "'sent', 0, 'x')")
    assert outbox.last_seq(path, "wang", "inbox") == 7  # the old row is a subscription's: stream ''
    assert outbox.last_seq(path, "wang", "inbox", "owner") == 0
    assert owners.muted(path, "wang") == ()
    with state.connect(path, old) as con:
        assert {"stream", "post_id"} <= set(state.columns(con, "outbox")) and state.has_table(con, "robot_sends")


# ---- group robots: batched per robot and period, split between items, paced ---------------------------------

def _webhook_digest(path, username: str, n_items: int, period: str = "2026-W48") -> int:
    """A queued webhook digest of `n_items` entries of about 100 bytes each (their text is Markdown lines as the
    digest writes them: an entry, then its indented reason and link)."""
    head = [f"### 督办提醒（{period}）", f"致 {username}：截至 2026年11月22日", ""]
    body = [f"- ● 红灯 事项{username}-{i:02d}（朝阳区）  \n  已逾期 {i} 天 [打开](http://x/item?item={i})"
            for i in range(n_items)]
    d = D.Digest(username, username, "webhook", "zh", period, 1, 0, None, 0, {}, title=f"督办提醒（{period}）",
                 text="", markdown="\n".join(head + body) + "\n")
    return outbox.enqueue(path, d, "robot", 0)


def test_digests_to_one_robot_go_as_few_messages_as_fit_split_between_items_and_paced(tmp_path, monkeypatch):
    path = tmp_path / "r.notify.sqlite"
    monkeypatch.setenv("COCKPIT_WEBHOOK_MAX_BYTES", "1500")
    monkeypatch.setenv("COCKPIT_WEBHOOK_PER_MINUTE", "2")
    monkeypatch.setenv("COCKPIT_WEBHOOK_SECRET", "s3cret")
    sizes = {"a": 3, "b": 3, "c": 3, "d": 36, "e": 2}
    ids = {u: _webhook_digest(path, u, n) for u, n in sizes.items()}
    body = {u: _body(path, i) for u, i in ids.items()}
    # by hand: a, b, c (about 330 bytes each) fit one post of 1500 bytes, d (36 entries of about 92 bytes: 3.4 kB)
    # needs three (each holds the heading and at most 15 entries), e comes after it in a post of its own
    assert sum(len(body[u].encode()) for u in "abc") + 2 * len(b"\n\n---\n\n") < 1500
    assert 2 * 1500 < len(body["d"].encode()) < 3 * 1400 and max(map(len, map(str.encode, body["d"].split("- ")))) < 95
    t0 = datetime(2026, 11, 23, 9, 0).timestamp()
    with support.Robot("s3cret") as robot:
        monkeypatch.setenv("COCKPIT_WEBHOOK_URL", robot.url)
        # 2 a minute: the third post waits for its slot, and the two after it wait behind it
        assert outbox.deliver(path, t0) == {"sent": 2, "failed": 0, "paced": 3}
        waiting = outbox.listing(path).filter(pl.col("state") == "queued")
        assert set(waiting["next_attempt_at"]) == {t0 + 60}  # the post that waits is queued with its not-before
        assert outbox.deliver(path, t0 + 30) == {"sent": 0, "failed": 0, "paced": 0}  # not yet
        assert outbox.deliver(path, t0 + 60) == {"sent": 2, "failed": 0, "paced": 1}  # the window moved on
        assert outbox.deliver(path, t0 + 90) == {"sent": 0, "failed": 0, "paced": 0}
        assert outbox.deliver(path, t0 + 120) == {"sent": 1, "failed": 0, "paced": 0}
        assert outbox.deliver(path, t0 + 600) == {"sent": 0, "failed": 0, "paced": 0}
    texts = [m["markdown"]["text"] for m in robot.received]
    titles = [m["markdown"]["title"] for m in robot.received]
    assert robot.rejected == [] and len(texts) == 5  # 1 post of a, b, c; 3 parts of d; e
    assert titles == ["督办提醒（2026-W48）：3 人的通知", "督办提醒（2026-W48） (1/3)", "督办提醒（2026-W48） (2/3)",
                      "督办提醒（2026-W48） (3/3)", "督办提醒（2026-W48）"]
    assert all(len(t.encode()) <= 1500 for t in texts)
    assert texts[0] == "\n\n---\n\n".join(body[u].rstrip("\n") for u in "abc") + "\n"
    assert texts[4] == body["e"]
    # the parts of d hold every entry once, in order, each whole (never cut inside an entry), each under the heading
    entries = [line for t in texts[1:4] for line in t.split("\n") if line.startswith("- ")]
    assert entries == [line for line in body["d"].split("\n") if line.startswith("- ")]
    assert all(t.startswith(f"### 督办提醒（2026-W48） ({k}/3)\n致 d：") for k, t in enumerate(texts[1:4], 1))
    assert all("  已逾期" in t.split("\n")[-2] for t in texts[1:4])  # each part ends with a whole entry
    # every digest is delivered, none twice; the outbox says so
    states = dict(zip(outbox.listing(path)["id"], outbox.listing(path)["state"]))
    assert all(states[i] == "sent" for i in ids.values()) and len(texts) == len(set(texts))


def _body(path, outbox_id: int) -> str:
    with store.connect(path) as con:
        return con.execute("SELECT body_markdown FROM outbox WHERE id = ?", (outbox_id,)).fetchone()[0]


def test_a_robot_that_fails_holds_the_later_posts_behind_it_in_order(tmp_path, monkeypatch):
    path = tmp_path / "f.notify.sqlite"
    monkeypatch.setenv("COCKPIT_WEBHOOK_MAX_BYTES", "600")
    monkeypatch.setenv("COCKPIT_WEBHOOK_PER_MINUTE", "20")
    monkeypatch.setenv("COCKPIT_WEBHOOK_SECRET", "s3cret")
    for u in "ab":
        _webhook_digest(path, u, 3)
    t0 = 1_800_000_000.0
    with support.Robot("s3cret", fail_first=1) as robot:
        monkeypatch.setenv("COCKPIT_WEBHOOK_URL", robot.url)
        assert outbox.deliver(path, t0) == {"sent": 0, "failed": 1, "paced": 1}  # b waits behind a
        assert outbox.deliver(path, t0 + 61) == {"sent": 2, "failed": 0, "paced": 0}
    assert [m["markdown"]["text"].split("\n")[1][:3] for m in robot.received] == ["致 a", "致 b"]


@pytest.fixture()
def signed_db(db, monkeypatch):
    """The owners' fixture with sign-in on: an administrator and a leader of 朝阳区, both with passwords."""
    from tests.test_auth_app import PASSWORD

    monkeypatch.setenv("COCKPIT_DB", str(db))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    side = auth_store.path_for(db)
    accounts.add(side, "admin", role="admin", by="test", password=PASSWORD)
    accounts.add(side, "beijing", role="leader", by="test", password=PASSWORD, region_codes=["110105"])
    return db


def test_an_administrator_sets_an_accounts_department_and_the_person_opts_out_of_a_rule(signed_db):
    """AppTest: the accounts tab offers the departments of the data in the account's scope (朝阳区: 住房和城乡建设局,
    the lead department of B1 and responsible for R1), saves one with a leader name, and says what it matches; the
    dry run lists the new owner's streams; the leader then opts out of a rule in their own notices."""
    from tests.test_auth_app import sign_in, start

    db, side = signed_db, auth_store.path_for(signed_db)
    at = sign_in(start("zh"), "admin")
    at.switch_page("views/admin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="admin_edit_user").set_value("beijing").run()
    box = at.selectbox(key="admin_edit_beijing_department")
    assert box.options == ["—（不设）", "住房和城乡建设局（1 个事项，1 条整改）"]
    box.set_value("住房和城乡建设局")
    at.text_input(key="admin_edit_beijing_leader").input("李卫国")
    at.button[[b.label for b in at.button].index("保存账号设置")].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    a = accounts.get(side, "beijing")
    assert (a.department, a.leader_name) == ("住房和城乡建设局", "李卫国")
    at.selectbox(key="admin_edit_user").set_value("beijing").run()
    assert any("1 个督办事项由“住房和城乡建设局”牵头" in c.value for c in at.caption)
    at.toggle(key="notify_dry_run").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    (dry,) = [d.value for d in at.dataframe if "为何收到" in d.value.columns]
    mine = dry[dry["用户名"] == "beijing"]  # (a pandas frame, as AppTest gives it)
    assert sorted(mine["为何收到"]) == ["牵头单位 · 每天", "牵头单位/责任领导 · 即时", "订阅"]
    at = sign_in(start("zh"), "beijing")
    assert not at.exception, [e.value for e in at.exception]
    kept = at.multiselect(key="notify_owner_rules")
    assert set(kept.value) == set(owners.OWNER_RULES)
    kept.unselect("red_weeks")
    at.button[[b.label for b in at.button].index("保存")].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert owners.muted(store.path_for(db), "beijing") == ("red_weeks",)


def test_on_the_demo_a_county_department_hears_of_exactly_its_items_on_each_line(demo_small_path, tmp_path):
    """On the small demo: an account of one county and one department receives, as an owner, exactly the items of
    that county whose lead department it is (the rectifications it is responsible for) that a computation from
    the raw tables puts on each rule's line; reminders in the daily stream, the rest at once."""
    import shutil
    from datetime import date

    from analytics.db import store as db_store
    from tests.test_notify import _write_scores

    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_small_path, path)
    con = db_store.connect(path, read_only=True)
    try:
        flying = support.lights(con, date(2026, 11, 22))
        high = set(flying["project_id"].to_list()[::3])
        expected = support.expected_lines(con, date(2026, 11, 22), high)
        lead = dict(con.sql("SELECT project_id, lead_dept FROM projects").fetchall())
        resp = dict(con.sql("SELECT rectification_id, responsible_dept FROM rectifications").fetchall())
    finally:
        con.close()
    _write_scores(path, flying["project_id"].to_list(), high)
    owner_of = {k: (resp if k == "rect_overdue" else lead) for k in expected if k != "silent"}
    pairs: dict[tuple[str, str], int] = {}
    for key, dept_of in owner_of.items():
        for subject, region in expected[key]:
            pairs[(region, dept_of[subject])] = pairs.get((region, dept_of[subject]), 0) + 1
    (county, dept), _ = max(((p, n) for p, n in pairs.items() if len(p[0]) == 6 and not p[0].endswith("00")),
                            key=lambda x: (x[1], x[0]))
    add(path, "owner", regions=(county,), department=dept)
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli(["notify", "preview", "--db", str(path), "--user", "owner", "--json"]) == 0
    found = {d["stream"]: d for d in json.loads(out.getvalue()) if d["channel"] == "inbox"}
    got = {(e["rule_key"], e["subject"]) for s in ("owner", "owner_daily") for e in found[s]["entries"]}
    want = {(key, subject) for key, dept_of in owner_of.items() for subject, region in expected[key]
            if region == county and dept_of[subject] == dept}
    assert got == want and len(want) >= 2
    assert {e["rule_key"] for e in found["owner_daily"]["entries"]} <= {"due_soon"}
    assert all(e["why"] in (["dept"], ["dept_rect"]) for s in ("owner", "owner_daily") for e in found[s]["entries"])

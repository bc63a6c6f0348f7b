"""Notifications (issue 20): each rule's line for a county computed independently, firing once and resetting across
data versions, the weekly digest delivered to a real SMTP server (aiosmtpd) and a real local group robot
(http.server, signature checked), failures kept and retried with backoff and never sent twice, subscriptions beyond
an account's scope refused, and one rules version per pass while an administrator edits them."""
from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stdout
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from analytics.auth import accounts
from analytics.auth import store as auth_store
from analytics.cli import main as cli
from analytics.db import store as db_store
from analytics.notify import evaluate, firings, outbox, rules, scheduler, store, subscriptions
from tests import notify_support as support
from tests.test_ingest_support import PROGRESS_HEADER, csv_bytes

MONDAY_9 = datetime(2026, 11, 23, 9, 0)  # the fixture's data is as of Sunday 2026-11-22; the weekly send is Monday 8:00


def add(db, name: str, role: str = "analyst", regions=()):
    """An account that signs in by SSO only: no password to hash (argon2 takes a while), the same scope rules."""
    return accounts.add(auth_store.path_for(db), name, role=role, by="test", region_codes=regions,
                        sso_identity=f"{name}@example.gov.cn")


@pytest.fixture()
def db(fixture_path, tmp_path, monkeypatch):
    copy = tmp_path / "notify.duckdb"
    shutil.copy(fixture_path, copy)
    monkeypatch.setenv("COCKPIT_BASE_URL", "http://cockpit.example")
    return copy


def _commit(db, rows: list[list[str]], as_of: date | None = None) -> int:
    from analytics.db import versions
    from analytics.ingest import pipeline

    data = csv_bytes([PROGRESS_HEADER, *rows])
    con = db_store.connect(db)
    try:
        up = pipeline.read(data, "进度.csv")
        changes = pipeline.to_changes(pipeline.check(con, up, modes={p.table: "upsert" for p in up.parts}), "upsert",
                                      False)
        return versions.commit(con, changes, who="测试员", file_name="进度.csv", sha256=up.sha256, as_of=as_of).version
    finally:
        con.close()


def test_preview_for_a_county_lists_exactly_its_items_on_each_line(demo_small_path, tmp_path):
    """On the small demo, with saved risk scores: the preview of a county-scoped account lists, per rule, exactly the
    items (rectifications, regions) of that county that a computation from the raw tables puts on the line."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_small_path, path)
    con = db_store.connect(path, read_only=True)
    try:
        flying = support.lights(con, date(2026, 11, 22))
        high = set(flying["project_id"].to_list()[::3])  # every third item in flight: a high band, saved as scores
        expected = support.expected_lines(con, date(2026, 11, 22), high)
    finally:
        con.close()
    _write_scores(path, flying["project_id"].to_list(), high)
    counties = {}
    for key, found in expected.items():
        for _, region in found:
            counties[region] = counties.get(region, 0) + 1
    county = max((c for c in counties if subscriptions.ancestors(c) and len(c) == 6 and not c.endswith("00")),
                 key=lambda c: (counties[c], c))
    add(path, "county", regions=(county,))
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli(["notify", "preview", "--db", str(path), "--user", "county", "--json"]) == 0
    (digest,) = json.loads(out.getvalue())
    got = {key: {(e["subject"], county) for e in digest["entries"] if e["rule_key"] == key} for key in expected}
    want = {key: {x for x in found if x[1] == county} for key, found in expected.items()}
    assert got == want and sum(map(len, want.values())) >= 2
    assert {k: c["fired"] for k, c in digest["counts"].items()} == {k: len(v) for k, v in want.items()}
    assert not store.path_for(path).exists() or not firings.open_firings(store.path_for(path))  # nothing recorded


def _write_scores(db, ids: list[str], high: set[str]) -> None:
    from analytics.risk import scores

    out = scores.path_for(db, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"project_id": ids, "probability": [0.8 if i in high else 0.1 for i in ids],
                  "band": ["high" if i in high else "low" for i in ids]}).write_parquet(out)


def test_a_rule_fires_once_and_is_reset_when_it_clears_across_data_versions(db):
    """A1 is 15 points behind plan, 39 days before its deadline: with a 45-day reminder it fires on version 1, not
    again on a second pass, clears when version 2 brings it back on plan, and fires again when version 3 puts it
    behind again; B1 (overdue throughout) fires once, on version 1."""
    path = store.path_for(db)
    rules.save(path, {"due_soon": {"params": {"days": 45}}}, by="test")
    rep = scheduler.run_once(db, now=MONDAY_9)
    assert rep.evaluated and rep.data_version == 1
    opened = {(e.rule_key, e.subject): e.data_version for e in firings.open_firings(path)}
    assert opened == {("due_soon", "A1"): 1, ("overdue", "B1"): 1, ("red_weeks", "B1"): 1, ("rect_overdue", "R1"): 1,
                      ("silent", "340000"): 1}
    assert scheduler.run_once(db, now=MONDAY_9).fired == 0  # the same version again: nothing repeats
    assert _commit(db, [["A1", "2026-11-21", "92", "90", "绿", ""]]) == 2
    rep = scheduler.run_once(db, now=MONDAY_9)
    assert (rep.data_version, rep.fired, rep.cleared) == (2, 0, 1)
    assert _commit(db, [["A1", "2026-11-22", "95", "70", "红", ""]]) == 3
    rep = scheduler.run_once(db, now=MONDAY_9)
    assert (rep.data_version, rep.fired, rep.cleared) == (3, 1, 0)
    events = [(e.kind, e.rule_key, e.subject, e.data_version) for e in firings.events_after(path, 0)
              if e.subject in ("A1", "B1") and e.rule_key in ("due_soon", "overdue")]
    assert events == [("fired", "due_soon", "A1", 1), ("fired", "overdue", "B1", 1), ("cleared", "due_soon", "A1", 2),
                      ("fired", "due_soon", "A1", 3)]
    a1 = firings.events_after(path, 0)[-1]
    assert a1.detail["lag"] == 25 and a1.detail["light"] == "red"  # what the firing recorded, from version 3


def test_an_urging_not_answered_goes_up_the_ladder_to_a_bulletin(db):
    """B1 is overdue on 22 Nov (urged: `overdue` fires). Two weeks later, on 6 Dec, it is still overdue and nobody
    has reported on it since: `unanswered` (情况通报) fires, counting from the urging. A report on 7 Dec answers it:
    it clears; A1, reported on throughout and not overdue, never escalates."""
    path = store.path_for(db)
    assert scheduler.run_once(db, now=MONDAY_9).evaluated
    assert ("overdue", "B1") in {(e.rule_key, e.subject) for e in firings.open_firings(path)}
    assert not [e for e in firings.open_firings(path) if e.rule_key == "unanswered"]  # urged only now
    assert _commit(db, [["A1", "2026-12-06", "95", "90", "绿", ""]], date(2026, 12, 6)) == 2
    scheduler.run_once(db, now=MONDAY_9)
    (b1,) = [e for e in firings.open_firings(path) if e.rule_key == "unanswered"]
    assert b1.subject == "B1" and b1.data_version == 2
    assert (b1.detail["urged"], b1.detail["days_unanswered"], b1.detail["last_report"]) == ("2026-11-22", 14, "2026-10-31")
    text = rules.load(path).get("unanswered").text("zh").format(**b1.detail)
    assert text == "2026-11-22 已催办（逾期），14 天来没有新的进度填报（最近一次：2026-10-31）"
    assert _commit(db, [["B1", "2026-12-07", "80", "60", "红", ""]], date(2026, 12, 7)) == 3
    rep = scheduler.run_once(db, now=MONDAY_9)
    assert not [e for e in firings.open_firings(path) if e.rule_key == "unanswered"] and rep.cleared >= 1
    # with a 30-day wait it would not have fired on 6 Dec at all
    fresh = firings.open_since(path, "overdue")
    assert fresh["B1"] == date(2026, 11, 22)


def _weekly(db, name: str, regions, channel: str, **kw):
    account = add(db, name, regions=regions)
    sub = subscriptions.Subscription("", channel, ("overdue", "rect_overdue", "red_weeks", "silent"), (), "weekly",
                                     **kw)
    return subscriptions.save(store.path_for(db), account, sub, by="test")


def test_the_weekly_digest_arrives_by_email_and_at_the_group_robot_with_the_right_items_and_links(db, monkeypatch):
    port = support.free_port()
    monkeypatch.setenv("COCKPIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COCKPIT_SMTP_PORT", str(port))
    monkeypatch.setenv("COCKPIT_SMTP_STARTTLS", "0")
    monkeypatch.setenv("COCKPIT_SMTP_USER", "notify")
    monkeypatch.setenv("COCKPIT_SMTP_PASSWORD", "pw-1234")
    _weekly(db, "chaoyang", ("110105",), "email", address="chaoyang@example.gov.cn")
    _weekly(db, "anhui", ("340000",), "webhook", lang="en")
    with support.Mailbox(port) as box, support.Robot("s3cret") as robot:
        monkeypatch.setenv("COCKPIT_WEBHOOK_URL", robot.url)
        monkeypatch.setenv("COCKPIT_WEBHOOK_SECRET", "s3cret")
        rep = scheduler.run_once(db, now=MONDAY_9)
        assert (rep.queued, rep.delivered) == (2, {"sent": 2, "failed": 0, "paced": 0})
    (mail,) = box.messages
    assert box.logins == [("notify", "pw-1234")] and mail["To"] == "chaoyang@example.gov.cn"
    body = mail.get_content()
    assert "2026年第48周" in mail["Subject"] and "老旧小区改造" in body and "施工进度滞后于计划" in body
    assert "http://cockpit.example/item?region=110105&lang=zh&item=B1" in body
    assert "企业开办" not in body and "高标准农田" not in body  # nothing outside 朝阳区
    (msg,) = robot.received
    assert robot.rejected == [] and msg["msgtype"] == "markdown"
    text = msg["markdown"]["text"]
    assert msg["markdown"]["title"] == "Supervision notice (week 48, 2026)"
    assert "no progress report for" in text and "(http://cockpit.example/data?region=340000&lang=en)" in text
    assert "老旧小区改造" not in text and "B1" not in text  # 朝阳区 is not in 安徽省


def test_an_unreachable_server_keeps_the_message_retries_with_backoff_and_never_sends_twice(db, monkeypatch):
    port = support.free_port()  # nothing listens there yet
    monkeypatch.setenv("COCKPIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COCKPIT_SMTP_PORT", str(port))
    monkeypatch.setenv("COCKPIT_SMTP_STARTTLS", "0")
    _weekly(db, "chaoyang", ("110105",), "email", address="chaoyang@example.gov.cn")
    path = store.path_for(db)
    t0 = MONDAY_9
    rep = scheduler.run_once(db, now=t0)
    assert (rep.queued, rep.delivered) == (1, {"sent": 0, "failed": 1, "paced": 0})
    row = outbox.listing(path).row(0, named=True)
    assert row["state"] == "failed" and row["attempts"] == 1 and "refused" in row["last_error"].lower()
    assert row["next_attempt_at"] == pytest.approx(t0.timestamp() + 60)
    waits = scheduler.run_once(db, now=t0 + timedelta(seconds=30)).delivered
    assert waits == {"sent": 0, "failed": 0, "paced": 0}
    rep = scheduler.run_once(db, now=t0 + timedelta(seconds=61))
    assert rep.delivered == {"sent": 0, "failed": 1, "paced": 0}
    assert outbox.listing(path).row(0, named=True)["next_attempt_at"] == pytest.approx(
        (t0 + timedelta(seconds=61)).timestamp() + 120)  # doubled
    with support.Mailbox(port) as box:
        for minutes in (5, 10, 60):
            scheduler.run_once(db, now=t0 + timedelta(minutes=minutes))
    assert len(box.messages) == 1 and outbox.listing(path)["state"].to_list() == ["sent"]
    assert outbox.listing(path)["attempts"].to_list() == [3]


def test_a_webhook_answering_an_error_is_retried_and_the_starttls_setting_is_never_bypassed(db, monkeypatch):
    _weekly(db, "anhui", ("340000",), "webhook")
    with support.Robot("s3cret", fail_first=1) as robot:
        monkeypatch.setenv("COCKPIT_WEBHOOK_URL", robot.url)
        monkeypatch.setenv("COCKPIT_WEBHOOK_SECRET", "s3cret")
        first = scheduler.run_once(db, now=MONDAY_9)
        second = scheduler.run_once(db, now=MONDAY_9 + timedelta(minutes=2))
    assert (first.delivered, second.delivered) == (
        {"sent": 0, "failed": 1, "paced": 0}, {"sent": 1, "failed": 0, "paced": 0})
    assert len(robot.received) == 1
    port = support.free_port()
    monkeypatch.setenv("COCKPIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COCKPIT_SMTP_PORT", str(port))
    monkeypatch.setenv("COCKPIT_SMTP_STARTTLS", "1")
    from analytics.notify import channels

    with support.Mailbox(port) as box, pytest.raises(channels.DeliveryError, match="STARTTLS"):
        channels.send_email("a@example.gov.cn", "s", "t", "k")
    assert box.messages == [] and box.logins == []


def test_e_mail_goes_over_starttls_with_sign_in_when_the_server_requires_both(db, tmp_path, monkeypatch):
    """A server that accepts mail and sign-in only after STARTTLS (certificate trusted through SSL_CERT_FILE, as an
    office would add its own CA): the digest arrives, signed in over TLS."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a certificate")
    cert = support.self_signed(tmp_path)
    port = support.free_port()
    for k, v in {"COCKPIT_SMTP_HOST": "127.0.0.1", "COCKPIT_SMTP_PORT": str(port), "COCKPIT_SMTP_STARTTLS": "1",
                 "COCKPIT_SMTP_USER": "notify", "COCKPIT_SMTP_PASSWORD": "pw-1234", "SSL_CERT_FILE": cert[0]}.items():
        monkeypatch.setenv(k, v)
    _weekly(db, "chaoyang", ("110105",), "email", address="chaoyang@example.gov.cn")
    with support.Mailbox(port, tls=cert) as box:
        rep = scheduler.run_once(db, now=MONDAY_9)
    assert rep.delivered == {"sent": 1, "failed": 0, "paced": 0} and box.logins == [("notify", "pw-1234")]
    assert "item=B1" in box.messages[0].get_content()


def test_a_subscription_beyond_the_accounts_scope_is_refused(db):
    path = store.path_for(db)
    county = add(db, "yaohai", regions=("340102",))
    sub = subscriptions.Subscription("", "inbox", ("overdue",), ("340100",))  # its city: wider than its scope
    with pytest.raises(subscriptions.SubscriptionError) as e:
        subscriptions.save(path, county, sub, by="test")
    assert e.value.code == "beyond_scope"
    with pytest.raises(subscriptions.SubscriptionError):
        subscriptions.save(path, county, subscriptions.Subscription("", "inbox", ("overdue",), ("110105",)), by="t")
    assert subscriptions.save(path, county, subscriptions.Subscription("", "inbox", ("overdue",), ("340102",)), by="t")
    national = add(db, "boss", role="leader")
    assert subscriptions.save(path, national, subscriptions.Subscription("", "inbox", ("overdue",), ("110105",)), by="t")
    assert cli(["notify", "subscribe", "yaohai", "--db", str(db), "--region", "340000"]) == 2
    assert [s.region_codes for s in subscriptions.effective(path, county)] == [("340102",)]
    # a role's subscription reaches the accounts of the role without their own, each within its own scope
    assert cli(["notify", "subscribe", "--role", "leader", "--db", str(db), "--channel", "webhook",
                "--rules", "overdue", "--frequency", "daily"]) == 0
    fresh = add(db, "fresh", role="leader", regions=("110105",))
    (sub,) = subscriptions.effective(path, fresh)
    assert (sub.owner, sub.channel, sub.frequency) == ("role:leader", "webhook", "daily")
    assert subscriptions.scope_of(fresh, sub).region_codes == ("110105",)


def test_rules_edited_while_a_pass_runs_leave_the_pass_on_one_version(db, monkeypatch):
    """An administrator saves new rules while a pass evaluates: the whole pass (firings and digests) uses the
    version it loaded first; the next pass uses the new one."""
    path = store.path_for(db)
    add(db, "boss", role="leader")
    real = evaluate._RULES["overdue"]

    def edit_midway(ctx, rule, items):
        rules.save(path, {"overdue": {"enabled": False}, "red_weeks": {"text_zh": "红灯已 {weeks} 周"}}, by="admin")
        return real(ctx, rule, items)

    monkeypatch.setitem(evaluate._RULES, "overdue", edit_midway)
    rep = scheduler.run_once(db, now=MONDAY_9)
    assert rep.rules_version == 0 and rules.load(path).version == 1
    row = outbox.listing(path).row(0, named=True)
    assert row["rules_version"] == 0
    (msg,) = outbox.inbox(path, "boss")
    assert "逾期未完成" in msg["body_markdown"] and "连续 3 周亮红灯" in msg["body_markdown"]
    with store.connect(path) as con:
        assert {r[0] for r in con.execute("SELECT rules_version FROM firings")} == {0}


def test_rule_edits_are_checked():
    with pytest.raises(rules.RuleError):
        rules.apply(rules.defaults(), {"due_soon": {"params": {"days": 0}}})
    with pytest.raises(rules.RuleError):
        rules.apply(rules.defaults(), {"due_soon": {"params": {"hours": 3}}})
    with pytest.raises(rules.RuleError):
        rules.apply(rules.defaults(), {"overdue": {"text_en": "late by {dayz}"}})
    with pytest.raises(rules.RuleError):
        rules.apply(rules.defaults(), {"nonsense": {}})
    edited = rules.apply(rules.defaults(), {"red_weeks": {"params": {"weeks": 4}, "enabled": False}})
    assert next(r for r in edited if r.key == "red_weeks").param("weeks") == 4
    assert not next(r for r in edited if r.key == "red_weeks").enabled


def test_the_signature_is_dingtalks():
    from analytics.notify import channels

    # HMAC-SHA256 over "<timestamp>\n<secret>" with the secret as key, base64: worked out with the standard library
    import base64
    import hashlib
    import hmac

    want = base64.b64encode(hmac.new(b"SEC1", b"1700000000000\nSEC1", hashlib.sha256).digest()).decode()
    assert channels.sign("SEC1", 1700000000000) == want
    url = channels.signed_url("https://oapi.example/robot/send?access_token=x", "SEC1", 1700000000000)
    assert url.startswith("https://oapi.example/robot/send?access_token=x&timestamp=1700000000000&sign=")


@pytest.fixture()
def signed_db(fixture_path, tmp_path, monkeypatch):
    """A copy of the fixture with sign-in on: an administrator and a leader of 朝阳区 with passwords (to sign in),
    a county leader without one (SSO only: hashing passwords is slow, and the dry run needs only the account)."""
    from tests.test_auth_app import PASSWORD

    db = tmp_path / "fixture.duckdb"
    shutil.copy(fixture_path, db)
    monkeypatch.setenv("COCKPIT_DB", str(db))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    side = auth_store.path_for(db)
    accounts.add(side, "admin", role="admin", by="test", password=PASSWORD)
    accounts.add(side, "beijing", role="leader", by="test", password=PASSWORD, region_codes=["110105"])
    add(db, "county", role="leader", regions=("340102",))
    return db


def test_the_admin_page_shows_rules_dry_run_and_outbox_and_the_cockpit_a_persons_inbox(signed_db):
    """AppTest: an administrator reads the rules in force, the dry run (a digest per account) and the outbox, and
    changes a rule; a leader of 朝阳区 finds the weekly notice about B1 on the cockpit and subscribes in the sidebar."""
    from analytics.auth import audit
    from tests.test_auth_app import sign_in, start

    db, side = signed_db, auth_store.path_for(signed_db)
    rep = scheduler.run_once(db, now=MONDAY_9)
    assert rep.delivered["sent"] == rep.queued == 2  # the administrator and 朝阳区; nothing in 瑶海区
    at = sign_in(start("en"), "admin")
    at.switch_page("views/admin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    (rules_frame,) = [f for cols, f in frames.items() if "Wording" in cols]
    assert rules_frame.shape[0] == len(rules.RULE_KEYS)
    (sent,) = [f for cols, f in frames.items() if "Attempts" in cols]
    assert set(sent["State"]) == {"sent"} and set(sent["User name"]) == {"admin", "beijing"}
    at.toggle(key="notify_dry_run").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    (dry,) = [d.value for d in at.dataframe if "Period" in d.value.columns and "Attempts" not in d.value.columns]
    assert sorted(dry["User name"]) == ["admin", "beijing", "county"]
    at.selectbox(key="notify_edit_rule").set_value("red_weeks").run()
    at.number_input(key="notify_edit_red_weeks_weeks").set_value(4)
    at.button[[b.label for b in at.button].index("Save as a new rules version")].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    saved = rules.load(store.path_for(db))
    assert saved.version == 1 and saved.get("red_weeks").param("weeks") == 4
    assert audit.entries(side)[0].action == "notify_rules"
    at = sign_in(start("en"), "beijing")
    assert not at.exception, [e.value for e in at.exception]
    (box,) = [e for e in at.expander if e.label.startswith("My notices")]
    text = " ".join(m.value for m in box.markdown)
    assert "老旧小区改造" in text and "item=B1" in text
    # their role's default first; only regions within the scope offered
    assert any("role's default" in c.value for c in at.caption)
    at.selectbox(key="notify_mine_channel").set_value("email").run()
    assert at.multiselect(key="notify_mine_regions").options == ["朝阳区 (110105)"]
    at.multiselect(key="notify_mine_regions").select("110105")
    at.text_input(key="notify_mine_address").input("chaoyang@example.gov.cn")
    at.button[[b.label for b in at.button].index("Save the subscription")].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (sub,) = subscriptions.effective(store.path_for(db), accounts.get(side, "beijing"))
    assert (sub.channel, sub.region_codes, sub.address, sub.frequency) == (
        "email", ("110105",), "chaoyang@example.gov.cn", "weekly")
    assert audit.entries(side)[0].action == "notify_subscribe"

def test_a_rule_without_risk_scores_is_judged_when_they_arrive_and_the_app_can_evaluate_through_its_own_cursor(db):
    """While the app holds the file for writing, the scheduler cannot open it: the app evaluates after a commit
    through its own connection (`evaluate_in_background`). A version whose risk scores are not yet saved is judged
    without the risk rule and again once they are: the risk rule then fires, nothing else twice."""
    import time

    import duckdb

    path = store.path_for(db)
    writer = duckdb.connect(str(db))  # as the app holds it
    try:
        rep = scheduler.run_once(db, now=MONDAY_9)
        assert not rep.evaluated and "in use" in rep.not_evaluated
        scheduler.evaluate_in_background(db, writer.cursor)
        for _ in range(100):
            if firings.open_firings(path):
                break
            time.sleep(0.05)
        before = {(e.rule_key, e.subject) for e in firings.open_firings(path)}
        assert ("overdue", "B1") in before and firings.evaluated(path, 1, 0)  # judged, but without high_risk:
        assert not firings.evaluated(path, 1, 0, scores_ready=True)  # so once its scores are saved, again
        _write_scores(db, ["A1", "A3", "B1"], {"B1"})
        rep = scheduler.evaluate_on(writer.cursor(), db, path, rules.load(path))
    finally:
        writer.close()
    assert (rep.fired, rep.cleared, rep.partial) == (1, 0, [])
    assert {(e.rule_key, e.subject) for e in firings.open_firings(path)} - before == {("high_risk", "B1")}
    assert firings.evaluated(path, 1, 0, scores_ready=True) and not scheduler.run_once(db, now=MONDAY_9).evaluated


def _inbox_message(path, username: str, period: str) -> int:
    """A digest delivered into a person's in-app inbox; its inbox id."""
    from analytics.notify.digest import Digest

    d = Digest(username, username, "inbox", "zh", period, 1, 0, None, 0, {}, title=f"督办通知（{period}）",
               text="…", markdown=f"### 督办通知（{period}）\n正文 {username}\n")
    outbox.enqueue(path, d, "")
    assert outbox.deliver(path)["sent"] == 1
    with store.connect(path) as con:
        return con.execute("SELECT max(id) FROM inbox").fetchone()[0]


def test_inbox_messages_are_marked_read_one_or_all_and_only_by_their_own_person(tmp_path):
    path = tmp_path / "x.notify.sqlite"
    a1, a2 = _inbox_message(path, "alice", "2026-W47"), _inbox_message(path, "alice", "2026-W48")
    b1 = _inbox_message(path, "bob", "2026-W48")
    assert (outbox.unread(path, "alice"), outbox.unread(path, "bob")) == (2, 1)
    assert not outbox.mark_read(path, "bob", a1)  # not bob's: nothing changes
    assert outbox.mark_all_read(path, "bob") == 1 and outbox.unread(path, "alice") == 2
    assert outbox.mark_read(path, "alice", a2) and not outbox.mark_read(path, "alice", a2)  # read once
    found = {m["id"]: m["read_at"] for m in outbox.inbox(path, "alice")}
    assert found[a1] is None and found[a2] is not None and b1 not in found
    assert outbox.mark_all_read(path, "alice") == 1 and outbox.unread(path, "alice") == 0
    assert not outbox.mark_read(path, "alice", 9999)


def test_an_account_in_english_receives_an_english_digest_from_a_subscription_saved_in_chinese(db):
    _weekly(db, "anhui", ("340000",), "inbox", lang="zh")
    side = auth_store.path_for(db)
    assert accounts.get(side, "anhui").lang is None
    with pytest.raises(accounts.AccountError):
        accounts.update(side, "anhui", by="test", lang="fr")
    assert accounts.update(side, "anhui", by="test", lang="en").lang == "en"
    scheduler.run_once(db, now=MONDAY_9)
    (msg,) = outbox.inbox(store.path_for(db), "anhui")
    assert msg["title"] == "Supervision notice (week 48, 2026)" and "no progress report for" in msg["body_markdown"]
    assert "lang=en" in msg["body_markdown"]
    assert accounts.update(side, "anhui", by="test", lang="").lang is None  # cleared: the subscription's again
    assert accounts.update(side, "anhui", by="test", display_name="安徽").lang is None


def test_an_accounts_store_written_before_the_language_column_gets_it(tmp_path):
    """A store from before `users.lang` (a SQLite file, or a PostgreSQL schema under COCKPIT_STATE_URL): its first
    connection adds the column (state.columns reads PRAGMA table_info or information_schema), and its accounts keep
    working."""
    from analytics.db import state

    side = tmp_path / "old.duckdb.auth.sqlite"
    old = auth_store.SCHEMA.replace(",\n    lang TEXT", "")
    assert old != auth_store.SCHEMA
    with state.connect(side, old, write=True) as con:
        con.execute("INSERT INTO users (username, display_name, role, region_codes, domains, sso_identity, "
                    "created_at, created_by, updated_at) VALUES ('old', 'Old', 'leader', '[]', '[]', "
                    "'old@example.gov.cn', 'x', 't', 'x')")
        assert "lang" not in state.columns(con, "users") and "display_name" in state.columns(con, "users")
    assert accounts.get(side, "old").lang is None
    with state.connect(side, old) as con:
        assert state.columns(con, "users")[-1] == "lang"
        assert not state.add_column(con, "users", "lang", "TEXT")  # there already: nothing to do
        assert state.columns(con, "no_such_table") == []
    assert accounts.update(side, "old", by="test", lang="en").lang == "en"


def test_users_change_sets_the_notice_language(tmp_path, capsys):
    db = tmp_path / "c.duckdb"
    add(db, "wang", role="leader")
    assert cli(["users", "change", "wang", "--db", str(db), "--lang", "en"]) == 0
    assert accounts.get(auth_store.path_for(db), "wang").lang == "en" and "notices in en" in capsys.readouterr().out
    assert cli(["users", "change", "wang", "--db", str(db), "--lang", "none"]) == 0
    assert accounts.get(auth_store.path_for(db), "wang").lang is None


def test_a_person_marks_their_notices_read_on_the_cockpit_and_chooses_their_language(signed_db):
    """AppTest: the leader of 朝阳区 sees the unread count, marks the notice read (it moves under "earlier"), and
    sets the language of their notices in the sidebar; the administrator's own notice stays unread."""
    from tests.test_auth_app import sign_in, start

    db, side = signed_db, auth_store.path_for(signed_db)
    path = store.path_for(db)
    scheduler.run_once(db, now=MONDAY_9)
    at = sign_in(start("en"), "beijing")
    assert not at.exception, [e.value for e in at.exception]
    (box,) = [e for e in at.expander if e.label.startswith("My notices")]
    assert box.label == "My notices · 1 unread"
    (mine,) = outbox.inbox(path, "beijing")
    at.button(key=f"notify_read_{mine['id']}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (box,) = [e for e in at.expander if e.label.startswith("My notices")]
    assert box.label == "My notices"
    assert any(c.value == "Nothing unread." for c in box.caption) and any("Earlier" in m.value for m in box.markdown)
    assert outbox.unread(path, "beijing") == 0 and outbox.unread(path, "admin") == 1
    at.radio(key="notify_mine_lang").set_value("en")
    at.button[[b.label for b in at.button].index("Save the subscription")].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert accounts.get(side, "beijing").lang == "en"
    # an administrator clears it on the accounts page: the subscription's language again
    at = sign_in(start("en"), "admin")
    at.switch_page("views/admin.py").run()
    at.selectbox(key="admin_edit_user").set_value("beijing").run()
    assert at.selectbox(key="admin_edit_lang_beijing").value == "en"
    at.selectbox(key="admin_edit_lang_beijing").set_value("")
    at.button[[b.label for b in at.button].index("Save the account")].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert accounts.get(side, "beijing").lang is None


def test_a_delivery_failure_is_worded_in_the_readers_language_with_the_servers_words_kept():
    from analytics.notify import channels

    assert channels.explain("webhook oapi.example.cn: errcode 310000: keywords not in content", "zh") == \
        "群机器人 oapi.example.cn 拒收（错误码 310000）：keywords not in content"
    assert channels.explain("webhook 127.0.0.1:9: [Errno 111] Connection refused", "zh") == \
        "无法连接群机器人 127.0.0.1:9：[Errno 111] Connection refused"
    assert channels.explain("webhook 127.0.0.1:9: HTTP 502", "en") == "Group robot 127.0.0.1:9 answered HTTP 502"
    assert channels.explain("mail server smtp.gov.cn does not offer STARTTLS", "zh").startswith(
        "邮件服务器 smtp.gov.cn 不支持 STARTTLS")
    assert channels.explain("mail server smtp.gov.cn: SMTPAuthenticationError: (535, b'bad')", "zh") == \
        "邮件服务器 smtp.gov.cn 未能发送：SMTPAuthenticationError: (535, b'bad')"
    assert channels.explain("no mail server configured (COCKPIT_SMTP_HOST)", "zh") == \
        "未配置邮件服务器（COCKPIT_SMTP_HOST）"
    assert channels.explain("something new", "zh") == "something new" and channels.explain(None, "zh") == ""

"""Access control without Streamlit: accounts and the password policy, throttling and lockout, the audit
chain (an edited, a deleted and a truncated entry are found), masking by role, the permission table, the
upload rules of a scoped steward, the CLI, and docs/security.md kept current."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from analytics import settings
from analytics.db import state
from analytics.auth import accounts, audit, doc, masking, roles, scoping, store
from analytics.auth.accounts import AccountError
from analytics.db.versions import Change
from analytics.db.queries import Scope

ROOT = Path(__file__).resolve().parents[1]
GOOD = "Hefei2026abc"


@pytest.fixture()
def side(tmp_path) -> Path:
    return tmp_path / "x.duckdb.auth.sqlite"



def _raw(side):
    """The store as someone with access to its file (or its PostgreSQL schema) sees it: for tampering."""
    return state.connect(side, store.SCHEMA, write=True)


def _drop(side) -> None:
    """The whole store gone: the SQLite file deleted, or the PostgreSQL schema dropped."""
    if state.backend() == "sqlite":
        side.unlink()
        return
    with state._pg() as con:
        con.execute(f'DROP SCHEMA "{state.schema_name(side)}" CASCADE')
    state._CREATED.clear()

# ---- accounts ---------------------------------------------------------------------------------------------

def test_no_file_means_no_account_and_creates_nothing(side):
    assert accounts.count(side) == 0 and accounts.list_all(side) == [] and accounts.get(side, "a") is None
    assert not state.exists(side)


def test_an_account_stores_an_argon2_hash_never_the_password(side):
    a = accounts.add(side, " Zhang.San ", role="analyst", by="test", password=GOOD, region_codes=["340102"],
                     display_name="张三")
    assert (a.username, a.role, a.region_codes, a.display_name, a.has_password) == \
        ("zhang.san", "analyst", ("340102",), "张三", True)
    if state.backend() == "sqlite":
        assert GOOD.encode() not in side.read_bytes()
    with _raw(side) as con:
        assert GOOD not in " ".join(str(v) for row in con.execute("SELECT * FROM users").fetchall() for v in row)
        (stored,) = con.execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$")
    assert "password" not in repr(a).lower().replace("has_password", "")  # the record carries no secret


@pytest.mark.parametrize("password, rules", [
    ("short1", {"length"}), ("onlyletterslong", {"classes"}), ("12345678901", {"classes"}),
    ("zhang.san2026x", {"username", "common"}), ("password1234", {"common"}), ("aaaa1111aaaa", {"common"}),
    # issue 22, low 12: common words with digits and keyboard walks, found by the lists zxcvbn ships
    ("Password12", {"common"}), ("qwerty1234", {"common"}), ("P@ssw0rd2024", {"common"}), ("asdfghjkl1", {"common"}),
    ("1qaz2wsx3edc", {"common"}), ("Beijing2008", {"common"}),
])
def test_the_password_policy(password, rules):
    assert set(accounts.password_problems(password, "zhang.san")) == rules
    assert accounts.password_problems(GOOD, "zhang.san") == []


@pytest.mark.parametrize("kwargs, code", [
    ({"username": "a", "role": "analyst", "password": GOOD}, "username"),
    ({"username": "li", "role": "boss", "password": GOOD}, "role"),
    ({"username": "li", "role": "leader", "password": "weak"}, "password"),
    ({"username": "li", "role": "leader", "password": GOOD, "region_codes": ["999999"]}, "region"),
    ({"username": "li", "role": "leader"}, "no_credential"),
])
def test_refused_accounts_say_which_rule(side, kwargs, code):
    with pytest.raises(AccountError) as e:
        accounts.add(side, by="t", **kwargs)
    assert e.value.code == code
    assert e.value.message("zh") and e.value.message("en")


def test_a_name_is_taken_once_and_the_nation_is_the_empty_scope(side):
    a = accounts.add(side, "wang", role="leader", by="t", password=GOOD, region_codes=["100000"])
    assert a.region_codes == ()
    with pytest.raises(AccountError, match="taken"):
        accounts.add(side, "WANG", role="leader", by="t", password=GOOD)


# ---- sign-in, throttling, lockout ------------------------------------------------------------------------

def test_sign_in_throttles_then_locks_after_the_setting(side, monkeypatch):
    monkeypatch.setenv("COCKPIT_AUTH_MAX_FAILURES", "3")
    monkeypatch.setenv("COCKPIT_AUTH_LOCKOUT_MINUTES", "10")
    accounts.add(side, "li", role="leader", by="t", password=GOOD)
    t0 = 1_000_000.0
    assert accounts.authenticate(side, "li", "wrong", now=t0).status == "failed"
    # the next attempt must wait 1 s; one made sooner is not even checked
    assert accounts.authenticate(side, "li", GOOD, now=t0 + 0.5).status == "throttled"
    assert accounts.authenticate(side, "li", "wrong", now=t0 + 1.1).status == "failed"  # 2 failures: wait 2 s
    assert accounts.authenticate(side, "li", "wrong", now=t0 + 2.0).status == "throttled"
    third = accounts.authenticate(side, "li", "wrong", now=t0 + 3.2)
    assert third.status == "locked" and third.retry_after == 600
    # the right password does not help while locked …
    assert accounts.authenticate(side, "li", GOOD, now=t0 + 300).status == "locked"
    # … and works once the lockout is over
    ok = accounts.authenticate(side, "li", GOOD, now=t0 + 3.2 + 601)
    assert ok.status == "ok" and ok.account.username == "li" and ok.account.last_sign_in_at
    assert accounts.lock_state(side, "li") == (0, None)


def test_unknown_names_lock_too_and_answers_do_not_tell_which_names_exist(side, monkeypatch):
    monkeypatch.setenv("COCKPIT_AUTH_MAX_FAILURES", "2")
    accounts.add(side, "li", role="leader", by="t", password=GOOD)
    unknown = accounts.authenticate(side, "nobody", GOOD, now=10.0)
    wrong = accounts.authenticate(side, "li", "x", now=10.0)
    assert (unknown.status, unknown.retry_after) == (wrong.status, wrong.retry_after) == ("failed", 1)
    assert (unknown.reason, wrong.reason) == ("unknown", "wrong_password")  # for the audit log only
    assert accounts.authenticate(side, "nobody", GOOD, now=20.0).status == "locked"


def test_a_disabled_account_cannot_sign_in_and_an_admin_unlocks(side, monkeypatch):
    monkeypatch.setenv("COCKPIT_AUTH_MAX_FAILURES", "1")
    accounts.add(side, "li", role="leader", by="t", password=GOOD)
    accounts.set_disabled(side, "li", True, "admin")
    assert accounts.authenticate(side, "li", GOOD, now=1.0).reason == "disabled"
    assert accounts.authenticate(side, "li", GOOD, now=2.0).status == "locked"
    accounts.set_disabled(side, "li", False, "admin")
    accounts.unlock(side, "li")
    assert accounts.authenticate(side, "li", GOOD, now=3.0).status == "ok"
    accounts.reset_password(side, "li", "Another2026pw", "admin")
    assert accounts.authenticate(side, "li", GOOD, now=4.0).status == "locked"  # the old one: a failure (of 1)
    accounts.reset_password(side, "li", "Another2026pw", "admin")  # a reset lifts the lockout
    assert accounts.authenticate(side, "li", "Another2026pw", now=5.0).status == "ok"


def test_single_sign_on_maps_an_identity_to_an_active_account(side):
    accounts.add(side, "zhao", role="steward", by="t", sso_identity="Zhao@Example.gov.cn", region_codes=["340100"])
    assert accounts.signed_in_by_sso(side, "zhao@example.gov.cn").username == "zhao"
    assert accounts.signed_in_by_sso(side, "other@example.gov.cn") is None
    assert accounts.authenticate(side, "zhao", "", now=1.0).reason == "no_password"  # SSO only
    accounts.set_disabled(side, "zhao", True, "t")
    assert accounts.signed_in_by_sso(side, "zhao@example.gov.cn") is None


# ---- the audit chain ----------------------------------------------------------------------------------------

def _chain(side, n=5):
    for i in range(n):
        audit.append(side, actor="li", role="leader", action="export", target=f"t{i}.csv", detail={"rows": i},
                     source="10.0.0.1")


def test_an_intact_chain_verifies_and_links_every_entry(side):
    _chain(side)
    n, head, problems = audit.verify(side)
    assert (n, problems) == (5, [])
    rows = audit.entries(side)
    assert [e.seq for e in rows] == [5, 4, 3, 2, 1]
    assert rows[-1].prev_hash == audit.GENESIS and all(rows[i].prev_hash == rows[i + 1].hash for i in range(4))
    assert head == rows[0].hash
    assert audit.verify(side, head=rows[2].hash)[2] == []  # a recorded head the chain has grown from


def test_an_edited_entry_is_found(side):
    _chain(side)
    with _raw(side) as con:
        con.execute("UPDATE audit_log SET target = 'nothing.csv' WHERE seq = 3")
    kinds = {(p.seq, p.kind) for p in audit.verify(side)[2]}
    assert kinds == {(3, "edited")}


def test_a_deleted_entry_is_found(side):
    _chain(side)
    with _raw(side) as con:
        con.execute("DELETE FROM audit_log WHERE seq = 2")
    kinds = {(p.seq, p.kind) for p in audit.verify(side)[2]}
    assert kinds == {(3, "broken_link"), (3, "gap")}


def test_deleting_the_newest_entries_is_found(side):
    _chain(side)
    head = audit.entries(side)[0].hash
    with _raw(side) as con:
        con.execute("DELETE FROM audit_log WHERE seq >= 4")
    kinds = {p.kind for p in audit.verify(side)[2]}
    assert kinds == {"truncated"}
    assert "head_mismatch" in {p.kind for p in audit.verify(side, head=head)[2]}


def test_an_edit_with_a_recomputed_hash_still_breaks_the_next_link(side):
    _chain(side)
    with _raw(side) as con:
        seq, at, actor, role, action, target, detail, source, prev = con.execute(
            "SELECT seq, at, actor, role, action, 'x.csv', detail, source, prev_hash FROM audit_log WHERE seq = 2"
        ).fetchone()
        forged = audit.entry_hash(seq, at, actor, role, action, target, detail, source, prev)
        con.execute("UPDATE audit_log SET target = ?, hash = ? WHERE seq = 2", (target, forged))
    assert {(p.seq, p.kind) for p in audit.verify(side)[2]} == {(3, "broken_link")}


# ---- roles, masking -----------------------------------------------------------------------------------------

def test_the_permission_table_says_what_the_issue_asks():
    assert roles.allowed("presenter", "present") and roles.allowed("presenter", "export")
    assert roles.allowed("steward", "upload") and roles.allowed("steward", "rollback")
    assert [r.key for r in roles.ROLES if "manage_users" in r.permissions] == ["admin"]
    assert not roles.allowed("demo", "manage_users") and roles.allowed("demo", "upload")
    assert not roles.allowed("leader", "upload") and not roles.allowed("nobody", "view")
    with pytest.raises(KeyError):
        roles.allowed("admin", "fly")


def test_pages_need_declared_permissions():
    from analytics import pages

    assert {p.permission for p in pages.PAGES} <= set(roles.BY_KEY)
    assert pages.BY_KEY["upload"].permission == "upload" and pages.BY_KEY["admin"].permission == "view_audit"


TEXT = "联系人：王建国 反映，张先生 13812345678 身份证340102199001011234 邮箱 wang@example.com"


def test_feedback_text_is_masked_for_roles_that_do_not_need_it():
    shown = masking.feedback_text(TEXT, "leader")
    assert "王建国" not in shown and "张先生" not in shown and "某先生" in shown
    assert "138****5678" in shown and "340102***********4" in shown and "wang@example.com" not in shown
    assert masking.feedback_text(TEXT, "analyst") == masking.feedback_text(TEXT, "demo") == shown
    assert masking.feedback_text(TEXT, "steward") == TEXT == masking.feedback_text(TEXT, "admin")
    assert masking.feedback_text(None, "leader") is None
    assert masking.feedback_text("感谢各位先生的帮助，进度 85%", "leader") == "感谢各位先生的帮助，进度 85%"


# ---- a scoped steward's upload ------------------------------------------------------------------------------

def _projects(**cols) -> pl.DataFrame:
    base = {"project_id": ["A9"], "name": ["新事项"], "policy_id": ["P1"], "domain": ["乡村振兴"],
            "region_code": ["340102"], "lead_dept": ["农业农村局"]}
    return pl.DataFrame(base | cols)


@pytest.mark.parametrize("changes, rules", [
    ([Change("projects", "upsert", _projects(), ("project_id",))], []),
    ([Change("projects", "upsert", _projects(region_code=["110105"]), ("project_id",))], ["region"]),
    ([Change("projects", "upsert", _projects(project_id=["A1"]), ("project_id",))], []),  # its own item
    ([Change("projects", "upsert", _projects(project_id=["B1"]), ("project_id",))], ["overwrite"]),  # 朝阳区's
    ([Change("projects", "replace", _projects(), ("project_id",))], ["replace"]),
    ([Change("policies", "upsert", pl.DataFrame({"policy_id": ["P9"]}), ("policy_id",))], ["national_table"]),
    ([Change("progress_reports", "upsert", pl.DataFrame({"project_id": ["A1", "B1", "A9"]}), ("project_id",))],
     ["item"]),  # B1 is Beijing's; A9 exists nowhere
    ([Change("projects", "upsert", _projects(), ("project_id",)),
      Change("progress_reports", "upsert", pl.DataFrame({"project_id": ["A9"]}), ("project_id",))], []),
    ([Change("feedback", "upsert", pl.DataFrame({"feedback_id": ["F1"], "region_code": ["340102"],
                                                 "project_id": [None]}), ("feedback_id",))], ["overwrite"]),
])
def test_a_county_steward_may_write_only_rows_of_the_county(fixture_con, changes, rules):
    refusals = scoping.upload_refusals(fixture_con, Scope(("340102",)), changes)
    assert [r.rule for r in refusals] == rules
    assert scoping.upload_refusals(fixture_con, Scope(), changes) == []  # a national steward may


def test_a_refusal_names_the_rows_but_not_the_other_region(fixture_con):
    frame = _projects(project_id=["X1", "X2"], region_code=["110105", "340000"], name=["a", "b"],
                      policy_id=["P1", "P1"], domain=["乡村振兴"] * 2, lead_dept=["农业农村局"] * 2)
    (r,) = scoping.upload_refusals(fixture_con, Scope(("340100",)), [Change("projects", "upsert", frame, ())])
    assert (r.table, r.rule, r.n_rows, r.examples) == ("projects", "region", 2, ("X1", "X2"))


def test_a_scoped_users_view_opens_on_the_scope():
    from analytics.filters import Filters

    codes = frozenset({"340102"})
    assert scoping.clamp_filters(Filters(), Scope(("340102",)), codes).region_code == "340102"
    assert scoping.clamp_filters(Filters(region_code="340000"), Scope(("340102",)), codes).region_code == "340102"
    assert scoping.clamp_filters(Filters(region_code="340000"), Scope(), codes).region_code == "340000"
    assert scoping.clamp_filters(Filters(), Scope(("340102", "110105")), codes).region_code is None


# ---- CLI and docs -------------------------------------------------------------------------------------------

def cli(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin, timeout=120, env=os.environ | (env or {}))


def test_users_and_audit_from_the_command_line(tmp_path):
    db = str(tmp_path / "c.duckdb")
    added = cli("users", "add", "admin", "--role", "admin", "--db", db, "--password-stdin", stdin=GOOD + "\n")
    assert added.returncode == 0, added.stderr
    assert "demo mode" in added.stdout
    weak = cli("users", "add", "li", "--role", "leader", "--db", db, "--password-stdin", stdin="weak\n")
    assert weak.returncode == 2 and "policy" in weak.stderr and "weak" not in weak.stderr + weak.stdout
    assert cli("users", "add", "li", "--role", "leader", "--region", "340102", "--db", db, "--password-stdin",
               stdin=GOOD + "\n").returncode == 0
    assert cli("users", "disable", "li", "--db", db).returncode == 0
    listed = cli("users", "list", "--db", db)
    assert "li\tleader\t340102\tall\tdisabled" in listed.stdout
    assert GOOD not in listed.stdout and "argon2" not in listed.stdout
    assert cli("users", "reset", "li", "--db", db, "--password-stdin", stdin="New2026passwd\n").returncode == 0
    ok = cli("audit", "verify", "--db", db)
    assert ok.returncode == 0 and "4 entries, chain intact" in ok.stdout
    actions = [e.action for e in audit.entries(store.path_for(db))]
    assert actions == ["user_reset", "user_disable", "user_add", "user_add"]
    with _raw(store.path_for(db)) as con:
        con.execute("DELETE FROM audit_log WHERE seq = 2")
    broken = cli("audit", "verify", "--db", db)
    assert broken.returncode == 1 and "missing" in broken.stderr


def test_the_sidecar_moves_with_its_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("COCKPIT_AUTH_DB", str(tmp_path / "elsewhere.sqlite"))
    assert store.path_for("/any/db.duckdb") == tmp_path / "elsewhere.sqlite"
    monkeypatch.delenv("COCKPIT_AUTH_DB")
    assert store.path_for("/any/db.duckdb") == Path("/any/db.duckdb.auth.sqlite")


def test_security_doc_is_current():
    assert (ROOT / "docs" / "security.md").read_text(encoding="utf-8") == doc.markdown(), \
        "run: python -m analytics security-doc > docs/security.md"


def test_settings_of_access_control_are_declared():
    for name in ("COCKPIT_AUTH_DB", "COCKPIT_AUTH_MAX_FAILURES", "COCKPIT_AUTH_LOCKOUT_MINUTES",
                 "COCKPIT_AUTH_IDLE_MINUTES", "COCKPIT_AUTH_MIN_PASSWORD", "COCKPIT_SSO_PROVIDER"):
        assert name in settings.BY_NAME


def test_readme_shows_how_to_turn_sign_in_on():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python -m analytics users add" in text and "docs/security.md" in text


def test_responsible_leaders_are_masked_for_roles_without_personal_data():
    from analytics.auth import masking

    assert masking.person_names("张明远、李卫国", "leader") == "张**、李**"
    assert masking.person_names("张明远 李卫国", "analyst") == "张**、李**"
    assert masking.person_names("张明远、李卫国", "steward") == "张明远、李卫国"
    assert masking.person_names(None, "leader") is None


def test_one_domain_rule_for_rows_without_a_domain(tmp_path):
    """Issue 22 (high, 2): a row's domain is its own, else its item's; a row with neither lies in no domain scope.
    Before, rectifications of no item showed to every domain-scoped account while feedback without a domain hid."""
    import polars as pl

    from analytics.db import queries, store
    from analytics.db.queries import Scope
    from analytics.filters import Filters
    from tests import fixture_db

    feedback = pl.concat([fixture_db.FEEDBACK, fixture_db.FEEDBACK.head(2).with_columns(
        pl.Series("feedback_id", ["F-ITEM", "F-NONE"]), pl.Series("project_id", ["A1", None]),
        pl.Series("region_code", ["340102", "340102"]), pl.lit(None, pl.Utf8).alias("domain"))])
    path = fixture_db.build(tmp_path / "domains.duckdb", feedback=feedback)
    con = store.connect(path, read_only=True)
    try:
        a1_domain = con.execute("SELECT domain FROM projects WHERE project_id = 'A1'").fetchall()[0][0]
        scoped = Scope((), (a1_domain,))
        ledger = queries.run(con, "rectifications_ledger", Filters(), scoped, fixture_db.AS_OF, group_level="province",
                             rect_depts=[])
        assert "R2" not in ledger["rectification_id"].to_list()  # no item, so no domain: outside the scope
        counts = {name: queries.run(con, "feedback_breakdowns", Filters(), s, fixture_db.AS_OF, group_level="country",
                                             total_code="100000", response_hours=48)
                  .filter(pl.col("kind") == "region")["n_feedback"].sum() for name, s in
                  (("national", Scope()), ("domain", scoped))}
        # national sees every row; the domain scope sees A1's own feedback and F-ITEM (its item's domain), not F-NONE
        in_domain = feedback.filter((pl.col("domain") == a1_domain) | (pl.col("feedback_id") == "F-ITEM"))
        assert counts["domain"] == in_domain.height and counts["national"] == feedback.height
    finally:
        con.close()


# ---- audit verify against what an attacker of the log file does not also hold (issue 22, high 4) ---------------

def _committed_db(tmp_path, side_entries=3):
    """A database with one committed version whose anchor records the log's newest entry."""
    from datetime import date

    from analytics.db import store as db_store
    from analytics.db import versions

    db = tmp_path / "anchored.duckdb"
    db_store.init(db, "340100", date(2026, 1, 1), "test")
    side = store.path_for(db)
    _chain(side, side_entries)
    con = db_store.connect(db)
    try:
        frame = pl.DataFrame({"project_id": ["P1"], "name": ["修路"], "domain": ["交通"], "region_code": ["340100"],
                              "lead_dept": ["交通运输局"], "start_date": [date(2026, 1, 1)], "status": ["in_progress"]})
        out = versions.commit(con, [Change("projects", "upsert", frame, tuple(frame.columns), 0)], who="t",
                              file_name="p.csv", sha256="x" * 64, db_path=str(db), retrain=False)
        assert out.status == "committed"
        anchors = versions.audit_anchors(con)
    finally:
        con.close()
    return db, side, anchors


def test_each_commit_records_the_logs_newest_entry(tmp_path):
    db, side, anchors = _committed_db(tmp_path)
    newest = audit.entries(side)[0]
    assert anchors == [(anchors[0][0], 3, newest.hash)]
    assert audit.verify(side, anchors=anchors)[2] == []


def test_a_missing_log_with_a_head_or_an_anchor_is_a_failure(tmp_path):
    db, side, anchors = _committed_db(tmp_path)
    head = audit.entries(side)[0].hash
    _drop(side)
    assert {p.kind for p in audit.verify(side, head=head)[2]} == {"missing"}
    assert {p.kind for p in audit.verify(side, anchors=anchors)[2]} == {"missing"}
    assert cli("audit", "verify", "--db", str(db)).returncode == 1
    nowhere = cli("audit", "verify", "--db", str(tmp_path / "nowhere.duckdb"), "--head", head)
    assert nowhere.returncode == 1 and "nothing to verify" in nowhere.stderr


def test_a_dropped_log_that_restarts_at_entry_one_is_found(tmp_path):
    db, side, anchors = _committed_db(tmp_path)
    with _raw(side) as con:
        con.execute("DROP TABLE audit_log")
    assert {p.kind for p in audit.verify(side, anchors=anchors)[2]} == {"missing"}
    # the app's next writes make a fresh, self-consistent chain
    audit.append(side, actor="admin", role="admin", action="sign_in", source="10.0.0.9")
    _chain(side, 3)
    assert audit.verify(side)[2] == []  # the file alone cannot tell
    problems = audit.verify(side, anchors=anchors)[2]
    assert [p.kind for p in problems] == ["anchor_mismatch"] and "data version" in problems[0].message
    r = cli("audit", "verify", "--db", str(db))
    assert r.returncode == 1 and "rewound, replaced or rewritten" in r.stderr


def test_rewinding_the_newest_entries_and_the_counter_is_found_up_to_the_last_commit(tmp_path):
    db, side, anchors = _committed_db(tmp_path)
    _chain(side, 2)  # entries 4 and 5, after the commit
    head = audit.entries(side)[0].hash
    with _raw(side) as con:
        con.execute("DELETE FROM audit_log WHERE seq >= 3")
        if state.backend() == "sqlite":
            con.execute("UPDATE sqlite_sequence SET seq = 2 WHERE name = 'audit_log'")
        else:
            con.execute("SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), 2)")
    assert audit.verify(side)[2] == []  # the file alone cannot tell
    assert [p.kind for p in audit.verify(side, anchors=anchors)[2]] == ["anchor_mismatch"]
    assert "head_mismatch" in {p.kind for p in audit.verify(side, head=head)[2]}


def test_verify_says_what_it_cannot_detect(tmp_path):
    db, side, anchors = _committed_db(tmp_path)
    _chain(side, 2)  # entries 4 and 5 come after the last commit
    r = cli("audit", "verify", "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert "5 entries, chain intact" in r.stdout and "Cross-checked with 1 data version" in r.stdout
    assert "Not detectable without --head: deleting entries 4 to 5" in r.stdout
    head = audit.entries(side)[0].hash
    r = cli("audit", "verify", "--db", str(db), "--head", head)
    assert r.returncode == 0 and "Not detectable" not in r.stdout


def test_failures_lock_a_name_for_their_client_only_until_many_clients_fail(side, monkeypatch):
    """Issue 22, low 13: anyone could lock any account by failing five times. Failures now lock the name for the
    client they come from; the owner signs in from elsewhere; a name is locked for everybody only after
    NAME_WIDE_FACTOR times as many failures over every client; an administrator sees which client locked which
    names."""
    monkeypatch.setenv("COCKPIT_AUTH_MAX_FAILURES", "2")
    accounts.add(side, "li", role="leader", by="t", password=GOOD)
    attacker = "203.0.113.9"
    assert accounts.authenticate(side, "li", "x", now=10.0, client=attacker).status == "failed"
    assert accounts.authenticate(side, "li", "x", now=12.0, client=attacker).status == "locked"
    assert accounts.authenticate(side, "li", GOOD, now=13.0, client=attacker).status == "locked"
    assert accounts.authenticate(side, "li", GOOD, now=13.0, client="10.1.2.3").status == "ok"  # the owner
    for name in ("wang", "zhao", "admin"):  # the same client guessing names
        for t in (20.0, 22.0):
            accounts.authenticate(side, name, "x", now=t, client=attacker)
    (row,) = accounts.lockouts(side, now=30.0)
    assert (row["client"], row["n_names"]) == (attacker, 4) and set(row["names"].split(", ")) == {
        "li", "wang", "zhao", "admin"}
    # a password tried from many addresses still ends at a lockout for everybody
    for i in range(2 * accounts.NAME_WIDE_FACTOR):
        last = accounts.authenticate(side, "li", "x", now=100.0 + i, client=f"198.51.100.{i}")
    assert last.status == "locked"
    assert accounts.authenticate(side, "li", GOOD, now=200.0, client="10.1.2.3").status == "locked"
    accounts.unlock(side, "li")
    assert accounts.authenticate(side, "li", GOOD, now=201.0, client="10.1.2.3").status == "ok"


@pytest.mark.parametrize("changes, rules", [
    # feedback with its own domain in the scope, or none and an item of the scope: its item's domain
    ([Change("feedback", "upsert", pl.DataFrame({"feedback_id": ["FX1", "FX2"], "region_code": ["340102"] * 2,
                                                 "project_id": [None, "A1"], "domain": ["乡村振兴", None]}),
             ("feedback_id",))], []),
    # feedback with no domain and no item lies in no domain scope: the steward would not see it again
    ([Change("feedback", "upsert", pl.DataFrame({"feedback_id": ["FX3"], "region_code": ["340102"],
                                                 "project_id": [None], "domain": [None]}), ("feedback_id",))],
     ["domain"]),
    ([Change("rectifications", "upsert", pl.DataFrame({"rectification_id": ["RX1"], "region_code": ["340102"],
                                                       "project_id": [None]}), ("rectification_id",))], ["domain"]),
    ([Change("projects", "upsert", _projects(project_id=["A9"], domain=[None]), ("project_id",))], ["domain"]),
])
def test_a_domain_scoped_steward_writes_no_row_without_a_domain(fixture_con, changes, rules):
    """Issue 22, high 2: the one domain rule holds for uploads too (a row with no domain either way is refused)."""
    refusals = scoping.upload_refusals(fixture_con, Scope(("340000",), ("乡村振兴",)), changes)
    assert [r.rule for r in refusals] == rules
    assert scoping.upload_refusals(fixture_con, Scope(("340000",)), changes) == []  # no domain scope: fine

"""Access control in the app (AppTest): demo mode's banner; sign-in before anything; a county user sees the
county only, whatever the URL says; the menu and the actions follow the role; idle sessions expire;
disabled accounts are signed out; masking by role; the admin page manages accounts and shows the audit log."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from types import SimpleNamespace

from analytics import i18n
from analytics.auth import accounts, audit, store
from analytics.db.queries import Scope
from ui import auth as auth_ui

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Hefei2026abc"


@pytest.fixture()
def signed_env(fixture_path, tmp_path, monkeypatch):
    """A copy of the fixture with accounts beside it (the shared fixture stays in demo mode)."""
    db = tmp_path / "fixture.duckdb"
    shutil.copy(fixture_path, db)
    monkeypatch.setenv("COCKPIT_DB", str(db))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    side = store.path_for(db)
    for name, role, regions in (("county", "leader", ["340102"]), ("beijing", "leader", ["110105"]),
                                ("steward", "steward", ["110105"]), ("admin", "admin", []),
                                ("analyst", "analyst", ["340000"])):
        accounts.add(side, name, role=role, by="test", password=PASSWORD, region_codes=regions)
    return side


def start(lang: str = "zh", **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="auth_username").input(name)
    at.text_input(key="auth_password").input(password)
    at.button(key="auth_submit").click().run()
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at) -> str:
    return " ".join(e.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
                    for e in getattr(at, kind))


@pytest.mark.parametrize("lang, words", [("zh", "任何人都能看到全部数据"), ("en", "anyone can see everything")])
def test_demo_mode_says_so_on_every_page(app_env, lang, words):
    at = start(lang)
    assert not at.exception
    for page in ("views/cockpit.py", "views/regions.py", "views/data.py", "views/admin.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        banner = [m.value for m in at.markdown if "cockpit-demo-banner" in m.value]
        assert banner and words in banner[0] and "python -m" not in banner[0], page  # words, not a command
        assert ("账号与审计" if lang == "zh" else "Accounts &amp; audit") in banner[0]  # where the command is
    assert "users add admin --role admin" in at.code[0].value  # the admin page says how to turn sign-in on
    # an empty audit log says so, without an "intact chain" of nothing or a newest hash of zeros to keep
    assert ("审计日志还没有记录" if lang == "zh" else "no entries yet") in " ".join(i.value for i in at.info)
    assert not at.success and "0000000000000000" not in texts(at)


def test_with_accounts_nothing_shows_before_sign_in(signed_env):
    at = start("zh")
    assert not at.exception
    assert at.title[0].value == "政策执行驾驶舱 · 登录" and not at.metric
    assert not [m for m in at.markdown if "cockpit-demo-banner" in m.value]
    sign_in(at, "county", "wrong-password1")
    assert "用户名或密码不正确" in at.error[0].value and not at.metric
    failed = audit.entries(signed_env)[0]
    assert (failed.action, failed.target, failed.detail["reason"]) == ("sign_in_failed", "county", "wrong_password")
    sign_in(at, "nobody", "wrong-password1")
    assert audit.entries(signed_env)[0].target == "?"  # an unknown name is not written down
    assert "wrong-password1" not in signed_env.read_bytes().decode("utf-8", "replace")


def test_a_county_user_sees_the_county_only_and_the_url_cannot_widen_it(signed_env):
    at = sign_in(start("zh"), "county")
    assert not at.exception, [e.value for e in at.exception]
    assert metrics(at)["督办事项"] == "1 项"  # A1 alone (national: 5)
    assert at.query_params["region"] == "340102"
    assert "瑶海区" in texts(at) and "领导" in texts(at)
    assert audit.entries(signed_env)[0].action == "sign_in"
    at.query_params["region"] = "110000"  # a hand-edited link to Beijing
    at.run()
    assert "110000" in " ".join(w.value for w in at.warning)
    assert metrics(at)["督办事项"] == "1 项" and at.query_params["region"] == "340102"
    at.switch_page("views/item.py").run()
    assert sorted(at.dataframe[0].value["事项编号"]) == ["A1"]  # the finder lists the county's items
    at.query_params["item"] = "B1"  # 朝阳区's item, by URL
    at.run()
    assert "B1" in at.warning[0].value and not at.tabs  # the same answer as an unknown id


def test_an_analyst_of_a_province_drills_within_it(signed_env):
    at = sign_in(start("en"), "analyst")
    assert metrics(at)["Supervised items"] == "3 items"  # A1, A2, A3
    assert at.selectbox(key="f_province").options[1:] == ["Anhui"]  # the only province in the cascade
    at.selectbox(key="f_city").select("340100").run()
    assert metrics(at)["Supervised items"] == "2 items" and at.query_params["region"] == "340100"


def test_the_menu_and_the_actions_follow_the_role(signed_env):
    at = sign_in(start("en"), "county")  # a leader: may export, may not upload or retrain
    at.switch_page("views/item.py").run()  # the finder's table of items, with its downloads
    assert len(at.get("download_button")) == 2
    at.switch_page("views/risk.py").run()
    assert "Only analysts and administrators may retrain" in texts(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in a leader's menu at all
        at.switch_page("views/upload.py")
    steward = sign_in(start("en"), "steward")
    steward.switch_page("views/item.py").run()
    assert steward.dataframe and not steward.get("download_button")
    assert "Your role may not download tables" in texts(steward)
    steward.switch_page("views/upload.py").run()
    assert not steward.exception and steward.title[0].value == i18n.t("nav.upload", "en")
    assert not auth_ui.may_roll_back(SimpleNamespace(may=lambda p: True, scope=Scope(("110105",))))
    assert auth_ui.may_roll_back(SimpleNamespace(may=lambda p: True, scope=Scope()))


def test_feedback_text_is_masked_for_a_leader_not_for_a_steward(signed_env):
    def feedback_texts(name):
        at = sign_in(start("zh"), name)
        at.switch_page("views/item.py")
        at.query_params["item"] = "B1"
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        frames = [d.value for d in at.dataframe if "内容" in d.value.columns or "反馈内容" in d.value.columns]
        col = "反馈内容" if "反馈内容" in frames[0].columns else "内容"
        return list(frames[0][col])

    assert feedback_texts("beijing") == ["某先生 138****1234 反映小区改造施工噪音大"]
    assert feedback_texts("steward") == ["张先生 138****1234 反映小区改造施工噪音大"]


def test_an_idle_session_expires(signed_env, monkeypatch):
    monkeypatch.setenv("COCKPIT_AUTH_IDLE_MINUTES", "30")
    at = sign_in(start("en"), "county")
    assert at.metric
    held = dict(at.session_state["_auth"])
    at.session_state["_auth"] = held | {"last_seen": held["last_seen"] - 31 * 60}
    at.run()
    assert not at.metric and "signed out after 30 minutes" in at.info[0].value
    assert audit.entries(signed_env)[0].action == "session_expired"
    held = dict(sign_in(at, "county").session_state["_auth"])
    at.session_state["_auth"] = held | {"last_seen": held["last_seen"] - 29 * 60}  # not yet
    at.run()
    assert at.metric


def test_a_disabled_account_is_signed_out_and_sign_out_works(signed_env):
    at = sign_in(start("en"), "county")
    accounts.set_disabled(signed_env, "county", True, "admin")
    at.run()
    assert not at.metric and "disabled" in at.info[0].value
    at = sign_in(start("en"), "analyst")
    at.button(key="auth_sign_out").click().run()
    assert not at.metric and "signed out" in at.info[0].value
    assert [e.action for e in audit.entries(signed_env)[:2]] == ["sign_out", "sign_in"]


def test_the_admin_page_adds_an_account_and_shows_the_audit_log(signed_env):
    at = sign_in(start("en"), "admin")
    at.switch_page("views/admin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    users = at.dataframe[0].value
    assert sorted(users["User name"]) == ["admin", "analyst", "beijing", "county", "steward"]
    assert "Hash chain intact" in texts(at)
    at.text_input(key="admin_add_username").input("newbie")
    at.text_input(key="admin_add_password").input("short")
    at.button[[b.label for b in at.button].index("Add")].click().run()
    assert "breaks the policy" in at.error[0].value and accounts.get(signed_env, "newbie") is None
    at.text_input(key="admin_add_username").input("newbie")
    at.text_input(key="admin_add_password").input("Hefei2026xyz")
    at.multiselect(key="admin_add_regions").select("340100")
    at.button[[b.label for b in at.button].index("Add")].click().run()
    assert not at.exception, [e.value for e in at.exception]
    made = accounts.get(signed_env, "newbie")
    assert made is not None and made.region_codes == ("340100",) and made.role == "leader"
    last = audit.entries(signed_env)[0]
    assert (last.action, last.actor, last.target) == ("user_add", "admin", "newbie")
    assert "Hefei2026xyz" not in signed_env.read_bytes().decode("utf-8", "replace")
    assert audit.verify(signed_env)[2] == []


def test_a_leader_does_not_see_the_admin_page(signed_env):
    at = sign_in(start("en"), "county")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/admin.py")


def test_a_county_steward_uploads_rows_of_the_county_only(fixture_path, tmp_path, monkeypatch):
    from tests.test_ingest_page import REPORTS
    from tests.test_ingest_support import PROGRESS_HEADER, csv_bytes

    db = tmp_path / "upload.duckdb"
    shutil.copy(fixture_path, db)
    monkeypatch.setenv("COCKPIT_DB", str(db))  # writable: uploads commit through the app
    side = store.path_for(db)
    accounts.add(side, "yaohai", role="steward", by="test", password=PASSWORD, region_codes=["340102"])
    at = sign_in(start("en"), "yaohai")
    at.switch_page("views/upload.py").run()
    at.file_uploader[0].set_value(("p.csv", REPORTS, "text/csv")).run()  # rows of A1 (瑶海区) and B1 (朝阳区)
    assert not at.exception, [e.value for e in at.exception]
    refused = " ".join(e.value for e in at.error)
    assert "outside your data scope" in refused and "1 rows belong to supervised items outside your scope" in refused
    assert "B1" in refused and not [b for b in at.button if b.key == "up_commit"]  # nothing to commit
    assert audit.entries(side)[0].action == "upload_refused"
    own = csv_bytes([PROGRESS_HEADER, ["A1", "2026-11-21", "92", "80", "amber", ""]])
    at.file_uploader[0].set_value(("a1.csv", own, "text/csv")).run()
    at.button(key="up_commit").click().run()
    assert "Committed as data version v2" in " ".join(s.value for s in at.success)
    assert at.dataframe[-1].value.iloc[0, 3] == "yaohai"  # the version list names the account
    commit = next(e for e in audit.entries(side) if e.action == "commit")
    assert (commit.actor, commit.detail["version"], commit.detail["tables"]) == ("yaohai", 2, ["progress_reports"])
    assert audit.verify(side)[2] == []


def test_a_download_checks_the_session_and_the_permission_when_it_is_clicked(tmp_path):
    """Issue 22, medium 5: a download button's file is made when clicked, outside any page run; a button rendered
    before the account was disabled, its session ended or idled out, its role lost the export permission or its
    scope changed delivers nothing, and the refusal (not an export) is audited."""
    import time

    db = str(tmp_path / "d.duckdb")
    side = store.path_for(db)
    accounts.add(side, "li", role="leader", by="test", password=PASSWORD, region_codes=["340100"])
    user = auth_ui.auth.user_of(accounts.get(side, "li"))

    def click(held, **kw):
        run = auth_ui.guarded_download(db, user, held, lambda: b"a,b\n", target="t.csv", fmt="csv", src="test", rows=1)
        try:
            return run()
        except PermissionError as e:
            return str(e)

    fresh = lambda: {"username": "li", "last_seen": time.time()}  # noqa: E731
    assert click(fresh()) == b"a,b\n"
    ended = fresh() | {"ended": True}
    assert click(ended) == "download refused: signed out"
    idle = {"username": "li", "last_seen": time.time() - 3600 * 24}
    assert click(idle) == "download refused: session expired"
    accounts.update(side, "li", by="test", region_codes=["340102"])
    assert click(fresh()) == "download refused: scope changed"
    accounts.update(side, "li", by="test", role="steward", region_codes=["340100"])
    assert click(fresh()) == "download refused: no export permission"
    accounts.update(side, "li", by="test", role="leader")
    accounts.set_disabled(side, "li", True, "test")
    assert click(fresh()) == "download refused: account disabled"
    logged = [(e.action, e.detail.get("reason")) for e in sorted(audit.entries(side), key=lambda e: e.seq)
              if e.action.startswith("export")]
    assert logged == [("export", None), ("export_refused", "signed out"), ("export_refused", "session expired"),
                      ("export_refused", "scope changed"), ("export_refused", "no export permission"),
                      ("export_refused", "account disabled")]
    # demo mode delivers while there is no account, and stops once one exists
    demo = auth_ui.guarded_download(str(tmp_path / "e.duckdb"), auth_ui.auth.DEMO, None, lambda: b"x",
                                    target="t.csv", fmt="csv", src="test")
    assert demo() == b"x"


def test_signing_out_ends_the_session_that_download_buttons_hold(signed_env):
    at = sign_in(start("en"), "county")
    held = at.session_state[auth_ui.SESSION]
    assert auth_ui.export_refusal(str(signed_env).removesuffix(".auth.sqlite"), auth_ui.auth.user_of(
        accounts.get(signed_env, "county")), held) is None
    at.button(key="auth_sign_out").click().run()
    assert held.get("ended") is True


def test_a_scoped_administrator_reads_no_audit_log(signed_env):
    """Issue 22, low 9: the audit log names every region's accounts and actions; only a national account reads it."""
    accounts.add(signed_env, "hefei_admin", role="admin", by="test", password=PASSWORD, region_codes=["340100"])
    at = sign_in(start("en"), "hefei_admin")
    at.switch_page("views/admin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "national scope only" in texts(at)
    assert "Hash chain intact" not in texts(at) and not at.dataframe  # neither the log nor the accounts
    assert not [t for t in at.tabs]


def test_a_national_administrator_manages_accounts_on_a_city_deployment(signed_env, tmp_path, monkeypatch):
    """The deployment's home region narrows the pages, not who administers (an account without a region scope)."""
    from datetime import date

    from analytics.db import store as db_store

    db = tmp_path / "city.duckdb"
    db_store.init(db, "340100", date(2026, 8, 1), "test")
    monkeypatch.setenv("COCKPIT_DB", str(db))
    accounts.add(store.path_for(db), "admin", role="admin", by="test", password=PASSWORD)
    at = sign_in(start("en"), "admin")
    at.switch_page("views/admin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Hash chain intact" in texts(at) and at.dataframe[0].value["User name"].to_list() == ["admin"]

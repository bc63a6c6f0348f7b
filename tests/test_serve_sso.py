"""Single sign-on in a served deployment (issue 18), in Chromium against a real OpenID Connect provider (the
oidc-provider-mock package, a local server; nothing leaves the machine): a person signs in through the provider
on one app process behind Caddy, and after kill -9 of that process the other one still knows who they are, since
every process checks the identity cookie with the deployment's one secret."""
from __future__ import annotations

import os
import secrets
import signal

import pytest

from analytics.bench.server import free_port
from tests import fixture_db
from tests.test_browser import WAIT, Visit, expect
from tests.test_serve import _sessions

IDENTITY = "zhang.hefei@ah.gov.cn"


@pytest.fixture(scope="module")
def sso_deployment(tmp_path_factory):
    oidc = pytest.importorskip("oidc_provider_mock", reason="requirements-dev.txt: oidc-provider-mock")
    pytest.importorskip("authlib", reason="requirements.txt: Authlib (Streamlit's st.login needs it)")
    from analytics import serve
    from analytics.auth import accounts, store

    folder = tmp_path_factory.mktemp("served_sso")
    db = fixture_db.build(folder / "fixture.duckdb")
    accounts.add(store.path_for(db), "zhang", role="leader", by="test", password=None, region_codes=["340100"],
                 display_name="张合肥", sso_identity=IDENTITY)
    port = free_port()
    with oidc.run_server_in_thread(user_claims=[oidc.User(sub=IDENTITY, claims={"email": IDENTITY})]) as provider:
        secrets_file = folder / "secrets.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            'client_id = "cockpit"\nclient_secret = "cockpit-test-secret"\n'
            f'server_metadata_url = "http://localhost:{provider.server_port}/.well-known/openid-configuration"\n',
            encoding="utf-8")
        old = os.environ.get("STREAMLIT_SECRETS_FILES")
        os.environ["STREAMLIT_SECRETS_FILES"] = str(secrets_file)  # the app processes read [auth] from it
        d = serve.Deployment(db, 2, port, app_ports=[free_port(), free_port()], log=lambda s: None)
        try:
            d.start(timeout=120)
            yield d
        finally:
            d.stop()
            if old is None:
                os.environ.pop("STREAMLIT_SECRETS_FILES", None)
            else:
                os.environ["STREAMLIT_SECRETS_FILES"] = old


def test_a_single_sign_on_holds_across_processes_and_survives_kill_9_of_its_process(sso_deployment, browser):
    d = sso_deployment
    v = Visit(browser, f"http://127.0.0.1:{d.port}")
    v.page.context.clear_cookies()
    v.open("/?lang=en")
    expect(v.main).to_contain_text("Sign in", timeout=WAIT)
    v.page.get_by_role("button", name="Single sign-on").click()
    # the provider's own page (a real OpenID Connect authorisation), then back to the app through the proxy
    v.page.wait_for_url("**/oauth2/authorize**", timeout=WAIT)
    v.page.get_by_role("button", name=IDENTITY).click()
    v.page.wait_for_url(f"http://127.0.0.1:{d.port}/**", timeout=WAIT)
    # (the provider sends the browser back to the app's root: the page opens in its default language)
    expect(v.main).to_contain_text("当前筛选：安徽省 / 合肥市", timeout=2 * WAIT)
    v.idle()
    assert "张合肥" in v.page.locator('[data-testid="stSidebar"]').inner_text()
    busy = [a for a, p in zip(d.apps, d.app_ports) if _sessions(p) >= 1]
    assert len(busy) == 1  # sticky: one browser, one process
    os.killpg(busy[0].proc.pid, signal.SIGKILL)
    busy[0].proc.wait(10)
    v.open("/?lang=en")  # a new page load, on the other process: the identity cookie still names the person
    expect(v.main).to_contain_text("Filters: Anhui / Hefei", timeout=2 * WAIT)
    v.idle()
    assert "张合肥" in v.page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Sign in" not in v.page.locator("h1").first.inner_text()
    assert [_sessions(p) for a, p in zip(d.apps, d.app_ports) if a is not busy[0]] == [1]
    # the test provider's own page takes its stylesheet from a CDN (the app asked for nothing outside)
    assert v.exceptions() == [] and [u for u in v.external if "/@picocss/" not in u] == [], v.external
    v.close()
